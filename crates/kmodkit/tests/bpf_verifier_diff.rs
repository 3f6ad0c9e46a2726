//! Differential test of `bpf-verifier` against the host kernel's `BPF_PROG_LOAD`.
//!
//! The corpus (tests/data/bpf_verifier/*.s) holds valid programs and programs with each
//! class of bug (unbounded loop, stack/map/packet/context out of bounds, NULL map value,
//! uninitialised register, wrong helper for the type, bad return value, bad CFG). Each file
//! says its program type, its maps and what the kernel does with it (`# kfunc: NAME` lines
//! name the kfuncs that `call kfunc(N)` calls, N counting from 1; they are resolved in the
//! host's BTF for both verifiers, and the program is GPL). The kernel is the
//! oracle: the annotation must match it, our verifier must never accept what it rejects,
//! and the agreement rate is printed.

use bpf_insn::insn::map_indices_to_fds;
use bpf_insn::{encode_all, Endian, Insn};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use testsupport::{skip, Requirement};

#[derive(Default, Clone, Copy)]
struct MapExtra {
    lock: Option<u32>,
    /// `timer=OFF`: a `struct bpf_timer` in the value.
    timer: Option<u32>,
    inner: Option<[u32; 4]>,
}

struct Case {
    name: String,
    prog_type: u32,
    maps: Vec<[u32; 4]>,
    /// Per map, from `# map: T K V N lock=OFF inner=T,K,V,N`: the offset of a
    /// `struct bpf_spin_lock` in the value (given to the kernel as the value's BTF), and
    /// the inner map of a map of maps.
    map_extra: Vec<MapExtra>,
    expect_accept: bool,
    insns: Vec<Insn>,
    /// `# section:` the libbpf section of a program that needs an attach type or target
    /// (netfilter, fentry/fexit/fmod_ret/tp_btf, lsm), resolved in the host's BTF.
    section: Option<String>,
}

/// The host kernel's BTF, for the attach targets of BTF-typed programs and kfuncs.
fn host_btf() -> Option<&'static std::sync::Arc<btf::Btf>> {
    static BTF: std::sync::OnceLock<Option<std::sync::Arc<btf::Btf>>> = std::sync::OnceLock::new();
    BTF.get_or_init(|| {
        let raw = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
        btf::Btf::parse(&raw).ok().map(std::sync::Arc::new)
    })
    .as_ref()
}

/// `expected_attach_type` and `attach_btf_id` of a section, as libbpf sets them
/// (BPF_TRACE_RAW_TP 23, FENTRY 24, FEXIT 25, MODIFY_RETURN 26, LSM_MAC 27, SK_LOOKUP 36,
/// NETFILTER 45).
fn attach_of(section: &str) -> Option<(u32, u32)> {
    if section == "netfilter" {
        return Some((45, 0));
    }
    // sk_lookup programs load only with BPF_SK_LOOKUP (36).
    if section == "sk_lookup" {
        return Some((36, 0));
    }
    let (prefix, name) = section.split_once('/')?;
    let b = host_btf()?;
    let func = |n: &str| b.func_named(n);
    Some(match prefix {
        "fentry" => (24, func(name)?),
        "fexit" => (25, func(name)?),
        "fmod_ret" => (26, func(name)?),
        "lsm" => (27, func(&format!("bpf_lsm_{name}"))?),
        "tp_btf" => (
            23,
            b.named(&format!("btf_trace_{name}"), |k| {
                matches!(k, btf::Kind::Typedef(_))
            })?,
        ),
        _ => return None,
    })
}

