//! kmodkit against Debian 13's kmod 34.2 (its default) and against the host's kmod 30 (with
//! `KMODKIT_KMOD_COMPAT=30`), on the real Debian 6.1 tree and on tiny modules with weak
//! dependencies: depmod's files (`.bin` tries in pre-order, `modules.weakdep`), `-o`, `-m`,
//! options that exist in only one release; modinfo over every module; modprobe `-c` and
//! `--show-depends` with `weakdep`/`softdep` configuration; `modprobe ./path/x.ko`.
//!
//! kmod 34.2 runs in a trixie chroot made once by `scripts/oracle-trixie` (see
//! `testsupport::trixie`); the test's directories and the corpus are bind-mounted into it at
//! the same paths, so both tools print the same paths.

mod depmod_support;

use depmod_support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testsupport::{Corpus, Trixie};

/// The files kmod 34's depmod writes, in its order.
const DEPMOD34_FILES: [&str; 11] = [
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.weakdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.devname",
];

struct Env {
    t: Trixie,
    /// The host directories the chroot sees at the same paths.
    binds: Vec<PathBuf>,
}

/// The trixie oracle and the host's kmod 30 (`depmod`, `modprobe`, `modinfo`), or a skip.
fn env(extra_binds: &[&Path]) -> Option<Env> {
    for tool in ["depmod", "modprobe", "modinfo"] {
        if !testsupport::have_tool(tool) {
            return None;
        }
    }
    let t = testsupport::trixie()?;
    Some(Env {
        t,
        binds: extra_binds.iter().map(|p| p.to_path_buf()).collect(),
    })
}

fn corpus_env(tmp: &Path) -> Option<(Env, Corpus)> {
    let c = setup("depmod")?;
    let e = env(&[tmp, &c.root])?;
    Some((e, c))
}

impl Env {
    /// kmod 34.2's `tool args` in `cwd`.
    fn kmod34(&self, cwd: &Path, tool: &str, args: &[String]) -> Output {
        let binds: Vec<&Path> = self.binds.iter().map(PathBuf::as_path).collect();
        self.t
            .command(&binds, cwd, tool)
            .args(args)
            .output()
            .unwrap()
    }
}

/// kmodkit's `tool args` in `cwd`, as kmod `compat` ("34" for the default: unset).
fn ours(cwd: &Path, compat: Option<&str>, tool: &str, args: &[String]) -> Output {
    let mut c = Command::new(kmodkit());
    c.current_dir(cwd).arg(tool).args(args);
    match compat {
        Some(v) => c.env("KMODKIT_KMOD_COMPAT", v),
        None => c.env_remove("KMODKIT_KMOD_COMPAT"),
    };
    c.output().unwrap()
}

