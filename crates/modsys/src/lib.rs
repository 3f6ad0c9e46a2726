//! The system layer for modules: mapped files, module syscalls, /proc/modules, /sys/module,
//! taint, /dev/kmsg.
//!
//! This is the only module crate allowed to contain `unsafe`; each block carries a
//! `// SAFETY:` comment. It has no policy: it does what it is told and reports errno.

pub mod file;
