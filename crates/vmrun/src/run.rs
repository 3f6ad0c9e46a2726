//! Assembling the guest system and booting it.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::firmware::Firmware;
use crate::{Error, Initramfs};

/// The names under which the kmodkit binary is installed in the guest: inside, these
/// tools are ours, not busybox's.
pub const KMOD_TOOLS: &[&str] = &[
    "insmod", "lsmod", "rmmod", "modprobe", "modinfo", "depmod", "dmesg",
];

/// The marker the guest's init writes to the console after the command.
const MARKER: &str = "KMODKIT-VM-EXIT";
/// The line the guest's init writes on the stdout and stderr ports before the command:
/// what came before it is firmware noise (OVMF draws its console on every serial port).
const START: &str = "KMODKIT-VM-START";

/// How a boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command ran; its exit status.
    Exited(i32),
    /// The kernel panicked (the console's last lines).
    Panicked(String),
    /// Nothing finished before the timeout; QEMU was killed.
    TimedOut(String),
    /// QEMU ended without the guest reporting a status (the console's last lines).
    NoStatus(String),
}

/// One throwaway virtual machine.
#[derive(Debug, Clone)]
pub struct Vm {
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    /// Extra kernel command-line arguments (after ours).
    pub append: String,
    pub mem_mib: u32,
    pub timeout: Duration,
    /// UEFI firmware (OVMF) instead of QEMU's default BIOS; needed for a key database.
    pub firmware: Option<Firmware>,
    /// `-accel` value; "tcg" unless a probe showed that KVM works.
    pub accel: String,
    /// Certificates to enroll into the firmware's `db` (needs `firmware`).
    pub secure_db: Vec<PathBuf>,
    /// Boot fast when possible: without firmware, a kernel with the PVH entry runs
    /// uncompressed ([`crate::vmlinux`]) on QEMU's `microvm` machine (no PCI, no BIOS, no
    /// ACPI), which takes well under half the CPU time of a bzImage on the PC machine.
    /// Otherwise, or when this is false, the PC machine boots the image as it is.
    pub direct: bool,
}

impl Vm {
    pub fn new(kernel: PathBuf) -> Self {
        Vm {
            qemu: PathBuf::from("qemu-system-x86_64"),
            kernel,
            append: String::new(),
            mem_mib: 512,
            timeout: Duration::from_secs(120),
            firmware: None,
            accel: "tcg".to_string(),
            secure_db: Vec::new(),
            direct: true,
        }
    }

    /// Whether this boot goes the fast way: the `microvm` machine with an uncompressed PVH
    /// kernel (see [`Vm::direct`]), with the kernel to give QEMU.
    fn direct_kernel(&self) -> Result<Option<PathBuf>, Error> {
        if !self.direct || self.firmware.is_some() {
            return Ok(None);
        }
        crate::vmlinux::pvh_kernel(&self.kernel)
    }

