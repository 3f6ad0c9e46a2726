//! Inserting and removing modules: the three syscalls, and `insert_file`, which picks
//! between them the way kmod does.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::Errno;

/// `finit_module` flags (include/uapi/linux/module.h).
pub const MODULE_INIT_IGNORE_MODVERSIONS: u32 = 1;
pub const MODULE_INIT_IGNORE_VERMAGIC: u32 = 2;
pub const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

/// `finit_module(fd, params, flags)`.
pub fn finit_module(file: &File, params: &CStr, flags: u32) -> Result<(), Errno> {
    // SAFETY: the fd is open for the duration of the call (borrowed from `file`) and
    // `params` is a valid NUL-terminated string; the kernel copies both and keeps no
    // reference to our memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            params.as_ptr(),
            flags as libc::c_int,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// `init_module(image, len, params)`: the module image from memory.
pub fn init_module(image: &[u8], params: &CStr) -> Result<(), Errno> {
    // SAFETY: `image` is a valid slice for `image.len()` bytes and `params` a valid C string
    // for the duration of the call; the kernel copies the image before returning.
    let r = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr() as *const libc::c_void,
            image.len() as libc::c_ulong,
            params.as_ptr(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// `delete_module(name, flags)`; flags are `O_NONBLOCK` and, to force, `O_TRUNC`.
pub fn delete_module(name: &CStr, flags: i32) -> Result<(), Errno> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// Why `insert_file` failed: before the kernel was asked, or the kernel's answer.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// The file could not be opened or read (kmod: "could not load module").
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The compressed file could not be decompressed.
    #[error("{path}: {source}")]
    Decompress {
        path: PathBuf,
        source: modfile::Error,
    },
    /// Parameters with a NUL byte.
    #[error("module parameters contain a NUL byte")]
    Params,
    /// The kernel refused (kmod: "could not insert module").
    #[error("{0}")]
    Kernel(Errno),
}

/// How `insert_file` reached the kernel (for tests and `-v` output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// finit_module on the file as is.
    Finit,
    /// finit_module with MODULE_INIT_COMPRESSED_FILE: the kernel decompresses.
    FinitCompressed,
    /// init_module on the decompressed (and, when forcing, stripped) image.
    Init,
}

/// Inserts the module at `path` with `params`, as kmod does: `finit_module` on the file
/// when the kernel can take it as is (uncompressed, or compressed with the method named
/// in `/sys/module/compression`, which kernels with in-kernel decompression provide), else
/// decompress here and `init_module` the image. `force` ignores vermagic and modversions
/// (`finit_module` flags; for `init_module`, the vermagic string and the `__versions`
/// section are removed from the image, as kmod does).
pub fn insert_file(
    path: &Path,
    params: &str,
    force: bool,
    kernel_compression: Option<&str>,
) -> Result<Method, InsertError> {
    let open_err = |source| InsertError::Open {
        path: path.to_path_buf(),
        source,
    };
    let params = CString::new(params).map_err(|_| InsertError::Params)?;
    let file = File::open(path).map_err(open_err)?;
    let mut head = [0u8; 6];
    let n = {
        use std::io::Read;
        (&file).read(&mut head).map_err(open_err)?
    };
    let compression = modfile::Compression::detect(&head[..n]);
    let mut flags = 0;
    if force {
        flags |= MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC;
    }
    let direct = match compression {
        modfile::Compression::None => Some(Method::Finit),
        c if kernel_compression.is_some_and(|k| k.trim() == c.to_string()) => {
            flags |= MODULE_INIT_COMPRESSED_FILE;
            Some(Method::FinitCompressed)
        }
        _ => None,
    };
    if let Some(method) = direct {
        match finit_module(&file, &params, flags) {
            Ok(()) => return Ok(method),
            Err(e) if e.0 != libc::ENOSYS => return Err(InsertError::Kernel(e)),
            Err(_) => {} // an old kernel: fall back to init_module
        }
    }
    let raw = crate::file::read(path).map_err(open_err)?;
    let image = modfile::decompress(&raw).map_err(|source| InsertError::Decompress {
        path: path.to_path_buf(),
        source,
    })?;
    let image = if force {
        std::borrow::Cow::Owned(strip_for_force(&image))
    } else {
        image
    };
    init_module(&image, &params).map_err(InsertError::Kernel)?;
    Ok(Method::Init)
}

/// What kmod does to force a module through `init_module`: clear the `vermagic=` entry
/// of `.modinfo` (to NULs) and drop `SHF_ALLOC` from `__versions` so the kernel does not
/// check it. Only 64-bit little-endian images are edited; others are returned unchanged.
pub fn strip_for_force(image: &[u8]) -> Vec<u8> {
    let mut out = image.to_vec();
    let Ok(m) = modfile::Module::parse(image) else {
        return out;
    };
    let elf = m.elf();
    if !elf.is_64() || elf.is_big_endian() {
        return out;
    }
    if let Some(s) = elf.section_by_name(".modinfo") {
        let data = elf.data_of(&s);
        let mut i = 0;
        while i < data.len() {
            let end = data[i..]
                .iter()
                .position(|&b| b == 0)
                .map_or(data.len(), |p| i + p);
            if data[i..end].starts_with(b"vermagic=") {
                let base = s.offset as usize;
                out[base + i..base + end].fill(0);
            }
            i = end + 1;
        }
    }
    if let Some(s) = elf.section_by_name("__versions") {
        let shoff = elf.uint(0x28, 8).unwrap_or(0);
        let shentsize = elf.uint(0x3A, 2).unwrap_or(0);
        let at = (shoff + u64::from(s.index) * shentsize + 8) as usize;
        if let Some(flags) = out.get_mut(at..at + 8) {
            let v = u64::from_le_bytes(flags.try_into().expect("8 bytes")) & !2; // SHF_ALLOC
            flags.copy_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Removes the module `name` without waiting (`O_NONBLOCK`, as kmod always does);
/// `force` adds `O_TRUNC` (the kernel honours it only with CONFIG_MODULE_FORCE_UNLOAD).
pub fn remove(name: &str, force: bool) -> Result<(), Errno> {
    let name = CString::new(name).map_err(|_| Errno(libc::EINVAL))?;
    let mut flags = libc::O_NONBLOCK;
    if force {
        flags |= libc::O_TRUNC;
    }
    delete_module(&name, flags)
}
