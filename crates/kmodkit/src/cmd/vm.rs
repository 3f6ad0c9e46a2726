//! `kmodkit vm`: a throwaway real kernel.
//!
//! Exit status: the command's own, passed through. Since that can be anything, failures of
//! the harness itself use the two statuses `timeout(1)` and `env(1)` use for theirs:
//! 124 when the guest did not finish in time, 125 for every other failure (bad input, QEMU
//! missing, kernel panic, no status reported). Usage errors are 2.

use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use vmrun::{Outcome, Vm};

#[derive(Parser)]
#[command(
    name = "kmodkit vm",
    about = "Boot a throwaway real kernel under QEMU and run a shell command inside",
    after_help = "Without --kernel: /boot/vmlinuz-$(uname -r) if it exists, else the newest \
Debian kernel package unpacked in the cache ($KMODKIT_CACHE, default ~/.cache/kmodkit/corpus, \
the layout scripts/corpus makes); --debian-kernel downloads the current one there first.\n\
Inside, insmod lsmod rmmod modprobe modinfo depmod dmesg are kmodkit; the rest is busybox.\n\
Exit status: the command's; 124 if it timed out; 125 if the VM failed (panic, no status, setup)."
)]
pub(crate) struct Args {
    /// Kernel image (bzImage) to boot.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Download the current Debian kernel package into the cache and boot it.
    #[arg(long, conflicts_with = "kernel")]
    debian_kernel: bool,
    /// Copy a host file or directory into the guest (SRC:DEST, DEST absolute).
    #[arg(long = "add", value_name = "SRC:DEST")]
    add: Vec<String>,
    /// A module tree (holding lib/modules/<release>/modules.dep) to copy modules from.
    #[arg(long, value_name = "ROOT")]
    modules_from: Option<PathBuf>,
    /// A module to copy, with its dependencies, from --modules-from (repeatable).
    #[arg(long = "with", value_name = "NAME", requires = "modules_from")]
    with: Vec<String>,
    /// Boot OVMF with CERT enrolled in the firmware's db (repeatable).
    #[arg(long = "secure-db", value_name = "CERT")]
    secure_db: Vec<PathBuf>,
    /// Extra kernel command-line arguments.
    #[arg(long, default_value = "")]
    append: String,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 512)]
    mem: u32,
    /// Seconds before a guest that has not powered off counts as hung.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The kmodkit binary to install in the guest (default: this one; a dynamic binary
    /// is carried with its shared libraries; also $KMODKIT_VM_BINARY).
    #[arg(long)]
    kmodkit: Option<PathBuf>,
    /// A static busybox (default: busybox on PATH).
    #[arg(long)]
    busybox: Option<PathBuf>,
    /// QEMU binary.
    #[arg(long, default_value = "qemu-system-x86_64")]
    qemu: PathBuf,
    /// QEMU accelerator. TCG (software) by default: on hosts whose /dev/kvm belongs to a
    /// paravirtualised hypervisor, Debian's kernel hangs under KVM; pass kvm where it works.
    #[arg(long, default_value = "tcg", value_parser = ["tcg", "kvm"])]
    accel: String,
    /// Print the kernel console log to stderr after the run.
    #[arg(long)]
    console: bool,
    /// The shell command to run (after --).
    #[arg(last = true, required = true, num_args = 1..)]
    command: Vec<String>,
}

const VM_FAILED: u8 = 125;
const VM_TIMEOUT: u8 = 124;

pub fn main(name: &str, args: Vec<OsString>) -> u8 {
    let a = match Args::try_parse_from(std::iter::once("kmodkit vm".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(&a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kmodkit {name}: {e:#}");
            VM_FAILED
        }
    }
}

fn run(a: &Args) -> anyhow::Result<u8> {
    use anyhow::Context;
    let kernel = match (&a.kernel, a.debian_kernel) {
        (Some(k), _) => k.clone(),
        (None, true) => vmrun::kernel::fetch_debian()?,
        (None, false) => vmrun::kernel::default_image()?,
    };
    let image = std::fs::read(&kernel).with_context(|| format!("{}", kernel.display()))?;
    let release = vmrun::kernel::image_release(&image);
    drop(image);
    let busybox = match &a.busybox {
        Some(b) => b.clone(),
        None => ["/bin/busybox", "/usr/bin/busybox"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| vmrun::which("busybox"))
            .context("busybox not found (install busybox-static)")?,
    };
    let exe = match &a.kmodkit {
        Some(p) => p.clone(),
        None => match std::env::var_os("KMODKIT_VM_BINARY").filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe().context("cannot find the kmodkit executable")?,
        },
    };
    let nonce = vmrun::run::nonce();
    let command = a.command.join(" ");
    let mut fs = vmrun::run::guest_system(&busybox, &exe, &command, &nonce)?;
    for spec in &a.add {
        let (src, dest) = spec
            .rsplit_once(':')
            .filter(|(s, d)| !s.is_empty() && d.starts_with('/'))
            .with_context(|| format!("--add {spec}: expected SRC:DEST with an absolute DEST"))?;
        fs.host_tree(std::path::Path::new(src), dest)?;
    }
    if let Some(root) = &a.modules_from {
        vmrun::modules::add_closure(&mut fs, root, release.as_deref(), &a.with)?;
    }
    if vmrun::which(&a.qemu.to_string_lossy()).is_none() && !a.qemu.is_file() {
        anyhow::bail!("{} not found (install qemu-system-x86)", a.qemu.display());
    }
    let mut vm = Vm::new(kernel);
    vm.qemu = a.qemu.clone();
    vm.append = a.append.clone();
    vm.mem_mib = a.mem;
    vm.timeout = Duration::from_secs(a.timeout);
    vm.accel = a.accel.clone();
    if !a.secure_db.is_empty() {
        vm.firmware = Some(vmrun::firmware::Firmware::find_ovmf()?);
        vm.secure_db = a.secure_db.clone();
    }
    let (outcome, log) = vm.run(&fs, &nonce, std::io::stdout(), std::io::stderr())?;
    if a.console {
        eprintln!("--- kernel console ---\n{}", log.trim_end());
    }
    Ok(match outcome {
        Outcome::Exited(rc) => u8::try_from(rc).unwrap_or(VM_FAILED),
        Outcome::Panicked(log) => {
            eprintln!("kmodkit vm: the kernel panicked:\n{log}");
            VM_FAILED
        }
        Outcome::TimedOut(log) => {
            eprintln!(
                "kmodkit vm: no result after {} s; QEMU killed. Console tail:\n{log}",
                a.timeout
            );
            VM_TIMEOUT
        }
        Outcome::NoStatus(log) => {
            eprintln!("kmodkit vm: the guest stopped without reporting a status:\n{log}");
            VM_FAILED
        }
    })
}