fn load_corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpf_verifier");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "s"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut prog_type = None;
        let mut maps = Vec::new();
        let mut map_extra = Vec::new();
        let mut expect = None;
        let mut section = None;
        let mut kfuncs: Vec<String> = Vec::new();
        for l in text.lines() {
            if let Some(k) = l.strip_prefix("# kfunc: ") {
                kfuncs.push(k.trim().to_string());
            }
            if let Some(t) = l.strip_prefix("# section: ") {
                section = Some(t.trim().to_string());
            }
            if let Some(t) = l.strip_prefix("# type: ") {
                prog_type = bpf_insn::object::prog_type_from_name(t.trim());
            }
            if let Some(m) = l.strip_prefix("# map: ") {
                let mut extra = MapExtra::default();
                let mut v: Vec<u32> = Vec::new();
                for w in m.split_whitespace() {
                    if let Some(o) = w.strip_prefix("lock=") {
                        extra.lock = Some(o.parse().unwrap());
                    } else if let Some(o) = w.strip_prefix("timer=") {
                        extra.timer = Some(o.parse().unwrap());
                    } else if let Some(i) = w.strip_prefix("inner=") {
                        let i: Vec<u32> = i.split(',').map(|x| x.parse().unwrap()).collect();
                        extra.inner = Some([i[0], i[1], i[2], i[3]]);
                    } else {
                        v.push(w.parse().unwrap());
                    }
                }
                maps.push([v[0], v[1], v[2], v[3]]);
                map_extra.push(extra);
            }
            if let Some(e) = l.strip_prefix("# expect: ") {
                expect = Some(e.trim() == "accept");
            }
        }
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let mut insns = bpf_insn::assemble(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        // `call kfunc(N)`: the N-th `# kfunc:` by its BTF id in the host's BTF.
        for i in insns.iter_mut() {
            if i.is_call() && i.src == bpf_insn::insn::pseudo::CALL_KFUNC {
                let k = &kfuncs[i.imm as usize - 1];
                if let Some(b) = host_btf() {
                    i.imm = b
                        .func_named(k)
                        .unwrap_or_else(|| panic!("{name}: kfunc {k} is not in the host's BTF"))
                        as i32;
                }
            }
        }
        out.push(Case {
            insns,
            name: name.clone(),
            prog_type: prog_type.unwrap_or_else(|| panic!("{name}: no type")),
            maps,
            map_extra,
            expect_accept: expect.unwrap_or_else(|| panic!("{name}: no expectation")),
            section,
        });
    }
    out
}

/// BTF for a map whose 4-byte key is an `int` ([1]) and whose value of `size` bytes ([3])
/// has a special struct ([2] `struct bpf_spin_lock` or `struct bpf_timer`, `(name, its
/// size, offset)`), which the kernel knows by name and size.
fn special_value_btf(size: u32, (special, special_size, at): (&str, u32, u32)) -> Vec<u8> {
    let strings = b"\0int\0bpf_spin_lock\0bpf_timer\0val\0l\0";
    let name = |n: &str| -> u32 {
        let at = strings
            .windows(n.len() + 2)
            .position(|w| w[0] == 0 && &w[1..=n.len()] == n.as_bytes() && w[n.len() + 1] == 0)
            .expect("the name is in the table");
        at as u32 + 1
    };
    let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
    let mut t: Vec<u32> = Vec::new();
    // [1] int: 4 bytes, signed, 32 bits.
    t.extend([name("int"), info(1, 0), 4, (1 << 24) | 32]);
    // [2] struct bpf_spin_lock { int val; } (or bpf_timer, 16 bytes)
    t.extend([name(special), info(4, 1), special_size, name("val"), 1, 0]);
    // [3] struct val { ...; struct bpf_spin_lock l (at `at`); ... }
    t.extend([name("val"), info(4, 1), size, name("l"), 2, at * 8]);
    let types: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = Vec::new();
    out.extend(0xeb9f_u16.to_le_bytes());
    out.extend([1u8, 0]);
    for v in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        out.extend(v.to_le_bytes());
    }
    out.extend(types);
    out.extend(strings);
    out
}

