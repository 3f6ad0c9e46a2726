//! Will this kernel load this module, and what will it taint? Answered without booting,
//! by replaying the decisions of the kernel's `load_module()` (kernel/module/main.c and
//! signing.c, 6.1) in their order, from facts about the kernel (its config, its vermagic,
//! the command line) and the module (its `.modinfo`, `__versions`, signature):
//!
//! 1. signature (`module_sig_check`): a module inserted with `-f` counts as unsigned (the
//!    kernel refuses to trust a mangled module); unsigned, unknown key or unsupported
//!    crypto are soft failures: `EKEYREJECTED` under `module.sig_enforce` (or
//!    `CONFIG_MODULE_SIG_FORCE`), else the module loads with taint E; any other
//!    verification failure is fatal (its errno);
//! 2. modversions (`check_modstruct_version`): ignored with `-f`, or no `__versions` on a
//!    modversions kernel: `try_to_force_load` ("NAME: module_layout: kernel tainted."):
//!    taint F when `CONFIG_MODULE_FORCE_LOAD`, else `ENOEXEC`;
//! 3. vermagic (`check_modinfo`): ignored with `-f` (`try_to_force_load` again); a
//!    mismatch is `ENOEXEC` (with modversions, the release word is not compared:
//!    `same_magic`);
//! 4. `intree` missing: taint O; `staging`: C; `livepatch`: K; a licence that is not GPL
//!    compatible (`license_is_gpl_compatible`): P.
//!
//! Whether a signature is valid is an input ([`SigVerdict`]), so a caller can say what it
//! knows; [`SigVerdict::decide`] asks the signing crate (`modsign`, what `kmodkit verify`
//! uses) against the keys the kernel trusts.
//! What this cannot know: symbols the running kernel lacks, a module already loaded, the
//! module's own init function failing.

use std::collections::HashMap;

/// The signature's state, decided elsewhere (by `kmodkit verify` or the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigVerdict {
    /// No signature trailer (ENODATA in the kernel).
    Unsigned,
    /// Verifies against a key the kernel trusts.
    Valid,
    /// Signed by a key the kernel does not have (ENOKEY).
    UnknownKey,
    /// Signed with crypto the kernel lacks (ENOPKG).
    Unsupported,
    /// Broken or not matching the content: a hard failure with this errno
    /// (EKEYREJECTED for a bad signature, EBADMSG for a malformed one).
    Invalid(i32),
}

impl SigVerdict {
    /// The verdict the kernel's `mod_verify_sig` reaches for the module file `data`
    /// (uncompressed) with `keyring` as the keys it trusts (its built-in keys, and the
    /// platform keyring: firmware `db`), as decided by `modsign`.
    pub fn decide(data: &[u8], keyring: &modsign::keyring::Keyring) -> SigVerdict {
        use modsign::module::Failure;
        match modsign::module::verify(data, keyring) {
            Ok(_) => SigVerdict::Valid,
            Err(Failure::NoSignature) => SigVerdict::Unsigned,
            Err(Failure::UnknownKey(_)) => SigVerdict::UnknownKey,
            Err(Failure::NotPkcs7(_)) | Err(Failure::Unsupported(_)) => SigVerdict::Unsupported,
            Err(Failure::Malformed(_)) => SigVerdict::Invalid(libc::EBADMSG),
            Err(Failure::Rejected(_)) | Err(Failure::BadSignature(_)) => {
                SigVerdict::Invalid(libc::EKEYREJECTED)
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SigVerdict::Unsigned => "unsigned",
            SigVerdict::Valid => "valid",
            SigVerdict::UnknownKey => "unknown-key",
            SigVerdict::Unsupported => "unsupported",
            SigVerdict::Invalid(e) if e == libc::EBADMSG => "bad-format",
            SigVerdict::Invalid(_) => "invalid",
        }
    }
}

/// What is known about the target kernel.
#[derive(Clone, Debug, Default)]
pub struct Kernel {
    pub release: String,
    /// `CONFIG_*` values from its config file (`y`, `m`, strings without quotes).
    pub config: HashMap<String, String>,
    /// `module.sig_enforce=1` on the command line.
    pub sig_enforce: bool,
    /// Kernel lockdown (integrity or confidentiality) in force, e.g. under Secure Boot.
    pub lockdown: bool,
}

/// Parses a kernel `.config`.
pub fn parse_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("CONFIG_"))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

