//! One file per area; each owns the argument parsing of its commands.

pub mod bpf;
pub mod kbuild;
pub mod live;
pub mod moddb;
pub mod modinfo;
pub mod signing;
pub mod trace;
pub mod trust;
pub mod vm;

/// The answer of a command that a later issue delivers.
pub fn not_yet(name: &str) -> u8 {
    eprintln!("{name}: not yet implemented in kmodkit");
    1
}
