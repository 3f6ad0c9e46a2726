//! Trees are boundaries, tried case by case (rustc UI style): each file in
//! `tests/data/dkms_conf/` is a dkms.conf with its expectations written inside it, run
//! against every action (add, build, install, uninstall, remove) from the state that action
//! starts from, and after each run nothing outside the DKMS, source and install trees may
//! have changed.
//!
//! Directives (comment lines, so bash ignores them and line numbers stay the file's own):
//!
//! - `# expect: ACTIONS RESULT`: ACTIONS is `*` or action names; RESULT is `ok`, `outside`
//!   (a path resolved outside its tree), `refused FIELD [at LINE] [from ORIGIN]` (the message
//!   names FIELD, `dkms.conf:LINE`, ORIGIN) or `error TEXT` (the message contains TEXT).
//! - `# cli: -m|-v|-k|-a VALUE`: the command-line value the action is given instead.
//! - `# plant: PATH`: before the action, PATH (relative to the work directory: `dkms/...`,
//!   `src/...`, `install/...`) becomes a symlink to a directory outside the trees.
//!
//! The kernel's "headers" are a Makefile that creates the module files, so every action runs
//! for real (bash evaluating dkms.conf, make, copies, installs), without a compiler.

use kbuild::dkms::{AddFrom, Dkms, KernelTarget, ModuleVersion};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ACTIONS: [&str; 5] = ["add", "build", "install", "uninstall", "remove"];
const KERNEL: &str = "6.1.0-test";
const ARCH: &str = "x86_64";
const TREES: [&str; 5] = ["dkms", "src", "install", "headers", "pkg"];

const VALID_CONF: &str = "PACKAGE_NAME=\"hello\"\nPACKAGE_VERSION=\"1\"\n\
BUILT_MODULE_NAME[0]=\"hello\"\nDEST_MODULE_LOCATION[0]=\"/updates\"\n";

const MAKEFILE: &str = "all:\n\tmkdir -p $(M)/src\n\
\tfor f in hello hello2 src/hello; do printf 'not a real module' > $(M)/$$f.ko; done\n\
clean:\n\trm -f $(M)/*.ko $(M)/src/*.ko\n";

#[derive(Debug)]
enum Expect {
    Ok,
    Outside,
    Refused {
        field: String,
        line: Option<String>,
        from: Option<String>,
    },
    Error(String),
}

struct Case {
    name: String,
    text: String,
    expect: BTreeMap<&'static str, Expect>,
    cli: BTreeMap<String, String>,
    plants: Vec<String>,
}

fn parse_result(s: &str) -> Expect {
    if s == "ok" {
        return Expect::Ok;
    }
    if s == "outside" {
        return Expect::Outside;
    }
    if let Some(t) = s.strip_prefix("error ") {
        return Expect::Error(t.to_string());
    }
    let rest = s
        .strip_prefix("refused ")
        .unwrap_or_else(|| panic!("unknown expectation {s:?}"));
    let (rest, from) = match rest.split_once(" from ") {
        Some((r, f)) => (r, Some(f.to_string())),
        None => (rest, None),
    };
    let (field, line) = match rest.split_once(" at ") {
        Some((f, l)) => (f, Some(l.to_string())),
        None => (rest, None),
    };
    Expect::Refused {
        field: field.to_string(),
        line,
        from,
    }
}

fn parse_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let mut case = Case {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        text: text.clone(),
        expect: BTreeMap::new(),
        cli: BTreeMap::new(),
        plants: Vec::new(),
    };
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect: ") {
            let words: Vec<&str> = e.split(' ').collect();
            let n = words
                .iter()
                .take_while(|w| **w == "*" || ACTIONS.contains(w))
                .count();
            assert!(n > 0, "{}: '# expect:' names no action", case.name);
            let result = words[n..].join(" ");
            for w in &words[..n] {
                let acts: Vec<&'static str> = if *w == "*" {
                    ACTIONS.to_vec()
                } else {
                    ACTIONS.iter().copied().filter(|a| a == w).collect()
                };
                for a in acts {
                    case.expect.insert(a, parse_result(&result));
                }
            }
        } else if let Some(c) = line.strip_prefix("# cli: ") {
            let (opt, value) = c.split_once(' ').unwrap();
            case.cli.insert(opt.to_string(), value.to_string());
        } else if let Some(p) = line.strip_prefix("# plant: ") {
            case.plants.push(p.to_string());
        }
    }
    for a in ACTIONS {
        assert!(
            case.expect.contains_key(a),
            "{}: no expectation for {a}",
            case.name
        );
    }
    case
}

