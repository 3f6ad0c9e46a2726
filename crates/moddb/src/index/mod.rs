//! kmod's `.bin` index: a trie of keys with prioritised string values (libkmod-index.c).
//!
//! Layout (all integers big-endian u32): magic `0xB007F457`, version `0x00020001`, the root
//! node's offset, then nodes. A node reference is an offset whose top bits say what the node
//! holds: `0x80000000` a NUL-terminated prefix, `0x40000000` values, `0x20000000` children;
//! `0x0FFFFFFF` masks the position. A node is `[prefix\0] [u8 first, u8 last,
//! u32 child[last-first+1]] [u32 count, {u32 priority, value\0} * count]`. kmod 30 writes the
//! root last and kmod 34 first, so this reader only ever follows offsets.
//!
//! libkmod reads an index two ways and they order values differently: when a tool calls
//! `kmod_load_resources` (modprobe) the file is mapped and a node's values come in file order;
//! otherwise (modinfo) each node's values are re-sorted by priority while being read, with
//! equal priorities reversed. [`ReadMode`] picks which behaviour to reproduce. Bytes of keys are
//! compared as C `char` (signed), as libkmod does.
//!
//! This module owns reading and writing the format; it does not know file names or which index
//! holds what.

pub mod writer;

use crate::Error;
use std::path::{Path, PathBuf};

pub const MAGIC: u32 = 0xB007_F457;
pub const VERSION: u32 = 0x0002_0001;
const NODE_PREFIX: u32 = 0x8000_0000;
const NODE_VALUES: u32 = 0x4000_0000;
const NODE_CHILDS: u32 = 0x2000_0000;
const NODE_MASK: u32 = 0x0FFF_FFFF;

/// How libkmod would read the index (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// `index_file_open` + `index_read`: values re-sorted per node as they are read.
    File,
    /// `index_mm_open`: values in file order.
    Mapped,
}

/// One value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub priority: u32,
    pub value: Vec<u8>,
}

/// A key and its values.
pub type Entry = (Vec<u8>, Vec<Value>);

/// An index file's bytes, checked for magic and major version.
pub struct Index {
    path: PathBuf,
    data: crate::source::Bytes,
    root: u32,
    mode: ReadMode,
}

struct Node<'a> {
    prefix: &'a [u8],
    first: i32,
    last: i32,
    children_at: usize,
    values: Vec<(u32, &'a [u8])>,
    /// Bytes the node occupies (what reading it costs).
    size: usize,
}

/// libkmod's `add_value`: insert before the first value whose priority is not lower.
fn add_value(out: &mut Vec<Value>, value: &[u8], priority: u32) {
    let at = out
        .iter()
        .position(|v| v.priority >= priority)
        .unwrap_or(out.len());
    out.insert(
        at,
        Value {
            priority,
            value: value.to_vec(),
        },
    );
}

impl Index {
    /// Check the header of `data` (read from `path`, used in error messages).
    pub fn from_bytes(path: &Path, data: Vec<u8>, mode: ReadMode) -> Result<Index, Error> {
        Index::from_boxed(path, Box::new(data), mode)
    }

