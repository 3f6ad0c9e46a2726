//! modprobe's plans and their execution against a recorded kernel state
//! (`moddb::live::Recorded`), without the binary and without a kernel: dependencies,
//! softdeps, install and remove commands, modules already loaded, builtin modules, `-r` with
//! holders, and the failures kmod ignores or reports.
//!
//! The module directory is written here as kmod's depmod would (the `.bin` tries through
//! moddb's own writer); module files need not exist, since the recorded kernel only notes
//! what it is asked to load.

use moddb::index::writer::Trie;
use moddb::live::{self, errno, ExecError, LiveKernel, ModuleState, Recorded};
use moddb::modprobe::{Action, Flags, RemoveFlags, RemoveStep, Resolver};
use moddb::{Config, Context};
use std::path::PathBuf;

/// modules.dep lines (`kernel/NAME.ko: deps...`, deps in depmod's order: the last loads
/// first), builtin names, and modprobe.d text.
struct Tree {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    config: Config,
}

fn tree(deps: &[(&str, &[&str])], builtin: &[&str], conf: &str) -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib/modules/6.1.0-test");
    std::fs::create_dir_all(&dir).unwrap();
    let mut dep = Trie::new();
    for (i, (name, ds)) in deps.iter().enumerate() {
        let list: Vec<String> = ds.iter().map(|d| format!("kernel/{d}.ko")).collect();
        let line = format!("kernel/{name}.ko: {}", list.join(" "));
        dep.insert(name.as_bytes(), line.trim_end().as_bytes(), i as u32);
    }
    let mut bi = Trie::new();
    for (i, b) in builtin.iter().enumerate() {
        bi.insert(b.as_bytes(), b"", i as u32);
    }
    let mut alias = Trie::new();
    // depmod stores aliases normalised (`-` as `_`), as lookups normalise the query.
    alias.insert(b"fs_alpha", b"alpha", 0);
    for (name, bytes) in [
        ("modules.dep.bin", dep.write()),
        ("modules.builtin.bin", bi.write()),
        ("modules.alias.bin", alias.write()),
        ("modules.symbols.bin", Trie::new().write()),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let mut config = Config::default();
    let mut msgs = Vec::new();
    config.parse("test.conf", conf.as_bytes(), &mut msgs);
    assert!(msgs.is_empty(), "{msgs:?}");
    Tree {
        _tmp: tmp,
        dir,
        config,
    }
}

impl Tree {
    fn ctx(&self) -> Context {
        Context::new(&self.dir, self.config.clone())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("kernel/{name}.ko"))
    }
}

/// `modprobe NAME` against `kernel`: the plan's steps as (module, action kind), and the log
/// of what execution did.
fn probe(
    t: &Tree,
    query: &str,
    flags: Flags,
    kernel: &mut Recorded,
) -> (Vec<String>, Result<(), ExecError>) {
    let ctx = t.ctx();
    let mut r = Resolver::new(&ctx);
    let found = r.lookup(query).unwrap();
    assert_eq!(found.len(), 1, "{query}");
    let plan = r.plan(found[0], flags, None, kernel).unwrap();
    let shown = plan
        .steps
        .iter()
        .map(|s| {
            let what = match &s.action {
                Action::Insmod { .. } => "insmod",
                Action::Install { .. } => "install",
                Action::Builtin => "builtin",
                Action::Nothing => "nothing",
                Action::AlreadyLoaded => "loaded",
            };
            format!("{what} {}", s.module)
        })
        .chain(plan.skipped.iter().map(|s| format!("skipped: {s}")))
        .chain(plan.error.iter().map(|e| format!("error: {e}")))
        .collect();
    let requested = r.name(found[0]).to_string();
    let done = live::execute_plan(&plan, &requested, false, flags.first_time, kernel);
    (shown, done)
}

#[test]
fn dependencies_load_first_in_depmods_reverse_order() {
    let t = tree(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])], &[], "");
    let mut k = Recorded::new();
    let (steps, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(steps, ["insmod c", "insmod b", "insmod a"]);
    assert_eq!(done, Ok(()));
    let p = |n| format!("insmod {}", t.path(n).display());
    assert_eq!(k.log, [p("c"), p("b"), p("a")]);
    assert_eq!(k.state("a"), ModuleState::Live);
}

#[test]
fn an_alias_resolves_and_options_reach_the_module() {
    let t = tree(&[("alpha", &[])], &[], "options alpha debug=1\n");
    let mut k = Recorded::new();
    let (steps, done) = probe(&t, "fs-alpha", Flags::default(), &mut k);
    assert_eq!(steps, ["insmod alpha"]);
    assert_eq!(done, Ok(()));
    assert_eq!(
        k.log,
        [format!("insmod {} debug=1", t.path("alpha").display())]
    );
}

