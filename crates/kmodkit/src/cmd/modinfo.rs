//! `modinfo`, as kmod 30.

use std::ffi::OsString;

pub fn main(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}
