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
//! 5. symbols (`simplify_symbols`, every undefined symbol in symbol-table order, when the
//!    kernel's exports are known, see [`Exports`]): a symbol nothing exports, or a GPL-only
//!    one in a module whose licence is not GPL-compatible (`find_symbol` skips it), is
//!    `Unknown symbol X (err -2)`; a CRC that differs from the module's `__versions` entry
//!    is `disagrees about version of symbol X` and err -22; a namespaced symbol whose
//!    namespace the module does not `import_ns` is err -22 too. The kernel goes on through
//!    all symbols and fails with the last error; the taints of step 4 stay on the kernel.
//!
//! Besides that one path (the first failure decides), [`Prediction::checks`] holds every
//! aspect judged on its own (vermagic, modversions, unknown symbols, GPL-only symbols,
//! namespaces, dependencies, signature), so that a matrix can say everything that is
//! wrong for a kernel, each with the errno and the line the kernel would give for it.
//!
//! The messages and their order are those of 6.1 and 6.12 (`early_mod_check`,
//! `module_augment_kernel_taints`): both fail and taint the same way for these steps.
//! What this cannot know: a module already loaded, the module's own init function failing.

pub mod exports;

use std::collections::{BTreeSet, HashMap};

pub use exports::{Export, Exports, SymversError};

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
    /// What the kernel and its modules export (`None`: unknown; symbols are not checked).
    pub exports: Option<Exports>,
    /// The modules the kernel has, on disk or built in, by name (`None`: unknown).
    pub modules: Option<BTreeSet<String>>,
    /// The kernel's taint before the load: the kernel prints some lines only the first
    /// time a taint is set, and they are left out when it already is.
    pub tainted: u64,
    /// `sizeof(struct module)` of the kernel (the size of `.gnu.linkonce.this_module` in
    /// its own modules): since 6.4 a module whose section differs is refused first.
    pub struct_module_size: Option<u64>,
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

    /// (major, minor) of the release (`6.12.117+deb12-amd64` -> (6, 12)).
    pub fn version(&self) -> Option<(u32, u32)> {
        let mut it = self.release.split(|c: char| !c.is_ascii_digit());
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some((major, minor))
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
    /// Every aspect judged on its own, in [`CheckKind::ALL`] order.
    pub checks: Vec<Check>,
}

/// One aspect of a load that a kernel judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    /// `.gnu.linkonce.this_module` is the kernel's `struct module` (6.4 and later).
    StructModule,
    Vermagic,
    Modversions,
    UnknownSymbols,
    GplOnly,
    Namespaces,
    Dependencies,
    Signature,
}

impl CheckKind {
    pub const ALL: [CheckKind; 8] = [
        CheckKind::StructModule,
        CheckKind::Vermagic,
        CheckKind::Modversions,
        CheckKind::UnknownSymbols,
        CheckKind::GplOnly,
        CheckKind::Namespaces,
        CheckKind::Dependencies,
        CheckKind::Signature,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::StructModule => "struct-module",
            CheckKind::Vermagic => "vermagic",
            CheckKind::Modversions => "modversions",
            CheckKind::UnknownSymbols => "unknown-symbols",
            CheckKind::GplOnly => "gpl-only",
            CheckKind::Namespaces => "namespaces",
            CheckKind::Dependencies => "dependencies",
            CheckKind::Signature => "signature",
        }
    }
}

/// How one aspect turns out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kernel accepts it.
    Pass,
    /// The kernel accepts it with a taint or a warning.
    Warn,
    /// The kernel refuses the module for it.
    Fail,
    /// Not known (the facts needed are missing).
    Unknown,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One aspect's verdict, with what the kernel gives for it had it been the first failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub kind: CheckKind,
    pub verdict: Verdict,
    /// What was compared, in words.
    pub detail: String,
    /// The errno the load fails with for this (positive).
    pub errno: Option<i32>,
    /// The kernel's lines for it.
    pub dmesg: Vec<String>,
    /// Taint bits it adds (for a soft failure, e.g. E).
    pub taint_mask: u64,
}