    /// The QEMU arguments; `initrd` and `console` are host paths; the command's stdout and
    /// stderr ports connect to the Unix sockets `out` and `err` (listening already).
    /// `microvm`: the kernel is an uncompressed PVH kernel to boot on the microvm machine.
    pub fn qemu_args(
        &self,
        initrd: &Path,
        console: &Path,
        out: &Path,
        err: &Path,
        microvm: bool,
    ) -> Vec<String> {
        let mut a: Vec<String> = [
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-nic",
            "none",
            "-smp",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if microvm {
            // Without ACPI tables (with them, Debian's kernels hang calibrating the TSC
            // under TCG); the guest then resets instead of powering off (`reboot=t`).
            a.extend(["-M".into(), "microvm,acpi=off".into()]);
        }
        a.extend(["-accel".into(), self.accel.clone()]);
        a.extend(["-m".into(), self.mem_mib.to_string()]);
        if let Some(fw) = &self.firmware {
            a.extend(fw.qemu_args());
        }
        a.extend(["-kernel".into(), self.kernel.display().to_string()]);
        a.extend(["-initrd".into(), initrd.display().to_string()]);
        // no_timer_check: under software emulation on a loaded host the kernel's check that
        // the IO-APIC timer ticks can miss its window and panic ("IO-APIC + timer doesn't
        // work"); virtual machines skip that check, as cloud images do.
        // cryptomgr.notests: the crypto API's self-tests of every algorithm at boot are
        // a second of emulated CPU (a quarter of 6.12's boot, crypto_algapi_init the
        // longest initcall); the algorithms, module signature checks among them, work the
        // same without. `--append cryptomgr.notests=0` runs them.
        let mut cmdline =
            "console=ttyS0 quiet panic=-1 no_timer_check cryptomgr.notests".to_string();
        if microvm {
            cmdline.push_str(" acpi=off reboot=t");
        }
        if !self.append.trim().is_empty() {
            cmdline.push(' ');
            cmdline.push_str(self.append.trim());
        }
        a.extend(["-append".into(), cmdline]);
        // ttyS0: console (file); ttyS1: stdout; ttyS2: stderr, each a socket QEMU connects
        // to, so that this process can drop what precedes the guest's start line.
        let chardevs = [
            format!("file,id=con,path={}", console.display()),
            format!("socket,id=out,path={}", out.display()),
            format!("socket,id=err,path={}", err.display()),
        ];
        for c in &chardevs {
            a.extend(["-chardev".into(), c.clone()]);
        }
        a.extend(["-serial".into(), "chardev:con".into()]);
        if microvm {
            // microvm has one serial port of its own; these are the PC's COM2 and COM3.
            for (id, port) in [("out", "iobase=0x2f8,irq=3"), ("err", "iobase=0x3e8,irq=4")] {
                a.extend(["-device".into(), format!("isa-serial,chardev={id},{port}")]);
            }
        } else {
            for id in ["out", "err"] {
                a.extend(["-serial".into(), format!("chardev:{id}")]);
            }
        }
        a
    }

    /// Boots with `fs` as the initramfs (made with [`guest_system`]) and waits for the
    /// guest to power off or for the timeout. Returns the outcome and the whole console log.
    pub fn run(
        &self,
        fs: &Initramfs,
        nonce: &str,
        stdout: impl Write + Send + 'static,
        stderr: impl Write + Send + 'static,
    ) -> Result<(Outcome, String), Error> {
        let dir = tempfile::Builder::new()
            .prefix("kmodkit-vm.")
            .tempdir()
            .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
        let initrd = dir.path().join("initrd.cpio");
        let f = std::fs::File::create(&initrd).map_err(|e| Error::io(&initrd, e))?;
        fs.write_to(std::io::BufWriter::new(f))?;
        let console = dir.path().join("console.log");
        // Each boot gets its own copy of the variable store: the firmware writes to it.
        let mut vm = self.clone();
        if let Some(fw) = &self.firmware {
            let fw = if self.secure_db.is_empty() {
                let vars = dir.path().join("vars.fd");
                std::fs::copy(&fw.vars, &vars).map_err(|e| Error::io(&fw.vars, e))?;
                Firmware {
                    code: fw.code.clone(),
                    vars,
                }
            } else {
                fw.with_db(&self.secure_db, dir.path())?
            };
            vm.firmware = Some(fw);
        } else if !self.secure_db.is_empty() {
            return Err(Error::NotFound(
                "a key database needs UEFI firmware (Vm::firmware)".into(),
            ));
        }
        let out_sock = dir.path().join("out.sock");
        let err_sock = dir.path().join("err.sock");
        let listen = |p: &Path| -> Result<UnixListener, Error> {
            let l = UnixListener::bind(p).map_err(|e| Error::io(p, e))?;
            l.set_nonblocking(true).map_err(|e| Error::io(p, e))?;
            Ok(l)
        };
        let (out_l, err_l) = (listen(&out_sock)?, listen(&err_sock)?);
        let direct = self.direct_kernel()?;
        let microvm = direct.is_some();
        if let Some(k) = direct {
            vm.kernel = k;
        }
        let args = vm.qemu_args(&initrd, &console, &out_sock, &err_sock, microvm);
        let mut child = Command::new(&self.qemu)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Tool {
                cmd: self.qemu.display().to_string(),
                what: e.to_string(),
            })?;
        let done = Arc::new(AtomicBool::new(false));
        let start_line = format!("{START} {nonce}\n").into_bytes();
        let pumps = [
            pump(out_l, Box::new(stdout), start_line.clone(), done.clone()),
            pump(err_l, Box::new(stderr), start_line, done.clone()),
        ];
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::Tool {
                        cmd: self.qemu.display().to_string(),
                        what: e.to_string(),
                    })
                }
            }
            if start.elapsed() >= self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        done.store(true, Ordering::SeqCst);
        for p in pumps {
            let _ = p.join();
        }
        let mut log = Vec::new();
        if let Ok(mut f) = std::fs::File::open(&console) {
            let _ = f.read_to_end(&mut log);
        }
        let log = String::from_utf8_lossy(&log).into_owned();
        let outcome = interpret(&log, nonce, status.is_none(), status.and_then(|s| s.code()));
        Ok((outcome, log))
    }
}

