//! Building and writing kmod's `.bin` trie the way depmod's `index_insert`/`index_write` do,
//! so that the bytes are identical: same node splits, same value order (inserted before the
//! first value of equal or higher priority), children written depth-first before their
//! parent, root last.

use super::{MAGIC, VERSION};

const NODE_PREFIX: u32 = 0x8000_0000;
const NODE_VALUES: u32 = 0x4000_0000;
const NODE_CHILDS: u32 = 0x2000_0000;

#[derive(Default)]
struct Node {
    prefix: Vec<u8>,
    /// (priority, value), in write order.
    values: Vec<(u32, Vec<u8>)>,
    /// (character, node index), sorted by character.
    children: Vec<(u8, usize)>,
}

/// An in-memory index being built.
pub struct Trie {
    nodes: Vec<Node>,
}

impl Default for Trie {
    fn default() -> Self {
        Trie {
            nodes: vec![Node::default()],
        }
    }
}

impl Node {
    fn child(&self, c: u8) -> Option<usize> {
        self.children
            .binary_search_by_key(&c, |&(ch, _)| ch)
            .ok()
            .map(|i| self.children[i].1)
    }

    fn add_child(&mut self, c: u8, idx: usize) {
        let at = self
            .children
            .binary_search_by_key(&c, |&(ch, _)| ch)
            .unwrap_or_else(|e| e);
        self.children.insert(at, (c, idx));
    }

    /// `index_add_value`: returns whether an equal value was already there.
    fn add_value(&mut self, value: &[u8], priority: u32) -> bool {
        let dup = self.values.iter().any(|(_, v)| v == value);
        let at = self
            .values
            .iter()
            .position(|&(p, _)| p >= priority)
            .unwrap_or(self.values.len());
        self.values.insert(at, (priority, value.to_vec()));
        dup
    }
}

impl Trie {
    pub fn new() -> Trie {
        Trie::default()
    }

    /// `index_insert`: returns whether `value` was already stored under `key`.
    pub fn insert(&mut self, key: &[u8], value: &[u8], priority: u32) -> bool {
        let mut node = 0usize;
        let mut i = 0usize;
        loop {
            // Make the node's prefix a prefix of key[i..], splitting the node if needed.
            let plen = self.nodes[node].prefix.len();
            let mut j = 0;
            while j < plen {
                let ch = self.nodes[node].prefix[j];
                if key.get(i + j) != Some(&ch) {
                    let old = std::mem::take(&mut self.nodes[node]);
                    let split = Node {
                        prefix: old.prefix[j + 1..].to_vec(),
                        values: old.values,
                        children: old.children,
                    };
                    let idx = self.nodes.len();
                    self.nodes.push(split);
                    let n = &mut self.nodes[node];
                    n.prefix = old.prefix[..j].to_vec();
                    n.children = vec![(ch, idx)];
                    break;
                }
                j += 1;
            }
            i += j;
            let Some(&ch) = key.get(i) else {
                return self.nodes[node].add_value(value, priority);
            };
            match self.nodes[node].child(ch) {
                Some(c) => {
                    node = c;
                    i += 1;
                }
                None => {
                    let idx = self.nodes.len();
                    let mut child = Node {
                        prefix: key[i + 1..].to_vec(),
                        ..Node::default()
                    };
                    child.add_value(value, priority);
                    self.nodes.push(child);
                    self.nodes[node].add_child(ch, idx);
                    return false;
                }
            }
        }
    }

