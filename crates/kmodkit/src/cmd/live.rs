//! Live kernel commands: `insmod`, `rmmod`, `lsmod`, `dmesg`, `taint`, `check`.

use std::ffi::OsString;

pub fn insmod(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn rmmod(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn lsmod(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn dmesg(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn taint(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn check(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}
