//! The system layer for modules: mapped files, module syscalls, /proc/modules, /sys/module,
//! taint, /dev/kmsg.
//!
//! This is the only module crate allowed to contain `unsafe`; each block carries a
//! `// SAFETY:` comment. It has no policy: it does what it is told and reports errno.
//! Paths under /proc and /sys are taken relative to a root (`Sys`), so tests can point it
//! at a copy and the tools can be asked about another mount.
//!
//! `/sys/module` is read here and nowhere else ([`state::Sys`]: state, use count, holders,
//! sections, taint, compression). [`live::Kernel`] is the real kernel behind `moddb`'s
//! [`moddb::live::LiveKernel`] trait (modprobe's plans run against it), and
//! [`live::write_index_set`] commits depmod's files through `safeio` under a lock.

// A system crate: the one floor where `unsafe` is allowed (each block with a SAFETY line).
#![allow(unsafe_code)]

pub mod errno;
pub mod file;
pub mod kmsg;
pub mod live;
pub mod load;
pub mod state;
pub mod taint;

pub use errno::Errno;