fn ours(c: &Case) -> Result<(), bpf_verifier::Rejection> {
    let infos: Vec<bpf_verifier::MapInfo> = c
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| bpf_verifier::MapInfo {
            name: format!("m{i}"),
            map_type: m[0],
            key_size: m[1],
            value_size: m[2],
            max_entries: m[3],
            frozen: None,
            flags: 0,
            spin_lock: c.map_extra[i].lock,
            btf_fields: c.map_extra[i]
                .timer
                .map(|o| (o, 16, "bpf_timer".to_string()))
                .into_iter()
                .collect(),
            inner: c.map_extra[i].inner.map(|n| {
                Box::new(bpf_verifier::MapInfo {
                    name: format!("m{i}.inner"),
                    map_type: n[0],
                    key_size: n[1],
                    value_size: n[2],
                    max_entries: n[3],
                    ..Default::default()
                })
            }),
        })
        .collect();
    let input = bpf_verifier::Input {
        insns: &c.insns,
        prog_type: c.prog_type,
        maps: &infos,
    };
    let mut opts = bpf_verifier::Options {
        section: c.section.clone(),
        // As `kernel` loads it: GPL, kfuncs resolved in the host's BTF.
        kfunc_btf: host_btf().cloned(),
        gpl: true,
        ..Default::default()
    };
    if let (Some(sec), Some(b)) = (&c.section, host_btf()) {
        match bpf_verifier::Attach::from_btf(b, c.prog_type, sec) {
            Ok(a) => opts.attach = Some(a),
            Err(e) => opts.attach_error = Some(e),
        }
    }
    bpf_verifier::verify(&input, &opts).map(|_| ())
}

enum Kernel {
    Accept,
    Reject(String),
    Unavailable(String),
}

fn kernel(c: &Case) -> Kernel {
    let mut fds: Vec<OwnedFd> = Vec::new();
    for (i, m) in c.maps.iter().enumerate() {
        let name = format!("kmk_m{i}");
        let spec = |m: &[u32; 4]| bpf_sys::MapSpec {
            map_type: m[0],
            key_size: m[1],
            value_size: m[2],
            max_entries: m[3],
            flags: 0,
            name: &name,
        };
        let extra = c.map_extra[i];
        let field = match (extra.lock, extra.timer) {
            (Some(off), _) => Some(("bpf_spin_lock", 4, off)),
            (_, Some(off)) => Some(("bpf_timer", 16, off)),
            _ => None,
        };
        let btf = match field {
            Some(f) => match bpf_sys::btf_load(&special_value_btf(m[2], f)) {
                Ok(fd) => Some(fd),
                Err(e) => return Kernel::Unavailable(format!("BPF_BTF_LOAD: {e}")),
            },
            None => None,
        };
        let inner = match extra.inner {
            Some(n) => match bpf_sys::map_create(&spec(&n)) {
                Ok(fd) => Some(fd),
                Err(e) => return Kernel::Unavailable(format!("BPF_MAP_CREATE: {e}")),
            },
            None => None,
        };
        let with = bpf_sys::MapExtra {
            // Key: [1] int; value: [3] (see special_value_btf).
            btf: btf.as_ref().map(|f| (f.as_fd(), 1, 3)),
            inner: inner.as_ref().map(|f| f.as_fd()),
        };
        match bpf_sys::map_create_with(&spec(m), &with) {
            Ok(fd) => fds.push(fd),
            Err(e) => return Kernel::Unavailable(format!("BPF_MAP_CREATE: {e}")),
        }
    }
    let mut insns = c.insns.clone();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    if map_indices_to_fds(&mut insns, &raw).is_err() {
        return Kernel::Reject("no such map".into());
    }
    let bytes = encode_all(&insns, Endian::Little);
    let mut spec = bpf_sys::ProgSpec::new(c.prog_type, &bytes);
    spec.log_level = 1;
    spec.name = "kmk_diff";
    if let Some(sec) = &c.section {
        match attach_of(sec) {
            Some((t, id)) => (spec.expected_attach_type, spec.attach_btf_id) = (t, id),
            None => {
                return Kernel::Unavailable(format!(
                    "no attach target for `{sec}` in the host's BTF"
                ))
            }
        }
    }
    match bpf_sys::prog_load_with_log(&spec) {
        Ok(_) => Kernel::Accept,
        Err(bpf_sys::Error::Verifier { source, log }) => {
            if source.raw_os_error() == Some(1) && log.is_empty() {
                Kernel::Unavailable(format!("BPF_PROG_LOAD: {source}"))
            } else {
                let last: Vec<&str> = log.lines().rev().take(3).collect();
                Kernel::Reject(format!(
                    "{source}: {}",
                    last.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ))
            }
        }
        Err(e) => Kernel::Unavailable(e.to_string()),
    }
}

