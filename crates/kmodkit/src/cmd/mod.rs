//! One file per area; each owns the argument parsing of its commands.

pub mod bpf;
pub mod kbuild;
pub mod leaks;
pub mod live;
pub mod moddb;
pub mod modinfo;
pub mod signing;
pub mod trace;
pub mod trust;
pub mod vm;
