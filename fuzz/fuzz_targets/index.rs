//! The kmod `.bin` index reader on arbitrary bytes: every lookup either answers or returns an
//! error naming the offset; no panic, no endless walk over offsets that form cycles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moddb::index::{Index, ReadMode};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // First byte picks the read mode, the next up to 16 bytes the key; the rest is the file.
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let klen = rest.len().min(16).min(usize::from(mode >> 1) % 17);
    let (key, file) = rest.split_at(klen);
    let mode = if mode & 1 == 0 {
        ReadMode::File
    } else {
        ReadMode::Mapped
    };
    let Ok(idx) = Index::from_bytes(Path::new("fuzz.bin"), file.to_vec(), mode) else {
        return;
    };
    let _ = idx.search(key);
    let _ = idx.search_wild(key);
    let _ = idx.entries();
});