impl Check {
    fn new(kind: CheckKind, verdict: Verdict, detail: impl Into<String>) -> Check {
        Check {
            kind,
            verdict,
            detail: detail.into(),
            errno: None,
            dmesg: Vec::new(),
            taint_mask: 0,
        }
    }
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
        (libc::ENOENT, "ENOENT"),
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
    p.checks = checks(kernel, Some(module), sig, force, &p.name);
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
    let valid = matches!(
        modfile::validate(
            modsign::module::unsigned_content(data).unwrap_or(data),
            kernel.target()
        ),
        Ok(()) | Err(modfile::Invalid::NoModinfo)
    );
    p.checks = checks(
        kernel,
        parsed.as_ref().filter(|_| valid),
        sig,
        force,
        &p.name,
    );
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
    if let Some(line) = parsed
        .as_ref()
        .and_then(|m| struct_module_mismatch(kernel, m))
    {
        p.dmesg.push(line);
        fail(
            &mut p,
            libc::ENOEXEC,
            "its struct module is not the kernel's: built for another kernel".into(),
        );
        return p;
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
            checks: Vec::new(),
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
    let tainted = kernel.tainted;

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
            if !lock_debugging_off(tainted | p.taint_mask) {
                p.dmesg
                    .push("Disabling lock debugging due to kernel taint".into());
            }
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
    } else if modversions {
        if let Some(exports) = &kernel.exports {
            match symbol_version(exports, module, "module_layout", &name) {
                Resolution::BadCrc { lines, .. } => {
                    p.dmesg.extend(lines);
                    fail(
                        p,
                        libc::ENOEXEC,
                        "module_layout's CRC differs from the kernel's: built for another kernel"
                            .into(),
                    );
                    return;
                }
                Resolution::NoVersion(line) => p.dmesg.push(line),
                _ => p.reasons.push("module_layout's CRC matches".into()),
            }
        }
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
            if let Some(line) = vermagic_mismatch(kernel, &m, has_versions, &name) {
                p.dmesg.push(line);
                fail(
                    p,
                    libc::ENOEXEC,
                    format!(
                        "vermagic '{m}' differs from the kernel's '{}'",
                        kernel.vermagic()
                    ),
                );
                return;
            }
            p.reasons.push("vermagic matches".into());
        }
    }

    // 4. Flags from .modinfo.
    if get("intree").is_none() {
        if tainted & (1 << TAINT_OOT) == 0 {
            p.dmesg
                .push(format!("{name}: loading out-of-tree module taints kernel."));
        }
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
    let license = get("license").unwrap_or_else(|| "unspecified".into());
    let gpl = license_is_gpl_compatible(&license);
    if p.taint_mask & (1 << TAINT_UNSIGNED) != 0 && tainted & (1 << TAINT_UNSIGNED) == 0 {
        p.dmesg.push(format!(
            "{name}: module verification failed: signature and/or required key missing - tainting kernel"
        ));
    }
    if !gpl {
        if tainted & (1 << TAINT_PROPRIETARY) == 0 {
            p.dmesg
                .push(format!("{name}: module license '{license}' taints kernel."));
        }
        if !lock_debugging_off(tainted | p.taint_mask) {
            p.dmesg
                .push("Disabling lock debugging due to kernel taint".into());
        }
        p.taint_mask |= 1 << TAINT_PROPRIETARY;
        p.reasons.push(format!(
            "license '{license}' is not GPL-compatible: taint P"
        ));
        // 6.4's module_augment_kernel_taints says it once more when P is new.
        if tainted & (1 << TAINT_PROPRIETARY) == 0 && kernel.version() >= Some((6, 4)) {
            p.dmesg
                .push(format!("{name}: module license taints kernel."));
        }
    }

    // 5. Symbols (simplify_symbols): every undefined symbol, the last error wins. The
    //    taints above stay on the kernel whatever happens now.
    let Some(exports) = &kernel.exports else {
        p.reasons.push(
            "symbols not checked: the kernel's exports are unknown (no Module.symvers)".into(),
        );
        return;
    };
    let uses = match resolve_all(kernel, exports, module, gpl, force, &name) {
        Ok(u) => u,
        Err(why) => {
            fail(p, libc::ENOEXEC, why);
            return;
        }
    };
    let mut last = None;
    let mut once_no_version = false;
    for (sym, r) in &uses {
        match r {
            Resolution::Ok | Resolution::WeakMissing | Resolution::NoCrc => {}
            Resolution::NoVersion(line) => {
                if !once_no_version {
                    p.dmesg.push(line.clone());
                    once_no_version = true;
                }
            }
            Resolution::Unknown | Resolution::GplOnly => {
                p.dmesg.push(format!(
                    "{name}: Unknown symbol {sym} (err -{})",
                    libc::ENOENT
                ));
                last = Some(libc::ENOENT);
                p.reasons.push(if matches!(r, Resolution::GplOnly) {
                    format!("{sym} is GPL-only and the licence '{license}' is not GPL-compatible")
                } else {
                    format!("nothing in the kernel exports {sym}")
                });
            }
            Resolution::BadCrc { lines, .. } | Resolution::Namespace { lines, .. } => {
                p.dmesg.extend(lines.iter().cloned());
                last = Some(libc::EINVAL);
                p.reasons.push(lines[0].clone());
            }
        }
    }
    if let Some(e) = last {
        p.loads = false;
        p.errno = Some(e);
        p.reasons.push(format!(
            "symbols unresolved: {} (the taint {} stays on the kernel)",
            errno_name(e),
            p.letters()
        ));
    } else {
        p.reasons
            .push(format!("all {} symbols resolve", uses.len()));
    }
}

