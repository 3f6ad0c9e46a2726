//! Module database commands: `depmod`, `modprobe`.

use std::ffi::OsString;

pub fn depmod(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn modprobe(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}
