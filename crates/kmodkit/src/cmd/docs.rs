//! `kmodkit completions bash|zsh|fish` and `kmodkit man DIR`: shell completions and man
//! pages, generated from the definitions the parsers use, so that they cannot drift from
//! what the commands accept.
//!
//! - Commands parsed with clap give their `clap::Command` (`CommandFactory`).
//! - kmod's tools and `sign-file` parse with [`crate::getopt`] from a short-option string and
//!   a `LongOpt` table; [`from_getopt`] turns exactly those into a `clap::Command`, with the
//!   help line of each option from this file (a unit test checks that every option of the
//!   parser has one, and nothing else does).
//! - The hand-written parsers of `trace`, `leaks` and `dkms` (whose grammars follow
//!   bpftrace's and DKMS's own) are described here by the same getopt-style tables; a test
//!   (tests/docs.rs) checks that each option documented here is one their usage text names.
//!
//! Each man page ends with a DIFFERENCES section: where kmodkit's command differs from the
//! tool it stands in for (kmod, sign-file, DKMS, bpftrace), or what it adds.

use crate::getopt::{opt, HasArg, LongOpt};
use anyhow::Context;
use clap::{Arg, ArgAction, Command};
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use super::Outcome;

/// A getopt-style command's page: its parser's option string and long options, with one
/// help line per option letter (`val`).
struct Getopt {
    name: &'static str,
    section: u8,
    differs: &'static str,
    about: &'static str,
    operands: &'static str,
    short: &'static str,
    long: &'static [LongOpt],
    help: &'static [(char, &'static str)],
}

/// The `clap::Command` accepting what `getopt::parse(short, long)` accepts: one argument per
/// option letter, its long names (the first as the name, the rest as aliases), a value
/// where the letter or its long names take one.
fn from_getopt(g: &Getopt) -> Command {
    let mut letters: Vec<char> = Vec::new();
    for c in g.short.chars().filter(|c| *c != ':') {
        letters.push(c);
    }
    for l in g.long {
        if !letters.contains(&l.val) {
            letters.push(l.val);
        }
    }
    let mut cmd = Command::new(g.name)
        .about(g.about)
        .override_usage(format!("{} {}", g.name, g.operands))
        .disable_help_flag(true)
        .disable_version_flag(true);
    for c in letters {
        let longs: Vec<&LongOpt> = g.long.iter().filter(|l| l.val == c).collect();
        let short_arg = g
            .short
            .find(c)
            .map(|i| g.short[i + c.len_utf8()..].starts_with(':'));
        let takes_value =
            short_arg.unwrap_or(false) || longs.iter().any(|l| l.has_arg != HasArg::No);
        let id = longs.first().map_or(c.to_string(), |l| l.name.to_string());
        let mut arg = Arg::new(id).help(help_of(g, c));
        if short_arg.is_some() {
            arg = arg.short(c);
        }
        if let Some((first, rest)) = longs.split_first() {
            arg = arg.long(first.name);
            for l in rest {
                arg = arg.visible_alias(l.name);
            }
        }
        arg = if takes_value {
            arg.action(ArgAction::Append).value_name("ARG")
        } else {
            arg.action(ArgAction::SetTrue)
        };
        cmd = cmd.arg(arg);
    }
    cmd.arg(Arg::new("operands").num_args(0..).value_name("ARGS"))
}

fn help_of(g: &Getopt, c: char) -> &'static str {
    g.help.iter().find(|(l, _)| *l == c).map_or("", |(_, h)| *h)
}

const MODINFO_HELP: &[(char, &str)] = &[
    ('a', "print the author field (like -F author)"),
    ('d', "print the description field"),
    ('l', "print the license field"),
    ('p', "print the parameters (parm) field"),
    ('n', "print the module's file name"),
    ('0', "end each field with NUL instead of newline"),
    (
        'm',
        "treat each argument as a module name, not an alias or a file name",
    ),
    ('F', "print only this field"),
    (
        'k',
        "look modules up for this kernel release instead of the running one",
    ),
    (
        'b',
        "use this directory as the root (prefix of /lib/modules)",
    ),
    ('V', "print the version"),
    ('h', "print the help"),
    (
        'J',
        "(kmodkit) one JSON array of objects, one per module; keys that may repeat are arrays",
    ),
];

