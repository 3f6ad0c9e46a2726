//! The iteration order of kmod's `struct hash` (shared/hash.c).
//!
//! depmod writes modules.symbols by iterating its symbol hash and orders modules missing from
//! modules.order by iterating its module-name hash, so byte-identical output needs that order:
//! bucket by bucket (`hash_superfast(key) & (n_buckets - 1)`), and within a bucket by `strcmp`.

/// Paul Hsieh's SuperFastHash as kmod computes it (little-endian 16-bit loads, C `char` signed).
pub fn superfast(key: &[u8]) -> u32 {
    let mut len = key.len() as u32;
    let mut hash: u32 = len;
    let rem = len & 3;
    len /= 4;
    let mut k = key;
    let u16le = |b: &[u8]| u32::from(u16::from_le_bytes([b[0], b[1]]));
    while len > 0 {
        hash = hash.wrapping_add(u16le(k));
        let tmp = (u16le(&k[2..]) << 11) ^ hash;
        hash = (hash << 16) ^ tmp;
        k = &k[4..];
        hash = hash.wrapping_add(hash >> 11);
        len -= 1;
    }
    match rem {
        3 => {
            hash = hash.wrapping_add(u16le(k));
            hash ^= hash << 16;
            hash ^= ((k[2] as i8 as i32) << 18) as u32;
            hash = hash.wrapping_add(hash >> 11);
        }
        2 => {
            hash = hash.wrapping_add(u16le(k));
            hash ^= hash << 11;
            hash = hash.wrapping_add(hash >> 17);
        }
        1 => {
            hash = hash.wrapping_add(k[0] as i8 as i32 as u32);
            hash ^= hash << 10;
            hash = hash.wrapping_add(hash >> 1);
        }
        _ => {}
    }
    hash ^= hash << 3;
    hash = hash.wrapping_add(hash >> 5);
    hash ^= hash << 4;
    hash = hash.wrapping_add(hash >> 17);
    hash ^= hash << 25;
    hash = hash.wrapping_add(hash >> 6);
    hash
}

/// The sort key giving kmod's iteration order for a hash created with `n_buckets` (a power
/// of two, as `hash_new` rounds it).
pub fn order_key(key: &[u8], n_buckets: u32) -> (u32, &[u8]) {
    (superfast(key) & (n_buckets - 1), key)
}