/// The host's kmod 30 `tool args` in `cwd`.
fn kmod30(cwd: &Path, tool: &str, args: &[String]) -> Output {
    Command::new(tool)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn remove(dir: &Path, files: &[&str]) {
    for f in files {
        let _ = std::fs::remove_file(dir.join(f));
    }
}

fn read_all(dir: &Path, files: &[&str]) -> Vec<Option<Vec<u8>>> {
    files
        .iter()
        .map(|f| std::fs::read(dir.join(f)).ok())
        .collect()
}

fn assert_files(
    what: &str,
    files: &[&str],
    theirs: &[Option<Vec<u8>>],
    ours: &[Option<Vec<u8>>],
) -> usize {
    let mut n = 0;
    for ((f, t), o) in files.iter().zip(theirs).zip(ours) {
        assert_eq!(
            t.is_some(),
            o.is_some(),
            "{what}: {f} written by only one of the two"
        );
        if let (Some(t), Some(o)) = (t, o) {
            assert!(
                t == o,
                "{what}: {f} differs ({} vs {} bytes)",
                t.len(),
                o.len()
            );
            n += 1;
        }
    }
    n
}

/// depmod by kmod 34.2 and by kmodkit (default) with `args`; files read from `outdir`
/// (the module directory, or where -o puts it). Returns how many files were compared.
fn compare_depmod34(e: &Env, outdir: &Path, args: &[String], what: &str) -> usize {
    remove(outdir, &DEPMOD34_FILES);
    let t = e.kmod34(Path::new("/"), "depmod", args);
    let theirs = read_all(outdir, &DEPMOD34_FILES);
    remove(outdir, &DEPMOD34_FILES);
    let o = ours(Path::new("/"), None, "depmod", args);
    assert_same(what, &t, &o);
    let mine = read_all(outdir, &DEPMOD34_FILES);
    assert_files(what, &DEPMOD34_FILES, &theirs, &mine)
}

/// depmod by the host's kmod 30 and by kmodkit with KMODKIT_KMOD_COMPAT=30.
fn compare_depmod30(outdir: &Path, args: &[String], what: &str) -> usize {
    remove(outdir, &DEPMOD34_FILES);
    let t = kmod30(Path::new("/"), "depmod", args);
    let theirs = read_all(outdir, &DEPMOD34_FILES);
    remove(outdir, &DEPMOD34_FILES);
    let o = ours(Path::new("/"), Some("30"), "depmod", args);
    assert_same(what, &t, &o);
    let mine = read_all(outdir, &DEPMOD34_FILES);
    assert_files(what, &DEPMOD34_FILES, &theirs, &mine)
}

/// The whole 6.1 tree: every file byte-identical to kmod 34.2's (pre-order tries, an empty
/// modules.weakdep), with -n, and -a -w -v; kmod 30's tries differ from them.
#[test]
fn depmod_tree_identical_to_kmod34() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((e, c)) = corpus_env(tmp.path()) else {
        return;
    };
    let root = symlink_root(&c, tmp.path());
    let dir = root.join("lib/modules").join(&c.release);
    let r = root.to_str().unwrap().to_string();
    let n = compare_depmod34(
        &e,
        &dir,
        &strings(&["-b", &r, &c.release]),
        "depmod -b ROOT REL",
    );
    assert_eq!(n, DEPMOD34_FILES.len());
    let ours34 = std::fs::read(dir.join("modules.alias.bin")).unwrap();
    compare_depmod34(
        &e,
        &dir,
        &strings(&["-n", "-b", &r, &c.release]),
        "depmod -n",
    );
    compare_depmod34(
        &e,
        &dir,
        &strings(&["-a", "-w", "-v", "-b", &r, &c.release]),
        "depmod -a -w -v",
    );
    // The switch: kmod 30's bytes (root-last tries, no modules.weakdep).
    let n = compare_depmod30(&dir, &strings(&["-b", &r, &c.release]), "depmod (kmod 30)");
    assert_eq!(n, DEPMOD34_FILES.len() - 1);
    let ours30 = std::fs::read(dir.join("modules.alias.bin")).unwrap();
    assert_eq!(ours30.len(), ours34.len());
    assert_ne!(ours30, ours34, "the two layouts should differ");
    assert!(!dir.join("modules.weakdep").exists());
}

