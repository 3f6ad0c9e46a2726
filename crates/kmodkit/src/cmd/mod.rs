//! One file per area; each owns the argument parsing of its commands.
//!
//! # One error path
//! Every command is a [`Command`]: it gets the name it was invoked as and its arguments, and
//! returns an [`Outcome`]. It never prints its own error and returns a number: it returns
//! `Err`, with context (`anyhow::Context`), and `main` prints it once as
//! `<prefix>: <error: its causes>` and exits 1. The prefix is the tool's name for kmod's
//! tools (`modinfo: ERROR: ...` is then `Err(anyhow!("ERROR: ..."))`) and `kmodkit <cmd>`
//! for the others.
//!
//! Statuses other than 0 and 1 (usage errors are 2 as in kmod; `vm` passes its guest's on;
//! `check` says 1 for "rejected") and messages that must keep an established tool's exact
//! wording without a prefix are an [`Exit`] error: `main` prints its message verbatim (if
//! any) and exits with its code. [`usage`] and [`clap_exit`] build the common ones.

use std::ffi::OsString;
use std::fmt;
use std::process::ExitCode;

pub mod bpf;
pub mod check;
pub mod docs;
pub mod inventory;
pub mod kbuild;
pub mod kernel;
pub mod leaks;
pub mod live;
pub mod moddb;
pub mod modinfo;
pub mod signing;
pub mod trace;
pub mod trust;
pub mod vm;

/// What a command returns: its exit status, or the error `main` prints.
pub type Outcome = anyhow::Result<ExitCode>;

/// A command: the name it was invoked as (for messages) and its arguments (without the name).
pub type Command = fn(&str, Vec<OsString>) -> Outcome;

/// Ends a command with `code`, after printing `message` (verbatim, to stderr) if there is
/// one. `Exit::status(n)` is for a status whose reasons were already printed (kmod's tools
/// report each failing argument and go on).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: Option<String>,
}

impl Exit {
    pub fn status(code: u8) -> anyhow::Error {
        Exit {
            code,
            message: None,
        }
        .into()
    }

    pub fn with(code: u8, message: impl Into<String>) -> anyhow::Error {
        Exit {
            code,
            message: Some(message.into()),
        }
        .into()
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

/// A usage error: `message` on stderr (verbatim), exit status 2.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Exit::with(2, message)
}

/// The outcome of a clap parse failure: clap prints it (help and version on stdout with
/// status 0, errors on stderr with status 2).
pub fn clap_exit(e: clap::Error) -> Outcome {
    let _ = e.print();
    if e.use_stderr() {
        Err(Exit::status(2))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