const DEPMOD_HELP: &[(char, &str)] = &[
    ('a', "probe all modules (the default)"),
    ('A', "only run if a module is newer than modules.dep"),
    (
        'b',
        "use this directory as the root (prefix of /lib/modules)",
    ),
    ('C', "use this file or directory instead of /etc/depmod.d"),
    ('E', "check symbol versions against this Module.symvers"),
    ('F', "check symbols against this System.map"),
    (
        'm',
        "module directory under the root (default /lib/modules; kmod 34)",
    ),
    (
        'o',
        "write the files under this root instead of the -b root (kmod 34)",
    ),
    ('e', "report unresolved symbols"),
    ('v', "verbose"),
    (
        'n',
        "write the files to stdout instead of the modules directory",
    ),
    ('P', "architecture symbol prefix to ignore"),
    ('w', "warn on duplicate dependencies, aliases, symbols"),
    ('V', "print the version"),
    ('h', "print the help"),
];

const MODPROBE_HELP: &[(char, &str)] = &[
    (
        'a',
        "load every module named (not a module and its parameters)",
    ),
    ('r', "remove modules (and their unused dependencies)"),
    ('5', "also remove the dependencies / holders"),
    (
        'w',
        "with -r: wait up to this many milliseconds for the module to become unused",
    ),
    ('R', "print the module names an alias resolves to"),
    (
        '3',
        "fail if the module is already loaded (or not loaded, with -r)",
    ),
    (
        'i',
        "ignore install and remove commands of the configuration",
    ),
    (
        'b',
        "apply the blacklist to names given on the command line too",
    ),
    ('f', "force: ignore version magic and symbol versions"),
    ('2', "ignore symbol versions"),
    ('1', "ignore version magic"),
    ('D', "print the dependencies (insmod lines) and stop"),
    ('c', "print the effective configuration and stop"),
    ('4', "print the symbol versions of a module file"),
    ('6', "print the exported symbols of a module file"),
    ('n', "dry run: do everything but load or unload"),
    ('C', "use this file or directory instead of /etc/modprobe.d"),
    (
        'd',
        "use this directory as the root (prefix of /lib/modules)",
    ),
    ('S', "use this kernel release instead of the running one"),
    ('s', "report errors to syslog too"),
    ('q', "quiet: no error for a module that is not found"),
    ('v', "verbose"),
    ('V', "print the version"),
    ('h', "print the help"),
    ('X', "explain each decision (kmodkit)"),
    ('J', "with --explain: JSON (kmodkit)"),
    ('L', "load the modules listed in modules-load.d (kmodkit)"),
];

const INSMOD_HELP: &[(char, &str)] = &[
    (
        'f',
        "force: ignore version magic and symbol versions (dangerous)",
    ),
    ('s', "report errors to syslog instead of stderr"),
    ('v', "verbose"),
    ('V', "print the version"),
    ('h', "print the help"),
];

const RMMOD_HELP: &[(char, &str)] = &[
    (
        'f',
        "force the removal (only with CONFIG_MODULE_FORCE_UNLOAD; dangerous)",
    ),
    ('s', "report errors to syslog instead of stderr"),
    ('v', "verbose"),
    ('V', "print the version"),
    ('h', "print the help"),
];

const LSMOD_HELP: &[(char, &str)] = &[
    ('s', "report errors to syslog instead of stderr"),
    ('v', "verbose"),
    ('V', "print the version"),
    ('h', "print the help"),
    (
        'J',
        "one JSON document: name, size, refcnt, used_by per module (kmodkit)",
    ),
];

const DMESG_HELP: &[(char, &str)] = &[
    ('w', "wait for new messages"),
    (
        'l',
        "only these levels (comma-separated: emerg,alert,crit,err,warn,notice,info,debug)",
    ),
    ('m', "only messages of this module (kmodkit)"),
    ('J', "JSON output"),
    ('r', "raw records, with their <level> prefix"),
    ('h', "print the help"),
];

const SIGN_FILE_HELP: &[(char, &str)] = &[
    (
        's',
        "take a detached signature (DER PKCS#7) instead of a key",
    ),
    (
        'd',
        "write the signature to MODULE.p7s only; leave the module alone",
    ),
    ('p', "also keep the signature in MODULE.p7s"),
    (
        'k',
        "identify the signer by subject key identifier instead of issuer and serial",
    ),
    ('M', "the PKCS#11 module library for pkcs11: keys (kmodkit)"),
];