/// `__debug_locks_off()` already happened: a taint that makes lockdep unreliable
/// (P, F) was set before.
fn lock_debugging_off(tainted: u64) -> bool {
    tainted & (1 << TAINT_PROPRIETARY | 1 << TAINT_FORCED) != 0
}

/// 6.4's `elf_validity_cache_copy`: the module's `.gnu.linkonce.this_module` must be as
/// large as the kernel's `struct module`; the kernel's line when it is not.
fn struct_module_mismatch(kernel: &Kernel, module: &modfile::Module) -> Option<String> {
    let want = kernel.struct_module_size?;
    if kernel.version()? < (6, 4) {
        return None;
    }
    let have = module
        .elf()
        .section_by_name(".gnu.linkonce.this_module")?
        .size;
    let name = module
        .modinfo()
        .get("name")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| "(missing .modinfo name field)".into());
    (have != want).then(|| {
        format!(
            "module {name}: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time"
        )
    })
}

/// The kernel's line when the module's vermagic `m` is not the kernel's (`same_magic`:
/// with modversions on both sides the release word is not compared).
fn vermagic_mismatch(kernel: &Kernel, m: &str, has_versions: bool, name: &str) -> Option<String> {
    let ours = kernel.vermagic();
    let strip = |s: &str| {
        if has_versions && kernel.enabled("CONFIG_MODVERSIONS") {
            s.find(' ').map_or(String::new(), |i| s[i..].to_string())
        } else {
            s.to_string()
        }
    };
    (strip(m) != strip(&ours)).then(|| format!("{name}: version magic '{m}' should be '{ours}'"))
}

/// How the kernel resolves one undefined symbol of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resolution {
    Ok,
    /// Nothing exports it, but it is weak: fine.
    WeakMissing,
    /// Exported without a CRC ("Exporting module didn't supply crcs? OK").
    NoCrc,
    /// Nothing exports it.
    Unknown,
    /// Exported GPL-only and the module's licence is not GPL-compatible.
    GplOnly,
    /// The CRCs differ: the kernel's lines.
    BadCrc {
        module: u64,
        kernel: u32,
        lines: Vec<String>,
    },
    /// Found, with versions on, but the module has no `__versions` entry for it (a warning
    /// printed once per boot; the load goes on).
    NoVersion(String),
    /// From a namespace the module does not import: the kernel's lines.
    Namespace {
        namespace: String,
        lines: Vec<String>,
    },
}

