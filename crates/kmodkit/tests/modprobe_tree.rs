//! kmodkit's modprobe resolution against kmod 30's modprobe on the real Debian trees, 6.1
//! (`.ko`) and 6.12 (`.ko.xz`) (indexes written by kmod's depmod): `--show-depends`, `-R`, `-c`, `-n`, errors; byte-identical
//! stdout, stderr and exit status.

mod depmod_support;

use depmod_support::*;
use std::path::PathBuf;

struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    release: String,
}

/// A scratch root per kernel (6.1 and 6.12, each skipped with a reason when missing), its
/// indexes written by kmod's depmod.
fn trees() -> Vec<Tree> {
    let cs = setup_all("modprobe");
    if cs.is_empty() || !testsupport::have_tool("depmod") {
        return Vec::new();
    }
    cs.into_iter()
        .map(|c| {
            let tmp = tempfile::tempdir().unwrap();
            let root = symlink_root(&c, tmp.path());
            let st = kmod_depmod(&["-b", root.to_str().unwrap(), &c.release]);
            assert!(st.status.success(), "kmod depmod failed ({})", c.release);
            Tree {
                _tmp: tmp,
                root,
                release: c.release,
            }
        })
        .collect()
}

impl Tree {
    fn dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }

    fn compare(&self, extra: &[&str], what: &str) {
        let mut args: Vec<String> = vec![
            "-d".into(),
            self.root.to_str().unwrap().into(),
            "-S".into(),
            self.release.clone(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let (t, o) = both("modprobe", &args);
        assert_same(&format!("{what} ({})", self.release), &t, &o);
    }
}

#[test]
fn show_depends_every_module_name() {
    for t in trees() {
        show_depends_every_module_name_on(&t);
    }
}

fn show_depends_every_module_name_on(t: &Tree) {
    let names = dep_names(&t.dir());
    assert!(names.len() > 4000);
    // -a keeps libkmod's module pool across names: a stronger check than one name a run.
    for chunk in names.chunks(500) {
        let mut a = vec!["-a", "--show-depends"];
        a.extend(chunk.iter().map(String::as_str));
        t.compare(&a, "modprobe -a --show-depends <names>");
    }
    for n in names.iter().step_by(40) {
        t.compare(
            &["--show-depends", n],
            &format!("modprobe --show-depends {n}"),
        );
    }
}

#[test]
fn show_depends_and_resolve_aliases() {
    for t in trees() {
        show_depends_and_resolve_aliases_on(&t);
    }
}

fn show_depends_and_resolve_aliases_on(t: &Tree) {
    let patterns = alias_sample(&t.dir(), 13);
    let concrete: Vec<String> = patterns
        .iter()
        .filter(|a| !a.contains('['))
        .map(|a| a.replace('*', "0").replace('?', "x"))
        .collect();
    assert!(concrete.len() > 500);
    for chunk in concrete.chunks(400) {
        let mut a = vec!["-a", "--show-depends"];
        a.extend(chunk.iter().map(String::as_str));
        t.compare(&a, "modprobe -a --show-depends <aliases>");
        let mut r = vec!["-a", "-R"];
        r.extend(chunk.iter().map(String::as_str));
        t.compare(&r, "modprobe -a -R <aliases>");
    }
    for a in concrete.iter().step_by(25) {
        t.compare(
            &["--show-depends", a],
            &format!("modprobe --show-depends {a}"),
        );
    }
    t.compare(
        &["--show-depends", "symbol:jbd2_journal_stop"],
        "modprobe --show-depends symbol:",
    );
}

const CONF: &str = "# options, blacklist, softdep, alias, install, remove\n\
alias myalias ext4\n\
alias pci:v00008086d00001234* e1000e\n\
options ext4 debug=1\n\
options myalias foo=bar\n\
options snd-hda-intel model=auto\tenable=1\n\
blacklist pcspkr\n\
alias myblack pcspkr\n\
install dummy /bin/true $CMDLINE_OPTS\n\
install snd_hda_intel echo hi\n\
softdep vfat pre: nls_cp437 post: nls_iso8859-1\n\
softdep e1000e pre: crc32c\n\
softdep crc32c post: crc32c_generic\n\
remove foo /bin/false\n\
install cr* echo crypto\n\
bogus line\n\
include /elsewhere\n";

#[test]
fn modprobe_d_config_identical() {
    for t in trees() {
        modprobe_d_config_identical_on(&t);
    }
}

fn modprobe_d_config_identical_on(t: &Tree) {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("modprobe.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("test.conf"), CONF).unwrap();
    std::fs::write(conf.join("z.alias"), "blacklist dummy\n").unwrap();
    std::fs::write(conf.join("ignored.txt"), "alias x y\n").unwrap();
    let c = conf.to_str().unwrap();
    for args in [
        &["--show-depends", "ext4"][..],
        &["--show-depends", "myalias"],
        &["--show-depends", "myblack"],
        &["--show-depends", "pcspkr"],
        &["-b", "--show-depends", "pcspkr"],
        &["--show-depends", "dummy", "x=1", "y=a b"],
        &["--show-depends", "snd-hda-intel"],
        &["-i", "--show-depends", "snd-hda-intel"],
        &["--show-depends", "vfat"],
        &["--show-depends", "e1000e"],
        &["--show-depends", "pci:v00008086d00001234sv0sd0bc02sc00i00"],
        &["--show-depends", "foo"],
        &["-R", "myalias"],
        &["-b", "-R", "myblack"],
        &[
            "-a",
            "--show-depends",
            "vfat",
            "e1000e",
            "crc32c",
            "ext4",
            "fat",
        ],
        &["-n", "-v", "ext4"],
        &["-c"],
        // Removal on a host where none of these is loaded: kmod's decisions and messages.
        &["-r", "-n", "-v", "ext4"],
        &["-r", "-n", "--first-time", "ext4"],
        &["-r", "-v", "-n", "foo"],
        &["-r", "-n", "nonexist"],
        &["-r", "-a", "-n", "nonexist", "ext4"],
        &["-r", "-n", "--first-time", "vfat"],
        &["-r", "-q", "-n", "--first-time", "ext4"],
        &["-r", "-n", "-a", "crc32c_generic", "unix"],
    ] {
        let mut a = vec!["-C", c];
        a.extend_from_slice(args);
        t.compare(&a, &format!("modprobe -C conf {}", args.join(" ")));
    }
}

#[test]
fn config_dump_and_errors_identical() {
    for t in trees() {
        config_dump_and_errors_identical_on(&t);
    }
}

fn config_dump_and_errors_identical_on(t: &Tree) {
    t.compare(&["-c"], "modprobe -c");
    t.compare(&["--show-depends", "no-such-module"], "not found");
    t.compare(&["-q", "--show-depends", "no-such-module"], "-q not found");
    t.compare(
        &["-a", "--show-depends", "nope", "ext4"],
        "-a with one missing",
    );
    t.compare(&[], "missing parameters");
    t.compare(&["--bogus", "ext4"], "unknown option");
    t.compare(&["-n", "crc32c"], "-n prints nothing");
    let (a, b) = both(
        "modprobe",
        &[
            "-d".into(),
            "/nonexistent".into(),
            "-S".into(),
            t.release.clone(),
            "--show-depends".into(),
            "ext4".into(),
        ],
    );
    assert_same("no module directory", &a, &b);
}

/// `--explain --json` lists the same steps `--show-depends` prints, each with a reason.
#[test]
fn explain_matches_show_depends() {
    for t in trees() {
        explain_matches_show_depends_on(&t);
    }
}

fn explain_matches_show_depends_on(t: &Tree) {
    let base = |extra: &[&str]| {
        let mut a = vec![
            "modprobe".to_string(),
            "-d".into(),
            t.root.to_str().unwrap().into(),
            "-S".into(),
            t.release.clone(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        std::process::Command::new(kmodkit())
            .args(&a)
            .output()
            .unwrap()
    };
    for m in ["ext4", "snd-hda-intel", "btrfs"] {
        let shown = base(&["--show-depends", m]);
        let json = base(&["--explain", "--json", m]);
        assert!(json.status.success());
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let steps = v[0]["steps"].as_array().unwrap();
        let paths: Vec<String> = steps
            .iter()
            .filter(|s| s["action"]["action"] == "insmod")
            .map(|s| s["action"]["path"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = String::from_utf8_lossy(&shown.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("insmod "))
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(paths, expected, "{m}");
        assert!(steps.iter().all(|s| s["why"]["kind"].is_string()));
        let text = base(&["--explain", m]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("because"));
    }
}

/// `--modules-load` (kmodkit only): the modules listed in the root's modules-load.d, in
/// systemd's order, resolved exactly as kmod resolves the same names given with `-a`.
#[test]
fn modules_load_d_as_kmod_resolves_the_list() {
    for t in trees() {
        modules_load_d_as_kmod_resolves_the_list_on(&t);
    }
}

fn modules_load_d_as_kmod_resolves_the_list_on(t: &Tree) {
    let w = |rel: &str, text: &str| {
        let p = t.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "etc/modules-load.d/a.conf",
        "# boot modules\nloop\n; comment\nvfat\n",
    );
    w("usr/lib/modules-load.d/a.conf", "hidden_by_etc\n");
    w("usr/lib/modules-load.d/b.conf", "ext4\n");
    let base = [
        "-d",
        t.root.to_str().unwrap(),
        "-S",
        &t.release,
        "--show-depends",
    ];
    let ours = std::process::Command::new(kmodkit())
        .env(COMPAT.0, COMPAT.1)
        .arg("modprobe")
        .args(base)
        .arg("--modules-load")
        .output()
        .unwrap();
    let theirs = std::process::Command::new("modprobe")
        .args(base)
        .args(["-a", "loop", "vfat", "ext4"])
        .output()
        .unwrap();
    assert_same("modprobe --modules-load --show-depends", &theirs, &ours);
    assert!(String::from_utf8_lossy(&ours.stdout).contains("/ext4.ko"));
}

/// A damaged index is named with its cause (kmod says "not found", or crashes): modprobe and
/// modinfo report the file and where it ends, exit 1, and never panic.
#[test]
fn damaged_indexes_are_named() {
    for t in trees() {
        damaged_indexes_are_named_on(&t);
    }
}

fn damaged_indexes_are_named_on(t: &Tree) {
    let dep = t.dir().join("modules.dep.bin");
    let good = std::fs::read(&dep).unwrap();
    let run = |tool: &str, args: &[&str]| {
        let root = t.root.to_str().unwrap();
        let mut all: Vec<&str> = match tool {
            "modprobe" => vec!["-d", root, "-S", &t.release],
            _ => vec!["-b", root, "-k", &t.release],
        };
        all.extend(args);
        std::process::Command::new(kmodkit())
            .arg(tool)
            .args(&all)
            .output()
            .unwrap()
    };
    // (An empty file is no index at all, as kmod's depmod writes modules.builtin.bin when
    // there is no modules.builtin; only a cut inside the file is damage.)
    for cut in [good.len() / 2, 11, 3] {
        std::fs::write(&dep, &good[..cut]).unwrap();
        for (tool, args) in [
            ("modprobe", &["--show-depends", "ext4"][..]),
            ("modinfo", &["-F", "filename", "ext4"][..]),
        ] {
            let o = run(tool, args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{tool} cut at {cut}: {err}");
            let want = format!("{tool}: ERROR: {}: truncated at offset ", dep.display());
            assert!(err.starts_with(&want), "{tool} cut at {cut}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    std::fs::write(&dep, b"garbage, not an index").unwrap();
    let o = run("modprobe", &["--show-depends", "ext4"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("modules.dep.bin") && err.contains("not a kmod index"),
        "{err}"
    );
    std::fs::write(&dep, &good).unwrap();
    let o = run("modprobe", &["--show-depends", "ext4"]);
    assert!(o.status.success());
}
