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

/// A fast non-keyed hasher (rustc's FxHash) for depmod's own maps, whose iteration order
/// never reaches the output: symbol names are short and trusted to be many, not adversarial,
/// and SipHash showed in profiles.
#[derive(Clone, Copy, Default)]
pub struct Fx(u64);

impl Fx {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`Fx`].
pub type FxMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;
