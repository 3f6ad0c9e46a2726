//! The layers of DESIGN.md, checked from `cargo metadata`: format crates (pure: bytes in,
//! values out) depend on format crates only, never on a system crate (the only ones with
//! `unsafe` and syscalls); nothing depends on the CLI; every workspace crate has a floor.
//! (`unsafe_code = "deny"` in the workspace lints does the rest.)

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const FORMAT: &[&str] = &[
    "modfile",
    "modsign",
    "efivars",
    "moddb",
    "loadcheck",
    "bpf-insn",
    "bpf-verifier",
    "bpf-vm",
    "tracelang",
    "btf",
    "inventory",
];
const SYSTEM: &[&str] = &["modsys", "bpf-sys", "safeio"];
const ORCHESTRATION: &[&str] = &["kbuild", "vmrun", "ktrace", "kernels"];
const CLI: &[&str] = &["kmodkit"];
/// Test helpers, never a dependency of a library.
const TEST_ONLY: &[&str] = &["testsupport"];

/// Each workspace crate's normal and build (not dev) dependencies on other workspace crates,
/// as its Cargo.toml declares them.
fn workspace_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str())
                .filter(|n| members.contains(n))
                .map(str::to_string)
                .collect();
            (p["name"].as_str().unwrap_or_default().to_string(), deps)
        })
        .collect()
}

fn floor(name: &str) -> Option<&'static str> {
    [
        ("format", FORMAT),
        ("system", SYSTEM),
        ("orchestration", ORCHESTRATION),
        ("cli", CLI),
        ("test", TEST_ONLY),
    ]
    .into_iter()
    .find(|(_, names)| names.contains(&name))
    .map(|(f, _)| f)
}

#[test]
fn every_crate_has_a_floor_and_depends_only_downward() {
    let graph = workspace_graph();
    assert!(graph.contains_key("kmodkit"), "{graph:?}");
    let mut wrong = Vec::new();
    for (krate, deps) in &graph {
        let Some(f) = floor(krate) else {
            wrong.push(format!("{krate}: no floor (add it to tests/layers.rs)"));
            continue;
        };
        for d in deps {
            let df = floor(d).unwrap_or("none");
            let allowed = match f {
                "format" => df == "format",
                "system" => matches!(df, "format" | "system"),
                "orchestration" => matches!(df, "format" | "system" | "orchestration"),
                "cli" => df != "cli" && df != "test",
                _ => df != "cli",
            };
            if !allowed {
                wrong.push(format!("{krate} ({f}) depends on {d} ({df})"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}
