//! `kmodkit vm`: a throwaway real kernel.
//!
//! Exit status: the command's own, passed through. Since that can be anything, failures of
//! the harness itself use the two statuses `timeout(1)` and `env(1)` use for theirs:
//! 124 when the guest did not finish in time, 125 for every other failure (bad input, QEMU
//! missing, kernel panic, no status reported). Usage errors are 2.

use anyhow::Context;
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vmrun::{Outcome, Vm};

#[derive(Parser)]
#[command(
    name = "kmodkit vm",
    about = "Boot a throwaway real kernel under QEMU and run a shell command inside",
    after_help = "--kernel takes an image (a path), a release (6.12.117+deb12-amd64: the host's \
/boot/vmlinuz-R, else a cached package, else linux-image-R downloaded) or a series (6.12, 6.1: \
the newest package of it that apt's lists offer, downloaded once). Packages are unpacked into \
$KMODKIT_CACHE (default ~/.cache/kmodkit/corpus, the layout scripts/corpus makes).\n\
Without --kernel: /boot/vmlinuz-$(uname -r) if it exists, else the newest Debian kernel \
package in the cache; --debian-kernel downloads the distribution's current one there first.\n\
Inside, insmod lsmod rmmod modprobe modinfo depmod dmesg are kmodkit; the rest is busybox.\n\
Exit status: the command's; 124 if it timed out; 125 if the VM failed (panic, no status, setup)."
)]
pub(crate) struct Args {
    /// Kernel to boot: an image (bzImage or vmlinux path), a release
    /// (6.12.117+deb12-amd64) or a series (6.12).
    #[arg(long, value_name = "IMAGE|RELEASE|SERIES")]
    kernel: Option<String>,
    /// Download the current Debian kernel package into the cache and boot it.
    #[arg(long, conflicts_with = "kernel")]
    debian_kernel: bool,
    /// Copy a host file or directory into the guest (SRC:DEST, DEST absolute).
    #[arg(long = "add", value_name = "SRC:DEST")]
    add: Vec<String>,
    /// A module tree (ROOT/lib/modules/<release>/, indexed or as a package unpacks it) to
    /// copy --with modules from (default: the booted kernel's own modules).
    #[arg(long, value_name = "ROOT")]
    modules_from: Option<PathBuf>,
    /// A module to copy, with its dependencies, from --modules-from, else from the booted
    /// kernel's own modules (repeatable); `modprobe NAME` inside finds it.
    #[arg(long = "with", value_name = "NAME")]
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

pub fn main(name: &str, args: Vec<OsString>) -> super::Outcome {
    let a = match Args::try_parse_from(std::iter::once("kmodkit vm".into()).chain(args)) {
        Ok(a) => a,
        Err(e) => return super::clap_exit(e),
    };
    // The harness's own failures keep their documented status (125), not main's 1.
    let code =
        run(&a).map_err(|e| super::Exit::with(VM_FAILED, format!("kmodkit {name}: {e:#}")))?;
    Ok(ExitCode::from(code))
}

/// The kernel to boot: the one `--kernel` names (an image is checked to be one before QEMU
/// is asked), the current Debian package, or the default (running kernel's image, else the
/// cache's newest).
fn kernel(a: &Args) -> anyhow::Result<vmrun::kernel::Resolved> {
    use vmrun::kernel::{resolve, with_image, KernelSpec};
    Ok(match (&a.kernel, a.debian_kernel) {
        (Some(spec), _) => resolve(&KernelSpec::parse(spec))?,
        (None, true) => with_image(kernels::InstalledKernel::from_image(
            &vmrun::kernel::fetch_debian()?,
        )?)?,
        (None, false) => with_image(vmrun::kernel::default_kernel()?)?,
    })
}

/// A spinner on stderr while the guest boots (hidden when stderr is not a terminal),
/// cleared by the guest's first output.
fn boot_spinner(release: Option<&str>) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(format!(
        "booting {} under QEMU",
        release.unwrap_or("the kernel")
    ));
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A writer that clears the boot spinner before its first bytes.
struct AfterSpinner<W> {
    inner: W,
    spinner: indicatif::ProgressBar,
}

impl<W: std::io::Write> std::io::Write for AfterSpinner<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.spinner.is_finished() {
            self.spinner.finish_and_clear();
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn run(a: &Args) -> anyhow::Result<u8> {
    let resolved = kernel(a)?;
    let release = resolved.release().map(str::to_string);
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
    // The kmod tools go in when the command names one, or may call one from what is added.
    let tools = vmrun::run::needs_tools(&command)
        || !a.add.is_empty()
        || a.modules_from.is_some()
        || !a.with.is_empty();
    let exe = tools.then_some(exe.as_path());
    let mut fs = vmrun::run::guest_system_with(&busybox, exe, &command, &nonce)?;
    for spec in &a.add {
        let (src, dest) = spec
            .rsplit_once(':')
            .filter(|(s, d)| !s.is_empty() && d.starts_with('/'))
            .with_context(|| format!("--add {spec}: expected SRC:DEST with an absolute DEST"))?;
        fs.host_tree(std::path::Path::new(src), dest)?;
    }
    if a.modules_from.is_some() || !a.with.is_empty() {
        let root = match (&a.modules_from, &resolved.kernel) {
            (Some(root), _) => root.clone(),
            (None, Some(k)) if k.modules_dir.is_dir() => k.root.clone(),
            _ => anyhow::bail!(
                "--with: the modules of {} are not known (no {}); name a tree with --modules-from",
                resolved.image.display(),
                resolved
                    .kernel
                    .as_ref()
                    .map(|k| k.modules_dir.display().to_string())
                    .unwrap_or_else(|| "release in the image".into())
            ),
        };
        let closure = vmrun::modules::add_closure(&mut fs, &root, release.as_deref(), &a.with)?;
        if closure.needs_depmod {
            // The tree has no indexes (an unpacked package): the guest indexes what it got.
            vmrun::run::set_command(
                &mut fs,
                &format!(
                    "depmod {} || {{ echo 'kmodkit vm: depmod in the guest failed' >&2; exit 125; }}\n{command}",
                    closure.release
                ),
            )?;
        }
    }
    if vmrun::which(&a.qemu.to_string_lossy()).is_none() && !a.qemu.is_file() {
        anyhow::bail!("{} not found (install qemu-system-x86)", a.qemu.display());
    }
    let mut vm = Vm::new(resolved.image.clone());
    vm.qemu = a.qemu.clone();
    vm.append = a.append.clone();
    vm.mem_mib = a.mem;
    vm.timeout = Duration::from_secs(a.timeout);
    vm.accel = a.accel.clone();
    if !a.secure_db.is_empty() {
        vm.firmware = Some(vmrun::firmware::Firmware::find_ovmf()?);
        vm.secure_db = a.secure_db.clone();
    }
    let spinner = boot_spinner(release.as_deref());
    let out = AfterSpinner {
        inner: std::io::stdout(),
        spinner: spinner.clone(),
    };
    let err = AfterSpinner {
        inner: std::io::stderr(),
        spinner: spinner.clone(),
    };
    let result = vm.run(&fs, &nonce, out, err);
    spinner.finish_and_clear();
    let (outcome, log) = result?;
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