/// `-o OUTDIR` (a new directory, created) and `-m/--moduledir`, as kmod 34.2; options of one
/// release only are usage errors or warnings exactly as in that release.
#[test]
fn depmod_outdir_moduledir_and_options() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((e, c)) = corpus_env(tmp.path()) else {
        return;
    };
    // The tree under usr/lib/modules: only -m finds it.
    let root = tmp.path().join("root");
    let dir = root.join("usr/lib/modules").join(&c.release);
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(c.moddir()).unwrap().flatten() {
        std::os::unix::fs::symlink(f.path(), dir.join(f.file_name())).unwrap();
    }
    let r = root.to_str().unwrap().to_string();
    let out = tmp.path().join("out");
    let outdir = out.join("usr/lib/modules").join(&c.release);
    for args in [
        vec![
            "-b",
            &r,
            "-m",
            "/usr/lib/modules",
            "-o",
            out.to_str().unwrap(),
            &c.release,
        ],
        vec![
            "-b",
            &r,
            "--moduledir=usr/lib/modules",
            "--outdir",
            out.to_str().unwrap(),
            &c.release,
        ],
    ] {
        let _ = std::fs::remove_dir_all(&out);
        let what = format!("depmod {}", args.join(" "));
        remove(&outdir, &DEPMOD34_FILES);
        let t = e.kmod34(Path::new("/"), "depmod", &strings(&args));
        let theirs = read_all(&outdir, &DEPMOD34_FILES);
        std::fs::remove_dir_all(&out).unwrap();
        let o = ours(Path::new("/"), None, "depmod", &strings(&args));
        assert_same(&what, &t, &o);
        let mine = read_all(&outdir, &DEPMOD34_FILES);
        assert_eq!(
            assert_files(&what, &DEPMOD34_FILES, &theirs, &mine),
            DEPMOD34_FILES.len()
        );
        // Nothing written into the input tree.
        assert!(
            !dir.join("modules.dep").exists(),
            "{what}: wrote into the module directory"
        );
    }
    // Release-specific options: errors and warnings as each release prints them.
    let cases: [&[&str]; 6] = [
        &["-u", "-q", "-r", "-n", "-b", &r, &c.release],
        &["--map", "-n", "-b", &r, &c.release],
        &["-o"],
        &["-m"],
        &["--root", "-n", "-b", &r, &c.release],
        &["-b", &r, "notaversion"],
    ];
    for args in cases {
        let a = strings(args);
        let what = format!("depmod {}", args.join(" "));
        let (t, o) = (
            e.kmod34(Path::new("/"), "depmod", &a),
            ours(Path::new("/"), None, "depmod", &a),
        );
        assert_same(&format!("{what} (kmod 34)"), &t, &o);
        let (t, o) = (
            kmod30(Path::new("/"), "depmod", &a),
            ours(Path::new("/"), Some("30"), "depmod", &a),
        );
        assert_same(&format!("{what} (kmod 30)"), &t, &o);
    }
    // --help and --version; kmodkit's own options add lines naming kmodkit to --help.
    let without_ours = |mut o: Output| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut skipping = false;
        let kept: Vec<&str> = text
            .split_inclusive('\n')
            .filter(|l| {
                skipping = l.contains("kmodkit") || (skipping && l.starts_with("\t            "));
                !skipping
            })
            .collect();
        o.stdout = kept.concat().into_bytes();
        o
    };
    for args in [&["--help"][..], &["--version"]] {
        let a = strings(args);
        for tool in ["depmod", "modprobe", "modinfo"] {
            let what = format!("{tool} {}", args[0]);
            let (t, o) = (
                e.kmod34(Path::new("/"), tool, &a),
                ours(Path::new("/"), None, tool, &a),
            );
            assert_same(&format!("{what} (kmod 34)"), &t, &without_ours(o));
            let (t, o) = (
                kmod30(Path::new("/"), tool, &a),
                ours(Path::new("/"), Some("30"), tool, &a),
            );
            assert_same(&format!("{what} (kmod 30)"), &t, &without_ours(o));
        }
    }
}

/// modinfo over every module of the 6.1 tree, byte-identical to kmod 34.2 (default) and to
/// kmod 30 (with the switch).
#[test]
fn modinfo_every_module_identical_to_kmod34() {
    let Some(c) = testsupport::corpus("amd64") else {
        return;
    };
    let Some(e) = env(&[&c.root]) else { return };
    let mods: Vec<String> = c
        .modules()
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(mods.len() > 1000);
    for chunk in mods.chunks(1000) {
        let t = e.kmod34(Path::new("/"), "modinfo", chunk);
        let o = ours(Path::new("/"), None, "modinfo", chunk);
        assert_same("modinfo <every module> (kmod 34)", &t, &o);
    }
    let chunk = &mods[..400];
    let t = kmod30(Path::new("/"), "modinfo", chunk);
    let o = ours(Path::new("/"), Some("30"), "modinfo", chunk);
    assert_same("modinfo <400 modules> (kmod 30)", &t, &o);
}

