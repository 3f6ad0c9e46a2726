//! `kmodkit bpf selftests DIR|FILE...`: the kernel's verifier tests (objects built by
//! `scripts/verifier-selftests`) through our verifier, compared with their annotations
//! (`bpf_verifier::selftests`); this file only finds the objects and prints.
//!
//! A subcommand rather than a test-only binary: the comparison is how a user (or CI) checks
//! this verifier against a kernel's own suite, and the integration test reads its `--json`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bpf_verifier::selftests::{self, Outcome};

use super::{parse, Outcome as CmdOutcome};

#[derive(clap::Parser)]
#[command(
    name = "kmodkit bpf selftests",
    about = "Compare the verifier with the kernel's own verifier tests (verifier_*.o built by scripts/verifier-selftests)"
)]
pub(crate) struct SelftestsArgs {
    /// Objects, or directories whose *.o files are run.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// BTF of the tested kernel (raw, as /sys/kernel/btf/vmlinux), for CO-RE relocations.
    #[arg(long)]
    btf: Option<PathBuf>,
    /// One line per program.
    #[arg(long, short)]
    verbose: bool,
    /// Machine-readable output: one record per program.
    #[arg(long)]
    json: bool,
    /// The kernel whose verifier judges (as `bpf verify --target`); default 6.12, the
    /// release of Debian's linux-source the selftests come from.
    #[arg(long, value_name = "KERNEL", default_value = "6.12")]
    target: std::ffi::OsString,
    /// Also load every program into the running kernel (as `bpf load` does, CO-RE against
    /// its BTF) and compare our verdicts with its verdicts, not only with the annotations.
    /// Run it in the kernel the selftests are for (`kmodkit vm`, Debian's 6.12).
    #[arg(long)]
    live: bool,
}

/// The running kernel's verdict on one selftest program.
enum Live {
    Accepted,
    Rejected(String),
    /// Not loaded: the loader cannot give what it needs (an attach target, load flags).
    NotLoaded(String),
}

/// Load the programs of one object into the running kernel; the verdict per program name.
/// `kernel_btf`: the running kernel's BTF, read once for all objects.
fn live_verdicts(
    f: &std::path::Path,
    bytes: &[u8],
    kernel_btf: &mut Option<btf::Btf>,
) -> BTreeMap<String, Live> {
    let mut out = BTreeMap::new();
    let mut obj = match bpf_insn::object::Object::parse(bytes) {
        Ok(o) => o,
        Err(e) => {
            out.insert(String::new(), Live::NotLoaded(e.to_string()));
            return out;
        }
    };
    // Tracing, struct_ops, ext and LSM programs need an attach target (BTF id) at load.
    let (loadable, targeted): (Vec<_>, Vec<_>) = obj
        .programs
        .drain(..)
        .partition(|p| !matches!(p.prog_type, Some(26..=29) | None));
    for p in targeted {
        out.insert(
            p.name,
            Live::NotLoaded("needs an attach target, which this loader does not give".into()),
        );
    }
    obj.programs = loadable;
    let prepared = if super::needs_btf(&obj) {
        if kernel_btf.is_none() {
            *kernel_btf = ktrace::system::load_btf(std::path::Path::new(super::HOST_BTF)).ok();
        }
        match kernel_btf {
            Some(b) => super::for_kernel_btf(&mut obj, f, b, None),
            None => Err(anyhow::anyhow!("the running kernel has no BTF")),
        }
    } else {
        Ok(Vec::new())
    };
    let loaded = prepared.and_then(|_| {
        bpf_sys::loader::load(
            &obj,
            &bpf_sys::loader::LoadOptions {
                obj_name: "selftest".into(),
                pin_root: None,
                keep_going: true,
            },
        )
        .map_err(anyhow::Error::from)
    });
    match loaded {
        Ok(l) => {
            for p in &l.progs {
                out.insert(p.name.clone(), Live::Accepted);
            }
            // Without the object's BTF there is no func_info: every callback would fail.
            let no_btf = l
                .warnings
                .first()
                .map(|w| w.lines().next().unwrap_or_default().to_string());
            for (name, e) in l.refused {
                let verdict = match (e, &no_btf) {
                    (_, Some(w)) => Live::NotLoaded(w.clone()),
                    // A refusal with an empty log comes before the verifier (attributes).
                    (bpf_sys::Error::Verifier { log, source }, _) if !log.contains('\n') => {
                        Live::NotLoaded(format!("{source}: {log}"))
                    }
                    (bpf_sys::Error::Verifier { log, .. }, _) => {
                        let tail: Vec<&str> = log.lines().rev().take(3).collect();
                        Live::Rejected(tail.into_iter().rev().collect::<Vec<_>>().join(" | "))
                    }
                    (e, _) => Live::NotLoaded(e.to_string()),
                };
                out.insert(name, verdict);
            }
        }
        Err(e) => {
            for p in &obj.programs {
                out.insert(p.name.clone(), Live::NotLoaded(format!("{e:#}")));
            }
        }
    }
    out
}