/// `trace` options (bpftrace's names); `parse` in cmd/trace.rs accepts each (tested).
const TRACE_LONG: &[LongOpt] = &[
    opt("tool", HasArg::Required, 'T'),
    opt("unsafe", HasArg::No, 'U'),
    opt("json", HasArg::No, 'j'),
    opt("help", HasArg::No, 'h'),
];
const TRACE_HELP: &[(char, &str)] = &[
    ('e', "the program text"),
    (
        'c',
        "run this command (split on spaces) and trace until it exits; `cpid` is its pid",
    ),
    (
        'p',
        "attach uprobes to this process only; stop when it exits",
    ),
    ('l', "list probes matching a pattern"),
    (
        'd',
        "print the compiled eBPF programs and stop before loading",
    ),
    ('T', "run a bundled tool (`--tool list` names them)"),
    ('U', "allow system() and signal()"),
    ('j', "bpftrace's -f json output"),
    ('h', "print the help"),
];

const LEAKS_LONG: &[LongOpt] = &[
    opt("module", HasArg::Required, 'M'),
    opt("ko", HasArg::Required, 'K'),
    opt("duration", HasArg::Required, 'D'),
    opt("json", HasArg::No, 'j'),
    opt("help", HasArg::No, 'h'),
];
const LEAKS_HELP: &[(char, &str)] = &[
    (
        'M',
        "only call sites in this module's code, named from its .ko (init functions too); \
the window also ends when it is unloaded",
    ),
    (
        'K',
        "the module's .ko (default: a .ko named in the command, ./NAME.ko, modules.dep)",
    ),
    ('D', "end the window after this many seconds"),
    (
        'c',
        "run this command with /bin/sh -c and end the window when it exits",
    ),
    ('j', "one JSON object instead of text"),
    ('h', "print the help"),
];

const DKMS_LONG: &[LongOpt] = &[
    opt("module", HasArg::Required, 'm'),
    opt("kernelver", HasArg::Required, 'k'),
    opt("arch", HasArg::Required, 'a'),
    opt("all", HasArg::No, 'A'),
    opt("force", HasArg::No, 'f'),
    opt("no-depmod", HasArg::No, 'N'),
    opt("dkmstree", HasArg::Required, 'D'),
    opt("sourcetree", HasArg::Required, 'S'),
    opt("installtree", HasArg::Required, 'I'),
    opt("kernelsourcedir", HasArg::Required, 'K'),
    opt("templatekernel", HasArg::Required, 't'),
    opt("sign-key", HasArg::Required, 'Y'),
    opt("sign-cert", HasArg::Required, 'C'),
    opt("json", HasArg::No, 'J'),
];
const DKMS_HELP: &[(char, &str)] = &[
    ('m', "the module (NAME or NAME/VERSION)"),
    ('v', "the module's version"),
    (
        'k',
        "the kernel release (RELEASE or RELEASE/ARCH), repeatable",
    ),
    ('a', "the architecture"),
    ('A', "every kernel the module is built or installed for"),
    ('f', "force: rebuild or reinstall"),
    ('N', "do not run depmod after install and uninstall"),
    ('D', "the DKMS tree (default /var/lib/dkms)"),
    ('S', "the source tree (default /usr/src)"),
    ('I', "the install tree (default /lib/modules)"),
    ('K', "the kernel build directory"),
    (
        't',
        "with match: the kernel whose installed modules to match",
    ),
    ('Y', "the signing key"),
    ('C', "the signing certificate"),
    ('J', "with status: one JSON document (kmodkit)"),
    ('j', "parallel make jobs"),
];

