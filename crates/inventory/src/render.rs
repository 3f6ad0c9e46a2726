//! The three renderings of an [`Inventory`].

use crate::prom::{Exposition, Kind};
use crate::Inventory;

/// Pretty JSON of the whole inventory, with a trailing newline.
pub fn json(inv: &Inventory) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let mut s = serde_json::to_string_pretty(inv).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Columns padded to their widest cell (the last one not padded).
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; n];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                // Rust pads by characters, so names with non-ASCII letters align too.
                line.push_str(&format!("{c:<w$}", w = width[i] + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The readable table.
pub fn table(inv: &Inventory) -> String {
    let mut out = String::new();
    out.push_str(&format!("Kernel {}\n", inv.release));
    let t = &inv.taint;
    if t.mask == 0 {
        out.push_str("Taint: none (0)\n");
    } else {
        out.push_str(&format!("Taint: {} ({})\n", t.mask, t.letters));
        for f in &t.flags {
            out.push_str(&format!(
                "  {:>2}  {}  {:<22} {}\n",
                f.bit, f.letter, f.name, f.meaning
            ));
        }
        if t.unknown_bits != 0 {
            out.push_str(&format!(
                "  bits unknown to kmodkit: {:#x}\n",
                t.unknown_bits
            ));
        }
    }
    let p = &inv.policy;
    out.push_str(&format!(
        "Signature enforcement: {}; lockdown: {}\n",
        match p.sig_enforce {
            Some(true) => "on",
            Some(false) => "off",
            None => "unknown",
        },
        p.lockdown.as_deref().unwrap_or("unknown")
    ));
    if inv.keyring.is_empty() {
        out.push_str("Trusted certificates: none readable\n");
    } else {
        out.push_str("Trusted certificates:\n");
        for k in &inv.keyring {
            let held = match k.in_kernel {
                Some(true) => ", in /proc/keys",
                Some(false) => ", not in /proc/keys",
                None => "",
            };
            out.push_str(&format!("  {} (from {}{held})\n", k.description, k.source));
        }
    }
    out.push_str(&format!("\nLoaded modules: {}\n", inv.modules.len()));
    if !inv.modules.is_empty() {
        let mut rows = vec![[
            "MODULE",
            "SIZE",
            "REFS",
            "TAINT",
            "TREE",
            "VERSION",
            "SRCVERSION",
            "SIGNATURE",
            "SIGNER",
            "KEY",
            "HASH",
            "FILE",
        ]
        .map(String::from)
        .to_vec()];
        for m in &inv.modules {
            let s = &m.signature;
            rows.push(vec![
                m.name.clone(),
                m.size_bytes.to_string(),
                m.refcount.to_string(),
                dash(&m.taint).to_string(),
                if m.in_tree { "in" } else { "out" }.to_string(),
                dash(opt(&m.version)).to_string(),
                dash(opt(&m.srcversion)).to_string(),
                s.verdict.clone(),
                dash(opt(&s.signer)).to_string(),
                dash(opt(&s.key_id)).to_string(),
                dash(opt(&s.hash_algo)).to_string(),
                dash(opt(&m.file)).to_string(),
            ]);
        }
        out.push_str(&columns(&rows));
    }
    if let Some(d) = &inv.disk {
        out.push_str(&format!(
            "\nModules on disk that would not load: {} of {} under {}\n",
            d.unloadable.len(),
            d.scanned,
            d.dir
        ));
        for u in &d.unloadable {
            out.push_str(&format!("  {}: {} ({})\n", u.file, u.errno, u.reason));
        }
    }
    for n in &inv.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

/// The Prometheus text exposition of the inventory, for node_exporter's textfile
/// collector. Strings are labels of `_info` gauges (value 1); numbers are gauges with their
/// unit in the name; every family is present, with no sample when there is nothing to say.
pub fn prometheus(inv: &Inventory) -> String {
    let mut e = Exposition::new();
    let bool_label = |b: bool| if b { "true" } else { "false" };

    e.family(
        "kmodkit_kernel_info",
        Kind::Gauge,
        "The running kernel: release, signature enforcement and lockdown (value 1).",
    );
    let enforce = inv.policy.sig_enforce.map(bool_label).unwrap_or("unknown");
    e.sample(
        &[
            ("release", &inv.release),
            ("sig_enforce", enforce),
            (
                "lockdown",
                inv.policy.lockdown.as_deref().unwrap_or("unknown"),
            ),
        ],
        1.0,
    );

    e.family(
        "kmodkit_kernel_taint_mask",
        Kind::Gauge,
        "The kernel's taint mask (/proc/sys/kernel/tainted).",
    );
    e.sample(&[], inv.taint.mask as f64);

    e.family(
        "kmodkit_kernel_taint_flag",
        Kind::Gauge,
        "Each taint flag the kernel defines: 1 when set, 0 when not.",
    );
    for f in modfile::taint::FLAGS {
        let bit = f.bit.to_string();
        let letter = f.letter.to_string();
        let set = inv.taint.mask & (1u64 << f.bit) != 0;
        e.sample(
            &[("bit", &bit), ("letter", &letter), ("name", f.name)],
            if set { 1.0 } else { 0.0 },
        );
    }

    e.family(
        "kmodkit_trusted_key_info",
        Kind::Gauge,
        "A certificate module signatures were checked against, and where it was read (value 1).",
    );
    for k in &inv.keyring {
        let held = k.in_kernel.map(bool_label).unwrap_or("unknown");
        e.sample(
            &[
                ("key", &k.description),
                ("source", &k.source),
                ("in_kernel", held),
            ],
            1.0,
        );
    }

    e.family(
        "kmodkit_modules_loaded",
        Kind::Gauge,
        "Number of loaded modules (/proc/modules).",
    );
    e.sample(&[], inv.modules.len() as f64);

    e.family(
        "kmodkit_module_info",
        Kind::Gauge,
        "A loaded module: taint letters, tree, version, srcversion, file, signer, key id, hash and signature verdict (value 1).",
    );
    for m in &inv.modules {
        let s = &m.signature;
        e.sample(
            &[
                ("module", &m.name),
                ("taint", &m.taint),
                ("in_tree", bool_label(m.in_tree)),
                ("version", opt(&m.version)),
                ("srcversion", opt(&m.srcversion)),
                ("file", opt(&m.file)),
                ("signer", opt(&s.signer)),
                ("key_id", opt(&s.key_id)),
                ("hash_algo", opt(&s.hash_algo)),
                ("signature", &s.verdict),
            ],
            1.0,
        );
    }

    e.family(
        "kmodkit_module_size_bytes",
        Kind::Gauge,
        "A loaded module's size in memory (/proc/modules).",
    );
    for m in &inv.modules {
        e.sample(&[("module", &m.name)], m.size_bytes as f64);
    }

    e.family(
        "kmodkit_module_refcount",
        Kind::Gauge,
        "A loaded module's reference count.",
    );
    for m in &inv.modules {
        e.sample(&[("module", &m.name)], m.refcount as f64);
    }

    e.family(
        "kmodkit_module_taint_flag",
        Kind::Gauge,
        "A taint flag set on a loaded module (/sys/module/NAME/taint; value 1).",
    );
    for m in &inv.modules {
        for c in m.taint.chars() {
            let letter = c.to_string();
            let name = modfile::taint::FLAGS
                .iter()
                .find(|f| f.letter == c)
                .map_or("unknown", |f| f.name);
            e.sample(
                &[("module", &m.name), ("letter", &letter), ("name", name)],
                1.0,
            );
        }
    }

    e.family(
        "kmodkit_module_signature_valid",
        Kind::Gauge,
        "1 when a loaded module's file verifies against a trusted certificate, else 0.",
    );
    for m in &inv.modules {
        let ok = m.signature.verdict == "valid";
        e.sample(&[("module", &m.name)], if ok { 1.0 } else { 0.0 });
    }

    e.family(
        "kmodkit_disk_modules_scanned",
        Kind::Gauge,
        "Module files under the running kernel's modules directory that were checked.",
    );
    if let Some(d) = &inv.disk {
        e.sample(&[], d.scanned as f64);
    }

    e.family(
        "kmodkit_disk_modules_unloadable",
        Kind::Gauge,
        "Module files under the modules directory that the kernel would refuse to load.",
    );
    if let Some(d) = &inv.disk {
        e.sample(&[], d.unloadable.len() as f64);
    }

    e.family(
        "kmodkit_disk_module_unloadable_info",
        Kind::Gauge,
        "A module file the kernel would refuse: module, errno, reason and signature verdict (value 1).",
    );
    if let Some(d) = &inv.disk {
        for u in &d.unloadable {
            e.sample(
                &[
                    ("file", &u.file),
                    ("module", &u.module),
                    ("errno", &u.errno),
                    ("reason", &u.reason),
                    ("signature", &u.signature),
                ],
                1.0,
            );
        }
    }
    e.finish()
}