    /// Like [`Index::from_bytes`] over bytes read or mapped by the caller.
    pub fn from_boxed(
        path: &Path,
        data: crate::source::Bytes,
        mode: ReadMode,
    ) -> Result<Index, Error> {
        let be = |i: usize| -> Option<u32> {
            data.get(i..i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let bad = |what: &str| Error::Index {
            path: path.to_path_buf(),
            offset: 0,
            what: what.to_string(),
        };
        let short = |offset: usize, what: &str| Error::Truncated {
            path: path.to_path_buf(),
            offset,
            what: what.to_string(),
        };
        match be(0) {
            Some(MAGIC) => {}
            None => return Err(short(0, "the magic number 0xB007F457")),
            Some(_) => return Err(bad("magic 0xB007F457 (not a kmod index)")),
        }
        match be(4) {
            Some(v) if v >> 16 == VERSION >> 16 => {}
            None => return Err(short(4, "the index version")),
            Some(v) => return Err(bad(&format!("index version 2.x, found {v:#x}"))),
        }
        let root = be(8).ok_or_else(|| short(8, "the root node's offset"))?;
        Ok(Index {
            path: path.to_path_buf(),
            data,
            root,
            mode,
        })
    }

    /// Read an index file; `Ok(None)` when it does not exist or is empty (libkmod then
    /// behaves as if it had no entries; kmod's depmod itself writes an empty
    /// modules.builtin.bin when there is no modules.builtin). A file that is not a whole
    /// index (a bad magic number, cut short) is an error naming it: libkmod would silently
    /// find nothing in it, or crash.
    pub fn open(
        path: &Path,
        mode: ReadMode,
        read: &crate::source::Reader,
    ) -> Result<Option<Index>, Error> {
        match read(path) {
            Ok(data) if data.is_empty() => Ok(None),
            Ok(data) => Index::from_boxed(path, data, mode).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, offset: usize, what: &str) -> Error {
        Error::Index {
            path: self.path.clone(),
            offset,
            what: what.to_string(),
        }
    }

    /// Something expected at `offset` lies past the end of the file.
    fn short(&self, offset: usize, what: &str) -> Error {
        Error::Truncated {
            path: self.path.clone(),
            offset,
            what: what.to_string(),
        }
    }

    fn u32_at(&self, at: usize) -> Result<u32, Error> {
        self.data
            .get(at..at.saturating_add(4))
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| self.short(at, "a 32-bit big-endian integer"))
    }

    /// Bytes up to a NUL (or the end of the file, as `buf_freadchars` stops at EOF).
    fn cstr(&self, at: usize) -> Result<(&[u8], usize), Error> {
        let rest = self
            .data
            .get(at..)
            .ok_or_else(|| self.short(at, "a string"))?;
        match rest.iter().position(|&b| b == 0) {
            Some(n) => Ok((&rest[..n], at + n + 1)),
            None => Ok((rest, self.data.len())),
        }
    }

    fn node(&self, offset: u32) -> Result<Option<Node<'_>>, Error> {
        if offset & NODE_MASK == 0 {
            return Ok(None);
        }
        let start = (offset & NODE_MASK) as usize;
        let mut p = start;
        // A node without flags has no bytes: at the very end of the file it is still whole
        // (the root of an empty trie, as depmod writes it).
        if p > self.data.len() || (p == self.data.len() && offset & !NODE_MASK != 0) {
            return Err(self.short(p, "a node"));
        }
        let mut prefix: &[u8] = &[];
        if offset & NODE_PREFIX != 0 {
            let (s, next) = self.cstr(p)?;
            prefix = s;
            p = next;
        }
        let (mut first, mut last, mut children_at) = (128, 0, p);
        if offset & NODE_CHILDS != 0 {
            let fl = self
                .data
                .get(p..p + 2)
                .ok_or_else(|| self.short(p, "first and last child characters"))?;
            first = i32::from(fl[0] as i8);
            last = i32::from(fl[1] as i8);
            children_at = p + 2;
            let count = (last - first + 1).max(0) as usize;
            p = children_at + 4 * count;
            if p > self.data.len() {
                return Err(self.short(children_at, "child offsets"));
            }
        }
        let mut values = Vec::new();
        if offset & NODE_VALUES != 0 {
            let count = self.u32_at(p)?;
            p += 4;
            for _ in 0..count {
                let prio = self.u32_at(p)?;
                let (s, next) = self.cstr(p + 4)?;
                values.push((prio, s));
                p = next;
            }
        }
        Ok(Some(Node {
            prefix,
            first,
            last,
            children_at,
            values,
            size: p - start,
        }))
    }

    fn child(&self, node: &Node<'_>, ch: i32) -> Result<Option<Node<'_>>, Error> {
        if node.first <= ch && ch <= node.last {
            let off = self.u32_at(node.children_at + 4 * (ch - node.first) as usize)?;
            return self.node(off);
        }
        Ok(None)
    }

    /// A node's values in the order this read mode yields them.
    fn node_values(&self, node: &Node<'_>) -> Vec<Value> {
        match self.mode {
            ReadMode::Mapped => node
                .values
                .iter()
                .map(|&(priority, v)| Value {
                    priority,
                    value: v.to_vec(),
                })
                .collect(),
            ReadMode::File => {
                let mut out = Vec::with_capacity(node.values.len());
                for &(p, v) in &node.values {
                    add_value(&mut out, v, p);
                }
                out
            }
        }
    }

    /// `index_search`: the first value stored under exactly `key`.
    pub fn search(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let mut node = self.node(self.root)?;
        let mut i = 0usize;
        let mut steps = 0usize;
        while let Some(n) = node {
            steps += 1;
            if steps > self.data.len() {
                return Err(self.err(0, "a trie without cycles"));
            }
            for (j, &c) in n.prefix.iter().enumerate() {
                if key.get(i + j) != Some(&c) {
                    return Ok(None);
                }
            }
            i += n.prefix.len();
            let Some(&c) = key.get(i) else {
                return Ok(self.node_values(&n).into_iter().next().map(|v| v.value));
            };
            node = self.child(&n, i32::from(c as i8))?;
            i += 1;
        }
        Ok(None)
    }

    /// `index_searchwild`: values of `key` and of every wildcard pattern that matches it
    /// (`fnmatch`), merged by priority as libkmod merges them.
    pub fn search_wild(&self, key: &[u8]) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        let mut budget = Budget(self.data.len().saturating_mul(4) + 64);
        let mut buf = Vec::new();
        let mut node = self.node(self.root)?;
        let mut i = 0usize;
        while let Some(n) = node {
            budget.spend(self, &n)?;
            for (j, &c) in n.prefix.iter().enumerate() {
                if c == b'*' || c == b'?' || c == b'[' {
                    let sub = key.get(i + j..).unwrap_or_default();
                    self.wild_all(&n, j, &mut buf, sub, &mut out, &mut budget, 0)?;
                    return Ok(out);
                }
                if key.get(i + j) != Some(&c) {
                    return Ok(out);
                }
            }
            i += n.prefix.len();
            let sub = key.get(i..).unwrap_or_default();
            for w in [b'*', b'?', b'['] {
                if let Some(child) = self.child(&n, i32::from(w))? {
                    buf.push(w);
                    self.wild_all(&child, 0, &mut buf, sub, &mut out, &mut budget, 0)?;
                    buf.pop();
                }
            }
            let Some(&c) = key.get(i) else {
                for v in self.node_values(&n) {
                    add_value(&mut out, &v.value, v.priority);
                }
                return Ok(out);
            };
            node = self.child(&n, i32::from(c as i8))?;
            i += 1;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn wild_all(
        &self,
        n: &Node<'_>,
        j: usize,
        buf: &mut Vec<u8>,
        subkey: &[u8],
        out: &mut Vec<Value>,
        budget: &mut Budget,
        depth: usize,
    ) -> Result<(), Error> {
        budget.spend(self, n)?;
        if depth > 4096 {
            return Err(self.err(0, "a trie less than 4096 levels deep"));
        }
        let pushed = n.prefix.len().saturating_sub(j);
        buf.extend_from_slice(n.prefix.get(j..).unwrap_or_default());
        let mut ch = n.first;
        while ch <= n.last {
            if let Some(child) = self.child(n, ch)? {
                buf.push(ch as u8);
                self.wild_all(&child, 0, buf, subkey, out, budget, depth + 1)?;
                buf.pop();
            }
            ch += 1;
        }
        if !n.values.is_empty() && crate::fnmatch::fnmatch(buf, subkey) {
            for v in self.node_values(n) {
                add_value(out, &v.value, v.priority);
            }
        }
        buf.truncate(buf.len() - pushed);
        Ok(())
    }

    /// Every key with its values, in key order (`index_dump`), for tests and `--dump`.
    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        let mut budget = Budget(self.data.len().saturating_mul(4) + 64);
        if let Some(root) = self.node(self.root)? {
            let mut buf = Vec::new();
            self.dump(&root, &mut buf, &mut out, &mut budget, 0)?;
        }
        Ok(out)
    }

    fn dump(
        &self,
        n: &Node<'_>,
        buf: &mut Vec<u8>,
        out: &mut Vec<Entry>,
        budget: &mut Budget,
        depth: usize,
    ) -> Result<(), Error> {
        budget.spend(self, n)?;
        if depth > 4096 {
            return Err(self.err(0, "a trie less than 4096 levels deep"));
        }
        let len = buf.len();
        buf.extend_from_slice(n.prefix);
        if !n.values.is_empty() {
            out.push((buf.clone(), self.node_values(n)));
        }
        let mut ch = n.first;
        while ch <= n.last {
            if let Some(child) = self.child(n, ch)? {
                buf.push(ch as u8);
                self.dump(&child, buf, out, budget, depth + 1)?;
                buf.pop();
            }
            ch += 1;
        }
        buf.truncate(len);
        Ok(())
    }
}

/// Bounds the work done on a crafted file whose offsets form cycles or share nodes: a walk
/// reads each node of a real trie once, so reading more than a few times the file's bytes
/// means the offsets loop back. Counted in bytes read, not in nodes, so that many offsets to
/// one large node cannot make a walk quadratic.
struct Budget(usize);

impl Budget {
    fn spend(&mut self, idx: &Index, n: &Node<'_>) -> Result<(), Error> {
        let cost = n.size + 1;
        if self.0 < cost {
            return Err(idx.err(0, "a trie without cycles"));
        }
        self.0 -= cost;
        Ok(())
    }
}