/// Copies what the guest writes on one port to `to`, from after the start line on, as it
/// arrives. Ends at EOF (QEMU exited), or when QEMU is done and never connected.
fn pump(
    listener: UnixListener,
    mut to: Box<dyn Write + Send>,
    start_line: Vec<u8>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut sock = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if done.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        };
        if sock.set_nonblocking(false).is_err() {
            return;
        }
        let mut pending: Option<Vec<u8>> = Some(Vec::new());
        let mut buf = vec![0u8; 65536];
        loop {
            let n = match sock.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            match pending.as_mut() {
                Some(p) => {
                    p.extend_from_slice(chunk);
                    if let Some(at) = p.windows(start_line.len()).position(|w| w == start_line) {
                        let rest = p.split_off(at + start_line.len());
                        pending = None;
                        let _ = to.write_all(&rest);
                        let _ = to.flush();
                    }
                }
                None => {
                    let _ = to.write_all(chunk);
                    let _ = to.flush();
                }
            }
        }
    })
}

fn tail(log: &str, lines: usize) -> String {
    let v: Vec<&str> = log.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Reads the outcome from the console log.
pub fn interpret(log: &str, nonce: &str, timed_out: bool, qemu_code: Option<i32>) -> Outcome {
    let prefix = format!("{MARKER} {nonce} ");
    for line in log.lines() {
        if let Some(pos) = line.find(&prefix) {
            if let Ok(rc) = line[pos + prefix.len()..].trim().parse::<i32>() {
                return Outcome::Exited(rc);
            }
        }
    }
    let t = tail(log, 30);
    if log.contains("Kernel panic") {
        Outcome::Panicked(t)
    } else if timed_out {
        Outcome::TimedOut(t)
    } else {
        let mut t = t;
        if let Some(c) = qemu_code.filter(|c| *c != 0) {
            t.push_str(&format!("\n(qemu exited with status {c})"));
        }
        Outcome::NoStatus(t)
    }
}

/// A per-run nonce, so that no output of the command can pass for the status marker.
pub fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", t, std::process::id())
}

/// Whether an ELF executable asks for a program interpreter (is dynamically linked).
pub fn is_dynamic(elf: &[u8]) -> bool {
    let rd16 = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let rd64 = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    };
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(4) != Some(&2) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (rd64(0x20), rd16(0x36), rd16(0x38)) else {
        return false;
    };
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        elf.get(o..o + 4) == Some(&3u32.to_le_bytes()[..]) // PT_INTERP
    })
}