/// A minimal relocatable x86-64 ELF module whose `.modinfo` holds `info` (`key=value`
/// entries) after `name=`; `exports` in `__ksymtab_strings`, `needs` undefined in `.symtab`.
fn tiny_module(name: &str, info: &[&str], exports: &[&str], needs: &[&str]) -> Vec<u8> {
    let shstr = b"\0.shstrtab\0.strtab\0.symtab\0__ksymtab_strings\0.modinfo\0\0".to_vec();
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for n in needs {
        let off = strtab.len() as u32;
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
        let mut s = vec![0u8; 24];
        s[..4].copy_from_slice(&off.to_le_bytes());
        s[4] = 0x10;
        symtab.extend(s);
    }
    let mut ksym = Vec::new();
    for e in exports {
        ksym.extend_from_slice(e.as_bytes());
        ksym.push(0);
    }
    let mut modinfo = format!("license=GPL\0name={name}\0").into_bytes();
    for i in info {
        modinfo.extend_from_slice(i.as_bytes());
        modinfo.push(0);
    }
    let secs: [(u32, u32, &[u8], u32, u64); 5] = [
        (1, 3, &shstr, 0, 0),
        (11, 3, &strtab, 0, 0),
        (19, 2, &symtab, 2, 24),
        (27, 1, &ksym, 0, 0),
        (45, 1, &modinfo, 0, 0),
    ];
    let mut body = Vec::new();
    let mut offs = Vec::new();
    for (_, _, d, _, _) in &secs {
        offs.push(64 + body.len() as u64);
        body.extend_from_slice(d);
        while body.len() % 8 != 0 {
            body.push(0);
        }
    }
    let shoff = 64 + body.len() as u64;
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16..18].copy_from_slice(&1u16.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[40..48].copy_from_slice(&shoff.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[58..60].copy_from_slice(&64u16.to_le_bytes());
    f[60..62].copy_from_slice(&6u16.to_le_bytes());
    f[62..64].copy_from_slice(&1u16.to_le_bytes());
    f.extend(body);
    f.extend(vec![0u8; 64]);
    for (i, (n, t, d, link, ent)) in secs.iter().enumerate() {
        let mut sh = vec![0u8; 64];
        sh[..4].copy_from_slice(&n.to_le_bytes());
        sh[4..8].copy_from_slice(&t.to_le_bytes());
        sh[24..32].copy_from_slice(&offs[i].to_le_bytes());
        sh[32..40].copy_from_slice(&(d.len() as u64).to_le_bytes());
        sh[40..44].copy_from_slice(&link.to_le_bytes());
        sh[48..56].copy_from_slice(&1u64.to_le_bytes());
        sh[56..64].copy_from_slice(&ent.to_le_bytes());
        f.extend(sh);
    }
    f
}

/// Modules with `weakdep` (and `softdep`, `alias`) entries: modules.weakdep, modinfo's
/// `weakdep:` lines, modprobe -c showing the module directory's weak dependencies, and a
/// module listed twice in modules.order; kmod 30 ignores weakdep.
#[test]
fn weak_dependencies_in_modules() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(e) = env(&[tmp.path()]) else { return };
    let release = "6.1.0-weak";
    let root = tmp.path().join("root");
    let dir = root.join("lib/modules").join(release);
    let k = dir.join("kernel/drivers");
    std::fs::create_dir_all(&k).unwrap();
    // (name, modinfo entries, exported symbols, needed symbols)
    type Tiny<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
    let mods: [Tiny; 4] = [
        (
            "wk_main",
            &[
                "weakdep=wk_helper",
                "weakdep=wk-extra",
                "softdep=pre: wk_pre",
                "alias=wk:main*",
                "a_key_longer_than_15=x",
            ],
            &["main_sym"],
            &["pre_sym"],
        ),
        ("wk_helper", &["alias=wk:helper"], &[], &["main_sym"]),
        ("wk-extra", &["weakdep=wk_main"], &[], &[]),
        ("wk_pre", &[], &["pre_sym"], &[]),
    ];
    for (n, info, ex, needs) in mods {
        std::fs::write(k.join(format!("{n}.ko")), tiny_module(n, info, ex, needs)).unwrap();
    }
    // wk_pre listed twice: kmod 30 keeps its last line, kmod 34 its first.
    std::fs::write(
        dir.join("modules.order"),
        "kernel/drivers/wk_pre.ko\nkernel/drivers/wk_main.ko\nkernel/drivers/wk_helper.ko\nkernel/drivers/wk_pre.ko\nkernel/drivers/wk-extra.ko\n",
    )
    .unwrap();
    let r = root.to_str().unwrap().to_string();
    let args = strings(&["-b", &r, release]);
    let n = compare_depmod34(&e, &dir, &args, "depmod, modules with weakdep (kmod 34)");
    assert_eq!(n, DEPMOD34_FILES.len());
    let weak = std::fs::read_to_string(dir.join("modules.weakdep")).unwrap();
    assert!(weak.contains("weakdep wk_main wk_helper\n"), "{weak}");
    let dep34 = std::fs::read(dir.join("modules.dep")).unwrap();
    compare_depmod30(&dir, &args, "depmod, modules with weakdep (kmod 30)");
    assert_ne!(
        dep34,
        std::fs::read(dir.join("modules.dep")).unwrap(),
        "modules.order ties"
    );
    // Indexes by kmod 34 for the modprobe and modinfo comparisons below.
    compare_depmod34(&e, &dir, &args, "depmod again");
    let files: Vec<String> = ["wk_main", "wk_helper", "wk-extra"]
        .iter()
        .map(|n| k.join(format!("{n}.ko")).to_string_lossy().into_owned())
        .collect();
    let mp = |extra: &[&str]| {
        let mut a = strings(&["-d", &r, "-S", release, "-C", "/nonexistent"]);
        a.extend(strings(extra));
        a
    };
    let mi = |extra: &[&str]| {
        let mut a = strings(&["-b", &r, "-k", release]);
        a.extend(strings(extra));
        a
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("modinfo", files.clone()),
        ("modinfo", mi(&["-F", "weakdep", "wk_main", "wk-extra"])),
        ("modinfo", mi(&["-0", "wk:main-x"])),
        ("modprobe", mp(&["-c"])),
        ("modprobe", mp(&["--show-depends", "wk_main"])),
        (
            "modprobe",
            mp(&["-a", "--show-depends", "wk_helper", "wk:helper", "wk-extra"]),
        ),
    ];
    for (tool, a) in &cases {
        let what = format!("{tool} {}", a.join(" "));
        let (t, o) = (
            e.kmod34(Path::new("/"), tool, a),
            ours(Path::new("/"), None, tool, a),
        );
        assert_same(&format!("{what} (kmod 34)"), &t, &o);
        let (t, o) = (
            kmod30(Path::new("/"), tool, a),
            ours(Path::new("/"), Some("30"), tool, a),
        );
        assert_same(&format!("{what} (kmod 30)"), &t, &o);
    }
}