/// Every getopt-style command, in `kmodkit --help` order.
const GETOPT_PAGES: &[Getopt] = &[
    Getopt {
        name: "modinfo",
        section: 8,
        about: "Show information about a Linux kernel module",
        operands: "[OPTIONS] MODULE|FILE...",
        short: super::modinfo::SHORTOPTS,
        long: super::modinfo::LONGOPTS,
        help: MODINFO_HELP,
        differs: "Output, messages and exit statuses are kmod 34.2's (Debian 13), byte for \
byte, for files (plain, .xz, .zst, .gz; any architecture and byte order), names, aliases and \
built-in modules; kmod 30's (Debian 12) with the environment variable KMODKIT_KMOD_COMPAT=30 \
(they differ in --version and in the padding of keys longer than 15 bytes). Each argument \
is looked up afresh, as kmod does. kmodkit adds --json.",
    },
    Getopt {
        name: "insmod",
        section: 8,
        about: "Insert a module file into the kernel",
        operands: "[OPTIONS] FILE [PARAMETERS...]",
        short: super::live::INSMOD_SHORTOPTS,
        long: super::live::INSMOD_LONGOPTS,
        help: INSMOD_HELP,
        differs: "kmod 34.2's options, help, messages and exit statuses (Debian 13); kmod \
30's (Debian 12: -p and -s accepted and ignored, no -v or long --force, libkmod messages \
with their source positions) with the environment variable KMODKIT_KMOD_COMPAT=30. \
Compressed modules are passed to the kernel as files (finit_module) when it decompresses \
them itself. -s sends the messages to /dev/log without a timestamp and drops them when no \
syslog daemon listens (kmod writes them to /dev/console then); -v adds nothing, as libkmod \
adds nothing at -v and -vv on the paths kmodkit reproduces (its -vvv INFO lines are not \
reproduced).",
    },
    Getopt {
        name: "rmmod",
        section: 8,
        about: "Remove a module from the kernel",
        operands: "[OPTIONS] MODULE...",
        short: super::live::RMMOD_SHORTOPTS,
        long: super::live::RMMOD_LONGOPTS,
        help: RMMOD_HELP,
        differs: "kmod 34.2's options, help, messages and exit statuses (Debian 13); kmod \
30's with the environment variable KMODKIT_KMOD_COMPAT=30 (its help text, -w rejected as \
an unexpected option, libkmod messages with their source positions). -s and -v as for \
insmod.",
    },
    Getopt {
        name: "lsmod",
        section: 8,
        about: "Show the loaded kernel modules",
        operands: "[OPTIONS]",
        short: super::live::LSMOD_SHORTOPTS,
        long: super::live::LSMOD_LONGOPTS,
        help: LSMOD_HELP,
        differs: "kmod 34.2's options, output, messages and exit statuses (Debian 13); kmod \
30's with the environment variable KMODKIT_KMOD_COMPAT=30 (no options: any argument is a \
usage error; libkmod's message with its source position). -s and -v as for insmod. \
kmodkit adds --json (with KMODKIT_KMOD_COMPAT=30, only as the sole argument).",
    },
    Getopt {
        name: "modprobe",
        section: 8,
        about: "Add or remove modules with their dependencies",
        operands: "[OPTIONS] MODULE [PARAMETERS...]",
        short: super::moddb::MODPROBE_SHORTOPTS,
        long: super::moddb::MODPROBE_LONGOPTS,
        help: MODPROBE_HELP,
        differs: "kmod 34.2's decisions and output (--show-depends, -c, -R, -n, -r): weakdep \
lines in modprobe.d and the module directory's modules.weakdep (shown by -c, never \
loaded), a module file given by path (/x.ko or ./x.ko) loaded with the dependencies \
modules.dep records for its name, *.conf files only. With KMODKIT_KMOD_COMPAT=30, kmod 30's \
(*.alias files read too, no weakdep, a path is looked up as an alias, libkmod messages \
with its source positions). kmodkit adds --explain [--json], which says why each module is \
loaded or skipped, and --modules-load.",
    },
    Getopt {
        name: "depmod",
        section: 8,
        about: "Write the module dependency and index files",
        operands: "[OPTIONS] [RELEASE] [FILES...]",
        short: super::moddb::DEPMOD_SHORTOPTS,
        long: super::moddb::DEPMOD_LONGOPTS,
        help: DEPMOD_HELP,
        differs: "Writes the same bytes as kmod 34.2 (text and .bin files: tries laid out \
root first, and modules.weakdep from the modules' weakdep entries), with -m/--moduledir \
and -o/--outdir. With the environment variable KMODKIT_KMOD_COMPAT=30, the same bytes as \
kmod 30 (tries laid out root last, no modules.weakdep) and kmod 30's options (-u, -q, -r, \
-m accepted and ignored with a warning; no -o). The index set is replaced as a whole under \
a lock, so two runs cannot mix their files.",
    },
    Getopt {
        name: "dmesg",
        section: 1,
        about: "Print the kernel log from /dev/kmsg",
        operands: "[OPTIONS]",
        short: super::live::DMESG_SHORTOPTS,
        long: super::live::DMESG_LONGOPTS,
        help: DMESG_HELP,
        differs: "util-linux's default output format; a subset of its options. kmodkit adds \
--module.",
    },
    Getopt {
        name: "sign-file",
        section: 1,
        about: "Sign a kernel module (the kernel's scripts/sign-file)",
        operands: "[-dpk] HASH KEY|PKCS11-URI CERT MODULE [DEST] | -s SIG HASH CERT MODULE [DEST]",
        short: super::trust::SIGN_FILE_SHORTOPTS,
        long: super::trust::SIGN_FILE_LONGOPTS,
        help: SIGN_FILE_HELP,
        differs: "Byte-identical output to the kernel's sign-file for RSA keys (PKCS#1 v1.5 \
signatures are deterministic). ECDSA P-256/P-384 keys and pkcs11: URIs work too; \
KBUILD_SIGN_PIN unlocks encrypted keys and tokens as in sign-file.",
    },
    Getopt {
        name: "kmodkit trace",
        section: 1,
        about: "bpftrace-compatible tracing, compiled straight to eBPF",
        operands: "[OPTIONS] -e PROGRAM | FILE [ARGS...]",
        short: "e:c:p:l::dh",
        long: TRACE_LONG,
        help: TRACE_HELP,
        differs: "bpftrace 0.17's language subset and output bytes, without LLVM. Options \
are bpftrace's where they exist; --json stands for -f json. Not supported: -o, -B, -k, -v, \
-I, USDT, struct casts and kfunc probes (see the issues).",
    },
    Getopt {
        name: "kmodkit leaks",
        about: "Kernel allocations not freed during a window, by call site",
        operands: "[OPTIONS]",
        short: "c:h",
        long: LEAKS_LONG,
        help: LEAKS_HELP,
        section: 1,
        differs:
            "Like kmemleak's reports but without a debug kernel: kmem tracepoints traced with \
eBPF; call sites named down to a module's function.",
    },
    Getopt {
        name: "kmodkit dkms",
        about: "DKMS-compatible add/build/install/uninstall/remove/status/autoinstall/match",
        operands: "ACTION [OPTIONS] [MODULE/VERSION | SOURCE-DIR]",
        short: "m:v:k:a:j:",
        long: DKMS_LONG,
        help: DKMS_HELP,
        section: 1,
        differs:
            "DKMS 3's actions, trees and status lines. Every name and version from dkms.conf or \
the command line is checked to be one path component, and every path to stay inside its \
tree. kmodkit adds status --json and signs with its own sign-file.",
    },
];