impl Kernel {
    pub fn enabled(&self, key: &str) -> bool {
        self.config.get(key).is_some_and(|v| v == "y")
    }

    /// VERMAGIC_STRING (include/linux/vermagic.h) as this kernel's config makes it.
    /// x86's MODULE_ARCH_VERMAGIC names the CPU family only for non-generic builds; arm64's
    /// is `aarch64`.
    pub fn vermagic(&self) -> String {
        let mut s = format!("{} ", self.release);
        if self.enabled("CONFIG_SMP") {
            s.push_str("SMP ");
        }
        if self.enabled("CONFIG_PREEMPT_BUILD") {
            s.push_str("preempt ");
        } else if self.enabled("CONFIG_PREEMPT_RT") {
            s.push_str("preempt_rt ");
        }
        if self.enabled("CONFIG_MODULE_UNLOAD") {
            s.push_str("mod_unload ");
        }
        if self.enabled("CONFIG_MODVERSIONS") {
            s.push_str("modversions ");
        }
        for (k, fam) in [
            ("CONFIG_MK8", "K8 "),
            ("CONFIG_MPSC", "P4SECURE "),
            ("CONFIG_MCORE2", "CORE2 "),
            ("CONFIG_MATOM", "ATOM "),
        ] {
            if self.enabled(k) {
                s.push_str(fam);
            }
        }
        // arm64's MODULE_ARCH_VERMAGIC (arch/arm64/include/asm/module.h).
        if self.enabled("CONFIG_ARM64") {
            s.push_str("aarch64");
        }
        if self.enabled("CONFIG_RANDSTRUCT") {
            if let Some(seed) = self.config.get("CONFIG_RANDSTRUCT_SEED") {
                s.push_str(&format!("RANDSTRUCT_{seed}"));
            }
        }
        s
    }

    /// The machine this kernel loads modules for, from its config (`None`: not known,
    /// then a module is checked against the machine it names).
    pub fn target(&self) -> Option<modfile::Target> {
        modfile::Target::from_config(|k| self.enabled(k))
    }

    fn enforcing(&self) -> bool {
        self.sig_enforce || self.enabled("CONFIG_MODULE_SIG_FORCE")
    }
}

/// The prediction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub name: String,
    pub loads: bool,
    /// The errno `init_module`/`finit_module` fails with (positive), if it fails.
    pub errno: Option<i32>,
    /// Taint bits the load adds (kernel-wide and on the module).
    pub taint_mask: u64,
    /// The dmesg lines the kernel prints (first time each; a kernel already tainted the
    /// same way prints fewer).
    pub dmesg: Vec<String>,
    /// Why, step by step.
    pub reasons: Vec<String>,
}

impl Prediction {
    /// The per-module taint letters ("OE").
    pub fn letters(&self) -> String {
        modfile::taint::module_letters(self.taint_mask)
    }
}

/// The C name of an errno a prediction can give (`ENOEXEC`), `E<number>` for others.
pub fn errno_name(e: i32) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOEXEC, "ENOEXEC"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENODATA, "ENODATA"),
        (libc::ENOPKG, "ENOPKG"),
        (libc::EBADMSG, "EBADMSG"),
        (libc::ENOKEY, "ENOKEY"),
        (libc::EKEYREJECTED, "EKEYREJECTED"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == e)
        .map_or_else(|| format!("E{e}"), |(_, s)| s.to_string())
}

