//! A kernel's module inventory as data, and its three renderings: a table for people,
//! JSON for programs, and the Prometheus text exposition format for node_exporter's
//! textfile collector (so the monitoring a fleet already runs carries it).
//!
//! The inventory says: the kernel release; its taint bits, named; every loaded module with
//! its size, reference count, taint letters, in-tree or not, version and srcversion, file,
//! signer, key id, hash algorithm and the signature's verdict against the keys this kernel
//! trusts; and the modules on disk that it would refuse (`loadcheck`'s prediction).
//!
//! A format crate: it reads nothing. The CLI (`kmodkit inventory`) gathers the facts through
//! the system layer (`modsys`: `/proc/modules`, `/sys/module`, `/proc/keys`, efivarfs) and
//! `kernels` (image, config), hands bytes and text here, and prints what comes back. So every
//! decision (what a verdict is, which module is in tree, what would not load, how a label is
//! escaped) is tested here without a kernel.
//!
//! Signature verdicts: a module's signature is verified (`modsign`, what `kmodkit verify`
//! does) against the certificates that could be read: those built into the kernel image and
//! the firmware's `db`/`MokListRT` (the platform keyring). Keys of the secondary or platform
//! keyrings that only `/proc/keys` shows have a name but no certificate; a signer matching
//! one of those by name gets the verdict `key-in-kernel` (the kernel holds a key of that
//! name; the signature itself was not checked here), never `valid`.

pub mod keys;
pub mod prom;
mod render;

use serde::Serialize;

pub use keys::{parse_proc_keys, ProcKey};
pub use render::{json, prometheus, table};

/// Everything `kmodkit inventory` reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inventory {
    /// `uname -r`.
    pub release: String,
    pub taint: Taint,
    pub policy: Policy,
    /// The certificates signatures were checked against.
    pub keyring: Vec<TrustedKey>,
    /// Asymmetric keys the kernel holds (`/proc/keys`), by the kernel's description.
    pub kernel_keys: Vec<String>,
    /// Loaded modules, in `/proc/modules` order.
    pub modules: Vec<LoadedModule>,
    /// The modules directory scan; `None` when there was none to scan.
    pub disk: Option<Disk>,
    /// What could not be read, and what follows from it.
    pub notes: Vec<String>,
}

/// The kernel's taint mask, decoded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Taint {
    pub mask: u64,
    pub letters: String,
    pub flags: Vec<TaintFlag>,
    /// Bits set that kernel/panic.c (6.x) does not name.
    pub unknown_bits: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaintFlag {
    pub bit: u32,
    pub letter: char,
    pub name: &'static str,
    pub meaning: &'static str,
}

impl Taint {
    pub fn new(mask: u64) -> Taint {
        let (flags, unknown_bits) = modfile::taint::decode(mask);
        Taint {
            mask,
            letters: flags.iter().map(|f| f.letter).collect(),
            flags: flags
                .iter()
                .map(|f| TaintFlag {
                    bit: f.bit,
                    letter: f.letter,
                    name: f.name,
                    meaning: f.meaning,
                })
                .collect(),
            unknown_bits,
        }
    }
}

/// What decides loads besides the module: signature enforcement, lockdown.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Policy {
    /// `/sys/module/module/parameters/sig_enforce` (`None`: unreadable).
    pub sig_enforce: Option<bool>,
    /// The lockdown mode in force (`none`, `integrity`, `confidentiality`).
    pub lockdown: Option<String>,
    /// The image the built-in certificates came from.
    pub image: Option<String>,
    /// The config predictions were made with.
    pub config: Option<String>,
}

/// A certificate signatures are verified against.
#[derive(Clone, Debug, Serialize)]
pub struct TrustedKey {
    /// Where it was read (`/boot/vmlinuz-R`, `efivarfs:db`).
    pub source: String,
    /// As the kernel names the key: `CN: key id`.
    pub description: String,
    /// Whether `/proc/keys` shows a key of that description (`None`: unreadable).
    pub in_kernel: Option<bool>,
}

/// One loaded module.
#[derive(Clone, Debug, Serialize)]
pub struct LoadedModule {
    pub name: String,
    /// `/proc/modules`' size.
    pub size_bytes: u64,
    /// `/sys/module/NAME/coresize`.
    pub coresize_bytes: Option<u64>,
    pub refcount: i64,
    /// `Live`, `Loading`, `Unloading`.
    pub state: String,
    /// The module's own taint letters (`/sys/module/NAME/taint`).
    pub taint: String,
    /// Built in the kernel's tree: the kernel's own verdict (no `O` letter).
    pub in_tree: bool,
    pub version: Option<String>,
    pub srcversion: Option<String>,
    /// The file it was found as under the modules directory.
    pub file: Option<String>,
    pub signature: Signature,
}