/// modprobe.d with weakdep, softdep, bad lines and an `.alias` file on the real tree:
/// `-c` and `--show-depends` as kmod 34.2 (indexes by its depmod) and as kmod 30 (indexes by
/// kmod 30's depmod).
#[test]
fn modprobe_config_with_weakdep_and_softdep() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((e, c)) = corpus_env(tmp.path()) else {
        return;
    };
    let root = symlink_root(&c, tmp.path());
    let r = root.to_str().unwrap().to_string();
    let conf = tmp.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("a.conf"),
        "weakdep ext4 vfat   loop  \nweakdep\nweakdep xfs\nweakdep btrfs-x\tzstd \\\n raid6_pq\nsoftdep ext4 pre: crc32c post: loop\nbogus line\ninclude foo\nalias myalias ext4\nweakdep snd* snd_timer\n",
    )
    .unwrap();
    std::fs::write(conf.join("b.alias"), "alias fromalias vfat\n").unwrap();
    std::fs::write(
        conf.join("c.conf"),
        "softdep vfat pre: nonexistent_mod post: fat\n",
    )
    .unwrap();
    let conf_s = conf.to_str().unwrap().to_string();
    let args = |extra: &[&str]| {
        let mut a = strings(&["-d", &r, "-S", &c.release, "-C", &conf_s]);
        a.extend(strings(extra));
        a
    };
    let cases = [
        args(&["-c"]),
        args(&["--show-depends", "ext4"]),
        args(&[
            "-a",
            "--show-depends",
            "ext4",
            "vfat",
            "btrfs",
            "myalias",
            "fromalias",
            "snd-pcm",
        ]),
        args(&["-R", "myalias"]),
    ];
    let bargs = strings(&["-b", &r, &c.release]);
    let st = e.kmod34(Path::new("/"), "depmod", &bargs);
    assert!(st.status.success(), "kmod 34 depmod failed");
    for a in &cases {
        let what = format!("modprobe {}", a.join(" "));
        let (t, o) = (
            e.kmod34(Path::new("/"), "modprobe", a),
            ours(Path::new("/"), None, "modprobe", a),
        );
        assert_same(&format!("{what} (kmod 34)"), &t, &o);
        if a.contains(&"-c".to_string()) {
            assert!(String::from_utf8_lossy(&o.stdout).contains("\nweakdep ext4 vfat loop\n"));
        }
    }
    let st = kmod30(Path::new("/"), "depmod", &bargs);
    assert!(st.status.success(), "kmod 30 depmod failed");
    for a in &cases {
        let what = format!("modprobe {}", a.join(" "));
        let (t, o) = (
            kmod30(Path::new("/"), "modprobe", a),
            ours(Path::new("/"), Some("30"), "modprobe", a),
        );
        assert_same(&format!("{what} (kmod 30)"), &t, &o);
    }
}