/// A disagreement's reason, grouped: the class and the message with numbers and names of
/// registers made generic.
fn reason_key(r: &bpf_verifier::Rejection) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in r.msg.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            last_digit = false;
            out.push(c);
        }
    }
    let short: String = out.chars().take(90).collect();
    format!("{:?}: {short}", r.class)
}

pub(crate) fn selftests(args: Vec<OsString>) -> CmdOutcome {
    let a: SelftestsArgs = match parse("kmodkit bpf selftests", args) {
        Ok(a) => a,
        Err(outcome) => return outcome,
    };
    let files = super::files_in(&a.paths, "o")?;
    let target = match &a.btf {
        Some(p) => {
            let raw = std::fs::read(p).with_context(|| p.display().to_string())?;
            Some(std::sync::Arc::new(
                btf::Btf::parse(&raw).with_context(|| p.display().to_string())?,
            ))
        }
        None => None,
    };
    let kernel = super::target::resolve(Some(&a.target))
        .map_err(|e| super::usage(format!("kmodkit bpf selftests: --target: {e:#}")))?
        .kernel;
    // kfunc calls are resolved against the tested kernel's BTF.
    let opts = bpf_verifier::Options {
        kfunc_btf: target.clone(),
        ..bpf_verifier::Options::for_kernel(kernel)
    };
    let mut json = Vec::new();
    // Per file: programs, skipped, agree, we accept, we reject.
    let mut rows: Vec<(String, [usize; 5])> = Vec::new();
    let mut unsound: Vec<String> = Vec::new();
    let mut strict: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut msg_same, mut msg_differs) = (0usize, 0usize);
    // With --live: agree, we accept what it rejects, we reject what it accepts, not loaded.
    let mut live_counts = [0usize; 4];
    let mut live_unsound: Vec<String> = Vec::new();
    let mut kernel_btf = None;
    let mut annotation_differs: Vec<String> = Vec::new();
    for f in &files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(f).with_context(|| f.display().to_string())?;
        // `__btf_path(NAME)` objects: beside the tests, or in ../btf/ (scripts/verifier-selftests).
        let dir = f.parent().unwrap_or(std::path::Path::new("."));
        let custom = |name: &str| {
            [dir.join(name), dir.join("../btf").join(name)]
                .iter()
                .find_map(|p| std::fs::read(p).ok())
                .and_then(|data| btf::from_elf(&data, None).ok())
        };
        let results = selftests::run_object_with(&bytes, target.as_deref(), &custom, &opts)
            .with_context(|| f.display().to_string())?;
        let live = if a.live {
            live_verdicts(f, &bytes, &mut kernel_btf)
        } else {
            BTreeMap::new()
        };
        let mut row = [0usize; 5];
        for r in &results {
            row[0] += 1;
            let label = match &r.spec.description {
                Some(d) => format!("{name}/{} ({d})", r.spec.program),
                None => format!("{name}/{}", r.spec.program),
            };
            let rej = r.ours.as_ref().and_then(|o| o.as_ref().err());
            let outcome = match &r.outcome {
                Outcome::Skipped(_) => {
                    row[1] += 1;
                    "skip"
                }
                Outcome::Agree { msg_match } => {
                    row[2] += 1;
                    match msg_match {
                        Some(true) => msg_same += 1,
                        Some(false) => msg_differs += 1,
                        None => {}
                    }
                    "agree"
                }
                Outcome::WeAccept => {
                    row[3] += 1;
                    let msgs = if r.spec.msgs.is_empty() {
                        String::new()
                    } else {
                        format!(": the kernel says \"{}\"", r.spec.msgs.join("\" ... \""))
                    };
                    unsound.push(format!("{label}{msgs}"));
                    "we-accept"
                }
                Outcome::WeReject => {
                    row[4] += 1;
                    if let Some(e) = rej {
                        strict.entry(reason_key(e)).or_default().push(label.clone());
                    }
                    "we-reject"
                }
            };
            // Our verdict against the running kernel's (flags the loader does not pass, as
            // BPF_F_STRICT_ALIGNMENT, make a load incomparable).
            let kernel = live.get(&r.spec.program).map(|l| match l {
                _ if !r.spec.flags.is_empty() => Live::NotLoaded("load flags".into()),
                _ if r.spec.btf_path.is_some() => {
                    Live::NotLoaded("CO-RE against its own BTF (__btf_path)".into())
                }
                Live::Accepted => Live::Accepted,
                Live::Rejected(m) => Live::Rejected(m.clone()),
                Live::NotLoaded(m) => Live::NotLoaded(m.clone()),
            });
            if let (Some(k), Some(ours)) = (&kernel, &r.ours) {
                match (k, ours.is_ok()) {
                    (Live::Accepted, true) | (Live::Rejected(_), false) => live_counts[0] += 1,
                    (Live::Rejected(m), true) => {
                        live_counts[1] += 1;
                        live_unsound.push(format!("{label}: the kernel says {m}"));
                    }
                    (Live::Accepted, false) => live_counts[2] += 1,
                    (Live::NotLoaded(_), _) => live_counts[3] += 1,
                }
                let kernel_ok = matches!(k, Live::Accepted);
                if !matches!(k, Live::NotLoaded(_)) && kernel_ok == r.spec.expect_failure {
                    annotation_differs.push(label.clone());
                }
            }
            if a.verbose && !a.json {
                let ours = match rej {
                    Some(e) => format!("reject: {e}"),
                    None if r.ours.is_some() => "accept".to_string(),
                    None => String::new(),
                };
                let why = match &r.outcome {
                    Outcome::Skipped(w) => w.to_string(),
                    _ => ours,
                };
                println!("{outcome:9} {label}: {why}");
            }
            if a.json {
                json.push(serde_json::json!({
                    "file": name,
                    "program": r.spec.program,
                    "section": r.spec.section,
                    "description": r.spec.description,
                    "expect": if r.spec.expect_failure { "failure" } else { "success" },
                    "expected_msgs": r.spec.msgs,
                    "flags": r.spec.flags,
                    "outcome": outcome,
                    "skip_reason": match &r.outcome { Outcome::Skipped(w) => Some(*w), _ => None },
                    "accepted": r.ours.as_ref().map(|o| o.is_ok()),
                    "class": rej.map(|e| format!("{:?}", e.class)),
                    "message": rej.map(|e| e.msg.clone()),
                    "insn": rej.map(|e| e.pc),
                    "msg_match": match &r.outcome { Outcome::Agree { msg_match } => *msg_match, _ => None },
                    "kernel": kernel.as_ref().map(|k| match k {
                        Live::Accepted => serde_json::json!({"verdict": "accepted"}),
                        Live::Rejected(m) => serde_json::json!({"verdict": "rejected", "message": m}),
                        Live::NotLoaded(m) => serde_json::json!({"verdict": "not loaded", "why": m}),
                    }),
                }));
            }
        }
        rows.push((name, row));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut total = [0usize; 5];
    println!(
        "{:<44} {:>5} {:>5} {:>6} {:>10} {:>10}",
        "file", "progs", "skip", "agree", "we-accept", "we-reject"
    );
    for (name, row) in &rows {
        for k in 0..5 {
            total[k] += row[k];
        }
        println!(
            "{:<44} {:>5} {:>5} {:>6} {:>10} {:>10}",
            name, row[0], row[1], row[2], row[3], row[4]
        );
    }
    println!(
        "{:<44} {:>5} {:>5} {:>6} {:>10} {:>10}",
        "total", total[0], total[1], total[2], total[3], total[4]
    );
    let compared = total[2] + total[3] + total[4];
    if compared > 0 {
        println!(
            "agreement: {}/{compared} = {:.1}% of the compared programs ({} skipped)",
            total[2],
            100.0 * total[2] as f64 / compared as f64,
            total[1]
        );
    }
    println!(
        "rejections with an expected __msg: our message contains it for {msg_same}, differs for {msg_differs}"
    );
    if a.live {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        println!(
            "running kernel {}: our verdict is its verdict for {} programs; we accept what it rejects: {}; we reject what it accepts: {}; not loaded: {}",
            release.trim(),
            live_counts[0],
            live_counts[1],
            live_counts[2],
            live_counts[3]
        );
        for u in &live_unsound {
            println!("  we accept, it rejects: {u}");
        }
        if !annotation_differs.is_empty() {
            println!(
                "its verdict is not the annotation's for {}:",
                annotation_differs.len()
            );
            for d in &annotation_differs {
                println!("  {d}");
            }
        }
    }
    if !unsound.is_empty() {
        println!("\nwe accept, the kernel rejects ({}):", unsound.len());
        for u in &unsound {
            println!("  {u}");
        }
    }
    if !strict.is_empty() {
        println!("\nwe reject, the kernel accepts, by our reason:");
        let mut by_count: Vec<_> = strict.iter().collect();
        by_count.sort_by(|x, y| y.1.len().cmp(&x.1.len()).then(x.0.cmp(y.0)));
        for (reason, progs) in by_count {
            println!("  {:4}  {reason}", progs.len());
            if a.verbose {
                for p in progs {
                    println!("          {p}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
