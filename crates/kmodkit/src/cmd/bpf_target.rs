//! The kernel `kmodkit bpf verify --target` judges for, and the running kernel's own answers
//! (`--live`, `kmodkit bpf probe-helpers`), which the tests compare the model with.
//!
//! A target is a release (`6.1`, `6.12.117+deb12-amd64`), a kernel image (an x86 bzImage: the
//! setup header's version string; an ELF vmlinux: its `Linux version` banner) or a Debian
//! kernel package (`linux-image-*.deb`: its control `Version`). Debian's release names say
//! `6.1.0-56`; the version string of the image says which 6.1 it is (`Debian 6.1.192-2`),
//! and that is the version used, also for a release whose image is installed or in
//! kmodkit's cache. No target: the running kernel (`/proc/version`).

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use anyhow::{anyhow, Context};
use bpf_verifier::Kernel;

/// A resolved target: the profile and how it was named (for output).
pub(super) struct Target {
    pub kernel: Kernel,
    pub name: String,
    /// The kernel image, when the target is one: CO-RE relocations are resolved against its
    /// BTF.
    pub image: Option<std::path::PathBuf>,
}

pub(super) fn resolve(spec: Option<&OsStr>) -> anyhow::Result<Target> {
    let Some(spec) = spec else {
        let banner = std::fs::read_to_string("/proc/version").unwrap_or_default();
        let release = kernels::running_release().map_err(|e| anyhow!("{e}"))?;
        let kernel = Kernel::from_version_string(&banner)
            .or_else(|| Kernel::parse(&release))
            .ok_or_else(|| anyhow!("the running kernel's release `{release}` has no version"))?;
        return Ok(Target {
            kernel,
            name: format!("{release} (running)"),
            image: None,
        });
    };
    let path = Path::new(spec);
    if path.is_file() {
        let data = std::fs::read(path).with_context(|| path.display().to_string())?;
        if data.starts_with(b"!<arch>\n") {
            return from_deb(path);
        }
        let s = kernels::image::version_string(&data).ok_or_else(|| {
            anyhow!(
                "{}: {} (and not a Debian package)",
                path.display(),
                kernels::image::NOT_AN_IMAGE
            )
        })?;
        let kernel = Kernel::from_version_string(&s)
            .ok_or_else(|| anyhow!("{}: version string `{s}` has no version", path.display()))?;
        let release = s.split(' ').next().unwrap_or_default();
        return Ok(Target {
            kernel,
            name: format!("{release} ({})", path.display()),
            image: Some(path.to_path_buf()),
        });
    }
    let s = spec.to_string_lossy();
    if path.is_dir() {
        return Err(anyhow!(
            "{s}: a directory; give a release, a kernel image or a linux-image .deb"
        ));
    }
    if s.contains('/') {
        return Err(anyhow!("{s}: no such file"));
    }
    // A release of a kernel that is here (installed, or unpacked in kmodkit's cache): its
    // image says which stable version it is (Debian's `6.1.0-56-amd64` is 6.1.192).
    let image = std::iter::once(Path::new("/boot").join(format!("vmlinuz-{s}")))
        .chain(
            kernels::cache::cached_kernels()
                .into_iter()
                .filter(|k| k.release == s)
                .filter_map(|k| k.image),
        )
        .find(|p| p.is_file());
    if let Some(img) = image {
        if let Some(v) = std::fs::read(&img)
            .ok()
            .and_then(|d| kernels::image::version_string(&d))
            .and_then(|v| Kernel::from_version_string(&v))
        {
            return Ok(Target {
                kernel: v,
                name: s.into_owned(),
                image: Some(img),
            });
        }
    }
    let kernel = Kernel::parse(&s).ok_or_else(|| {
        anyhow!("`{s}` is not a kernel release (6.1, 6.12.117+deb12-amd64), an image or a .deb")
    })?;
    Ok(Target {
        kernel,
        name: s.into_owned(),
        image: None,
    })
}