    /// The file's bytes (`index_write`).
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let root = self.write_node(0, &mut out);
        out[8..12].copy_from_slice(&root.to_be_bytes());
        out
    }

    fn write_node(&self, idx: usize, out: &mut Vec<u8>) -> u32 {
        let n = &self.nodes[idx];
        let mut offs = Vec::new();
        if let (Some(&(first, _)), Some(&(last, _))) = (n.children.first(), n.children.last()) {
            offs = vec![0u32; (last - first) as usize + 1];
            for &(c, child) in &n.children {
                offs[(c - first) as usize] = self.write_node(child, out);
            }
        }
        let mut offset = out.len() as u32;
        if !n.prefix.is_empty() {
            out.extend_from_slice(&n.prefix);
            out.push(0);
            offset |= NODE_PREFIX;
        }
        if let (Some(&(first, _)), Some(&(last, _))) = (n.children.first(), n.children.last()) {
            out.push(first);
            out.push(last);
            for o in offs {
                out.extend_from_slice(&o.to_be_bytes());
            }
            offset |= NODE_CHILDS;
        }
        if !n.values.is_empty() {
            out.extend_from_slice(&(n.values.len() as u32).to_be_bytes());
            for (p, v) in &n.values {
                out.extend_from_slice(&p.to_be_bytes());
                out.extend_from_slice(v);
                out.push(0);
            }
            offset |= NODE_VALUES;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::Trie;
    use crate::index::{Index, ReadMode};
    use std::path::Path;

    #[test]
    fn round_trip_and_wildcards() {
        let mut t = Trie::new();
        t.insert(b"pci:v00001234d*", b"foo", 3);
        t.insert(b"pci:v00001234d00005678", b"bar", 1);
        t.insert(b"usb:v*p*", b"baz", 2);
        assert!(!t.insert(b"pci:v00001234d*", b"qux", 3));
        assert!(t.insert(b"pci:v00001234d*", b"foo", 5));
        let bytes = t.write();
        let idx = Index::from_bytes(Path::new("t.bin"), bytes, ReadMode::Mapped).unwrap();
        assert_eq!(
            idx.search(b"pci:v00001234d00005678").unwrap().unwrap(),
            b"bar"
        );
        assert_eq!(idx.search(b"pci:v00001234d").unwrap(), None);
        let wild: Vec<Vec<u8>> = idx
            .search_wild(b"pci:v00001234d00005678")
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        // The '*' child is visited first; add_value puts each value before the first of equal or
        // higher priority.
        assert_eq!(
            wild,
            [
                b"bar".to_vec(),
                b"foo".to_vec(),
                b"qux".to_vec(),
                b"foo".to_vec()
            ]
        );
        assert_eq!(idx.entries().unwrap().len(), 3);
    }

    #[test]
    fn malformed_index_errors() {
        let p = Path::new("bad.bin");
        assert!(Index::from_bytes(p, b"\xb0\x07\xf4\x57".to_vec(), ReadMode::File).is_err());
        let mut b = Trie::new().write();
        b[8..12].copy_from_slice(&0x8000_ffffu32.to_be_bytes());
        let idx = Index::from_bytes(p, b, ReadMode::File).unwrap();
        let e = idx.search(b"x").unwrap_err().to_string();
        assert_eq!(e, "bad.bin: truncated at offset 65535: expected a node");
        let e = Index::from_bytes(p, Vec::new(), ReadMode::File)
            .err()
            .unwrap();
        assert!(
            e.to_string().starts_with("bad.bin: truncated at offset 0"),
            "{e}"
        );
        let e = Index::from_bytes(p, b"not an index".to_vec(), ReadMode::File)
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a kmod index"), "{e}");
    }

    /// A crafted file whose child offsets all point at one large node: walking it would read
    /// that node once per offset (quadratic in the file's size). The walk stops with an error.
    #[test]
    fn shared_nodes_stop_the_walk() {
        let mut b = Vec::new();
        for w in [super::super::MAGIC, super::super::VERSION, 0x2000_0000 | 12] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&[0, 127]);
        let shared = 12 + 2 + 4 * 128;
        for _ in 0..128 {
            b.extend_from_slice(&(0x4000_0000u32 | shared).to_be_bytes());
        }
        b.extend_from_slice(&200u32.to_be_bytes());
        for _ in 0..200 {
            b.extend_from_slice(&1u32.to_be_bytes());
            b.extend_from_slice(b"x\0");
        }
        let idx = Index::from_bytes(Path::new("s.bin"), b, ReadMode::File).unwrap();
        let e = idx.entries().unwrap_err().to_string();
        assert!(e.contains("without cycles"), "{e}");
        assert!(idx.search_wild(b"").is_ok());
    }

    /// Every single-byte corruption and every truncation of a small index either reads or
    /// fails with an error: no panic, no endless walk (the fuzz target's property, run
    /// exhaustively on one input).
    #[test]
    fn corrupted_indexes_never_panic() {
        let mut t = Trie::new();
        for (k, v) in [
            ("pci:v*d1*", "a"),
            ("pci:v1d*", "b"),
            ("usb:x", "c"),
            ("usb:xy", "d"),
        ] {
            t.insert(k.as_bytes(), v.as_bytes(), 1);
        }
        let good = t.write();
        let probe = |bytes: Vec<u8>| {
            for mode in [ReadMode::File, ReadMode::Mapped] {
                if let Ok(idx) = Index::from_bytes(Path::new("c.bin"), bytes.clone(), mode) {
                    let _ = idx.search(b"usb:xy");
                    let _ = idx.search_wild(b"pci:v1d1");
                    let _ = idx.entries();
                }
            }
        };
        for i in 0..good.len() {
            for x in [0x00u8, 0xff, 0x80, 0x0c, 0x2a] {
                let mut b = good.clone();
                b[i] = x;
                probe(b);
            }
            probe(good[..i].to_vec());
        }
    }
}