/// An executable without what only debuggers read: the file cut after the last byte any
/// program header covers, and the section header table dropped (what `sstrip` does; the
/// kernel and the dynamic loader only read program headers). A debug build of kmodkit
/// shrinks from about 70 MiB to about 6 MiB, which the guest must otherwise load and
/// unpack under emulation. Anything that is not a 64-bit little-endian ELF whose section
/// data all follows its segments is returned unchanged.
pub fn strip_to_segments(elf: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let rd16 = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
    };
    let rd64 = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return Cow::Borrowed(elf);
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (rd64(0x20), rd16(0x36), rd16(0x38)) else {
        return Cow::Borrowed(elf);
    };
    let mut end = phoff + phentsize * phnum;
    for i in 0..phnum {
        let o = (phoff + i * phentsize) as usize;
        let (Some(off), Some(filesz)) = (rd64(o + 8), rd64(o + 32)) else {
            return Cow::Borrowed(elf);
        };
        end = end.max(off + filesz);
    }
    if end >= elf.len() as u64 || end < 64 {
        return Cow::Borrowed(elf);
    }
    let mut out = elf[..end as usize].to_vec();
    out[0x28..0x30].fill(0); // e_shoff
    out[0x3C..0x40].fill(0); // e_shnum, e_shstrndx
    Cow::Owned(out)
}

/// The shared libraries (and the loader) a dynamic executable needs, from `ldd`.
pub fn shared_libraries(exe: &Path) -> Result<Vec<PathBuf>, Error> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .map_err(|e| Error::Tool {
            cmd: "ldd".into(),
            what: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Tool {
            cmd: format!("ldd {}", exe.display()),
            what: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let mut libs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim().split(" (").next().unwrap_or(""),
            None => line.split(" (").next().unwrap_or(""),
        };
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// The guest's `/init`: mounts, the command with stdout on ttyS1 and stderr on ttyS2 (both
/// raw), the status marker on the console, then a reset, which ends QEMU (`-no-reboot`) on
/// every machine, with or without ACPI. Closing the serial ports before
/// the marker waits for their output to drain.
fn init_script(nonce: &str) -> String {
    format!(
        r#"#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec 3>/dev/ttyS1 4>/dev/ttyS2
stty raw -echo <&3
stty raw -echo <&4
echo "{START} {nonce}" >&3
echo "{START} {nonce}" >&4
cd /root
sh /etc/kmodkit/command </dev/null >&3 2>&4 3>&- 4>&-
rc=$?
exec 3>&- 4>&-
echo "{MARKER} {nonce} $rc" >/dev/ttyS0
reboot -f
"#
    )
}

/// Debian's busybox-static runs its own applets in preference to PATH ("standalone
/// shell"), so a bare `insmod` in the guest's shell would be busybox's. Shell functions
/// come first in ash's lookup: these send the kmod tool names to kmodkit (through the
/// `/sbin` links, so the tool sees its usual name). A script started with `sh FILE` inside
/// the guest must source this file itself, or call `/sbin/insmod` with its path.
fn tools_prelude() -> String {
    let mut s = String::from("# kmodkit's tools before busybox's applets\n");
    for t in KMOD_TOOLS {
        s.push_str(&format!("{t}() {{ /sbin/{t} \"$@\"; }}\n"));
    }
    s
}

/// The base guest: busybox (static) for the shell and its applets, the kmodkit binary at
/// `/bin/kmodkit` linked under the kmod tool names (its shared libraries carried along if
/// it is dynamic), `/init`, and `command` as `/etc/kmodkit/command`.
pub fn guest_system(
    busybox: &Path,
    kmodkit: &Path,
    command: &str,
    nonce: &str,
) -> Result<Initramfs, Error> {
    guest_system_with(busybox, Some(kmodkit), command, nonce)
}

/// Whether a guest command needs the kmod tools: it names one of them or `kmodkit` as a
/// word. (A command that runs a script added to the guest may call them too: callers that
/// add files keep the tools.)
pub fn needs_tools(command: &str) -> bool {
    command
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .any(|w| w == "kmodkit" || KMOD_TOOLS.contains(&w))
}

/// [`guest_system`], with the kmodkit binary only if given: without it the archive is
/// busybox and a few small files (a few MiB less for the guest to unpack under
/// emulation), and the kmod tool names are busybox's applets.
pub fn guest_system_with(
    busybox: &Path,
    kmodkit: Option<&Path>,
    command: &str,
    nonce: &str,
) -> Result<Initramfs, Error> {
    let mut fs = Initramfs::new();
    for d in [
        "/proc",
        "/sys",
        "/dev",
        "/tmp",
        "/root",
        "/etc",
        "/lib/modules",
        "/run",
    ] {
        fs.dir(d)?;
    }
    fs.char_device("/dev/console", 0o600, 5, 1)?;
    fs.char_device("/dev/null", 0o666, 1, 3)?;
    let bb = std::fs::read(busybox).map_err(|e| Error::io(busybox, e))?;
    if is_dynamic(&bb) {
        return Err(Error::Format {
            path: busybox.to_path_buf(),
            what: "busybox is dynamically linked; install busybox-static".into(),
        });
    }
    fs.data("/bin/busybox", 0o755, bb)?;
    let list = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| Error::Tool {
            cmd: format!("{} --list-full", busybox.display()),
            what: e.to_string(),
        })?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        let name = applet.rsplit('/').next().unwrap_or(applet);
        if applet.is_empty() || name == "busybox" {
            continue;
        }
        let target = if kmodkit.is_some() && KMOD_TOOLS.contains(&name) {
            "/bin/kmodkit"
        } else {
            "/bin/busybox"
        };
        fs.symlink(&format!("/{applet}"), target)?;
    }
    if let Some(kmodkit) = kmodkit {
        for t in KMOD_TOOLS {
            for d in ["/sbin", "/bin"] {
                let p = format!("{d}/{t}");
                if !fs.contains(&p) {
                    fs.symlink(&p, "/bin/kmodkit")?;
                }
            }
        }
        let exe = std::fs::read(kmodkit).map_err(|e| Error::io(kmodkit, e))?;
        if is_dynamic(&exe) {
            for lib in shared_libraries(kmodkit)? {
                fs.host_file(&lib, &lib.display().to_string())?;
            }
        }
        fs.data("/bin/kmodkit", 0o755, strip_to_segments(&exe).into_owned())?;
        fs.data("/etc/kmodkit/tools.sh", 0o644, tools_prelude().into_bytes())?;
    } else {
        fs.data("/etc/kmodkit/tools.sh", 0o644, Vec::new())?;
    }
    fs.data("/init", 0o755, init_script(nonce).into_bytes())?;
    set_command(&mut fs, command)?;
    Ok(fs)
}