/// Everything under `root` except the trees: path -> what it is (bytes, link target, dir).
fn snapshot(root: &Path, work: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.parent() == Some(work) && TREES.iter().any(|t| p.ends_with(t)) {
                continue;
            }
            let t = e.file_type().unwrap();
            let what = if t.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if t.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                format!("file {:?}", std::fs::read(&p).unwrap())
            };
            out.insert(p, what);
        }
    }
    out
}

struct Work {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    work: PathBuf,
    outside: PathBuf,
}

impl Work {
    fn new() -> Work {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        // Deep enough that every "../" in the cases lands inside the snapshot.
        let work = root.join("a/b/c/work");
        for d in TREES {
            std::fs::create_dir_all(work.join(d)).unwrap();
        }
        std::fs::create_dir_all(work.join("install").join(KERNEL)).unwrap();
        std::fs::write(work.join("headers/Makefile"), MAKEFILE).unwrap();
        std::fs::write(work.join("pkg/hello.c"), "/* a module */\n").unwrap();
        let outside = root.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("hello.ko"), "somebody else's module").unwrap();
        std::fs::write(outside.join("dkms.conf.not"), "x").unwrap();
        Work {
            _tmp: tmp,
            root,
            work,
            outside,
        }
    }

    fn dkms<'a>(&self, out: &'a mut Vec<u8>) -> Dkms<'a> {
        Dkms {
            dkms_tree: self.work.join("dkms"),
            source_tree: self.work.join("src"),
            install_tree: self.work.join("install"),
            etc_dir: self.work.join("etc"),
            kernel_source_dir: Some(self.work.join("headers")),
            debian_like: false,
            jobs: 1,
            force: false,
            no_depmod: true,
            signing: None,
            trust_check: false,
            out,
        }
    }

    fn plant(&self, rel: &str) {
        let p = self.work.join(rel);
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p).unwrap();
        } else if p.symlink_metadata().is_ok() {
            std::fs::remove_file(&p).unwrap();
        }
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&self.outside, &p).unwrap();
    }
}

fn valid() -> (ModuleVersion, KernelTarget) {
    (
        ModuleVersion::from_cli("hello", "1").unwrap(),
        KernelTarget::new(KERNEL, ARCH).unwrap(),
    )
}

/// The state `action` starts from, made with the valid conf; then the case's conf in place.
fn prepare(w: &Work, action: &str, case: &Case) {
    std::fs::write(w.work.join("pkg/dkms.conf"), VALID_CONF).unwrap();
    let mut log = Vec::new();
    let (mv, k) = valid();
    if action != "add" {
        let mut d = w.dkms(&mut log);
        d.add(AddFrom::Directory(&w.work.join("pkg"))).unwrap();
        if matches!(action, "uninstall" | "remove") {
            d.install(&mv, &k).unwrap_or_else(|e| {
                panic!("setup install: {e}\n{}", String::from_utf8_lossy(&log))
            });
        }
        std::fs::write(w.work.join("src/hello-1/dkms.conf"), &case.text).unwrap();
    }
    std::fs::write(w.work.join("pkg/dkms.conf"), &case.text).unwrap();
}