/// A Debian kernel package: `Package: linux-image-R[-unsigned]`, `Version: 6.1.153-1`.
fn from_deb(deb: &Path) -> anyhow::Result<Target> {
    let out = std::process::Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .args(["Package", "Version"])
        .output()
        .context("dpkg-deb")?;
    if !out.status.success() {
        return Err(anyhow!(
            "dpkg-deb -f {}: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let package = field("Package:");
    let version = field("Version:");
    let Some(release) = package.strip_prefix("linux-image-") else {
        return Err(anyhow!(
            "{}: package `{package}` is not a kernel image package (linux-image-*)",
            deb.display()
        ));
    };
    let release = release.trim_end_matches("-unsigned").to_string();
    let kernel = Kernel::parse(&version)
        .or_else(|| Kernel::parse(&release))
        .ok_or_else(|| anyhow!("{}: version `{version}` has no version", deb.display()))?;
    Ok(Target {
        kernel,
        name: format!("{release} ({})", deb.display()),
        image: None,
    })
}

/// What the kernel's verifier reported for a program it accepted (its `BPF_LOG_STATS`).
#[derive(Debug, Clone, Default)]
pub(super) struct KernelStats {
    pub time_us: u64,
    pub insns_processed: u64,
    pub peak_states: u64,
}

impl KernelStats {
    /// From the statistics lines: `verification time 12 usec`, `processed 5 insns (limit
    /// 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`.
    fn parse(log: &str) -> KernelStats {
        let after = |key: &str| -> u64 {
            log.split(key)
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        KernelStats {
            time_us: after("verification time "),
            insns_processed: after("processed "),
            peak_states: after("peak_states "),
        }
    }
}

/// Maps made in the running kernel for `maps` (with their initial contents, for global
/// data), and `insns` with its map indices turned into their descriptors.
fn kernel_maps(
    insns: &[bpf_insn::Insn],
    maps: &[bpf_vm::run::MapInit],
) -> anyhow::Result<(Vec<OwnedFd>, Vec<bpf_insn::Insn>)> {
    let mut fds: Vec<OwnedFd> = Vec::new();
    for (i, m) in maps.iter().enumerate() {
        let name = format!("kmk_t{i}");
        let spec = bpf_sys::MapSpec {
            map_type: m.spec.map_type,
            key_size: m.spec.key_size,
            value_size: m.spec.value_size,
            max_entries: m.spec.max_entries,
            flags: 0,
            name: &name,
        };
        let fd = bpf_sys::map_create(&spec).with_context(|| format!("map {}", m.spec.name))?;
        if let Some(d) = &m.data {
            let mut value = d.clone();
            value.resize(m.spec.value_size as usize, 0);
            bpf_sys::map_update(&fd, &0u32.to_le_bytes(), &value, 0)
                .with_context(|| format!("map {}: initial data", m.spec.name))?;
        }
        fds.push(fd);
    }
    let mut insns = insns.to_vec();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    bpf_insn::insn::map_indices_to_fds(&mut insns, &raw)
        .map_err(|k| anyhow!("lddw refers to map {k}, which is not given"))?;
    Ok((fds, insns))
}

/// The running kernel's verdict on a program: its statistics, or the last lines of its log.
pub(super) fn kernel_verdict(
    insns: &[bpf_insn::Insn],
    prog_type: u32,
    section: &str,
    maps: &[bpf_verifier::MapInfo],
) -> anyhow::Result<Result<KernelStats, String>> {
    let inits: Vec<bpf_vm::run::MapInit> = maps
        .iter()
        .map(|m| bpf_vm::run::MapInit {
            spec: bpf_vm::MapSpec {
                name: m.name.clone(),
                map_type: m.map_type,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                flags: 0,
            },
            data: None,
        })
        .collect();
    let (_fds, insns) = kernel_maps(insns, &inits)?;
    let bytes = bpf_insn::encode_all(&insns, bpf_insn::Endian::Little);
    let mut spec = bpf_sys::ProgSpec::new(prog_type, &bytes);
    spec.name = "kmk_live";
    // The hook the section names (libbpf's table); an sk_lookup program has only one,
    // which the kernel requires even when no section names it.
    spec.expected_attach_type = match bpf_sys::loader::expected_attach_type(section) {
        0 if prog_type == 30 => bpf_sys::loader::expected_attach_type("sk_lookup"),
        t => t,
    };
    // Statistics only (BPF_LOG_STATS): a full log would slow the verifier it times.
    spec.log_level = 4;
    if let Ok((_, log)) = bpf_sys::prog_load_with_log(&spec) {
        return Ok(Ok(KernelStats::parse(&log)));
    }
    spec.log_level = 1;
    match bpf_sys::prog_load_with_log(&spec) {
        Ok((_, log)) => Ok(Ok(KernelStats::parse(&log))),
        Err(bpf_sys::Error::Verifier { source, log }) => {
            let last: Vec<&str> = log.lines().rev().take(3).collect();
            Ok(Err(format!(
                "{source}: {}",
                last.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )))
        }
        Err(e) => Err(anyhow!("BPF_PROG_LOAD: {e}")),
    }
}

/// Which helpers the running kernel offers a program type: each id is called with its
/// arguments unset, so the verifier stops either at the helper ("unknown func", "cannot use
/// helper") or after it (at an argument): only the first says the helper is missing.
pub(super) fn probe_helpers(prog_type: u32, max_id: i32) -> anyhow::Result<Vec<i32>> {
    let mut out = Vec::new();
    for id in 1..=max_id {
        let insns = [insn(0x85, id), insn(0xb7, 0), insn(0x95, 0)];
        let bytes = bpf_insn::encode_all(&insns, bpf_insn::Endian::Little);
        let mut spec = bpf_sys::ProgSpec::new(prog_type, &bytes);
        spec.name = "kmk_probe";
        spec.expected_attach_type = probe_attach_type(prog_type);
        spec.log_level = 1;
        match bpf_sys::prog_load_with_log(&spec) {
            Ok(_) => out.push(id),
            Err(bpf_sys::Error::Verifier { log, source }) => {
                if log.is_empty() {
                    return Err(anyhow!("BPF_PROG_LOAD of type {prog_type}: {source}"));
                }
                let missing = log.contains("unknown func")
                    || log.contains("invalid func")
                    || log.contains("cannot use helper")
                    || log.contains("not supported for this program type")
                    || log.contains("helper call is not allowed in probe");
                if !missing {
                    out.push(id);
                }
            }
            Err(e) => return Err(anyhow!("BPF_PROG_LOAD of type {prog_type}: {e}")),
        }
    }
    Ok(out)
}

fn insn(code: u8, imm: i32) -> bpf_insn::Insn {
    bpf_insn::Insn {
        code,
        dst: 0,
        src: 0,
        off: 0,
        imm,
    }
}

/// The attach type a probe of a program type loads with, for the types that need one:
/// cgroup sock_addr as `connect4` (the attach type with the most helpers), sockopt as
/// `getsockopt`, sk_lookup.
fn probe_attach_type(prog_type: u32) -> u32 {
    match prog_type {
        18 => 10,
        25 => 21,
        30 => 36,
        _ => 0,
    }
}

/// `BPF_PROG_TEST_RUN` of a program in the running kernel, over fresh maps.
pub(super) fn kernel_test_run(
    insns: &[bpf_insn::Insn],
    prog_type: u32,
    maps: &[bpf_vm::run::MapInit],
    data: &[u8],
    repeat: u32,
) -> anyhow::Result<bpf_sys::TestRunResult> {
    let (_fds, insns) = kernel_maps(insns, maps)?;
    let bytes = bpf_insn::encode_all(&insns, bpf_insn::Endian::Little);
    let mut spec = bpf_sys::ProgSpec::new(prog_type, &bytes);
    spec.name = "kmk_run";
    let fd = bpf_sys::prog_load(&spec).map_err(|e| anyhow!("BPF_PROG_LOAD: {e}"))?;
    let run = bpf_sys::TestRun {
        data_in: data,
        data_out_size: if data.is_empty() { 0 } else { data.len() + 256 },
        repeat,
        ..Default::default()
    };
    bpf_sys::prog_test_run(&fd, &run).map_err(|e| anyhow!("BPF_PROG_TEST_RUN: {e}"))
}
