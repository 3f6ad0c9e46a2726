//! An initramfs described as a tree of entries, written out as one newc cpio archive.
//!
//! Parents are created on demand and entries are written in path order, so a directory
//! always comes before what it holds (the kernel's unpacker needs that). Host files are
//! read only when the archive is written.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cpio;
use crate::Error;

#[derive(Clone, Debug)]
enum Node {
    Dir,
    /// Bytes given by the caller.
    Data(Vec<u8>, u32),
    /// A host file, read when writing (symlinks on the host are followed).
    Host(PathBuf, u32),
    Symlink(String),
    CharDevice(u32, u32, u32),
}

/// The tree to be archived. Paths are absolute guest paths (`/bin/sh`).
#[derive(Clone, Debug, Default)]
pub struct Initramfs {
    nodes: BTreeMap<String, Node>,
}

fn normalize(path: &str) -> Result<String, Error> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(Error::BadGuestPath(path.to_string()));
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(Error::BadGuestPath(path.to_string()));
    }
    Ok(parts.join("/"))
}

impl Initramfs {
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, path: &str, node: Node) -> Result<(), Error> {
        let path = normalize(path)?;
        let mut prefix = String::new();
        let comps: Vec<&str> = path.split('/').collect();
        for c in &comps[..comps.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(c);
            match self.nodes.get(&prefix) {
                None => {
                    self.nodes.insert(prefix.clone(), Node::Dir);
                }
                Some(Node::Dir) => {}
                Some(_) => return Err(Error::NotADirectory(format!("/{prefix}"))),
            }
        }
        if matches!(node, Node::Dir) && matches!(self.nodes.get(&path), Some(Node::Dir)) {
            return Ok(());
        }
        self.nodes.insert(path, node);
        Ok(())
    }

    pub fn dir(&mut self, path: &str) -> Result<(), Error> {
        self.insert(path, Node::Dir)
    }

    pub fn data(&mut self, path: &str, perm: u32, bytes: Vec<u8>) -> Result<(), Error> {
        self.insert(path, Node::Data(bytes, perm))
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> Result<(), Error> {
        self.insert(path, Node::Symlink(target.to_string()))
    }

    pub fn char_device(
        &mut self,
        path: &str,
        perm: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), Error> {
        self.insert(path, Node::CharDevice(perm, major, minor))
    }

    /// A host file at `guest`, keeping its permission bits.
    pub fn host_file(&mut self, host: &Path, guest: &str) -> Result<(), Error> {
        let meta = std::fs::metadata(host).map_err(|e| Error::io(host, e))?;
        if !meta.is_file() {
            return Err(Error::NotAFile(host.to_path_buf()));
        }
        self.insert(
            guest,
            Node::Host(host.to_path_buf(), meta.permissions().mode()),
        )
    }

    /// A host file or a whole host directory tree at `guest`.
    pub fn host_tree(&mut self, host: &Path, guest: &str) -> Result<(), Error> {
        let meta = std::fs::metadata(host).map_err(|e| Error::io(host, e))?;
        if meta.is_file() {
            return self.host_file(host, guest);
        }
        self.dir(guest)?;
        let mut entries: Vec<_> = std::fs::read_dir(host)
            .map_err(|e| Error::io(host, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| Error::io(host, e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let sub = format!("{}/{}", guest.trim_end_matches('/'), name);
            let ft = e.file_type().map_err(|err| Error::io(&e.path(), err))?;
            if ft.is_symlink() {
                let target =
                    std::fs::read_link(e.path()).map_err(|err| Error::io(&e.path(), err))?;
                self.symlink(&sub, &target.to_string_lossy())?;
            } else {
                self.host_tree(&e.path(), &sub)?;
            }
        }
        Ok(())
    }

    pub fn contains(&self, path: &str) -> bool {
        normalize(path).is_ok_and(|p| self.nodes.contains_key(&p))
    }

    /// Writes the archive (uncompressed: the kernel unpacks it faster than it could
    /// decompress it under emulation, and QEMU loads it straight into guest memory).
    pub fn write_to<W: Write>(&self, out: W) -> Result<W, Error> {
        let mut w = cpio::Writer::new(out);
        let wr = |e: std::io::Error| Error::Write(e);
        for (path, node) in &self.nodes {
            match node {
                Node::Dir => w.dir(path, 0o755).map_err(wr)?,
                Node::Data(bytes, perm) => w.file(path, *perm, bytes).map_err(wr)?,
                Node::Host(host, perm) => {
                    let bytes = std::fs::read(host).map_err(|e| Error::io(host, e))?;
                    w.file(path, *perm, &bytes).map_err(wr)?
                }
                Node::Symlink(t) => w.symlink(path, t).map_err(wr)?,
                Node::CharDevice(perm, ma, mi) => {
                    w.char_device(path, *perm, *ma, *mi).map_err(wr)?
                }
            }
        }
        w.finish().map_err(wr)
    }
}
