//! `kmodkit inventory`: what the running kernel has loaded, how it is tainted, whose keys
//! signed its modules, and which modules on disk it would refuse. This file gathers the
//! facts (through `modsys` for `/proc` and `/sys`, `kernels` for the image and config) and
//! prints what the `inventory` crate makes of them.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use inventory::{Disk, Examined, Inventory, LoadedModule, Policy, Signature, Taint, TrustedKey};
use modsys::state::Sys;
use rayon::prelude::*;

use super::{clap_exit, usage, Outcome};

#[derive(clap::Parser)]
#[command(
    name = "kmodkit inventory",
    about = "Report the running kernel's modules: taint, sizes, versions, signatures, and modules on disk that would not load",
    after_help = "Signatures are verified against the certificates built into the running kernel's image \
(/boot/vmlinuz-$(uname -r)) and the firmware's db and MokListRT (efivarfs, when mounted); a signer \
the kernel holds only by name in /proc/keys (secondary or platform keyring) gets the verdict \
key-in-kernel. Modules on disk are those under /lib/modules/$(uname -r), predicted as \
`kmodkit check` predicts (needs the kernel's config).\n\
--prometheus writes the Prometheus text format for node_exporter's textfile collector, \
replacing FILE (which must end in .prom) atomically; without FILE, to standard output."
)]
pub(crate) struct InventoryArgs {
    /// Machine-readable output.
    #[arg(long, conflicts_with = "prometheus")]
    json: bool,
    /// Prometheus text exposition format, to FILE (*.prom, replaced atomically) or stdout.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    prometheus: Option<Option<PathBuf>>,
    /// Do not scan the modules directory (loaded modules then have no file or signature).
    #[arg(long)]
    no_disk: bool,
}

pub fn main(_: &str, args: Vec<OsString>) -> Outcome {
    use clap::Parser;
    let a = match InventoryArgs::try_parse_from(
        std::iter::once("kmodkit inventory".into()).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => return clap_exit(e),
    };
    if let Some(Some(file)) = &a.prometheus {
        if file.extension().and_then(|e| e.to_str()) != Some("prom") {
            return Err(usage(format!(
                "kmodkit inventory: --prometheus {}: node_exporter's textfile collector reads only files ending in .prom",
                file.display()
            )));
        }
    }
    let inv = gather(&Sys::default(), !a.no_disk)?;
    match &a.prometheus {
        Some(Some(file)) => {
            let text = inventory::prometheus(&inv);
            safeio::replace(file, text.as_bytes(), Some(0o644))?;
        }
        Some(None) => print!("{}", inventory::prometheus(&inv)),
        None if a.json => print!("{}", inventory::json(&inv)),
        None => print!("{}", inventory::table(&inv)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `[none] integrity confidentiality` -> `none`.
fn lockdown_mode(text: &str) -> Option<String> {
    let open = text.find('[')?;
    let close = text[open..].find(']')? + open;
    Some(text[open + 1..close].to_string())
}

/// Certificates the kernel trusts for modules that can be read here: those built into its
/// image, and the firmware's db and shim's MokListRT (platform keyring).
fn keyring(sys: &Sys, image: Option<&Path>, notes: &mut Vec<String>) -> modsign::keyring::Keyring {
    let mut ring = modsign::keyring::Keyring::new();
    match image {
        Some(img) => {
            let name = img.display().to_string();
            match std::fs::read(img)
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(modsign::image::kernel_certs(&b, &name)?))
            {
                Ok(certs) => {
                    for c in certs {
                        ring.add(c, name.clone());
                    }
                }
                Err(e) => notes.push(format!("{name}: built-in certificates unreadable: {e:#}")),
            }
        }
        None => notes.push(
            "the running kernel's image was not found: its built-in certificates are unknown"
                .into(),
        ),
    }
    for (var, guid) in [
        ("db", efivars::IMAGE_SECURITY_DATABASE),
        ("MokListRT", efivars::SHIM_LOCK),
    ] {
        let Ok(data) = sys.efi_variable(var, &guid.to_string()) else {
            continue;
        };
        match efivars::SignatureList::parse_all(&data) {
            Ok(lists) => {
                for (_, der) in efivars::SignatureList::x509_certs(&lists) {
                    if let Ok(c) = modsign::Cert::from_der(der) {
                        ring.add(c, format!("efivarfs:{var}"));
                    }
                }
            }
            Err(e) => notes.push(format!("efivarfs {var}: {e}")),
        }
    }
    ring
}

/// Module files under `dir`, recursively, not following symbolic links (`build`, `source`).
fn module_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        let p = e.path();
        if t.is_dir() {
            module_files(&p, out)?;
        } else if t.is_file() && inventory::is_module_file(&e.file_name().to_string_lossy()) {
            out.push(p);
        }
    }
    Ok(())
}

/// The running kernel as `loadcheck` needs it (`None` without its config).
fn loadcheck_kernel(
    k: Option<&kernels::InstalledKernel>,
    release: &str,
    policy: &Policy,
    notes: &mut Vec<String>,
) -> Option<loadcheck::Kernel> {
    let Some(config) = k.and_then(|k| k.config.clone()) else {
        notes.push(format!(
            "no config for {release} (/boot/config-{release}): modules on disk were not predicted"
        ));
        return None;
    };
    match std::fs::read_to_string(&config) {
        Ok(text) => Some(loadcheck::Kernel {
            release: release.to_string(),
            config: loadcheck::parse_config(&text),
            sig_enforce: policy.sig_enforce == Some(true),
            lockdown: policy.lockdown.as_deref().is_some_and(|m| m != "none"),
        }),
        Err(e) => {
            notes.push(format!("{}: {e}", config.display()));
            None
        }
    }
}

