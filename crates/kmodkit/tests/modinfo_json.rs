//! `modinfo` fidelity cases beyond the corpus sweep, and `modinfo --json` (kmodkit only):
//! one JSON array of objects whose content is the text output's.

use std::path::{Path, PathBuf};
use std::process::Command;
use testsupport::{assert_same_output as assert_same, corpora, have_tool, Corpus};

fn ours(args: &[&str], files: &[PathBuf], cwd: &Path) -> std::process::Output {
    Command::new(testsupport::kmodkit())
        .env("KMODKIT_KMOD_COMPAT", "30")
        .arg("modinfo")
        .args(args)
        .args(files)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Two builds of one module (same name, two files): kmod keeps no module pool across
/// arguments, so both are described.
#[test]
fn two_builds_of_one_module_are_both_described() {
    if !have_tool("modinfo") {
        return;
    }
    for c in corpora() {
        two_builds(&c);
    }
}

fn two_builds(c: &Corpus) {
    let name = c.ko("dummy");
    let m = c.moddir().join("kernel/drivers/net").join(&name);
    let tmp = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        std::fs::create_dir(tmp.path().join(d)).unwrap();
        std::fs::copy(&m, tmp.path().join(d).join(&name)).unwrap();
    }
    let files = [
        PathBuf::from("a").join(&name),
        PathBuf::from("b").join(&name),
    ];
    for args in [&[][..], &["-F", "filename"][..]] {
        let theirs = Command::new("modinfo")
            .args(args)
            .args(&files)
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let o = ours(args, &files, tmp.path());
        assert_same("modinfo a/x.ko b/x.ko", &theirs, &o);
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("b/{name}")));
    }
}

/// The text output's (key, value) pairs per module: `parm:` lines as printed, signature
/// hex joined across its continuation lines, a value with a line break (some descriptions)
/// continued. A line starts an entry when it begins with `KEY:` for a key the module has
/// (`keys`, from the JSON, one set per module in order).
fn text_pairs(text: &str, keys: &[Vec<String>]) -> Vec<Vec<(String, String)>> {
    let mut mods: Vec<Vec<(String, String)>> = Vec::new();
    for line in text.lines() {
        let entry = line.split_once(':').filter(|(k, _)| {
            *k == "filename"
                || mods
                    .len()
                    .checked_sub(1)
                    .and_then(|i| keys.get(i))
                    .is_some_and(|ks| ks.iter().any(|x| x == k))
        });
        match entry {
            Some((k, v)) => {
                if k == "filename" {
                    mods.push(Vec::new());
                }
                let v = v.trim_start_matches(' ').to_string();
                mods.last_mut().unwrap().push((k.to_string(), v));
            }
            None => {
                let last = mods.last_mut().unwrap().last_mut().unwrap();
                match line.strip_prefix("\t\t") {
                    Some(hex) => last.1.push_str(hex),
                    None => {
                        last.1.push('\n');
                        last.1.push_str(line);
                    }
                }
            }
        }
    }
    mods
}

fn json_pairs(doc: &serde_json::Value) -> Vec<Vec<(String, String)>> {
    doc.as_array()
        .expect("an array")
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            for (k, v) in m.as_object().expect("objects") {
                match v {
                    serde_json::Value::String(s) => out.push((k.clone(), s.clone())),
                    serde_json::Value::Array(a) => {
                        for s in a {
                            out.push((k.clone(), s.as_str().expect("strings").to_string()));
                        }
                    }
                    other => panic!("{k}: {other}"),
                }
            }
            out
        })
        .collect()
}

#[test]
fn json_holds_what_the_text_shows() {
    for c in corpora() {
        json_holds_what_the_text_shows_on(&c);
    }
}

fn json_holds_what_the_text_shows_on(c: &Corpus) {
    let files: Vec<PathBuf> = c.modules().into_iter().step_by(25).collect();
    assert!(files.len() > 100);
    let cwd = std::env::temp_dir();
    let text = ours(&[], &files, &cwd);
    let json = ours(&["--json"], &files, &cwd);
    assert!(text.status.success() && json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    let mut j = json_pairs(&doc);
    let keys: Vec<Vec<String>> = j
        .iter()
        .map(|m| m.iter().map(|(k, _)| k.clone()).collect())
        .collect();
    let mut t = text_pairs(&String::from_utf8_lossy(&text.stdout), &keys);
    assert_eq!(t.len(), files.len());
    assert_eq!(j.len(), files.len());
    for (a, b) in t.iter_mut().zip(j.iter_mut()) {
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
    // Keys that may repeat are arrays even when they occur once.
    for m in doc.as_array().unwrap() {
        for k in ["alias", "depends", "parm"] {
            if let Some(v) = m.get(k) {
                assert!(v.is_array(), "{k}: {v}");
            }
        }
    }
    // A field option keeps that field only.
    let one = ours(&["--json", "-F", "license"], &files[..3], &cwd);
    let doc: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    for m in doc.as_array().unwrap() {
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["license"]);
    }
}