/// The pages of the commands parsed with clap, built from their parsers.
fn clap_pages() -> Vec<(&'static str, Command, &'static str)> {
    use clap::CommandFactory;
    vec![
        (
            "check",
            super::check::CheckArgs::command(),
            "No established tool predicts a load; kmodkit replays the kernel's loader \
decisions (ELF checks, vermagic, modversions CRCs, unknown and GPL-only symbols, symbol \
namespaces, dependencies, signature and keyrings, license, taint) offline, for several \
kernels at once (--kernel is repeatable: images, modules directories, release names, .deb \
packages), as a matrix with errno, dmesg line and taint per line. The messages are those of \
Linux 6.1 to 6.12. Exit status: 0 loads everywhere, 1 rejected somewhere, 2 usage.",
        ),
        (
            "inventory",
            super::inventory::InventoryArgs::command(),
            "No established tool reports this: lsmod lists modules, modinfo reads files, \
/proc/sys/kernel/tainted is a number. kmodkit inventory joins them with signature verdicts \
against the running kernel's keys and a prediction for every module on disk, as a table, JSON \
or Prometheus text for node_exporter's textfile collector.",
        ),
        (
            "sign",
            super::trust::SignArgs::command(),
            "sign-file signs one file; kmodkit sign re-signs files or whole trees in \
parallel, compressed modules too, replacing each atomically.",
        ),
        (
            "keygen",
            super::trust::KeygenArgs::command(),
            "The key and certificate the kernel's certs/Makefile would make with openssl \
(x509.genkey); both files are written, or neither.",
        ),
        (
            "certs",
            super::trust::CertsArgs::command(),
            "Certificates from kernel images (built-in keys), DER/PEM files and EFI \
varstores (db, MokList); no single established tool reads all three.",
        ),
        (
            "verify",
            super::trust::VerifyArgs::command(),
            "Checks appended module signatures as the kernel does, against any keyring \
(image, files, firmware db), for whole trees.",
        ),
        (
            "vm",
            super::vm::Args::command(),
            "A throwaway real kernel under QEMU. Exit status: the guest command's, 124 on \
timeout, 125 for harness failures, 2 for usage.",
        ),
        (
            "bpf",
            Command::new("kmodkit bpf")
                .about("eBPF: assemble, disassemble, verify, run")
                .subcommand(super::bpf::AsmArgs::command().name("asm"))
                .subcommand(super::bpf::DisasmArgs::command().name("disasm"))
                .subcommand(super::bpf::VerifyArgs::command().name("verify"))
                .subcommand(super::bpf::RunArgs::command().name("run"))
                .subcommand(super::bpf::ConformanceArgs::command().name("conformance"))
                .subcommand(super::bpf::ProbeArgs::command().name("probe-helpers"))
                .subcommand(super::bpf::SelftestsArgs::command().name("selftests")),
            "asm takes LLVM's eBPF assembly syntax (and ubpf's with --ubpf); disasm prints \
objects exactly as llvm-objdump -d; verify is a user-space verifier with source-line \
diagnostics that judges as the --target kernel's verifier (a release, image or .deb; \
bpftool prog load, or verify --live, gives the running kernel's own verdict); run is an \
interpreter; probe-helpers lists the running kernel's helpers per program type, as \
bpftool feature probe does (whose heuristics misread 6.18's log).",
        ),
        (
            "kernel",
            super::kernel::Args::command(),
            "No established tool builds a kernel to build Rust modules against: kmodkit \
kernel build --rust makes a small Rust-enabled kernel from Debian's linux-source with Debian's \
Rust toolchain, says which options it changed and why, and caches it by source, config and \
toolchain.",
        ),
        (
            "new",
            super::kbuild::NewArgs::command(),
            "A skeleton out-of-tree module with Kbuild and dkms.conf.",
        ),
        (
            "build",
            super::kbuild::BuildArgs::command(),
            "make -C <headers> M=DIR for each kernel, then vermagic and symbol-version \
checks and optional signing.",
        ),
    ]
}