/// `check_version` for `sym` found in `exports`.
fn symbol_version(
    exports: &Exports,
    module: &modfile::Module,
    sym: &str,
    name: &str,
) -> Resolution {
    let Some(crc) = exports.get(sym).and_then(|e| e.crc) else {
        return Resolution::NoCrc;
    };
    let versions = module.versions().unwrap_or_default();
    match versions.iter().find(|v| v.name == sym) {
        Some(v) if v.crc == u64::from(crc) => Resolution::Ok,
        Some(v) => Resolution::BadCrc {
            module: v.crc,
            kernel: crc,
            lines: vec![format!("{name}: disagrees about version of symbol {sym}")],
        },
        None => Resolution::NoVersion(format!("{name}: no symbol version for {sym}")),
    }
}

/// `resolve_symbol` for every undefined symbol of the module, in symbol-table order.
fn resolve_all(
    kernel: &Kernel,
    exports: &Exports,
    module: &modfile::Module,
    gplok: bool,
    force: bool,
    name: &str,
) -> Result<Vec<(String, Resolution)>, String> {
    let modversions = kernel.enabled("CONFIG_MODVERSIONS");
    let has_versions = module.elf().section_by_name("__versions").is_some();
    let info = module.modinfo();
    let imported: Vec<&[u8]> = info.get_all("import_ns").collect();
    let x86 = matches!(module.elf().machine(), 3 | 62);
    let allow_missing_ns = kernel.enabled("CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS");
    let mut out = Vec::new();
    for (sym, weak) in undefined_symbols(module)? {
        if x86 && sym == "_GLOBAL_OFFSET_TABLE_" {
            continue;
        }
        let r = match exports.get(&sym) {
            None if weak => Resolution::WeakMissing,
            None => Resolution::Unknown,
            Some(e) if e.gpl_only && !gplok => {
                if weak {
                    Resolution::WeakMissing
                } else {
                    Resolution::GplOnly
                }
            }
            Some(e) => {
                let version = if modversions && has_versions && !force {
                    symbol_version(exports, module, &sym, name)
                } else {
                    Resolution::Ok
                };
                if matches!(version, Resolution::BadCrc { .. }) {
                    let mut version = version;
                    if let Resolution::BadCrc { lines, .. } = &mut version {
                        lines.push(format!(
                            "{name}: Unknown symbol {sym} (err -{})",
                            libc::EINVAL
                        ));
                    }
                    version
                } else if !e.namespace.is_empty()
                    && !imported.contains(&e.namespace.as_bytes())
                    && !allow_missing_ns
                {
                    Resolution::Namespace {
                        namespace: e.namespace.clone(),
                        lines: vec![
                            format!(
                                "{name}: module uses symbol ({sym}) from namespace {}, but does not import it.",
                                e.namespace
                            ),
                            format!("{name}: Unknown symbol {sym} (err -{})", libc::EINVAL),
                        ],
                    }
                } else {
                    version
                }
            }
        };
        out.push((sym, r));
    }
    Ok(out)
}

/// The module's undefined symbols (name, weak), in symbol-table order.
fn undefined_symbols(module: &modfile::Module) -> Result<Vec<(String, bool)>, String> {
    let elf = module.elf();
    let (Some(tab), Some(strtab)) = (elf.section_by_name(".symtab"), elf.section_data(".strtab"))
    else {
        return Err("no symbol table (.symtab/.strtab)".into());
    };
    let entsize: u64 = if elf.is_64() { 24 } else { 16 };
    let mut out = Vec::new();
    for i in 1..tab.size / entsize {
        let base = tab.offset + i * entsize;
        let (name_off, info, shndx) = if elf.is_64() {
            (
                elf.uint(base, 4),
                elf.uint(base + 4, 1),
                elf.uint(base + 6, 2),
            )
        } else {
            (
                elf.uint(base, 4),
                elf.uint(base + 12, 1),
                elf.uint(base + 14, 2),
            )
        };
        let (Some(name_off), Some(info), Some(shndx)) = (name_off, info, shndx) else {
            return Err(format!(".symtab entry {i}: past the end of the file"));
        };
        if shndx != 0 {
            continue;
        }
        let Some(tail) = strtab.get(name_off as usize..) else {
            return Err(format!(
                ".symtab entry {i}: name offset {name_off} past .strtab"
            ));
        };
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        if end == 0 {
            continue;
        }
        out.push((
            String::from_utf8_lossy(&tail[..end]).into_owned(),
            info >> 4 == 2,
        ));
    }
    Ok(out)
}

