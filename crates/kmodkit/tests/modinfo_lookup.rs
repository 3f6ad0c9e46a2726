//! `modinfo` by module name and alias through the indexes kmod's depmod wrote: byte-identical
//! to kmod's modinfo with the same `-b ROOT -k RELEASE` arguments, on the 6.1 (`.ko`) and
//! 6.12 (`.ko.xz`) trees.

mod depmod_support;

use depmod_support::*;
use testsupport::Corpus;

fn compare(root: &str, release: &str, extra: &[&str], names: &[String], what: &str) {
    for chunk in names.chunks(2000) {
        let mut args: Vec<String> = ["-b", root, "-k", release]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect();
        args.extend(chunk.iter().cloned());
        let (t, o) = both("modinfo", &args);
        assert_same(&format!("{what} ({release})"), &t, &o);
    }
}

#[test]
fn names_aliases_and_builtins_identical() {
    if !testsupport::have_tool("depmod") {
        return;
    }
    for c in setup_all("modinfo") {
        names_aliases_and_builtins(&c);
    }
}

fn names_aliases_and_builtins(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(c, tmp.path());
    let r = root.to_str().unwrap();
    let st = kmod_depmod(&["-b", r, &c.release]);
    assert!(st.status.success(), "kmod depmod failed");
    let dir = root.join("lib/modules").join(&c.release);

    let names = dep_names(&dir);
    assert!(names.len() > 4000, "only {} names", names.len());
    // A compressed tree (6.12's .ko.xz) by every 4th name: decompressing dominates both
    // tools, and modinfo_corpus compares that whole tree already.
    let names: Vec<String> = if c.ext() == ".ko" {
        names
    } else {
        names.into_iter().step_by(4).collect()
    };
    compare(r, &c.release, &[], &names, "modinfo NAME (every module)");
    compare(
        r,
        &c.release,
        &["-F", "filename"],
        &names,
        "modinfo -F filename NAME",
    );
    compare(r, &c.release, &["-m"], &names[..300], "modinfo -m NAME");

    // Aliases: patterns as written (a '*' matches itself) and made concrete.
    let aliases = alias_sample(&dir, 7);
    assert!(aliases.len() > 1000);
    compare(
        r,
        &c.release,
        &[],
        &aliases,
        "modinfo ALIAS (modules.alias sample)",
    );
    let concrete: Vec<String> = alias_sample(&dir, 11)
        .iter()
        .filter(|a| !a.contains('['))
        .map(|a| a.replace('*', "0").replace('?', "x"))
        .collect();
    compare(
        r,
        &c.release,
        &["-F", "name"],
        &concrete,
        "modinfo concrete alias",
    );

    // Symbols, builtin modules by name and by alias, and names that are nowhere.
    let symbols: Vec<String> = std::fs::read_to_string(dir.join("modules.symbols"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .step_by(40)
        .collect();
    compare(r, &c.release, &[], &symbols, "modinfo symbol:NAME");
    let bm = std::fs::read(dir.join("modules.builtin.modinfo")).unwrap();
    let mut builtin: Vec<String> = Vec::new();
    let mut balias: Vec<String> = Vec::new();
    for s in bm.split(|&b| b == 0) {
        let s = String::from_utf8_lossy(s);
        if let Some((m, rest)) = s.split_once('.') {
            if !builtin.iter().any(|b| b == m) {
                builtin.push(m.to_string());
            }
            if let Some(a) = rest.strip_prefix("alias=") {
                balias.push(a.replace('*', "1"));
            }
        }
    }
    assert!(builtin.len() > 100 && !balias.is_empty());
    builtin.extend(["no_such_module".to_string(), "bad]alias".to_string()]);
    compare(r, &c.release, &[], &builtin, "modinfo BUILTIN");
    compare(r, &c.release, &["-0"], &balias, "modinfo builtin alias");
    compare(r, &c.release, &["-m"], &builtin, "modinfo -m BUILTIN");
}

/// Without index files, every lookup fails the way kmod's does.
#[test]
fn missing_indexes_identical() {
    for c in setup_all("modinfo") {
        missing_indexes(&c);
    }
}

fn missing_indexes(c: &Corpus) {
    let tmp = tempfile::tempdir().unwrap();
    let root = symlink_root(c, tmp.path());
    let r = root.to_str().unwrap();
    let args: Vec<String> = [
        "ext4",
        "pci:v00008086d*",
        "crc32c",
        "symbol:jbd2_journal_stop",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    compare(r, &c.release, &[], &args, "modinfo without indexes");
    compare(
        "/nonexistent",
        &c.release,
        &["-m"],
        &args,
        "modinfo -m, no directory",
    );
}