/// A module file's signature and its verdict.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Signature {
    /// `valid`, `unsigned`, `unknown-key`, `key-in-kernel`, `unsupported`, `invalid`,
    /// `bad-format`; `no-file` when the module's file was not found.
    pub verdict: String,
    /// The signer as modinfo shows it (the issuer's CN).
    pub signer: Option<String>,
    /// The key id as modinfo shows it (`sig_key`: hex bytes joined by `:`).
    pub key_id: Option<String>,
    pub hash_algo: Option<String>,
    /// The trusted key that verified it (`CN: key id`), or for `key-in-kernel` the key
    /// the kernel holds under the signer's name.
    pub key: Option<String>,
}

/// The scan of the modules directory.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Disk {
    pub dir: String,
    /// Module files looked at.
    pub scanned: usize,
    /// Those the kernel would refuse, by path.
    pub unloadable: Vec<Unloadable>,
}

/// A module file the kernel would refuse.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Unloadable {
    pub file: String,
    pub module: String,
    /// `ENOEXEC`, `EKEYREJECTED`, ...
    pub errno: String,
    pub reason: String,
    pub signature: String,
    /// What the kernel would print.
    pub dmesg: Vec<String>,
}

/// What a module file says of itself: name, tree, versions, signature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFacts {
    pub name: Option<String>,
    pub in_tree: bool,
    pub version: Option<String>,
    pub srcversion: Option<String>,
    pub signature: Signature,
}

/// `sig_key` as modinfo prints it on one line: uppercase hex bytes joined by `:`.
pub fn key_id_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The signature of `data` (a module file, decompressed) against `keyring`, with the keys
/// the kernel holds by name (`kernel_keys`, `/proc/keys` descriptions) for signers whose
/// certificate is not in `keyring`.
pub fn signature(
    data: &[u8],
    keyring: &modsign::keyring::Keyring,
    kernel_keys: &[String],
) -> Signature {
    signature_and_verdict(data, keyring, kernel_keys).0
}

/// [`signature`], with `loadcheck`'s verdict for the load: a key the kernel holds by name
/// counts as trusted (the kernel would have checked the signature with it).
fn signature_and_verdict(
    data: &[u8],
    keyring: &modsign::keyring::Keyring,
    kernel_keys: &[String],
) -> (Signature, loadcheck::SigVerdict) {
    use loadcheck::SigVerdict;
    let info = modfile::ModuleSignature::find(data)
        .ok()
        .flatten()
        .and_then(|s| s.info());
    let signer = info
        .as_ref()
        .map(|i| String::from_utf8_lossy(&i.signer).into_owned());
    // One verification when it succeeds; `decide` names the failure otherwise.
    let (verdict, key) = match modsign::module::verify(data, keyring) {
        Ok(v) => (SigVerdict::Valid, Some(v.signer)),
        Err(_) => (SigVerdict::decide(data, keyring), None),
    };
    let mut sig = Signature {
        verdict: verdict.name().to_string(),
        signer: signer.clone(),
        key_id: info.as_ref().map(|i| key_id_hex(&i.key_id)),
        hash_algo: info.as_ref().map(|i| i.hash_algo.to_string()),
        key,
    };
    let mut load_verdict = verdict;
    if verdict == SigVerdict::UnknownKey {
        if let Some(s) = signer.filter(|s| !s.is_empty()) {
            let prefix = format!("{s}: ");
            if let Some(k) = kernel_keys.iter().find(|k| k.starts_with(&prefix)) {
                sig.verdict = "key-in-kernel".into();
                sig.key = Some(k.clone());
                load_verdict = SigVerdict::Valid;
            }
        }
    }
    (sig, load_verdict)
}

/// What the module file `data` (decompressed) says of itself.
pub fn file_facts(
    data: &[u8],
    keyring: &modsign::keyring::Keyring,
    kernel_keys: &[String],
) -> FileFacts {
    file_facts_and_verdict(data, keyring, kernel_keys).0
}

fn file_facts_and_verdict(
    data: &[u8],
    keyring: &modsign::keyring::Keyring,
    kernel_keys: &[String],
) -> (FileFacts, loadcheck::SigVerdict) {
    let (signature, verdict) = signature_and_verdict(data, keyring, kernel_keys);
    let Ok(m) = modfile::Module::parse(data) else {
        let facts = FileFacts {
            signature,
            ..FileFacts::default()
        };
        return (facts, verdict);
    };
    let info = m.modinfo();
    let get = |k: &str| info.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let facts = FileFacts {
        name: m.name(),
        in_tree: get("intree").is_some(),
        version: get("version"),
        srcversion: get("srcversion"),
        signature,
    };
    (facts, verdict)
}

