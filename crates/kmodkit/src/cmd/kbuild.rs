//! Out-of-tree module commands: `new`, `build`, `dkms`.

use std::ffi::OsString;

pub fn new(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn build(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn dkms(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}