#[test]
fn verifier_agrees_with_the_host_kernel() {
    let corpus = load_corpus();
    assert!(corpus.len() >= 40, "{}", corpus.len());
    let mut agree = 0;
    let mut report = Vec::new();
    let mut unsafe_accepts = Vec::new();
    let mut wrong_annotations = Vec::new();
    for c in &corpus {
        let o = ours(c);
        let k = match kernel(c) {
            Kernel::Unavailable(why) => {
                skip(Requirement::Bpf, &format!("host bpf() unavailable: {why}"));
                return;
            }
            k => k,
        };
        let k_ok = matches!(k, Kernel::Accept);
        if k_ok != c.expect_accept {
            wrong_annotations.push(format!(
                "{}: annotated {}, kernel {}",
                c.name,
                if c.expect_accept { "accept" } else { "reject" },
                match &k {
                    Kernel::Reject(l) => format!("rejects: {l}"),
                    _ => "accepts".into(),
                }
            ));
        }
        if k_ok == o.is_ok() {
            agree += 1;
        }
        if !k_ok && o.is_ok() {
            unsafe_accepts.push(c.name.clone());
        }
        report.push(format!(
            "{:<40} kernel={:<6} ours={:<6} {}",
            c.name,
            if k_ok { "accept" } else { "reject" },
            if o.is_ok() { "accept" } else { "reject" },
            match (&k, &o) {
                (Kernel::Reject(l), Err(r)) => format!("kernel: {l}\n{:>52}ours: {r}", ""),
                (Kernel::Reject(l), Ok(())) => format!("kernel: {l}"),
                (_, Err(r)) => format!("ours: {r}"),
                _ => String::new(),
            }
        ));
    }
    eprintln!("{}", report.join("\n"));
    eprintln!(
        "verifier agreement with the host kernel: {agree}/{} ({:.1}%)",
        corpus.len(),
        100.0 * agree as f64 / corpus.len() as f64
    );
    assert!(
        wrong_annotations.is_empty(),
        "corpus annotations the kernel contradicts:\n{}",
        wrong_annotations.join("\n")
    );
    assert!(
        unsafe_accepts.is_empty(),
        "accepted although the kernel rejects: {unsafe_accepts:?}"
    );
    assert_eq!(
        agree,
        corpus.len(),
        "disagreements (we reject what the kernel accepts)"
    );
}

/// Generated programs (the fuzz generator) through both verifiers: ours must never accept
/// what the kernel rejects; the agreement rate is printed.
#[test]
fn generated_programs_never_accepted_when_the_kernel_rejects() {
    let specs = bpf_vm::fuzzcheck::maps();
    let mut fds = Vec::new();
    for (i, m) in specs.iter().enumerate() {
        let name = format!("kmk_g{i}");
        let spec = bpf_sys::MapSpec {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: 0,
            name: &name,
        };
        match bpf_sys::map_create(&spec) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                skip(Requirement::Bpf, &format!("host bpf() unavailable: {e}"));
                return;
            }
        }
    }
    let infos: Vec<bpf_verifier::MapInfo> = specs
        .iter()
        .map(|m| bpf_verifier::MapInfo::from(&m.to_def()))
        .collect();
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut agree, mut total, mut both_accept, mut only_kernel) = (0, 0, 0, 0);
    let mut unsafe_accepts = Vec::new();
    for _ in 0..3000 {
        let len = 8 + (next() % 100) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let prog = bpf_verifier::testgen::program(&data, 80);
        let ours = bpf_verifier::verify(
            &bpf_verifier::Input {
                insns: &prog,
                prog_type: 6,
                maps: &infos,
            },
            &bpf_verifier::Options::default(),
        )
        .is_ok();
        let mut k = prog.clone();
        let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        // A mutated index past the two maps stays as it is: the kernel refuses it too.
        let _ = map_indices_to_fds(&mut k, &raw);
        let bytes = encode_all(&k, Endian::Little);
        let mut spec = bpf_sys::ProgSpec::new(6, &bytes);
        spec.name = "kmk_gen";
        let (kernel, why) = match bpf_sys::prog_load(&spec) {
            Ok(_) => (true, String::new()),
            Err(bpf_sys::Error::Verifier { log, .. }) => {
                (false, log.lines().rev().nth(1).unwrap_or("").to_string())
            }
            Err(e) => panic!("BPF_PROG_LOAD: {e}"),
        };
        total += 1;
        if ours == kernel {
            agree += 1;
        }
        if ours && kernel {
            both_accept += 1;
        }
        if kernel && !ours {
            only_kernel += 1;
        }
        if ours && !kernel {
            unsafe_accepts.push(format!("kernel: {why}\n{}", bpf_insn::disassemble(&prog)));
        }
    }
    eprintln!(
        "generated programs: {total}, verdicts agree on {agree} ({:.1}%), both accept {both_accept}, only the kernel accepts {only_kernel}, only we accept {}",
        100.0 * agree as f64 / total as f64,
        unsafe_accepts.len()
    );
    let mut reasons: Vec<String> = unsafe_accepts
        .iter()
        .map(|u| u.lines().next().unwrap_or("").to_string())
        .collect();
    reasons.sort();
    reasons.dedup();
    assert!(
        unsafe_accepts.is_empty(),
        "we accept what the kernel rejects ({} programs; kernel reasons: {:#?}); first:\n{}",
        unsafe_accepts.len(),
        reasons,
        unsafe_accepts[0]
    );
    assert!(
        both_accept > 100,
        "the generator no longer produces accepted programs"
    );
}

