//! The real kernel behind `moddb`'s traits: [`Kernel`] implements
//! [`moddb::live::LiveKernel`] (module state from `/sys/module`, `finit_module`/`init_module`,
//! `delete_module`, modprobe.d commands by `/bin/sh`), and [`write_index_set`] is depmod's
//! [`moddb::depmod::Store`] (safeio's staged files under a directory lock).
//!
//! No policy here: what to load, in which order, and what a failure means are decided by
//! `moddb::exec::execute_plan`.

use crate::errno::Errno;
use crate::load::{self, InsertError};
use crate::state::{InitState, Sys};
use moddb::live::{KernelError, LiveKernel, ModuleState};
use std::path::Path;

/// The running kernel (or the one whose `/proc` and `/sys` are under [`Sys`]'s root; the
/// syscalls always go to the running one).
#[derive(Clone, Debug)]
pub struct Kernel {
    sys: Sys,
    /// `/sys/module/compression`, read once: how the kernel decompresses modules.
    compression: Option<String>,
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new(Sys::default())
    }
}

impl Kernel {
    pub fn new(sys: Sys) -> Kernel {
        let compression = sys.compression();
        Kernel { sys, compression }
    }
}

fn errno_error(e: Errno) -> KernelError {
    KernelError {
        errno: Some(e.0),
        message: e.message(),
    }
}

impl LiveKernel for Kernel {
    fn state(&self, name: &str) -> ModuleState {
        match self.sys.initstate(name) {
            InitState::Live => ModuleState::Live,
            InitState::Coming => ModuleState::Coming,
            InitState::Going => ModuleState::Going,
            InitState::Builtin => ModuleState::Builtin,
            InitState::NotLoaded => ModuleState::NotLoaded,
        }
    }

    fn refcnt(&self, name: &str) -> Option<u32> {
        self.sys
            .refcnt(name)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
    }

    fn holders(&self, name: &str) -> Vec<String> {
        self.sys.holders(name).unwrap_or_default()
    }

    fn insert(&mut self, path: &Path, options: &str, force: bool) -> Result<(), KernelError> {
        match load::insert_file(path, options, force, self.compression.as_deref()) {
            Ok(_) => Ok(()),
            Err(InsertError::Kernel(e)) => Err(errno_error(e)),
            Err(InsertError::Open { source, .. }) => Err(match source.raw_os_error() {
                Some(n) => errno_error(Errno(n)),
                None => KernelError {
                    errno: Some(libc::EIO),
                    message: source.to_string(),
                },
            }),
            Err(e) => Err(KernelError {
                errno: None,
                message: e.to_string(),
            }),
        }
    }

    fn delete(&mut self, name: &str, force: bool) -> Result<(), KernelError> {
        load::remove(name, force).map_err(errno_error)
    }

    fn run_command(&mut self, command: &str, module: &str) -> Result<(), i32> {
        run_command(command, module)
    }
}

/// A modprobe.d install/remove command, run by the shell with `MODPROBE_MODULE` set, as
/// libkmod's `command_do` runs it. `Err` carries the exit status (1 when it could not run or
/// died of a signal).
pub fn run_command(command: &str, module: &str) -> Result<(), i32> {
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env("MODPROBE_MODULE", module)
        .status()
        .map_err(|e| e.raw_os_error().unwrap_or(1))?;
    if status.success() {
        Ok(())
    } else {
        Err(status.code().unwrap_or(1))
    }
}

/// depmod's [`moddb::depmod::Store`]: every file staged under a unique temporary name beside
/// its target (mode 0644, as kmod's depmod creates them), then, holding an exclusive lock on
/// the directory, all renamed into place in the order given. Two depmods on one directory
/// thus replace whole sets one after the other, never a mix; a failure before the renames
/// leaves the old set and no temporary files.
pub struct IndexStore;

impl moddb::depmod::Store for IndexStore {
    fn write_set(
        &mut self,
        dir: &Path,
        files: Vec<(&'static str, Vec<u8>)>,
    ) -> Result<(), moddb::Error> {
        write_index_set(dir, &files)
    }
}

/// See [`IndexStore`].
pub fn write_index_set(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), moddb::Error> {
    let io = |e: safeio::Error| moddb::Error::Io {
        path: e.path,
        source: e.source,
    };
    let _lock = safeio::Lock::dir(dir).map_err(io)?;
    // Each file written and synced on a thread of its own: the syncs then overlap (the
    // file system commits them together) instead of waiting on the disk one by one.
    let staged: Vec<Result<safeio::Staged, safeio::Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|(name, bytes)| {
                s.spawn(move || safeio::Staged::write(&dir.join(name), bytes, Some(0o644)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let staged = staged
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    safeio::Staged::commit_all(staged).map_err(io)
}
