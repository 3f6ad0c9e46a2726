//! User-space maps whose values live in the interpreter's [`Memory`], so that the pointers
//! `bpf_map_lookup_elem` returns are checked like every other pointer.

use std::collections::HashMap;

use crate::{Memory, RegionKind};

/// Kernel map type numbers (`enum bpf_map_type`) this interpreter implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    Hash,
    Array,
    PercpuHash,
    PercpuArray,
    LruHash,
    LruPercpuHash,
    RingBuf,
    /// Maps only their own helpers use, whose entries name kernel objects that the
    /// interpreter does not have (programs, perf events, devices, CPUs, sockets, stack
    /// traces): prog arrays, perf event arrays, stack trace maps, devmaps, cpumaps,
    /// xskmaps, sockmaps and sockhashes. They are always as the kernel creates them: empty.
    Empty,
}

impl MapKind {
    pub fn from_type(t: u32) -> Option<MapKind> {
        Some(match t {
            1 => MapKind::Hash,
            2 => MapKind::Array,
            5 => MapKind::PercpuHash,
            6 => MapKind::PercpuArray,
            9 => MapKind::LruHash,
            10 => MapKind::LruPercpuHash,
            27 => MapKind::RingBuf,
            3 | 4 | 7 | 14 | 15 | 16 | 17 | 18 | 25 => MapKind::Empty,
            _ => return None,
        })
    }

    pub fn is_array(self) -> bool {
        matches!(self, MapKind::Array | MapKind::PercpuArray)
    }
}

/// A map definition (from an ELF object's `.maps`/`maps` section, or built by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
}

impl From<&bpf_insn::object::MapDef> for MapSpec {
    fn from(m: &bpf_insn::object::MapDef) -> MapSpec {
        MapSpec {
            name: m.name.clone(),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.flags,
        }
    }
}

impl MapSpec {
    /// The same map as an object's map definition (no initial contents), for the crates
    /// that take object maps (the verifier's `MapInfo::from`).
    pub fn to_def(&self) -> bpf_insn::object::MapDef {
        bpf_insn::object::MapDef {
            name: self.name.clone(),
            map_type: self.map_type,
            key_size: self.key_size,
            value_size: self.value_size,
            max_entries: self.max_entries,
            flags: self.flags,
            data: None,
            section: ".maps".into(),
            readonly: false,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Map {
    pub spec: MapSpec,
    pub kind: MapKind,
    /// Array: one region holding every value.
    array_region: Option<usize>,
    /// Hash: key -> region of its value.
    entries: HashMap<Vec<u8>, usize>,
    /// Insertion order of live hash keys (for iteration and LRU eviction).
    order: Vec<Vec<u8>>,
    /// Ring buffer: submitted records.
    pub records: Vec<Vec<u8>>,
    /// Ring buffer: bytes the producer has advanced over (records reserved or written,
    /// each with its 8-byte header, rounded up to 8). Nothing consumes during a run.
    pub produced: u64,
}

/// `-errno` values returned by map helpers.
pub const E2BIG: i64 = 7;
pub const ENOENT: i64 = 2;
pub const EEXIST: i64 = 17;
pub const EINVAL: i64 = 22;
pub const ENOMEM: i64 = 12;
pub const EOPNOTSUPP: i64 = 95;

/// Why a map cannot be made in the interpreter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("map `{name}`: map type {map_type} is not supported by the interpreter")]
    Unsupported { name: String, map_type: u32 },
    #[error("map `{name}`: zero key or value size")]
    ZeroSize { name: String },
    #[error("map `{name}`: array maps have 4-byte keys")]
    ArrayKey { name: String },
    #[error("map `{name}`: {bytes} bytes of values is too large")]
    TooLarge { name: String, bytes: u64 },
}

impl Map {
    pub fn new(spec: MapSpec, mem: &mut Memory) -> Result<Map, MapError> {
        let name = || spec.name.clone();
        let kind = MapKind::from_type(spec.map_type).ok_or_else(|| MapError::Unsupported {
            name: name(),
            map_type: spec.map_type,
        })?;
        if kind != MapKind::RingBuf && (spec.value_size == 0 || spec.key_size == 0) {
            return Err(MapError::ZeroSize { name: name() });
        }
        if kind.is_array() && spec.key_size != 4 {
            return Err(MapError::ArrayKey { name: name() });
        }
        let total = spec.value_size as u64 * spec.max_entries as u64;
        if total > 1 << 28 {
            return Err(MapError::TooLarge {
                name: name(),
                bytes: total,
            });
        }
        let array_region = if kind.is_array() {
            mem.add(RegionKind::MapValue, vec![0; total as usize], true);
            Some(mem.regions.len() - 1)
        } else {
            None
        };
        Ok(Map {
            spec,
            kind,
            array_region,
            entries: HashMap::new(),
            order: Vec::new(),
            records: Vec::new(),
            produced: 0,
        })
    }

    /// Ring buffer: take room for a record of `size` bytes, as the kernel's producer does;
    /// `false` when the ring is full (no consumer runs during a run).
    pub fn ring_reserve(&mut self, size: u64) -> bool {
        let need = 8 + size.div_ceil(8) * 8;
        // The producer may run at most ring size - 1 bytes ahead of the consumer.
        if self.produced + need >= self.spec.max_entries as u64 {
            return false;
        }
        self.produced += need;
        true
    }

    /// Keys of the live elements, in the order `bpf_for_each_map_elem` visits them
    /// (index order for arrays, insertion order for hashes).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        if self.kind.is_array() {
            return (0..self.spec.max_entries)
                .map(|i| i.to_le_bytes().to_vec())
                .collect();
        }
        self.order.clone()
    }