/// `modprobe ./path/x.ko` and `/path/x.ko` (kmod 31+): that file, with the dependencies
/// modules.dep records for its name; errors for a missing file; kmod 30 looks such an
/// argument up as an alias and fails.
#[test]
fn modprobe_module_by_path() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((e, c)) = corpus_env(tmp.path()) else {
        return;
    };
    let root = symlink_root(&c, tmp.path());
    let r = root.to_str().unwrap().to_string();
    let dir = root.join("lib/modules").join(&c.release);
    let st = e.kmod34(Path::new("/"), "depmod", &strings(&["-b", &r, &c.release]));
    assert!(st.status.success(), "kmod 34 depmod failed");
    // A copy outside the tree (what a kernel developer loads after a rebuild).
    let build = tmp.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::copy(
        c.moddir().join("kernel/fs/btrfs/btrfs.ko"),
        build.join("btrfs.ko"),
    )
    .unwrap();
    std::fs::copy(
        c.moddir().join("kernel/fs/fat/vfat.ko"),
        build.join("v-fat.ko"),
    )
    .unwrap();
    let base = |extra: &[&str]| {
        let mut a = strings(&["-d", &r, "-S", &c.release, "-C", "/nonexistent"]);
        a.extend(strings(extra));
        a
    };
    let btrfs_abs = build.join("btrfs.ko").to_string_lossy().into_owned();
    let cases: Vec<(PathBuf, Vec<String>)> = vec![
        (
            dir.clone(),
            base(&["--show-depends", "./kernel/fs/ext4/ext4.ko"]),
        ),
        (
            build.clone(),
            base(&["--show-depends", "./btrfs.ko", "compress_level=1"]),
        ),
        (
            tmp.path().to_path_buf(),
            base(&["--show-depends", &btrfs_abs]),
        ),
        (
            build.clone(),
            base(&["-a", "--show-depends", "./v-fat.ko", "./btrfs.ko", "ext4"]),
        ),
        (build.clone(), base(&["-R", "./v-fat.ko"])),
        (build.clone(), base(&["--show-depends", "./missing.ko"])),
        (
            build.clone(),
            base(&["-a", "--show-depends", "/nonexistent/x.ko", "./btrfs.ko"]),
        ),
        (
            build.clone(),
            base(&["-q", "--show-depends", "./missing.ko"]),
        ),
    ];
    for (cwd, a) in &cases {
        let what = format!("(in {}) modprobe {}", cwd.display(), a.join(" "));
        let (t, o) = (e.kmod34(cwd, "modprobe", a), ours(cwd, None, "modprobe", a));
        assert_same(&format!("{what} (kmod 34)"), &t, &o);
    }
    let shown = ours(&build, None, "modprobe", &cases[1].1);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(&format!(
            "insmod {}/./btrfs.ko compress_level=1",
            build.display()
        )),
        "{text}"
    );
    assert!(text.contains("/kernel/lib/raid6/raid6_pq.ko"), "{text}");
    let st = kmod30(Path::new("/"), "depmod", &strings(&["-b", &r, &c.release]));
    assert!(st.status.success(), "kmod 30 depmod failed");
    for (cwd, a) in &cases {
        let what = format!("(in {}) modprobe {}", cwd.display(), a.join(" "));
        let (t, o) = (
            kmod30(cwd, "modprobe", a),
            ours(cwd, Some("30"), "modprobe", a),
        );
        assert_same(&format!("{what} (kmod 30)"), &t, &o);
    }
}