/// Every page: the getopt ones above, the clap ones, and the hand-parsed ones.
fn all_pages() -> Vec<(&'static str, u8, Command, &'static str)> {
    let short_name = |g: &Getopt| g.name.trim_start_matches("kmodkit ");
    let mut v: Vec<_> = GETOPT_PAGES
        .iter()
        .map(|g| (short_name(g), g.section, from_getopt(g), g.differs))
        .collect();
    v.extend(clap_pages().into_iter().map(|(n, c, d)| (n, 1, c, d)));
    v
}

/// The page's file name: `modinfo.8`, `kmodkit-sign.1`.
fn page_file(name: &str, section: u8) -> String {
    if super::super::LINK_NAMES.contains(&name) {
        format!("{name}.{section}")
    } else {
        format!("kmodkit-{name}.{section}")
    }
}

fn render_page(cmd: Command, section: u8, differs: &str) -> anyhow::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd).section(section.to_string());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH DIFFERENCES\n");
    out.extend_from_slice(roff_text(differs).as_bytes());
    out.extend_from_slice(b"\n.SH SEE ALSO\nkmodkit(1)\n");
    Ok(out)
}

/// Plain text as a roff paragraph: backslashes escaped, no line starting with a control
/// character.
fn roff_text(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    s.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes every man page into `mandir/man<section>/` (created); returns the files written.
pub(crate) fn write_man(mandir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    let mut write = |section: u8, file: String, bytes: Vec<u8>| -> anyhow::Result<()> {
        let dir = mandir.join(format!("man{section}"));
        std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
        let path = dir.join(file);
        safeio::replace(&path, &bytes, None)?;
        written.push(path);
        Ok(())
    };
    let mut overview = Command::new("kmodkit")
        .about("Tools for code that runs inside the Linux kernel: modules and eBPF")
        .disable_help_subcommand(true);
    for (name, section, cmd, differs) in all_pages() {
        overview = overview
            .subcommand(Command::new(name).about(cmd.get_about().cloned().unwrap_or_default()));
        write(
            section,
            page_file(name, section),
            render_page(cmd, section, differs)?,
        )?;
    }
    let bytes = render_page(
        overview,
        1,
        "kmodkit is one multi-call binary: invoked through a link named modinfo, lsmod, \
insmod, rmmod, modprobe, depmod or dmesg (kmodkit install-links DIR makes them) it behaves \
as that tool. Each command's page says where it differs from kmod, sign-file, DKMS or \
bpftrace.",
    )?;
    write(1, "kmodkit.1".into(), bytes)?;
    Ok(written)
}

/// The completion script for `shell` and command `name`: `kmodkit` (with every
/// subcommand) or one of the multi-call link names.
pub(crate) fn completion(shell: clap_complete::Shell, name: &str) -> Option<Vec<u8>> {
    let mut cmd = if name == "kmodkit" {
        let mut kmodkit = Command::new("kmodkit").disable_help_subcommand(true);
        for (sub, _, c, _) in all_pages() {
            kmodkit = kmodkit.subcommand(c.name(sub));
        }
        kmodkit
    } else if super::super::LINK_NAMES.contains(&name) {
        all_pages()
            .into_iter()
            .find(|p| p.0 == name)?
            .2
            .name(name.to_string())
    } else {
        return None;
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    Some(out)
}

fn shell_of(s: &str) -> Option<clap_complete::Shell> {
    match s {
        "bash" => Some(clap_complete::Shell::Bash),
        "zsh" => Some(clap_complete::Shell::Zsh),
        "fish" => Some(clap_complete::Shell::Fish),
        _ => None,
    }
}

/// `kmodkit completions bash|zsh|fish [COMMAND]`: the script for `kmodkit` (or for one of
/// the multi-call names) on stdout.
pub fn completions(_: &str, args: Vec<OsString>) -> Outcome {
    const USAGE: &str = "Usage: kmodkit completions bash|zsh|fish [kmodkit|modinfo|lsmod|insmod|rmmod|modprobe|depmod|dmesg]";
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (shell, name) = match args.as_slice() {
        [s] => (shell_of(s), "kmodkit"),
        [s, n] => (shell_of(s), n.as_str()),
        _ => (None, ""),
    };
    let script = shell.and_then(|s| completion(s, name));
    let Some(script) = script else {
        return Err(super::usage(USAGE));
    };
    use std::io::Write;
    std::io::stdout().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// `kmodkit man DIR`: every man page into DIR/man1 and DIR/man8.
pub fn man(_: &str, args: Vec<OsString>) -> Outcome {
    let [dir] = args.as_slice() else {
        return Err(super::usage("Usage: kmodkit man DIR"));
    };
    for p in write_man(Path::new(dir))? {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Installs the bash, zsh and fish completions of `kmodkit` and of each multi-call name
/// under `prefix`, where those shells look: `share/bash-completion/completions/NAME`,
/// `share/zsh/site-functions/_NAME`, `share/fish/vendor_completions.d/NAME.fish`.
pub(crate) fn install_completions(prefix: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    let names = std::iter::once("kmodkit").chain(super::super::LINK_NAMES.iter().copied());
    for name in names {
        for (shell, dir, file) in [
            (
                "bash",
                "share/bash-completion/completions",
                name.to_string(),
            ),
            ("zsh", "share/zsh/site-functions", format!("_{name}")),
            (
                "fish",
                "share/fish/vendor_completions.d",
                format!("{name}.fish"),
            ),
        ] {
            let dir = prefix.join(dir);
            std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
            let path = dir.join(file);
            let script = shell_of(shell)
                .and_then(|s| completion(s, name))
                .with_context(|| format!("no completion for {name}"))?;
            safeio::replace(&path, &script, None)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option letter of a getopt parser has a help line, and no help line names a
    /// letter the parser does not have.
    #[test]
    fn getopt_pages_document_exactly_the_parsers_options() {
        for g in GETOPT_PAGES {
            let mut letters: Vec<char> = g.short.chars().filter(|c| *c != ':').collect();
            letters.extend(g.long.iter().map(|l| l.val));
            for c in &letters {
                assert!(
                    g.help.iter().any(|(h, _)| h == c),
                    "{}: option -{c} has no help line",
                    g.name
                );
            }
            for (h, _) in g.help {
                assert!(
                    letters.contains(h),
                    "{}: help for -{h}, which the parser does not have",
                    g.name
                );
            }
        }
    }

    #[test]
    fn every_page_renders() {
        for (name, section, cmd, differs) in all_pages() {
            let page = render_page(cmd, section, differs).unwrap();
            let text = String::from_utf8(page).unwrap();
            assert!(text.contains(".SH DIFFERENCES"), "{name}");
            assert!(
                text.contains(".SH OPTIONS") || text.contains(".SH SYNOPSIS"),
                "{name}"
            );
        }
    }
}