/// Sets (or replaces) the shell command the guest runs, in a system made by [`guest_system`].
pub fn set_command(fs: &mut Initramfs, command: &str) -> Result<(), Error> {
    let script = format!(". /etc/kmodkit/tools.sh\n{command}\n");
    fs.data("/etc/kmodkit/command", 0o644, script.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_from_console() {
        let log = "[ 1.0] foo\nKMODKIT-VM-EXIT abc 3\n";
        assert_eq!(interpret(log, "abc", false, Some(0)), Outcome::Exited(3));
        // A marker with another nonce is not ours.
        assert!(matches!(
            interpret(log, "zzz", false, Some(0)),
            Outcome::NoStatus(_)
        ));
        let panic = "Kernel panic - not syncing: Attempted to kill init!\n";
        assert!(matches!(
            interpret(panic, "abc", false, Some(0)),
            Outcome::Panicked(_)
        ));
        assert!(matches!(
            interpret("", "abc", true, None),
            Outcome::TimedOut(_)
        ));
    }

    #[test]
    fn dynamic_detection() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // Test binaries are built the ordinary (dynamic) way unless crt-static is set.
        let static_build = std::env::var("CARGO_ENCODED_RUSTFLAGS")
            .unwrap_or_default()
            .contains("crt-static");
        if !static_build {
            assert!(is_dynamic(&me));
        }
        assert!(!is_dynamic(b"\x7fELF\x02"));
    }

    #[test]
    fn stripped_binary_still_runs() {
        // The test binary itself is a real executable with debug sections to drop; run
        // the cut copy with --list (libtest's harness lists tests and exits 0).
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let small = strip_to_segments(&exe);
        assert!(small.len() < exe.len());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        std::fs::write(&p, &*small).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(&p).arg("--list").output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("stripped_binary_still_runs"));
    }
}
