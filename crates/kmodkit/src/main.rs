//! `kmodkit`: one multi-call binary. Invoked as `modinfo`, `lsmod`, `insmod`, `rmmod`,
//! `modprobe`, `depmod` or `dmesg` (through a link of that name) it behaves as that tool; as
//! `kmodkit <command> ...` likewise, plus the commands kmod does not have.
//!
//! This file only dispatches. Each command lives in `cmd/<area>.rs`, parses its own
//! arguments (kmod's tools have kmod's options, not clap's conventions) and calls one
//! library function per job.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

mod cmd;
mod getopt;

/// A command: gets the name it was invoked as (for messages) and its arguments
/// (without the name), returns the process exit status.
type Command = fn(&str, Vec<OsString>) -> u8;

/// The names a link to the binary can have; `kmodkit install-links DIR` creates these.
const LINK_NAMES: &[&str] = &[
    "modinfo", "lsmod", "insmod", "rmmod", "modprobe", "depmod", "dmesg",
];

/// Every command, with a one-line summary for `kmodkit --help`.
const COMMANDS: &[(&str, Command, &str)] = &[
    (
        "modinfo",
        cmd::modinfo::main,
        "show information about a kernel module (as kmod)",
    ),
    ("lsmod", cmd::live::lsmod, "list loaded modules (as kmod)"),
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
        cmd::live::taint,
        "explain why the kernel is tainted",
    ),
    (
        "check",
        cmd::live::check,
        "predict whether a module will load and what it will taint",
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
        "install-links",
        install_links,
        "create the multi-call links (modinfo, lsmod, ...) in DIR",
    ),
];

fn main() -> ExitCode {
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
            return ExitCode::from(f(name, args));
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
                ExitCode::from(f(name, args))
            }
            None => {
                eprintln!("kmodkit: unknown command '{first}' (see kmodkit --help)");
                ExitCode::from(2)
            }
        },
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

/// `kmodkit install-links DIR`: symlinks DIR/<tool> -> this executable.
fn install_links(_: &str, args: Vec<OsString>) -> u8 {
    let [dir] = args.as_slice() else {
        eprintln!("Usage: kmodkit install-links DIR");
        return 2;
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kmodkit: install-links: cannot find own executable: {e}");
            return 1;
        }
    };
    let dir = Path::new(dir);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("kmodkit: install-links: {}: {e}", dir.display());
        return 1;
    }
    for name in LINK_NAMES {
        let link = dir.join(name);
        // Replace an old link, never a regular file somebody else put there.
        if link
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            let _ = std::fs::remove_file(&link);
        }
        if let Err(e) = std::os::unix::fs::symlink(&exe, &link) {
            eprintln!("kmodkit: install-links: {}: {e}", link.display());
            return 1;
        }
    }
    0
}
