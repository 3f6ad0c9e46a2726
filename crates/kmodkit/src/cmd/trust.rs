//! Trust commands: `sign-file`, `sign`, `keygen`, `certs`, `verify`.

use std::ffi::OsString;

pub fn sign_file(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn sign(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn keygen(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn certs(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}

pub fn verify(name: &str, _args: Vec<OsString>) -> u8 {
    super::not_yet(name)
}