/// Every aspect on its own (the matrix's cells), whatever the kernel would stop at first.
fn checks(
    kernel: &Kernel,
    module: Option<&modfile::Module>,
    sig: SigVerdict,
    force: bool,
    name: &str,
) -> Vec<Check> {
    let unknown = |k: CheckKind, why: &str| Check::new(k, Verdict::Unknown, why);
    let mut out = Vec::new();
    // Signature.
    let mut p = Prediction::new(name.to_string());
    let sig_check = if !kernel.enabled("CONFIG_MODULE_SIG") {
        Check::new(
            CheckKind::Signature,
            Verdict::Pass,
            "the kernel does not check signatures",
        )
    } else if signature_step(&mut p, kernel, sig, force) {
        let mut c = Check::new(
            CheckKind::Signature,
            if p.taint_mask == 0 {
                Verdict::Pass
            } else {
                Verdict::Warn
            },
            p.reasons.join("; "),
        );
        c.taint_mask = p.taint_mask;
        if p.taint_mask != 0 {
            c.dmesg.push(format!(
                "{name}: module verification failed: signature and/or required key missing - tainting kernel"
            ));
        }
        c
    } else {
        let mut c = Check::new(CheckKind::Signature, Verdict::Fail, p.reasons.join("; "));
        c.errno = p.errno;
        c.dmesg = p.dmesg;
        c
    };
    let Some(module) = module else {
        for k in CheckKind::ALL {
            out.push(if k == CheckKind::Signature {
                sig_check.clone()
            } else {
                unknown(k, "not a module that can be read")
            });
        }
        return out;
    };
    let info = module.modinfo();
    let get = |k: &str| info.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let has_versions = module.elf().section_by_name("__versions").is_some();
    let modversions = kernel.enabled("CONFIG_MODVERSIONS");
    let force_load = kernel.enabled("CONFIG_MODULE_FORCE_LOAD");
    let license = get("license").unwrap_or_else(|| "unspecified".into());
    let gpl = license_is_gpl_compatible(&license);

    // struct module's size.
    out.push(match struct_module_mismatch(kernel, module) {
        Some(line) => {
            let mut c = Check::new(
                CheckKind::StructModule,
                Verdict::Fail,
                "its struct module's size is not the kernel's: built for another kernel",
            );
            c.errno = Some(libc::ENOEXEC);
            c.dmesg.push(line);
            c
        }
        None if kernel.struct_module_size.is_none() => unknown(
            CheckKind::StructModule,
            "the kernel's struct module size is unknown (no module of its own to compare)",
        ),
        None if kernel.version() < Some((6, 4)) => Check::new(
            CheckKind::StructModule,
            Verdict::Pass,
            "not compared before 6.4",
        ),
        None => Check::new(CheckKind::StructModule, Verdict::Pass, "same size"),
    });
    // Vermagic.
    out.push(match get("vermagic").filter(|_| !force) {
        None if force_load => {
            let mut c = Check::new(
                CheckKind::Vermagic,
                Verdict::Warn,
                "not compared (forced or absent): taint F",
            );
            c.taint_mask = 1 << TAINT_FORCED;
            c.dmesg
                .push(format!("{name}: bad vermagic: kernel tainted."));
            c
        }
        None => {
            let mut c = Check::new(
                CheckKind::Vermagic,
                Verdict::Fail,
                "no vermagic and no CONFIG_MODULE_FORCE_LOAD",
            );
            c.errno = Some(libc::ENOEXEC);
            c
        }
        Some(m) => match vermagic_mismatch(kernel, &m, has_versions, name) {
            Some(line) => {
                let mut c = Check::new(
                    CheckKind::Vermagic,
                    Verdict::Fail,
                    format!("'{m}' is not the kernel's '{}'", kernel.vermagic()),
                );
                c.errno = Some(libc::ENOEXEC);
                c.dmesg.push(line);
                c
            }
            None => Check::new(CheckKind::Vermagic, Verdict::Pass, format!("'{m}'")),
        },
    });

    let Some(exports) = &kernel.exports else {
        for k in [
            CheckKind::Modversions,
            CheckKind::UnknownSymbols,
            CheckKind::GplOnly,
            CheckKind::Namespaces,
        ] {
            out.push(unknown(
                k,
                "the kernel's exports are unknown (no Module.symvers)",
            ));
        }
        out.push(dependency_check(kernel, module, None));
        out.push(sig_check);
        return out;
    };
    let uses = match resolve_all(kernel, exports, module, gpl, force, name) {
        Ok(u) => u,
        Err(why) => {
            for k in [
                CheckKind::Modversions,
                CheckKind::UnknownSymbols,
                CheckKind::GplOnly,
                CheckKind::Namespaces,
            ] {
                out.push(unknown(k, &why));
            }
            out.push(dependency_check(kernel, module, None));
            out.push(sig_check);
            return out;
        }
    };

    // Modversions: module_layout first (ENOEXEC), then each symbol's CRC (EINVAL).
    let mut c = if !modversions {
        Check::new(
            CheckKind::Modversions,
            Verdict::Pass,
            "the kernel has no CONFIG_MODVERSIONS",
        )
    } else if force || !has_versions {
        let mut c = Check::new(
            CheckKind::Modversions,
            if force_load {
                Verdict::Warn
            } else {
                Verdict::Fail
            },
            "no symbol versions (forced or absent)",
        );
        if force_load {
            c.taint_mask = 1 << TAINT_FORCED;
            c.dmesg
                .push(format!("{name}: module_layout: kernel tainted."));
        } else {
            c.errno = Some(libc::ENOEXEC);
        }
        c
    } else {
        match symbol_version(exports, module, "module_layout", name) {
            Resolution::BadCrc {
                module: m,
                kernel: k,
                lines,
            } => {
                let mut c = Check::new(
                    CheckKind::Modversions,
                    Verdict::Fail,
                    format!("module_layout: module {m:#010x}, kernel {k:#010x}: built for another kernel"),
                );
                c.errno = Some(libc::ENOEXEC);
                c.dmesg = lines;
                c
            }
            _ => Check::new(CheckKind::Modversions, Verdict::Pass, ""),
        }
    };
    if c.verdict == Verdict::Pass {
        let bad: Vec<_> = uses
            .iter()
            .filter_map(|(s, r)| match r {
                Resolution::BadCrc {
                    module,
                    kernel,
                    lines,
                } => Some((s, module, kernel, lines)),
                _ => None,
            })
            .collect();
        let checked = uses
            .iter()
            .filter(|(_, r)| {
                !matches!(
                    r,
                    Resolution::Unknown | Resolution::GplOnly | Resolution::WeakMissing
                )
            })
            .count();
        if bad.is_empty() {
            c.detail = format!("module_layout and {checked} symbols' CRCs match");
        } else {
            c.verdict = Verdict::Fail;
            c.errno = Some(libc::EINVAL);
            c.detail = bad
                .iter()
                .map(|(s, m, k, _)| format!("{s}: module {m:#010x}, kernel {k:#010x}"))
                .collect::<Vec<_>>()
                .join(", ");
            c.dmesg = bad.iter().flat_map(|b| b.3.iter().cloned()).collect();
        }
    }
    out.push(c);

    // Unknown symbols, GPL-only symbols, namespaces.
    let pick = |f: &dyn Fn(&Resolution) -> bool| -> Vec<&(String, Resolution)> {
        uses.iter().filter(|(_, r)| f(r)).collect()
    };
    let unknown_line = |s: &str| format!("{name}: Unknown symbol {s} (err -{})", libc::ENOENT);
    let missing = pick(&|r| matches!(r, Resolution::Unknown));
    let mut c = Check::new(CheckKind::UnknownSymbols, Verdict::Pass, "");
    if missing.is_empty() {
        c.detail = format!("all {} symbols are exported", uses.len());
    } else {
        c.verdict = Verdict::Fail;
        c.errno = Some(libc::ENOENT);
        c.detail = format!(
            "nothing exports {}",
            missing
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        c.dmesg = missing.iter().map(|(s, _)| unknown_line(s)).collect();
    }
    out.push(c);
    let gpl_used = pick(&|r| matches!(r, Resolution::GplOnly));
    let mut c = Check::new(CheckKind::GplOnly, Verdict::Pass, "");
    if gpl {
        c.detail = format!("licence '{license}' is GPL-compatible");
    } else if gpl_used.is_empty() {
        c.detail = format!("licence '{license}': no GPL-only symbol used");
    } else {
        c.verdict = Verdict::Fail;
        c.errno = Some(libc::ENOENT);
        c.detail = format!(
            "licence '{license}' is not GPL-compatible and {} GPL-only",
            gpl_used
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        c.dmesg = gpl_used.iter().map(|(s, _)| unknown_line(s)).collect();
    }
    out.push(c);
    // Judged on its own: with the CRCs left aside (a CRC that differs would stop the
    // kernel before it looks at the namespace).
    let unversioned = resolve_all(kernel, exports, module, gpl, true, name).unwrap_or_default();
    let ns: Vec<_> = unversioned
        .iter()
        .filter_map(|(s, r)| match r {
            Resolution::Namespace { namespace, lines } => Some((s, namespace, lines)),
            _ => None,
        })
        .collect();
    let mut c = Check::new(CheckKind::Namespaces, Verdict::Pass, "");
    if ns.is_empty() {
        let imported: Vec<String> = info
            .get_all("import_ns")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        c.detail = if imported.is_empty() {
            "no namespaced symbol needs an import".into()
        } else {
            format!("imports {}", imported.join(", "))
        };
    } else {
        c.verdict = Verdict::Fail;
        c.errno = Some(libc::EINVAL);
        c.detail = ns
            .iter()
            .map(|(s, n, _)| format!("{s} is in namespace {n}, not imported"))
            .collect::<Vec<_>>()
            .join(", ");
        c.dmesg = ns.iter().flat_map(|x| x.2.iter().cloned()).collect();
    }
    out.push(c);
    out.push(dependency_check(kernel, module, Some(&uses)));
    out.push(sig_check);
    out
}

/// The modules named by `depends=` that the kernel does not have (modprobe loads the
/// others first; without them their symbols are unknown: ENOENT).
fn dependency_check(
    kernel: &Kernel,
    module: &modfile::Module,
    uses: Option<&[(String, Resolution)]>,
) -> Check {
    let info = module.modinfo();
    let deps: Vec<String> = info
        .get("depends")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| d.replace('-', "_"))
        .collect();
    if deps.is_empty() {
        return Check::new(
            CheckKind::Dependencies,
            Verdict::Pass,
            "depends on no module",
        );
    }
    let owners = kernel.exports.as_ref().map(|e| e.owners());
    let have = |d: &str| -> Option<bool> {
        let in_modules = kernel.modules.as_ref().map(|m| m.contains(d));
        let in_exports = owners.as_ref().map(|o| o.contains(d));
        match (in_modules, in_exports) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (None, None) => None,
            _ => Some(false),
        }
    };
    let missing: Vec<&String> = deps.iter().filter(|d| have(d) == Some(false)).collect();
    let unknown: Vec<&String> = deps.iter().filter(|d| have(d).is_none()).collect();
    if !missing.is_empty() {
        let mut c = Check::new(
            CheckKind::Dependencies,
            Verdict::Fail,
            format!(
                "the kernel has no module {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        c.errno = Some(libc::ENOENT);
        // Their symbols are the unknown ones.
        let name = module_name(module);
        c.dmesg = uses
            .unwrap_or_default()
            .iter()
            .filter(|(_, r)| matches!(r, Resolution::Unknown))
            .map(|(s, _)| format!("{name}: Unknown symbol {s} (err -{})", libc::ENOENT))
            .collect();
        return c;
    }
    if !unknown.is_empty() {
        return Check::new(
            CheckKind::Dependencies,
            Verdict::Unknown,
            format!(
                "depends on {}; the kernel's modules are unknown",
                deps.join(", ")
            ),
        );
    }
    Check::new(
        CheckKind::Dependencies,
        Verdict::Pass,
        format!("depends on {}: all present", deps.join(", ")),
    )
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
