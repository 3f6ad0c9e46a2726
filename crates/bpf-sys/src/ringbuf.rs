//! Reading a `BPF_MAP_TYPE_RINGBUF` map from user space, as the kernel lays it out
//! (kernel/bpf/ringbuf.c): one page with the consumer position, which user space writes; one
//! page with the producer position; then the data area, mapped twice back to back so that a
//! record that wraps around is contiguous in memory. Each record has an 8-byte header: a u32
//! length with the BUSY (bit 31) and DISCARD (bit 30) flags, and the page offset.

use crate::{Error, Result};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A ring buffer map, mapped for reading.
pub struct RingBuf {
    fd: OwnedFd,
    consumer: *mut u8,
    producer: *mut u8,
    size: usize,
    page: usize,
}

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HDR: usize = 8;

/// The machine's page size (what a ring buffer's size must be a multiple of).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

impl RingBuf {
    /// Maps the ring buffer map `map` whose `max_entries` (data size, a power of two multiple
    /// of the page size) is `size`.
    pub fn new(map: impl AsFd, size: usize) -> Result<RingBuf> {
        let page = page_size();
        if !size.is_power_of_two() || !size.is_multiple_of(page) {
            return Err(Error::Invalid(format!(
                "ring buffer size {size} is not a power of two multiple of the page size"
            )));
        }
        let fd = map
            .as_fd()
            .try_clone_to_owned()
            .map_err(Error::sys("dup ring buffer fd"))?;
        // SAFETY: maps one shared, writable page at offset 0 of a ring buffer map fd, as the
        // kernel documents for the consumer position; the result is checked below.
        let consumer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if consumer == libc::MAP_FAILED {
            return Err(Error::sys("mmap ring buffer")(io::Error::last_os_error()));
        }
        // SAFETY: maps the producer page and twice the data size, read-only, at offset one
        // page, the layout the kernel's ringbuf mmap handler provides.
        let producer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                page as libc::off_t,
            )
        };
        if producer == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: unmaps exactly the mapping made above, which nothing references.
            unsafe { libc::munmap(consumer, page) };
            return Err(Error::sys("mmap ring buffer")(e));
        }
        Ok(RingBuf {
            fd,
            consumer: consumer as *mut u8,
            producer: producer as *mut u8,
            size,
            page,
        })
    }

    /// Waits up to `timeout_ms` for data (poll on the map fd); whether data may be there.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd that we own for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        r > 0
    }

    /// Calls `f` with every committed record, in order, and releases each after `f` returns.
    /// Stops at the first record still being written. Returns how many records it passed on.
    pub fn consume(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        // SAFETY: the positions are 8-byte aligned u64s at the start of their pages, which
        // stay mapped while `self` lives; they are shared with the kernel, so they are only
        // accessed atomically (as libbpf does).
        let cons = unsafe { &*(self.consumer as *const AtomicU64) };
        // SAFETY: as above.
        let prod = unsafe { &*(self.producer as *const AtomicU64) };
        let data = self.producer.wrapping_add(self.page);
        let mut c = cons.load(Ordering::Acquire);
        let mut n = 0;
        loop {
            let p = prod.load(Ordering::Acquire);
            if c >= p {
                break;
            }
            let off = (c as usize) & (self.size - 1);
            // SAFETY: `off < size` and is 8-aligned; the header lies inside the first copy
            // of the data area.
            let hdr = unsafe { &*(data.add(off) as *const AtomicU32) }.load(Ordering::Acquire);
            if hdr & BUSY != 0 {
                break;
            }
            let len = (hdr & !(BUSY | DISCARD)) as usize;
            if len > self.size - HDR {
                // Never produced by the kernel; stop rather than read out of bounds.
                break;
            }
            if hdr & DISCARD == 0 {
                // SAFETY: a committed record of `len <= size - 8` bytes follows its header;
                // with the data mapped twice, `off + 8 + len < 2 * size` stays mapped.
                let rec = unsafe { std::slice::from_raw_parts(data.add(off + HDR), len) };
                f(rec);
                n += 1;
            }
            c += ((len + HDR + 7) & !7) as u64;
            cons.store(c, Ordering::Release);
        }
        n
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the two mappings made in `new`; no reference into them
        // outlives `consume`.
        unsafe {
            libc::munmap(self.consumer as *mut libc::c_void, self.page);
            libc::munmap(
                self.producer as *mut libc::c_void,
                self.page + 2 * self.size,
            );
        }
    }
}