#[test]
fn softdeps_wrap_the_module_and_their_failure_is_ignored() {
    let t = tree(
        &[("a", &[]), ("pre1", &[]), ("post1", &[])],
        &[],
        "softdep a pre: pre1 post: post1\n",
    );
    let mut k = Recorded::new();
    k.fail_insert.insert("pre1".into(), errno::EPERM);
    let (steps, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(steps, ["insmod pre1", "insmod a", "insmod post1"]);
    // pre1 failed (EPERM) but is not required: a and post1 still load.
    assert_eq!(done, Ok(()));
    assert_eq!(k.state("pre1"), ModuleState::NotLoaded);
    assert_eq!(k.state("a"), ModuleState::Live);
    assert_eq!(k.state("post1"), ModuleState::Live);
}

#[test]
fn install_commands_run_with_options_and_a_failure_names_the_command() {
    let t = tree(
        &[("a", &["b"]), ("b", &[])],
        &[],
        "install b /sbin/setup-b $CMDLINE_OPTS\noptions b x=1\n",
    );
    let mut k = Recorded::new();
    let (steps, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(steps, ["install b", "insmod a"]);
    assert_eq!(done, Ok(()));
    assert_eq!(k.log[0], "run b: /sbin/setup-b x=1 ");

    // A failing install command of a required module stops the plan with kmod's message.
    let mut k = Recorded::new();
    k.fail_command.insert("/sbin/setup-b x=1 ".into(), 3);
    let (_, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(
        done.unwrap_err().to_string(),
        "Error running install command '/sbin/setup-b x=1 ' for module b: retcode 3"
    );
    assert_eq!(k.state("a"), ModuleState::NotLoaded);

    // `-i` ignores the requested module's install command.
    let t = tree(&[("b", &[])], &[], "install b /sbin/setup-b\n");
    let flags = Flags {
        ignore_commands: true,
        ..Flags::default()
    };
    let (steps, _) = probe(&t, "b", flags, &mut Recorded::new());
    assert_eq!(steps, ["insmod b"]);
}

#[test]
fn loaded_modules_are_skipped_and_first_time_fails() {
    let t = tree(&[("a", &["b"]), ("b", &[])], &[], "");
    let mut k = Recorded::new().loaded("b", 0, &[]);
    let (steps, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(steps, ["loaded b", "insmod a"]);
    assert_eq!(done, Ok(()));
    assert_eq!(k.log, [format!("insmod {}", t.path("a").display())]);

    // Requested and loaded: nothing to do; with --first-time, kmod's error.
    let (steps, _) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(steps, ["skipped: already in kernel"]);
    let first = Flags {
        first_time: true,
        ..Flags::default()
    };
    let (steps, _) = probe(&t, "a", first, &mut k);
    assert_eq!(
        steps,
        ["error: could not insert 'a': Module already in kernel"]
    );

    // A module loaded behind the plan's back (EEXIST from the kernel) is fine.
    let t2 = tree(&[("c", &[])], &[], "");
    let mut k2 = Recorded::new();
    k2.fail_insert.insert("c".into(), errno::EEXIST);
    assert_eq!(probe(&t2, "c", Flags::default(), &mut k2).1, Ok(()));
    let (_, done) = probe(&t2, "c", first, &mut k2);
    assert_eq!(
        done.unwrap_err().to_string(),
        "could not insert 'c': Module already in kernel"
    );
}

#[test]
fn builtin_modules_need_nothing() {
    let t = tree(&[], &["ext4"], "");
    let mut k = Recorded::new();
    let (steps, done) = probe(&t, "ext4", Flags::default(), &mut k);
    assert_eq!(steps, ["skipped: already in kernel"]);
    assert_eq!(done, Ok(()));
    // --show-depends does not ask the kernel, and prints `builtin ext4`.
    let show = Flags {
        ignore_loaded: true,
        ..Flags::default()
    };
    let (steps, _) = probe(&t, "ext4", show, &mut k);
    assert_eq!(steps, ["builtin ext4"]);
    assert!(k.log.is_empty());
}

#[test]
fn failures_of_required_modules_are_reported_under_the_requested_name() {
    let t = tree(&[("a", &["b"]), ("b", &[])], &[], "");
    let mut k = Recorded::new();
    k.fail_insert.insert("b".into(), errno::ENOENT);
    let (_, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(
        done.unwrap_err().to_string(),
        "could not insert 'a': Unknown symbol in module, or unknown parameter (see dmesg)"
    );
    let mut k = Recorded::new();
    k.fail_insert.insert("a".into(), errno::EPERM);
    let (_, done) = probe(&t, "a", Flags::default(), &mut k);
    assert_eq!(
        done.unwrap_err().to_string(),
        "could not insert 'a': Operation not permitted"
    );
}

fn remove(
    t: &Tree,
    name: &str,
    f: RemoveFlags,
    k: &mut Recorded,
) -> (Vec<String>, Option<String>, Result<(), ExecError>) {
    let ctx = t.ctx();
    let mut r = Resolver::new(&ctx);
    let found = r.lookup(name).unwrap();
    let plan = r.remove_plan(found[0], f, k).unwrap();
    let steps = plan
        .steps
        .iter()
        .map(|s| match s {
            RemoveStep::Rmmod { module } => format!("rmmod {module}"),
            RemoveStep::Command { command, .. } => format!("remove {command}"),
        })
        .collect();
    let done = live::execute_removal(&plan, false, k);
    (steps, plan.error.clone(), done)
}

#[test]
fn removal_takes_unused_dependencies_and_respects_holders() {
    let t = tree(&[("a", &["b", "c"]), ("b", &[]), ("c", &[])], &[], "");
    let kernel = || {
        Recorded::new()
            .loaded("a", 0, &[])
            .loaded("b", 1, &["a"])
            .loaded("c", 2, &["a", "x"])
            .loaded("x", 0, &[])
    };
    // a goes, then b (held only by a); c is still held by x.
    let mut k = kernel();
    let (steps, err, done) = remove(&t, "a", RemoveFlags::default(), &mut k);
    assert_eq!(
        (steps, err),
        (vec!["rmmod a".into(), "rmmod b".into()], None)
    );
    assert_eq!(done, Ok(()));
    assert_eq!(k.log, ["rmmod a", "rmmod b"]);
    assert_eq!(k.state("c"), ModuleState::Live);
    assert_eq!(k.refcnt("c"), Some(1));

    // b is held by a: in use, nothing happens.
    let mut k = kernel();
    let (steps, err, _) = remove(&t, "b", RemoveFlags::default(), &mut k);
    assert!(steps.is_empty());
    assert_eq!(err.as_deref(), Some("Module b is in use."));
    assert!(k.log.is_empty());

    // --remove-holders: a first, then b.
    let mut k = kernel();
    let holders = RemoveFlags {
        remove_holders: true,
        ..RemoveFlags::default()
    };
    let (steps, err, done) = remove(&t, "b", holders, &mut k);
    assert_eq!(err, None);
    assert_eq!(steps, ["rmmod a", "rmmod b"]);
    assert_eq!(done, Ok(()));
    assert_eq!(k.state("b"), ModuleState::NotLoaded);

    // A holder that is not a modules.dep user: b's count drops once it is gone.
    let t = tree(&[("a", &[]), ("b", &[])], &[], "");
    let mut k = Recorded::new().loaded("a", 0, &[]).loaded("b", 1, &["a"]);
    let (steps, err, done) = remove(&t, "b", holders, &mut k);
    assert_eq!(
        (steps, err),
        (vec!["rmmod a".into(), "rmmod b".into()], None)
    );
    assert_eq!(done, Ok(()));
}

#[test]
fn removal_of_builtin_absent_and_commanded_modules() {
    let t = tree(
        &[("a", &[]), ("r", &[])],
        &["ext4"],
        "remove r /sbin/teardown\n",
    );
    let mut k = Recorded::new().loaded("r", 0, &[]);
    let (_, err, _) = remove(&t, "ext4", RemoveFlags::default(), &mut k);
    assert_eq!(err.as_deref(), Some("Module ext4 is builtin."));
    // Not loaded: nothing to do, unless --first-time.
    let (steps, err, _) = remove(&t, "a", RemoveFlags::default(), &mut k);
    assert!(steps.is_empty() && err.is_none());
    let first = RemoveFlags {
        first_time: true,
        ..RemoveFlags::default()
    };
    let (_, err, _) = remove(&t, "a", first, &mut k);
    assert_eq!(err.as_deref(), Some("Module a is not in kernel."));
    // A remove command replaces the rmmod; its failure names it.
    k.fail_command.insert("/sbin/teardown".into(), 2);
    let (steps, _, done) = remove(&t, "r", RemoveFlags::default(), &mut k);
    assert_eq!(steps, ["remove /sbin/teardown"]);
    assert_eq!(
        done.unwrap_err().to_string(),
        "Error running remove command '/sbin/teardown' for module r: retcode 2"
    );
}

#[test]
fn damaged_indexes_are_named_with_their_cause() {
    let t = tree(&[("a", &["b"]), ("b", &[])], &[], "");
    let dep = t.dir.join("modules.dep.bin");
    let good = std::fs::read(&dep).unwrap();

    // Cut short: every cut either still finds `a` or says where the file ends.
    for len in 0..good.len() {
        std::fs::write(&dep, &good[..len]).unwrap();
        let ctx = t.ctx();
        match ctx.lookup_alias("a") {
            Ok(_) => {}
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.starts_with(&format!("{}: truncated at offset ", dep.display())),
                    "cut at {len}: {e}"
                );
            }
        }
    }
    // Empty: no index (kmod's depmod writes empty files for indexes it has nothing for).
    std::fs::write(&dep, b"").unwrap();
    assert_eq!(t.ctx().lookup_name("a").unwrap(), None);
    std::fs::write(&dep, &good[..good.len() / 2]).unwrap();
    let e = t.ctx().lookup_alias("a").unwrap_err().to_string();
    assert!(e.contains("modules.dep.bin: truncated at offset"), "{e}");

    // Not an index at all.
    std::fs::write(&dep, b"this is text, not a trie").unwrap();
    let e = t.ctx().lookup_name("a").unwrap_err().to_string();
    assert!(
        e.contains("modules.dep.bin") && e.contains("not a kmod index"),
        "{e}"
    );

    // Every single-byte corruption: an answer or an error, never a panic.
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0xff;
        std::fs::write(&dep, &b).unwrap();
        let ctx = t.ctx();
        let _ = ctx.lookup_alias("a");
        let _ = ctx.lookup_name("b");
    }
}

/// What `moddb::probe::run` reports, line by line.
#[derive(Default)]
struct Lines(Vec<String>);

impl moddb::probe::Report for Lines {
    fn log(&mut self, priority: i32, message: &str) {
        self.0.push(format!("log{priority}: {message}"));
    }
    fn libkmod(&mut self, text: &str) {
        self.0.push(format!("libkmod: {text}"));
    }
    fn out(&mut self, text: &str) {
        self.0.push(format!("out: {text}"));
    }
    fn flush(&mut self) {}
}

#[test]
fn a_run_over_several_names_reports_and_goes_on_or_stops_as_kmod() {
    use moddb::probe::{run, Request, LOG_CRIT, LOG_WARNING};
    let t = tree(&[("a", &["b"]), ("b", &[])], &[], "");
    let ctx = t.ctx();
    // -a: a missing name is a warning, the others load.
    let req = Request {
        queries: vec![("nope".into(), None), ("a".into(), None)],
        log_priority: LOG_WARNING,
        verbose: LOG_WARNING,
        show: true,
        dirname: "/lib/modules/6.1.0-test".into(),
        ..Request::default()
    };
    let mut k = Recorded::new();
    let mut out = Lines::default();
    let done = run(&ctx, &req, &mut k, &mut out);
    assert!(done.failed && !done.fatal);
    assert_eq!(
        out.0[0],
        "log4: Module nope not found in directory /lib/modules/6.1.0-test"
    );
    assert_eq!(
        out.0[1],
        format!(
            "out: insmod {} \ninsmod {} \n",
            t.path("b").display(),
            t.path("a").display()
        )
    );
    assert_eq!(k.state("a"), ModuleState::Live);

    // One name (LOG_CRIT): not found ends the run at once.
    let req = Request {
        queries: vec![("nope".into(), None), ("a".into(), None)],
        log_priority: LOG_CRIT,
        verbose: LOG_WARNING,
        ..Request::default()
    };
    let mut k = Recorded::new();
    let done = run(&ctx, &req, &mut k, &mut Lines::default());
    assert!(done.fatal);
    assert!(k.log.is_empty());

    // -R prints names only; -r removes.
    let req = Request {
        queries: vec![("a".into(), None)],
        lookup_only: true,
        ..Request::default()
    };
    let mut out = Lines::default();
    run(&ctx, &req, &mut Recorded::new(), &mut out);
    assert_eq!(out.0, ["out: a\n"]);
    let req = Request {
        queries: vec![("a".into(), None)],
        remove: true,
        log_priority: LOG_CRIT,
        verbose: LOG_WARNING,
        ..Request::default()
    };
    let mut k = Recorded::new().loaded("a", 0, &[]).loaded("b", 1, &["a"]);
    let done = run(&ctx, &req, &mut k, &mut Lines::default());
    assert!(!done.failed);
    assert_eq!(k.log, ["rmmod a", "rmmod b"]);
}
