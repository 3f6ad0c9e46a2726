//! `kmodkit`: one multi-call binary. Invoked as `modinfo`, `lsmod`, `insmod`, `rmmod`,
//! `modprobe`, `depmod` or `dmesg` (through a link of that name) it behaves as that tool; as
//! `kmodkit <command> ...` likewise, plus the commands kmod does not have.
//!
//! This file only dispatches, and is the one exit path: each command lives in
//! `cmd/<area>.rs`, parses its own arguments (kmod's tools have kmod's options, not clap's
//! conventions), calls one library function per job and returns an [`cmd::Outcome`], which
//! `main` turns into the process's exit status, printing the error once (see `cmd`).

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

mod cmd;
mod getopt;

use anyhow::Context;
use cmd::{Command, Exit, Outcome};

/// The names a link to the binary can have; `kmodkit install-links DIR` creates these.
const LINK_NAMES: &[&str] = &[
    "modinfo", "lsmod", "insmod", "rmmod", "modprobe", "depmod", "dmesg",
];

/// Every command, with a one-line summary for `kmodkit --help`.
const COMMANDS: &[(&str, Command, &str)] = &[
    (
        "modinfo",
        cmd::modinfo::main,
        "show information about a kernel module (as kmod; --json)",
    ),
    (
        "lsmod",
        cmd::live::lsmod,
        "list loaded modules (as kmod; --json: a JSON array)",
    ),
    ("insmod", cmd::live::insmod, "load a module file (as kmod)"),
    ("rmmod", cmd::live::rmmod, "unload a module (as kmod)"),
    (
        "modprobe",
        cmd::moddb::modprobe,
        "load or unload modules with dependencies (as kmod)",
    ),
    (
        "depmod",
        cmd::moddb::depmod,
        "write the module index files (as kmod)",
    ),
    (
        "dmesg",
        cmd::live::dmesg,
        "read the kernel log from /dev/kmsg",
    ),
    (
        "taint",
        cmd::check::taint,
        "explain why the kernel is tainted",
    ),
    (
        "check",
        cmd::check::check,
        "predict whether a module will load and what it will taint",
    ),
    (
        "inventory",
        cmd::inventory::main,
        "report loaded modules, taint, signatures, and modules that would not load (--json, --prometheus)",
    ),
    (
        "sign-file",
        cmd::trust::sign_file,
        "sign a module exactly as the kernel's sign-file",
    ),
    ("sign", cmd::trust::sign, "sign modules or a tree of them"),
    (
        "strip",
        cmd::trust::strip,
        "remove the appended signature of modules",
    ),
    (
        "keygen",
        cmd::trust::keygen,
        "make a module signing key and certificate",
    ),
    (
        "certs",
        cmd::trust::certs,
        "list the certificates in a kernel image, file or varstore",
    ),
    (
        "verify",
        cmd::trust::verify,
        "verify module signatures against a keyring",
    ),
    (
        "vm",
        cmd::vm::main,
        "boot a throwaway real kernel and run a command in it",
    ),
    (
        "new",
        cmd::kbuild::new,
        "create a skeleton out-of-tree module",
    ),
    (
        "build",
        cmd::kbuild::build,
        "build a module against each installed kernel's headers",
    ),
    (
        "dkms",
        cmd::kbuild::dkms,
        "DKMS-compatible add/build/install/remove/status",
    ),
    (
        "kernel",
        cmd::kernel::main,
        "build a Rust-enabled kernel for QEMU (cached)",
    ),
    (
        "bpf",
        cmd::bpf::main,
        "eBPF: asm, disasm, verify, run, load",
    ),
    ("trace", cmd::trace::main, "bpftrace-compatible tracing"),
    (
        "leaks",
        cmd::leaks::main,
        "kernel allocations not freed, by call site",
    ),
    (
        "completions",
        cmd::docs::completions,
        "print shell completions (bash, zsh, fish)",
    ),
    ("man", cmd::docs::man, "write the man pages into DIR"),
    (
        "install-links",
        install_links,
        "create the multi-call links in DIR; --man DIR, --completions PREFIX",
    ),
];