/// The module name a file stands for, as kmod derives it from a path: the file name up to
/// its first `.`, with `-` as `_`.
pub fn module_name_of_file(file_name: &str) -> String {
    file_name
        .split('.')
        .next()
        .unwrap_or_default()
        .replace('-', "_")
}

/// Whether `name` is a module file name (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`).
pub fn is_module_file(name: &str) -> bool {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// One module file on disk, examined: what it says of itself, and whether the kernel
/// would refuse it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Examined {
    /// `None` when the file could not be decompressed.
    pub facts: Option<FileFacts>,
    /// `Some` when the kernel would refuse it (only predicted when `kernel` is known).
    pub unloadable: Option<Unloadable>,
}

/// Examines the module file `raw` (as on disk, maybe compressed) at `file`: its facts, and,
/// when `kernel` is given, `loadcheck`'s prediction of its load into that kernel.
pub fn examine(
    kernel: Option<&loadcheck::Kernel>,
    file: &str,
    raw: &[u8],
    keyring: &modsign::keyring::Keyring,
    kernel_keys: &[String],
) -> Examined {
    let base = file.rsplit('/').next().unwrap_or(file);
    let module = module_name_of_file(base);
    let data = match modfile::decompress(raw) {
        Ok(d) => d,
        Err(e) => {
            return Examined {
                facts: None,
                unloadable: kernel.map(|_| Unloadable {
                    file: file.to_string(),
                    module,
                    errno: loadcheck::errno_name(ENOEXEC),
                    reason: format!("cannot be decompressed: {e}"),
                    signature: "unknown".into(),
                    dmesg: Vec::new(),
                }),
            }
        }
    };
    let (facts, verdict) = file_facts_and_verdict(&data, keyring, kernel_keys);
    let unloadable = kernel.and_then(|k| {
        let p = loadcheck::predict_bytes(k, &data, verdict, false, &module);
        (!p.loads).then(|| Unloadable {
            file: file.to_string(),
            module: p.name.clone(),
            errno: loadcheck::errno_name(p.errno.unwrap_or(ENOEXEC)),
            reason: p.reasons.last().cloned().unwrap_or_default(),
            signature: facts.signature.verdict.clone(),
            dmesg: p.dmesg,
        })
    });
    Examined {
        facts: Some(facts),
        unloadable,
    }
}

/// ENOEXEC (8 on every Linux architecture); spelled out to keep this crate free of libc.
const ENOEXEC: i32 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files() {
        assert_eq!(module_name_of_file("snd-hda-intel.ko.xz"), "snd_hda_intel");
        assert!(is_module_file("a.ko.zst"));
        assert!(!is_module_file("modules.dep"));
        assert!(!is_module_file("a.ko.bak"));
        assert_eq!(key_id_hex(&[0x0a, 0xff, 0x10]), "0A:FF:10");
    }

    #[test]
    fn taint_decoded() {
        let t = Taint::new((1 << 12) | (1 << 13) | (1 << 40));
        assert_eq!(t.letters, "OE");
        assert_eq!(t.flags[0].name, "OOT_MODULE");
        assert_eq!(t.unknown_bits, 1 << 40);
    }

    #[test]
    fn not_a_module_would_not_load() {
        let k = loadcheck::Kernel {
            release: "6.1.0-test".into(),
            ..Default::default()
        };
        let ring = modsign::keyring::Keyring::new();
        let e = examine(
            Some(&k),
            "/lib/modules/x/kernel/bad-mod.ko",
            b"not an elf",
            &ring,
            &[],
        );
        let u = e.unloadable.expect("garbage is refused");
        assert_eq!(u.errno, "ENOEXEC");
        assert_eq!(u.module, "bad_mod");
        assert_eq!(u.signature, "unsigned");
        assert_eq!(e.facts.unwrap().name, None);
        // Without a kernel to predict for, nothing is called unloadable.
        assert_eq!(examine(None, "x.ko", b"junk", &ring, &[]).unloadable, None);
    }

    #[test]
    fn unsigned_signature_facts() {
        let ring = modsign::keyring::Keyring::new();
        let s = signature(b"\x7fELF not much", &ring, &[]);
        assert_eq!(s.verdict, "unsigned");
        assert_eq!(s.signer, None);
    }
}
