//! The helper table against the data it was written from: for each kernel whose helpers
//! were probed (data/helpers-<version>.json, `kmodkit bpf probe-helpers --json` in Debian's
//! 6.1 and 6.12 under `kmodkit vm` and on the 6.18 host), the helpers the model offers each
//! program type are exactly those the kernel offered, but for the few helpers the table does
//! not have (those are refused, never offered wrongly).

use bpf_verifier::helpers::{proto, unavailable};
use bpf_verifier::Kernel;

/// `{"type": [ids], ...}` as written by probe-helpers.
fn parse(text: &str) -> Vec<(String, Vec<i32>)> {
    let mut out = Vec::new();
    let mut rest = text.trim().trim_start_matches('{');
    while let Some(q) = rest.find('"') {
        let after = &rest[q + 1..];
        let end = after.find('"').unwrap();
        let name = after[..end].to_string();
        let open = after.find('[').unwrap();
        let close = after.find(']').unwrap();
        let ids = after[open + 1..close]
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().unwrap())
            .collect();
        out.push((name, ids));
        rest = &after[close + 1..];
    }
    out
}

fn check(file: &str, kernel: Kernel) {
    let path = format!("{}/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let data = parse(&std::fs::read_to_string(&path).unwrap());
    assert!(data.len() >= 13, "{path}");
    let mut wrong = Vec::new();
    let mut missing = 0;
    for (name, ids) in &data {
        let t = bpf_insn::object::prog_type_from_name(name).unwrap();
        for id in 1..=211 {
            let kernel_has = ids.contains(&id);
            let Some(p) = proto(id) else {
                missing += usize::from(kernel_has);
                continue;
            };
            let ours = unavailable(p, t, &kernel).is_none();
            if ours != kernel_has {
                wrong.push(format!(
                    "{name}: bpf_{}#{id} kernel {kernel_has} ours {ours}",
                    p.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{kernel}: {wrong:#?}");
    // Socket-map, lirc and tcp helpers the table lacks, over all types.
    assert!(missing < 60, "{kernel}: {missing}");
}

#[test]
fn the_table_offers_what_each_probed_kernel_offers() {
    check("helpers-6.1.json", Kernel::new(6, 1, 192));
    check("helpers-6.12.json", Kernel::new(6, 12, 117));
    check("helpers-6.18.json", Kernel::new(6, 18, 44));
}