fn main() -> ExitCode {
    safeio::sigpipe_default();
    modsys::file::tune_allocator();
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let invoked = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !args.is_empty() {
        args.remove(0);
    }

    // Multi-call: a link named after a tool.
    if invoked != "kmodkit" {
        if let Some((name, f, _)) = COMMANDS.iter().find(|(n, _, _)| *n == invoked) {
            return finish(name, f(name, args));
        }
    }

    let Some(first) = args.first().map(|a| a.to_string_lossy().into_owned()) else {
        usage();
        return ExitCode::from(2);
    };
    match first.as_str() {
        "-h" | "--help" | "help" => {
            usage();
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("kmodkit {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => match COMMANDS.iter().find(|(n, _, _)| *n == first) {
            Some((name, f, _)) => {
                args.remove(0);
                finish(name, f(name, args))
            }
            None => {
                eprintln!("kmodkit: unknown command '{first}' (see kmodkit --help)");
                ExitCode::from(2)
            }
        },
    }
}

/// The one place a command's error is printed: `<prefix>: <error>: <causes>`, status 1; an
/// [`Exit`] prints its own message (if any) and gives its own status.
fn finish(name: &str, outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                if let Some(m) = &exit.message {
                    eprintln!("{m}");
                }
                return ExitCode::from(exit.code);
            }
            if LINK_NAMES.contains(&name) {
                eprintln!("{name}: {e:#}");
            } else {
                eprintln!("kmodkit {name}: {e:#}");
            }
            ExitCode::from(1)
        }
    }
}

fn usage() {
    println!("Usage: kmodkit <command> [args...]\n\nCommands:");
    for (name, _, summary) in COMMANDS {
        println!("  {name:<14} {summary}");
    }
    println!(
        "\nInvoked through a link named {} it behaves as that tool.",
        LINK_NAMES.join(", ")
    );
}

/// `kmodkit install-links DIR [--man MANDIR] [--completions PREFIX]`: symlinks
/// DIR/<tool> -> this executable; with `--man`, the man pages into MANDIR/man1 and man8;
/// with `--completions`, the bash, zsh and fish completions under PREFIX/share.
fn install_links(_: &str, args: Vec<OsString>) -> Outcome {
    const USAGE: &str = "Usage: kmodkit install-links DIR [--man MANDIR] [--completions PREFIX]";
    let mut args = args.into_iter();
    let (mut dir, mut man, mut completions) = (None, None, None);
    while let Some(a) = args.next() {
        let slot = match a.to_str() {
            Some("--man") => &mut man,
            Some("--completions") => &mut completions,
            Some(s) if s.starts_with('-') => return Err(cmd::usage(USAGE)),
            _ if dir.is_none() => {
                dir = Some(std::path::PathBuf::from(a));
                continue;
            }
            _ => return Err(cmd::usage(USAGE)),
        };
        *slot = Some(std::path::PathBuf::from(
            args.next().ok_or_else(|| cmd::usage(USAGE))?,
        ));
    }
    let Some(dir) = dir else {
        return Err(cmd::usage(USAGE));
    };
    let exe = std::env::current_exe().context("cannot find own executable")?;
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    for name in LINK_NAMES {
        let link = dir.join(name);
        // Replace an old link, never a regular file somebody else put there.
        if link
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            let _ = std::fs::remove_file(&link);
        }
        std::os::unix::fs::symlink(&exe, &link).with_context(|| link.display().to_string())?;
    }
    if let Some(man) = man {
        cmd::docs::write_man(&man)?;
    }
    if let Some(prefix) = completions {
        cmd::docs::install_completions(&prefix)?;
    }
    Ok(ExitCode::SUCCESS)
}