/// Run `action` with the case's command-line values.
fn act(w: &Work, action: &str, case: &Case) -> kbuild::Result<()> {
    let get = |opt: &str, default: &str| case.cli.get(opt).cloned().unwrap_or(default.into());
    let (m, v) = (get("-m", "hello"), get("-v", "1"));
    let (kr, a) = (get("-k", KERNEL), get("-a", ARCH));
    let mut log = Vec::new();
    let mut d = w.dkms(&mut log);
    let cli_mv = case.cli.contains_key("-m") || case.cli.contains_key("-v");
    match action {
        "add" if cli_mv => d
            .add(AddFrom::SourceTree(ModuleVersion::from_cli(&m, &v)?))
            .map(|_| ()),
        "add" => d.add(AddFrom::Directory(&w.work.join("pkg"))).map(|_| ()),
        _ => {
            let mv = ModuleVersion::from_cli(&m, &v)?;
            let k = KernelTarget::new(&kr, &a)?;
            match action {
                "build" => d.build(&mv, &k),
                "install" => d.install(&mv, &k),
                "uninstall" => d.uninstall(&mv, &k),
                _ => d.remove(&mv, &[k]),
            }
        }
    }
}

fn check(case: &Case, action: &str, result: &kbuild::Result<()>) -> Result<(), String> {
    let expect = &case.expect[action];
    let msg = match result {
        Ok(()) if matches!(expect, Expect::Ok) => return Ok(()),
        Ok(()) => return Err(format!("succeeded, expected {expect:?}")),
        Err(e) => e.to_string(),
    };
    if msg.trim().is_empty() || msg.trim() == "Error!" {
        return Err("refused without a reason".into());
    }
    let fits = match expect {
        Expect::Ok => false,
        Expect::Outside => msg.contains("is outside"),
        Expect::Error(t) => msg.contains(t.as_str()),
        Expect::Refused { field, line, from } => {
            msg.contains(field.as_str())
                && line
                    .as_ref()
                    .is_none_or(|l| msg.contains(&format!("dkms.conf:{l}")))
                && from.as_ref().is_none_or(|f| msg.contains(f.as_str()))
                && !msg.contains("Malformed dkms.conf file. Cannot load source tree.\n\n")
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got: {msg}"))
    }
}

#[test]
fn every_field_against_every_action() {
    if !testsupport::have_tool("bash") || !testsupport::have_tool("make") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dkms_conf");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut failures = Vec::new();
    for path in &cases {
        let case = parse_case(path);
        for action in ACTIONS {
            let w = Work::new();
            prepare(&w, action, &case);
            for p in &case.plants {
                w.plant(p);
            }
            let before = snapshot(&w.root, &w.work);
            let result = act(&w, action, &case);
            let after = snapshot(&w.root, &w.work);
            if let Err(e) = check(&case, action, &result) {
                failures.push(format!("{} {action}: {e}", case.name));
            }
            if before != after {
                let changed: Vec<_> = before
                    .keys()
                    .chain(after.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .collect();
                failures.push(format!(
                    "{} {action}: changed outside the trees: {changed:?}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two runs on one module do not interleave: while another holder has the module's lock, an
/// add waits, and goes ahead once the lock is released.
#[test]
fn a_second_run_waits_for_the_module_lock() {
    if !testsupport::have_tool("bash") {
        return;
    }
    let w = Work::new();
    std::fs::write(w.work.join("pkg/dkms.conf"), VALID_CONF).unwrap();
    let module_dir = w.work.join("dkms/hello");
    std::fs::create_dir_all(&module_dir).unwrap();
    let lock = safeio::Lock::dir(&module_dir).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut log = Vec::new();
            let r = w
                .dkms(&mut log)
                .add(AddFrom::Directory(&w.work.join("pkg")));
            tx.send(r.map_err(|e| e.to_string())).unwrap();
        });
        // Bash evaluates the conf in milliseconds; the add must still be waiting.
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(
            rx.try_recv().is_err(),
            "add ran while the module was locked"
        );
        assert!(!module_dir.join("1/source").exists());
        drop(lock);
        let r = rx.recv().unwrap();
        assert!(r.is_ok(), "{r:?}");
    });
    assert!(module_dir.join("1/source").is_symlink());
}
