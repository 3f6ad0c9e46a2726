//! Taint flags: the table is pure knowledge of kernel/panic.c and lives in `modfile` (so
//! that format crates such as `loadcheck` can use it); re-exported here for the live
//! kernel's readers.

pub use modfile::taint::*;
