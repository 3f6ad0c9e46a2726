//! Buffers a thread gives back for its next file. Tools that read thousands of modules on a
//! few threads (depmod, modinfo over a tree, sign --tree) then fault in the pages of a few
//! buffers, not of one or two per module, and neither map nor unmap memory per file, which
//! a threaded process pays for in page faults and in TLB shootdowns on every core (zeroing
//! fresh pages was a sixth of modinfo's time over a tree of .ko.xz).
//!
//! One pool serves every use on the thread (a file's bytes as read, a module decompressed),
//! so a buffer goes back whichever order they are dropped in.

use std::cell::RefCell;

/// Buffers kept per thread: a file read and its decompressed module, with room to spare.
const KEEP: usize = 4;

/// Larger buffers are freed rather than kept.
const KEEP_AT_MOST: usize = 256 << 20;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer, with the capacity of one given back earlier on this thread if any.
pub fn take() -> Vec<u8> {
    let mut v = POOL
        .try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default();
    v.clear();
    v
}

/// Keeps `buf` for this thread's next [`take`] (unless it is very large, or enough are kept).
pub fn give(buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_AT_MOST {
        return;
    }
    // After the thread's end there is nowhere to keep it.
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < KEEP {
            p.push(buf);
        }
    });
}