/// Everything the report needs, read from the live kernel under `sys`.
fn gather(sys: &Sys, scan_disk: bool) -> anyhow::Result<Inventory> {
    let mut notes = Vec::new();
    let release = kernels::running_release()?;
    let taint = Taint::new(sys.tainted().context("/proc/sys/kernel/tainted")?);
    let mut policy = Policy {
        sig_enforce: sys
            .module_attr("module", "parameters/sig_enforce")
            .ok()
            .map(|v| v == "Y" || v == "1"),
        lockdown: sys.lockdown().ok().and_then(|t| lockdown_mode(&t)),
        ..Policy::default()
    };
    let installed = kernels::InstalledKernel::running().ok();
    policy.image = installed
        .as_ref()
        .and_then(|k| k.image.as_ref())
        .map(|p| p.display().to_string());
    policy.config = installed
        .as_ref()
        .and_then(|k| k.config.as_ref())
        .map(|p| p.display().to_string());

    let proc_keys = match sys.proc_keys() {
        Ok(text) => Some(inventory::parse_proc_keys(&text)),
        Err(e) => {
            notes.push(format!("/proc/keys: {e}"));
            None
        }
    };
    let kernel_keys: Vec<String> = proc_keys
        .iter()
        .flatten()
        .filter(|k| k.is_asymmetric())
        .map(|k| k.description.clone())
        .collect();
    let image = installed.as_ref().and_then(|k| k.image.clone());
    let ring = keyring(sys, image.as_deref(), &mut notes);
    let trusted: Vec<TrustedKey> = ring
        .certs()
        .iter()
        .map(|t| {
            let description = t.cert.kernel_description();
            TrustedKey {
                in_kernel: proc_keys
                    .as_ref()
                    .map(|_| kernel_keys.contains(&description)),
                description,
                source: t.source.clone(),
            }
        })
        .collect();

    // Modules on disk: each examined once, in parallel.
    let modules_dir = installed
        .as_ref()
        .map(|k| k.modules_dir.clone())
        .unwrap_or_else(|| Path::new("/lib/modules").join(&release));
    let mut by_name: HashMap<String, (String, inventory::FileFacts)> = HashMap::new();
    let mut disk = None;
    if scan_disk {
        let mut files = Vec::new();
        match module_files(&modules_dir, &mut files) {
            Ok(()) => {
                files.sort();
                let kernel = loadcheck_kernel(installed.as_ref(), &release, &policy, &mut notes);
                let examined: Vec<(String, Result<Examined, String>)> = files
                    .par_iter()
                    .map(|p| {
                        let name = p.display().to_string();
                        let r = modsys::file::read(p)
                            .map(|raw| {
                                inventory::examine(
                                    kernel.as_ref(),
                                    &name,
                                    &raw,
                                    &ring,
                                    &kernel_keys,
                                )
                            })
                            .map_err(|e| e.to_string());
                        (name, r)
                    })
                    .collect();
                let mut unloadable = Vec::new();
                for (file, r) in examined {
                    match r {
                        Ok(ex) => {
                            if let Some(f) = ex.facts {
                                let base = file.rsplit('/').next().unwrap_or(&file);
                                let name = f
                                    .name
                                    .clone()
                                    .unwrap_or_else(|| inventory::module_name_of_file(base));
                                by_name.entry(name).or_insert((file.clone(), f));
                            }
                            unloadable.extend(ex.unloadable);
                        }
                        Err(e) => notes.push(format!("{file}: {e}")),
                    }
                }
                disk = Some(Disk {
                    dir: modules_dir.display().to_string(),
                    scanned: files.len(),
                    unloadable,
                });
            }
            Err(e) => notes.push(format!("{}: {e}", modules_dir.display())),
        }
    }

    let proc_modules = match sys.proc_modules() {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            notes.push(
                "/proc/modules does not exist: this kernel has no loadable module support".into(),
            );
            Vec::new()
        }
        Err(e) => return Err(anyhow::Error::from(e).context("/proc/modules")),
    };
    let modules = proc_modules
        .into_iter()
        .map(|m| {
            let taint = sys.module_attr(&m.name, "taint").unwrap_or(m.taint.clone());
            let (file, signature) = match by_name.get(&m.name) {
                Some((file, f)) => (Some(file.clone()), f.signature.clone()),
                None => (
                    None,
                    Signature {
                        verdict: "no-file".into(),
                        ..Signature::default()
                    },
                ),
            };
            LoadedModule {
                coresize_bytes: sys.coresize(&m.name).ok(),
                refcount: m.refcnt,
                state: m.state,
                in_tree: !taint.contains('O'),
                version: sys.module_attr(&m.name, "version").ok(),
                srcversion: sys.module_attr(&m.name, "srcversion").ok(),
                taint,
                file,
                signature,
                size_bytes: m.size,
                name: m.name,
            }
        })
        .collect();

    Ok(Inventory {
        release,
        taint,
        policy,
        keyring: trusted,
        kernel_keys,
        modules,
        disk,
        notes,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn lockdown_in_brackets() {
        assert_eq!(
            super::lockdown_mode("none [integrity] confidentiality").as_deref(),
            Some("integrity")
        );
        assert_eq!(super::lockdown_mode("none"), None);
    }
}