/// `license_is_gpl_compatible` (include/linux/license.h).
pub fn license_is_gpl_compatible(l: &str) -> bool {
    matches!(
        l,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

const TAINT_PROPRIETARY: u32 = 0;
const TAINT_FORCED: u32 = 1;
const TAINT_CRAP: u32 = 10;
const TAINT_OOT: u32 = 12;
const TAINT_UNSIGNED: u32 = 13;
const TAINT_LIVEPATCH: u32 = 15;

fn fail(p: &mut Prediction, e: i32, why: String) {
    p.loads = false;
    p.errno = Some(e);
    p.taint_mask = 0;
    p.reasons.push(why);
}

/// Replays `load_module()`'s decisions for `module` inserted into `kernel`
/// (`force`: `insmod -f`, both IGNORE flags). The module's ELF is taken as valid; see
/// [`predict_bytes`] for a file that may not be a module at all.
pub fn predict(
    kernel: &Kernel,
    module: &modfile::Module,
    sig: SigVerdict,
    force: bool,
) -> Prediction {
    let name = module_name(module);
    let mut p = Prediction::new(name);
    if signature_step(&mut p, kernel, sig, force) {
        module_steps(&mut p, kernel, module, force);
    }
    p
}

/// Replays `load_module()`'s decisions for the module file `data` (uncompressed, with any
/// signature): the signature check first (6.1 checks it before looking at the ELF), then
/// the ELF checks of `elf_validity_cache_copy` for the kernel's machine (a truncated file,
/// an executable, a module built for another architecture: `ENOEXEC` and the kernel's
/// line), then the module's own. `file_name` names the module where the file gives no
/// name.
pub fn predict_bytes(
    kernel: &Kernel,
    data: &[u8],
    sig: SigVerdict,
    force: bool,
    file_name: &str,
) -> Prediction {
    let parsed = modfile::Module::parse(data).ok();
    let name = parsed
        .as_ref()
        .map(module_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| file_name.to_string());
    let mut p = Prediction::new(name);
    if !signature_step(&mut p, kernel, sig, force) {
        return p;
    }
    // The kernel validates what the signature covered.
    let content = modsign::module::unsigned_content(data).unwrap_or(data);
    let target = kernel.target();
    match modfile::validate(content, target) {
        Ok(()) | Err(modfile::Invalid::NoModinfo) => {}
        Err(invalid) => {
            let modinfo_name = parsed.as_ref().and_then(|m| {
                m.modinfo()
                    .get("name")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
            if let Some(line) = invalid.kernel_message(modinfo_name.as_deref()) {
                p.dmesg.push(line);
            }
            fail(
                &mut p,
                libc::ENOEXEC,
                format!("not a module this kernel can load: {invalid}"),
            );
            return p;
        }
    }
    match parsed {
        Some(module) => module_steps(&mut p, kernel, &module, force),
        None => {
            let why = modfile::Module::parse(data)
                .err()
                .map_or_else(String::new, |e| e.to_string());
            fail(&mut p, libc::ENOEXEC, format!("unreadable module: {why}"));
        }
    }
    p
}

fn module_name(module: &modfile::Module) -> String {
    module
        .name()
        .or_else(|| {
            module
                .modinfo()
                .get("name")
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .unwrap_or_default()
}

impl Prediction {
    fn new(name: String) -> Prediction {
        Prediction {
            name,
            loads: true,
            errno: None,
            taint_mask: 0,
            dmesg: Vec::new(),
            reasons: Vec::new(),
        }
    }
}

/// `module_sig_check`: false when the load ends here.
fn signature_step(p: &mut Prediction, kernel: &Kernel, sig: SigVerdict, force: bool) -> bool {
    if kernel.enabled("CONFIG_MODULE_SIG") {
        let verdict = if force { SigVerdict::Unsigned } else { sig };
        if force && sig != SigVerdict::Unsigned {
            p.reasons
                .push("forced (-f): the signature is not checked; counts as unsigned".into());
        }
        let soft = match verdict {
            SigVerdict::Valid => {
                p.reasons.push("signature valid: no E taint".into());
                None
            }
            SigVerdict::Unsigned => Some("unsigned module"),
            SigVerdict::UnknownKey => Some("module with unavailable key"),
            SigVerdict::Unsupported => Some("module with unsupported crypto"),
            SigVerdict::Invalid(e) => {
                fail(
                    p,
                    e,
                    format!("signature invalid: fatal ({})", errno_name(e)),
                );
                return false;
            }
        };
        if let Some(reason) = soft {
            if kernel.enforcing() {
                p.dmesg.push(format!("Loading of {reason} is rejected"));
                fail(
                    p,
                    libc::EKEYREJECTED,
                    format!("{reason}, signature enforcement on: rejected"),
                );
                return false;
            }
            if kernel.lockdown {
                p.dmesg.push(format!(
                    "Lockdown: insmod: {reason} is restricted; see man kernel_lockdown.7"
                ));
                fail(p, libc::EPERM, format!("{reason} under lockdown: EPERM"));
                return false;
            }
            p.taint_mask |= 1 << TAINT_UNSIGNED;
            p.reasons
                .push(format!("{reason}, enforcement off: taint E"));
        }
    }
    true
}

/// What `load_module` decides from the module's contents, after the signature.
fn module_steps(p: &mut Prediction, kernel: &Kernel, module: &modfile::Module, force: bool) {
    let info = module.modinfo();
    let get = |k: &str| info.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let name = p.name.clone();

    // 2. The module's `module_layout` symbol version (check_modstruct_version, before
    //    anything in .modinfo is read): without versions (forced, or none in the file) on
    //    a modversions kernel, try_to_force_load taints F and prints the first message.
    let modversions = kernel.enabled("CONFIG_MODVERSIONS");
    let has_versions = module.elf().section_by_name("__versions").is_some();
    let force_load = kernel.enabled("CONFIG_MODULE_FORCE_LOAD");
    let forced = |p: &mut Prediction, what: &str| -> bool {
        if !force_load {
            return false;
        }
        if p.taint_mask & (1 << TAINT_FORCED) == 0 {
            p.dmesg.push(format!("{name}: {what}: kernel tainted."));
            p.dmesg
                .push("Disabling lock debugging due to kernel taint".into());
        }
        p.taint_mask |= 1 << TAINT_FORCED;
        true
    };
    if modversions && (force || !has_versions) {
        if !forced(p, "module_layout") {
            fail(
                p,
                libc::ENOEXEC,
                "no symbol versions and no CONFIG_MODULE_FORCE_LOAD".into(),
            );
            return;
        }
        p.reasons
            .push("symbol versions ignored (forced or absent): taint F".into());
    }

    // 3. vermagic (check_modinfo).
    let modmagic = if force { None } else { get("vermagic") };
    match modmagic {
        None => {
            if !forced(p, "bad vermagic") {
                fail(
                    p,
                    libc::ENOEXEC,
                    "no vermagic (or forced) and no CONFIG_MODULE_FORCE_LOAD".into(),
                );
                return;
            }
            p.reasons
                .push("vermagic ignored (forced or absent): taint F".into());
        }
        Some(m) => {
            let ours = kernel.vermagic();
            let strip = |s: &str| {
                if has_versions && modversions {
                    s.find(' ').map_or(String::new(), |i| s[i..].to_string())
                } else {
                    s.to_string()
                }
            };
            if strip(&m) != strip(&ours) {
                p.dmesg
                    .push(format!("{name}: version magic '{m}' should be '{ours}'"));
                fail(
                    p,
                    libc::ENOEXEC,
                    format!("vermagic '{m}' differs from the kernel's '{ours}'"),
                );
                return;
            }
            p.reasons.push("vermagic matches".into());
        }
    }

    // 4. Flags from .modinfo.
    if get("intree").is_none() {
        p.dmesg
            .push(format!("{name}: loading out-of-tree module taints kernel."));
        p.taint_mask |= 1 << TAINT_OOT;
        p.reasons.push("no intree tag: taint O".into());
    }
    if get("staging").is_some() {
        p.dmesg.push(format!(
            "{name}: module is from the staging directory, the quality is unknown, you have been warned."
        ));
        p.taint_mask |= 1 << TAINT_CRAP;
        p.reasons.push("staging: taint C".into());
    }
    if get("livepatch").is_some() {
        p.taint_mask |= 1 << TAINT_LIVEPATCH;
        p.reasons.push("livepatch: taint K".into());
    }
    if p.taint_mask & (1 << TAINT_UNSIGNED) != 0 {
        p.dmesg.push(format!(
            "{name}: module verification failed: signature and/or required key missing - tainting kernel"
        ));
    }
    let license = get("license").unwrap_or_else(|| "unspecified".into());
    if !license_is_gpl_compatible(&license) {
        p.dmesg
            .push(format!("{name}: module license '{license}' taints kernel."));
        p.dmesg
            .push("Disabling lock debugging due to kernel taint".into());
        p.taint_mask |= 1 << TAINT_PROPRIETARY;
        p.reasons.push(format!(
            "license '{license}' is not GPL-compatible: taint P"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vermagic_from_debian_like_config() {
        let k = Kernel {
            release: "6.1.0-56-amd64".into(),
            config: parse_config(
                "CONFIG_SMP=y\nCONFIG_PREEMPT_BUILD=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODVERSIONS=y\n# CONFIG_MK8 is not set\nCONFIG_MODULE_SIG_HASH=\"sha256\"\n",
            ),
            ..Default::default()
        };
        assert_eq!(
            k.vermagic(),
            "6.1.0-56-amd64 SMP preempt mod_unload modversions "
        );
        assert_eq!(k.config["CONFIG_MODULE_SIG_HASH"], "sha256");
        assert!(license_is_gpl_compatible("Dual BSD/GPL"));
        assert!(!license_is_gpl_compatible("Proprietary"));
    }
}