/// Every context access of the socket program types modelled from their `is_valid_access`
/// (sock_ops, sk_reuseport, flow_dissector, raw_tracepoint_writable, sk_lookup): a load and
/// a store of each size at each offset around the context, through both verifiers. Ours must
/// never accept what the kernel rejects, and must accept what it accepts unless it refuses
/// the field as outside its model (a pointer it does not follow).
#[test]
fn socket_type_context_accesses_agree_with_the_host_kernel() {
    // (type, section, context size, return value)
    let types: [(u32, Option<&str>, i16, i32); 5] = [
        (13, None, 224, 1),
        (21, None, 56, 0),
        (22, None, 192, 0),
        (24, None, 96, 0),
        (30, Some("sk_lookup"), 72, 1),
    ];
    let mut unsafe_accepts = Vec::new();
    let mut rejected = Vec::new();
    let mut compared = 0;
    for (prog_type, section, size, ret) in types {
        for off in -8..size + 8 {
            for (w, width) in ["u8", "u16", "u32", "u64"].iter().enumerate() {
                if off.rem_euclid(1 << w) != 0 {
                    continue;
                }
                for store in [false, true] {
                    let access = if store {
                        format!("r2 = 0\n*({width} *)(r1 {off:+}) = r2")
                    } else {
                        format!("r2 = *({width} *)(r1 {off:+})")
                    };
                    let src = format!("{access}\nr0 = {ret}\nexit\n");
                    let name = format!("type {prog_type}: {}", access.replace('\n', "; "));
                    let c = Case {
                        insns: bpf_insn::assemble(&src).unwrap_or_else(|e| panic!("{src}: {e}")),
                        name: name.clone(),
                        prog_type,
                        maps: Vec::new(),
                        map_extra: Vec::new(),
                        expect_accept: false,
                        section: section.map(str::to_string),
                    };
                    let k = match kernel(&c) {
                        Kernel::Unavailable(why) => {
                            skip(Requirement::Bpf, &format!("host bpf() unavailable: {why}"));
                            return;
                        }
                        k => matches!(k, Kernel::Accept),
                    };
                    compared += 1;
                    match ours(&c) {
                        Ok(()) if !k => unsafe_accepts.push(name),
                        Err(r) if k && r.class != bpf_verifier::Class::Unsupported => {
                            rejected.push(format!("{name}: {}", r.msg))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    eprintln!("{compared} context accesses compared");
    assert!(
        unsafe_accepts.is_empty(),
        "accepted although the kernel rejects:\n{}",
        unsafe_accepts.join("\n")
    );
    assert!(
        rejected.is_empty(),
        "rejected although the kernel accepts:\n{}",
        rejected.join("\n")
    );
}
