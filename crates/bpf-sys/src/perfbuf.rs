//! Reading a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` from user space: one `PERF_COUNT_SW_BPF_OUTPUT`
//! event per CPU, each with its own mmap'd ring (include/uapi/linux/perf_event.h: a metadata
//! page whose `data_head`/`data_tail` sit at offsets 1024/1032, then 2^n data pages), stored in
//! the map at the CPU's index so that `bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, ...)`
//! lands in that CPU's ring. Records are `PERF_RECORD_SAMPLE` (a u32 size, then the raw bytes)
//! and `PERF_RECORD_LOST`.

use crate::{perf_event_open, perf_type, Error, PerfEvent, Result};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;

/// One record from a perf buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// The bytes a program passed to `bpf_perf_event_output` (padded by the kernel to a
    /// multiple of 8 bytes minus the 4-byte size field).
    Sample(&'a [u8]),
    /// The kernel dropped this many samples: the reader was too slow.
    Lost(u64),
}

struct CpuRing {
    cpu: u32,
    fd: OwnedFd,
    base: *mut u8,
    page: usize,
    data_size: usize,
}

/// A perf event array with a ring per CPU, mapped for reading.
pub struct PerfBuf {
    rings: Vec<CpuRing>,
    scratch: Vec<u8>,
}

impl PerfBuf {
    /// Opens a BPF output event on each of `cpus`, maps `pages` data pages (a power of two)
    /// for each, and stores the events in the perf event array `map` at their CPU's index.
    pub fn new(map: impl AsFd, cpus: &[u32], pages: usize) -> Result<PerfBuf> {
        if !pages.is_power_of_two() {
            return Err(Error::Invalid(format!(
                "{pages} pages is not a power of two"
            )));
        }
        // SAFETY: sysconf has no memory effects.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => 4096,
        };
        let ev = PerfEvent {
            type_: perf_type::SOFTWARE,
            config: PERF_COUNT_SW_BPF_OUTPUT,
            sample: 1,
            sample_type: PERF_SAMPLE_RAW,
            ..PerfEvent::default()
        };
        // Built first, so that an error part way through unmaps what was mapped (Drop).
        let mut buf = PerfBuf {
            rings: Vec::new(),
            scratch: Vec::new(),
        };
        for &cpu in cpus {
            let fd = perf_event_open(&ev, -1, cpu as i32)?;
            let len = page * (1 + pages);
            // SAFETY: maps the perf event's ring as the perf ABI defines it (metadata page
            // plus 2^n data pages, shared, read-write so that data_tail can be written);
            // the result is checked below.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return Err(Error::Sys {
                    op: "mmap perf buffer",
                    source: io::Error::last_os_error(),
                });
            }
            buf.rings.push(CpuRing {
                cpu,
                fd,
                base: base as *mut u8,
                page,
                data_size: page * pages,
            });
            let ring = buf.rings.last().expect("just pushed");
            crate::perf_event_enable(&ring.fd)?;
            crate::map_update(
                map.as_fd(),
                &cpu.to_ne_bytes(),
                &(ring.fd.as_raw_fd() as u32).to_ne_bytes(),
                crate::update::ANY,
            )?;
        }
        Ok(buf)
    }

    /// Waits up to `timeout_ms` for any CPU's ring to have data; whether one may.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        let mut fds: Vec<libc::pollfd> = self
            .rings
            .iter()
            .map(|r| libc::pollfd {
                fd: r.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: poll on an array of pollfds we own, with its exact length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        n > 0
    }

    /// Calls `f(cpu, record)` for every record in every ring and releases them. Returns how
    /// many records it passed on.
    pub fn consume(&mut self, mut f: impl FnMut(u32, PerfRecord<'_>)) -> usize {
        let mut n = 0;
        for r in &self.rings {
            // SAFETY: data_head and data_tail are 8-byte aligned u64s in the metadata page,
            // which stays mapped while `self` lives; the kernel writes data_head and reads
            // data_tail, so both are accessed atomically.
            let head_p = unsafe { &*(r.base.add(DATA_HEAD) as *const AtomicU64) };
            // SAFETY: as above.
            let tail_p = unsafe { &*(r.base.add(DATA_TAIL) as *const AtomicU64) };
            let head = head_p.load(Ordering::Acquire);
            let mut tail = tail_p.load(Ordering::Relaxed);
            // SAFETY: the data area starts one page into the mapping and is data_size long.
            let data = unsafe { std::slice::from_raw_parts(r.base.add(r.page), r.data_size) };
            while tail < head {
                let mut hdr = [0u8; 8];
                copy_wrapped(data, tail, &mut hdr);
                let ty = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                let size = u16::from_ne_bytes([hdr[6], hdr[7]]) as usize;
                if size < 8 || size > r.data_size {
                    // Never written by the kernel; drop the rest rather than misread it.
                    tail = head;
                    break;
                }
                self.scratch.resize(size - 8, 0);
                copy_wrapped(data, tail + 8, &mut self.scratch);
                match ty {
                    PERF_RECORD_SAMPLE if self.scratch.len() >= 4 => {
                        let len = u32::from_ne_bytes([
                            self.scratch[0],
                            self.scratch[1],
                            self.scratch[2],
                            self.scratch[3],
                        ]) as usize;
                        let end = (4 + len).min(self.scratch.len());
                        f(r.cpu, PerfRecord::Sample(&self.scratch[4..end]));
                        n += 1;
                    }
                    PERF_RECORD_LOST if self.scratch.len() >= 16 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&self.scratch[8..16]);
                        f(r.cpu, PerfRecord::Lost(u64::from_ne_bytes(b)));
                        n += 1;
                    }
                    _ => {}
                }
                tail += size as u64;
            }
            tail_p.store(tail, Ordering::Release);
        }
        n
    }
}

/// Copies `out.len()` bytes from the ring `data` at position `pos`, wrapping at its end.
fn copy_wrapped(data: &[u8], pos: u64, out: &mut [u8]) {
    let size = data.len();
    let start = (pos % size as u64) as usize;
    let first = out.len().min(size - start);
    out[..first].copy_from_slice(&data[start..start + first]);
    let rest = out.len() - first;
    out[first..].copy_from_slice(&data[..rest]);
}

impl Drop for PerfBuf {
    fn drop(&mut self) {
        for r in &self.rings {
            // SAFETY: unmaps exactly the mapping made in `new` for this ring; no slice into
            // it outlives `consume`.
            unsafe {
                libc::munmap(r.base as *mut libc::c_void, r.page + r.data_size);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::copy_wrapped;

    #[test]
    fn wrapped_copies() {
        let data: Vec<u8> = (0..16).collect();
        let mut out = [0u8; 6];
        copy_wrapped(&data, 13, &mut out);
        assert_eq!(out, [13, 14, 15, 0, 1, 2]);
        copy_wrapped(&data, 16 + 2, &mut out);
        assert_eq!(out, [2, 3, 4, 5, 6, 7]);
    }
}