    /// Address of the value for `key`, if present.
    pub fn lookup(&self, key: &[u8]) -> Option<u64> {
        if let Some(r) = self.array_region {
            let idx = u32::from_le_bytes(key.try_into().ok()?);
            if idx >= self.spec.max_entries {
                return None;
            }
            return Some(Memory::base(r) + idx as u64 * self.spec.value_size as u64);
        }
        self.entries.get(key).map(|&r| Memory::base(r))
    }

    /// Address of the first value of an array map (for `lddw` map-value pseudo loads).
    pub fn first_value(&self) -> Option<u64> {
        self.array_region.map(Memory::base)
    }

    /// `bpf_map_update_elem`: 0 or `-errno`.
    pub fn update(&mut self, mem: &mut Memory, key: &[u8], value: &[u8], flags: u64) -> i64 {
        if self.kind == MapKind::Empty {
            // A program may only put sockets in a sockmap/sockhash, and the test run's
            // socket is neither TCP nor UDP (sock_map_sk_is_suitable).
            return -EOPNOTSUPP;
        }
        const NOEXIST: u64 = 1;
        const EXIST: u64 = 2;
        if flags > 2 && !(flags == 4 && self.kind.is_array()) {
            return -EINVAL;
        }
        if let Some(a) = self.lookup(key).filter(|_| self.kind.is_array()) {
            if flags == NOEXIST {
                return -EEXIST;
            }
            if let Some(s) = mem.slice_mut(a, value.len()) {
                s.copy_from_slice(value);
            }
            return 0;
        }
        if self.kind.is_array() {
            return -E2BIG;
        }
        match self.entries.get(key) {
            Some(&r) => {
                if flags == NOEXIST {
                    return -EEXIST;
                }
                mem.regions[r].bytes.copy_from_slice(value);
                0
            }
            None => {
                if flags == EXIST {
                    return -ENOENT;
                }
                if self.entries.len() >= self.spec.max_entries as usize {
                    if matches!(self.kind, MapKind::LruHash | MapKind::LruPercpuHash)
                        && !self.order.is_empty()
                    {
                        let old = self.order.remove(0);
                        if let Some(r) = self.entries.remove(&old) {
                            mem.regions[r].live = false;
                        }
                    } else {
                        return -E2BIG;
                    }
                }
                mem.add(RegionKind::MapValue, value.to_vec(), true);
                self.entries.insert(key.to_vec(), mem.regions.len() - 1);
                self.order.push(key.to_vec());
                0
            }
        }
    }

    pub fn delete(&mut self, mem: &mut Memory, key: &[u8]) -> i64 {
        // An empty sockmap slot is -EINVAL (__sock_map_delete), a missing sockhash key -ENOENT.
        if self.kind.is_array() || self.kind == MapKind::Empty && self.spec.map_type != 18 {
            return -EINVAL;
        }
        match self.entries.remove(key) {
            Some(r) => {
                mem.regions[r].live = false;
                self.order.retain(|k| k != key);
                0
            }
            None => -ENOENT,
        }
    }

    /// Live (key, value) pairs, in key order for hashes and index order for arrays.
    pub fn dump(&self, mem: &Memory) -> Vec<(Vec<u8>, Vec<u8>)> {
        let vs = self.spec.value_size as usize;
        if let Some(r) = self.array_region {
            return (0..self.spec.max_entries)
                .map(|i| {
                    let o = i as usize * vs;
                    (
                        i.to_le_bytes().to_vec(),
                        mem.regions[r].bytes[o..o + vs].to_vec(),
                    )
                })
                .collect();
        }
        let mut v: Vec<_> = self
            .entries
            .iter()
            .map(|(k, &r)| (k.clone(), mem.regions[r].bytes.clone()))
            .collect();
        v.sort();
        v
    }
}