/// depmod.d (search, override, external, exclude, a bad line) on the real tree, as kmod 34.2.
#[test]
fn depmod_d_config_identical_to_kmod34() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((e, c)) = corpus_env(tmp.path()) else {
        return;
    };
    let root = symlink_root(&c, tmp.path());
    let dir = root.join("lib/modules").join(&c.release);
    let kernel = c.moddir().join("kernel");
    let ext = tmp.path().join("extdir");
    let link = |from: &str, to: &Path| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(kernel.join(from), to).unwrap();
    };
    link("fs/ext4/ext4.ko", &dir.join("updates/ext4.ko"));
    link("fs/fat/vfat.ko", &dir.join("updates/vfat.ko"));
    link("fs/fat/vfat.ko", &dir.join("extra/vfat.ko"));
    link("fs/jbd2/jbd2.ko", &dir.join("extra/sub/jbd2.ko"));
    link("fs/fat/fat.ko", &dir.join("skipme/fat.ko"));
    link("fs/isofs/isofs.ko", &ext.join("x/isofs.ko"));
    let conf = tmp.path().join("depmod.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("a.conf"),
        format!(
            "# test\nsearch extra external updates built-in\noverride vfat * extra\n\
             override fat 5.* skipme\nexternal 6\\.1.* {}\nexclude skipme\nbogus line here\n",
            ext.display()
        ),
    )
    .unwrap();
    std::fs::write(conf.join("b.conf"), "override ext4 .* updates\n").unwrap();
    let r = root.to_str().unwrap().to_string();
    let args = strings(&["-C", conf.to_str().unwrap(), "-b", &r, &c.release]);
    let n = compare_depmod34(&e, &dir, &args, "depmod -C depmod.d (kmod 34)");
    assert_eq!(n, DEPMOD34_FILES.len());
}
