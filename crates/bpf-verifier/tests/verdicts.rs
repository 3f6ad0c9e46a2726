//! The verifier's own API, without the binary or a kernel: verdicts and reasons on the
//! annotated corpus (`# expect:`/`# class:` in each file, checked against the host kernel
//! by kmodkit's bpf_verifier_diff test), and the fields of `Verdict`/`Rejection` on small
//! programs written here.

use std::path::Path;

use bpf_insn::object::{prog_type_from_name, MapDef};
use bpf_verifier::{map_infos, verify, Class, Input, Kernel, MapInfo, Options, Rejection, Verdict};

const SOCKET: u32 = 1;
const XDP: u32 = 6;

fn check(src: &str, prog_type: u32, maps: &[MapInfo]) -> Result<Verdict, Rejection> {
    check_for(src, prog_type, maps, Kernel::LATEST)
}

fn check_for(
    src: &str,
    prog_type: u32,
    maps: &[MapInfo],
    kernel: Kernel,
) -> Result<Verdict, Rejection> {
    let insns = bpf_insn::assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    verify(
        &Input {
            insns: &insns,
            prog_type,
            maps,
        },
        &Options::for_kernel(kernel),
    )
}

/// A BTF with the kfuncs `names` (FUNC ids, in order) and the iterator structs, as a
/// kernel's BTF has them: `*_next` returns `int *`, the others `int`.
fn kfunc_btf(names: &[String]) -> (std::sync::Arc<btf::Btf>, Vec<u32>) {
    let mut b = btf::Btf::empty();
    let int = b.push(
        "int",
        btf::Kind::Int {
            size: 4,
            signed: true,
            char: false,
            bool: false,
            bit_offset: 0,
            bits: 32,
        },
    );
    let pint = b.push("", btf::Kind::Ptr(int));
    for (name, size) in [("bpf_iter_num", 8), ("bpf_iter_bits", 16)] {
        b.push(
            name,
            btf::Kind::Struct {
                size,
                members: Vec::new(),
            },
        );
    }
    let ids = names
        .iter()
        .map(|n| {
            let ret = if n.ends_with("_next") { pint } else { int };
            let proto = b.push(
                "",
                btf::Kind::FuncProto {
                    ret,
                    params: Vec::new(),
                },
            );
            b.push(n, btf::Kind::Func { proto, linkage: 1 })
        })
        .collect();
    (std::sync::Arc::new(b), ids)
}

fn map(name: &str, map_type: u32, key: u32, value: u32, max: u32) -> MapInfo {
    MapInfo {
        name: name.into(),
        map_type,
        key_size: key,
        value_size: value,
        max_entries: max,
        frozen: None,
        flags: 0,
        ..Default::default()
    }
}

fn class_of(name: &str) -> Option<Class> {
    Some(match name {
        "cfg" => Class::Cfg,
        "uninit" => Class::Uninit,
        "bounds" => Class::Bounds,
        "null" => Class::Null,
        "helper" => Class::Helper,
        "return" => Class::Return,
        "loop" => Class::Loop,
        "pointer" => Class::Pointer,
        "unsupported" => Class::Unsupported,
        _ => return None,
    })
}

#[test]
fn annotated_corpus_verdicts_and_classes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kmodkit/tests/data/bpf_verifier");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|e| e == "s"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} cases", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        // Programs written for the host's struct layouts need its BTF: the host
        // differential test (kmodkit's bpf_verifier_diff) judges them.
        if text.lines().any(|l| l.starts_with("# btf: host")) {
            continue;
        }
        let (mut pt, mut maps, mut accept, mut class) = (None, Vec::new(), None, None);
        let mut kfuncs = Vec::new();
        for l in text.lines() {
            if let Some(k) = l.strip_prefix("# kfunc: ") {
                kfuncs.push(k.trim().to_string());
            }
            if let Some(t) = l.strip_prefix("# type: ") {
                pt = prog_type_from_name(t.trim());
            } else if let Some(m) = l.strip_prefix("# map: ") {
                // `T K V N`, then `lock=OFF` (a struct bpf_spin_lock in the value) and
                // `inner=T,K,V,N` (a map of maps' inner map).
                let mut v: Vec<u32> = Vec::new();
                let (mut lock, mut inner, mut fields) = (None, None, Vec::new());
                for w in m.split_whitespace() {
                    if let Some(o) = w.strip_prefix("lock=") {
                        lock = Some(o.parse().unwrap());
                    } else if let Some(o) = w.strip_prefix("timer=") {
                        fields.push((o.parse().unwrap(), 16, "bpf_timer".to_string()));
                    } else if let Some(i) = w.strip_prefix("inner=") {
                        let i: Vec<u32> = i.split(',').map(|x| x.parse().unwrap()).collect();
                        inner = Some(Box::new(map("inner", i[0], i[1], i[2], i[3])));
                    } else {
                        v.push(w.parse().unwrap());
                    }
                }
                let mut mi = map(&format!("m{}", maps.len()), v[0], v[1], v[2], v[3]);
                mi.spin_lock = lock;
                mi.inner = inner;
                mi.btf_fields = fields;
                maps.push(mi);
            } else if let Some(e) = l.strip_prefix("# expect: ") {
                accept = Some(e.trim() == "accept");
            } else if let Some(c) = l.strip_prefix("# class: ") {
                class = Some(class_of(c.trim()).unwrap_or_else(|| panic!("{name}: class {c}")));
            }
        }
        let pt = pt.unwrap_or_else(|| panic!("{name}: no # type"));
        let accept = accept.unwrap_or_else(|| panic!("{name}: no # expect"));
        let verdict = if kfuncs.is_empty() {
            check(&text, pt, &maps)
        } else {
            // `call kfunc(N)`: the N-th `# kfunc:`, in a BTF that has it; a GPL program.
            let (b, ids) = kfunc_btf(&kfuncs);
            let mut insns = bpf_insn::assemble(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for i in insns.iter_mut() {
                if i.is_call() && i.src == bpf_insn::insn::pseudo::CALL_KFUNC {
                    i.imm = ids[i.imm as usize - 1] as i32;
                }
            }
            let input = Input {
                insns: &insns,
                prog_type: pt,
                maps: &maps,
            };
            verify(
                &input,
                &Options {
                    kfunc_btf: Some(b),
                    gpl: true,
                    ..Options::default()
                },
            )
        };
        match (verdict, accept) {
            (Ok(_), true) => {}
            (Err(r), false) => {
                if class.is_some_and(|c| c != r.class) {
                    wrong.push(format!(
                        "{name}: class {:?}, annotated {class:?}: {r}",
                        r.class
                    ));
                }
                if r.msg.is_empty() {
                    wrong.push(format!("{name}: rejection without a message"));
                }
            }
            (Ok(_), false) => wrong.push(format!("{name}: accepted, annotated reject")),
            (Err(r), true) => wrong.push(format!("{name}: rejected ({r}), annotated accept")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn accepted_program_statistics() {
    let v = check(
        "r1 = 0\n*(u64 *)(r10 - 16) = r1\nr0 = *(u64 *)(r10 - 16)\nexit\n",
        SOCKET,
        &[],
    )
    .unwrap();
    assert_eq!(v.insns_processed, 4);
    assert_eq!(v.max_stack_depth, 16);
    // A bounded loop is walked iteration by iteration.
    let v = check(
        "r1 = 0\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 0\nexit\n",
        SOCKET,
        &[],
    )
    .unwrap();
    assert!(v.insns_processed >= 20, "{v:?}");
}

#[test]
fn rejection_points_at_the_instruction_with_registers_and_hint() {
    let r = check("r0 = 0\nr0 = *(u64 *)(r10 - 520)\nexit\n", SOCKET, &[]).unwrap_err();
    assert_eq!((r.pc, r.class), (1, Class::Bounds), "{r}");
    assert!(r.msg.contains("stack"), "{r}");
    assert!(r.regs.contains("R10=fp"), "{}", r.regs);
    assert!(r.hint.is_some());
    assert_eq!(r.to_string(), format!("insn 1: {}", r.msg));

    let r = check("r0 = r2\nexit\n", SOCKET, &[]).unwrap_err();
    assert_eq!((r.pc, r.class), (0, Class::Uninit), "{r}");

    let r = check("exit\n", SOCKET, &[]).unwrap_err();
    assert_eq!(r.class, Class::Return, "R0 not set at exit: {r}");

    let r = check("r0 = 0\ngoto +1\nr0 = 1\nexit\n", SOCKET, &[]).unwrap_err();
    assert_eq!((r.pc, r.class), (2, Class::Cfg), "unreachable insn: {r}");

    let r = check("r0 = 0\nl:\ngoto l\n", SOCKET, &[]).unwrap_err();
    assert_eq!(r.class, Class::Loop, "{r}");
}

#[test]
fn map_lookup_needs_a_null_check() {
    let maps = [map("m", 2, 4, 8, 4)];
    let hash = [map("m", 1, 4, 8, 4)];
    let k61 = Kernel::parse("6.1").unwrap();
    let lookup =
        "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_idx(0, 0) ll\ncall 1\n";
    let unchecked = format!("{lookup}r0 = *(u64 *)(r0 + 0)\nexit\n");
    let r = check_for(&unchecked, SOCKET, &maps, k61).unwrap_err();
    assert_eq!(r.class, Class::Null, "{r}");
    // Since 6.13 an array lookup with a constant in-range key is not NULL; a hash lookup
    // still is, and so is a key out of range.
    check(&unchecked, SOCKET, &maps).unwrap();
    assert!(check_for(&unchecked, SOCKET, &maps, Kernel::new(6, 13, 0)).is_ok());
    assert!(check_for(&unchecked, SOCKET, &maps, Kernel::new(6, 12, 0)).is_err());
    let r = check(&unchecked, SOCKET, &hash).unwrap_err();
    assert_eq!(r.class, Class::Null, "{r}");
    let out_of_range = unchecked.replace("r1 = 0\n", "r1 = 4\n");
    let r = check(&out_of_range, SOCKET, &maps).unwrap_err();
    assert_eq!(r.class, Class::Null, "{r}");
    // A key that is not a known constant.
    let unknown = unchecked.replace("r1 = 0\n*(u32", "r1 = *(u32 *)(r1 + 0)\n*(u32");
    let r = check(&unknown, SOCKET, &maps).unwrap_err();
    assert_eq!(r.class, Class::Null, "{r}");
    check(
        &format!("{lookup}if r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit\n"),
        SOCKET,
        &maps,
    )
    .unwrap();
    let r = check(
        &format!("{lookup}if r0 == 0 goto out\nr0 = *(u64 *)(r0 + 4)\nout:\nr0 = 0\nexit\n"),
        SOCKET,
        &maps,
    )
    .unwrap_err();
    assert_eq!(r.class, Class::Bounds, "8-byte value, read at 4..12: {r}");
}

#[test]
fn helpers_are_checked_per_program_type() {
    // bpf_skb_store_bytes (9) is for tc, not XDP.
    let src = "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 1\nr5 = 0\n*(u64 *)(r10 - 8) = r2\ncall 9\nr0 = 0\nexit\n";
    let r = check(src, XDP, &[]).unwrap_err();
    assert_eq!(r.class, Class::Helper, "{r}");
    check(src, 3, &[]).unwrap(); // sched_cls
}

#[test]
fn frozen_rodata_gives_constants_and_is_read_only() {
    let def = MapDef {
        name: ".rodata".into(),
        map_type: 2,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: 0x80,
        data: Some(vec![4, 0, 0, 0, 0, 0, 0, 0]),
        section: ".rodata".into(),
        readonly: true,
        ..Default::default()
    };
    let infos = map_infos(std::slice::from_ref(&def));
    assert_eq!(infos[0], MapInfo::from(&def));
    assert_eq!(
        infos[0].frozen.as_deref(),
        Some(&[4u8, 0, 0, 0, 0, 0, 0, 0][..])
    );
    // r1 = the constant 4 from .rodata, so the stack access at r10-8+r1 stays in bounds
    // only because the value is known.
    let src = "r2 = map_idx_value(0, 0) ll\nr1 = *(u64 *)(r2 + 0)\nr3 = r10\nr3 += -16\nr3 += r1\nr0 = *(u32 *)(r3 + 0)\nexit\n";
    let insns = bpf_insn::assemble(src).unwrap();
    let run = |maps: &[MapInfo]| {
        verify(
            &Input {
                insns: &insns,
                prog_type: SOCKET,
                maps,
            },
            &Options::default(),
        )
    };
    run(&infos).unwrap();
    let unfrozen = [infos[0].clone().unfrozen()];
    assert!(unfrozen[0].frozen.is_none());
    let r = run(&unfrozen).unwrap_err();
    assert_eq!(r.class, Class::Bounds, "unknown offset into the stack: {r}");
    // Writes into a frozen map are refused.
    let w = bpf_insn::assemble(
        "r2 = map_idx_value(0, 0) ll\nr1 = 0\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit\n",
    )
    .unwrap();
    let r = verify(
        &Input {
            insns: &w,
            prog_type: SOCKET,
            maps: &infos,
        },
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(r.class, Class::Pointer, "{r}");
}

#[test]
fn limits_and_unsupported_types() {
    let r = check("r0 = 0\nexit\n", 9999, &[]).unwrap_err();
    assert_eq!(r.class, Class::Unsupported, "{r}");
    let insns =
        bpf_insn::assemble("r1 = 0\nloop:\nr1 += 1\nif r1 < 1000 goto loop\nr0 = 0\nexit\n")
            .unwrap();
    let input = Input {
        insns: &insns,
        prog_type: SOCKET,
        maps: &[],
    };
    verify(&input, &Options::default()).unwrap();
    let r = verify(
        &input,
        &Options {
            complexity_limit: 100,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(r.class, Class::Loop, "{r}");
    assert!(r.msg.contains("too large"), "{r}");
}

#[test]
fn rules_follow_the_target_kernel() {
    // A bounded loop: back-edges are allowed since 5.3.
    let lp = "r0 = 0\nl:\nr0 += 1\nif r0 < 10 goto l\nexit\n";
    check_for(lp, SOCKET, &[], Kernel::new(5, 3, 0)).unwrap();
    let r = check_for(lp, SOCKET, &[], Kernel::new(5, 2, 0)).unwrap_err();
    assert_eq!(r.class, Class::Cfg, "{r}");
    assert!(r.msg.contains("back-edge"), "{r}");
    // Programs of more than 4096 instructions only since 5.2.
    let big = format!("{}r0 = 0\nexit\n", "r1 = 1\n".repeat(5000));
    check_for(&big, SOCKET, &[], Kernel::new(5, 2, 0)).unwrap();
    let r = check_for(&big, SOCKET, &[], Kernel::new(5, 1, 0)).unwrap_err();
    assert!(r.msg.contains("too large"), "{r}");
    // A helper that arrived later than the target: bpf_ringbuf_output (5.8).
    let rb = [map("rb", 27, 0, 0, 4096)];
    let out = "r1 = map_idx(0, 0) ll\nr2 = r10\nr2 += -8\nr3 = 0\n*(u64 *)(r10 - 8) = r3\nr3 = 8\nr4 = 0\ncall 130\nr0 = 0\nexit\n";
    check_for(out, SOCKET, &rb, Kernel::new(5, 8, 0)).unwrap();
    let r = check_for(out, SOCKET, &rb, Kernel::new(5, 4, 0)).unwrap_err();
    assert_eq!(r.class, Class::Helper, "{r}");
    assert!(
        r.hint.as_deref().unwrap().contains("arrived in 5.8"),
        "{r:?}"
    );
    // A helper a type gets later: bpf_get_current_pid_tgid in XDP (6.10).
    let pid = "call 14\nr0 = 2\nexit\n";
    let r = check_for(pid, XDP, &[], Kernel::new(6, 9, 0)).unwrap_err();
    assert!(r.hint.as_deref().unwrap().contains("from 6.10"), "{r:?}");
    check_for(pid, XDP, &[], Kernel::new(6, 10, 0)).unwrap();
    // cpu v4 instructions from 6.6.
    let movsx = "r1 = 255\nr0 = (s8)r1\nexit\n";
    check_for(movsx, SOCKET, &[], Kernel::new(6, 6, 0)).unwrap();
    let r = check_for(movsx, SOCKET, &[], Kernel::new(6, 5, 0)).unwrap_err();
    assert!(r.msg.contains("cpu v4"), "{r}");
    // A helper the engine knows but does not model: a clear reason.
    let r = check("r1 = 0\ncall 158\nr0 = 0\nexit\n", SOCKET, &[]).unwrap_err();
    assert_eq!(r.class, Class::Unsupported, "{r}");
    assert!(r.msg.contains("bpf_get_current_task_btf"), "{r}");
}

#[test]
fn context_fields_follow_the_target_kernel() {
    // __sk_buff.hwtstamp (5.16), xdp_md.egress_ifindex (5.8).
    let hw = "r2 = *(u64 *)(r1 + 184)\nr0 = 0\nexit\n";
    let tc = 3;
    check_for(hw, tc, &[], Kernel::new(5, 16, 0)).unwrap();
    let r = check_for(hw, tc, &[], Kernel::new(5, 15, 0)).unwrap_err();
    assert!(r.msg.contains("arrived in 5.16"), "{r}");
    let eg = "r2 = *(u32 *)(r1 + 20)\nr0 = 2\nexit\n";
    check_for(eg, XDP, &[], Kernel::new(5, 8, 0)).unwrap();
    let r = check_for(eg, XDP, &[], Kernel::new(5, 7, 0)).unwrap_err();
    assert!(r.msg.contains("arrived in 5.8"), "{r}");
}

/// `bpf_loop(4, cb, &ctx, 0)` from a socket filter, `cb` being `body` (its R2 is `&ctx`, a
/// stack slot of the caller), loaded with BTF function info. The `lddw` is patched into a
/// function's address (pseudo source FUNC, pc-relative).
fn loop_with_callback(body: &str) -> Result<Verdict, Rejection> {
    loop_with_callback_info(body, true)
}

fn loop_with_callback_info(body: &str, func_info: bool) -> Result<Verdict, Rejection> {
    let src = format!(
        "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 4\nr2 = 0 ll\nr3 = r10\nr3 += -8\nr4 = 0\n\
         call 181\nr0 = 0\nexit\n{body}"
    );
    let mut insns = bpf_insn::assemble(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
    insns[3].src = bpf_insn::insn::pseudo::FUNC;
    insns[3].imm = 11 - 3 - 1;
    verify(
        &Input {
            insns: &insns,
            prog_type: SOCKET,
            maps: &[],
        },
        &Options {
            func_info,
            ..Default::default()
        },
    )
}

#[test]
fn bpf_loop_callbacks_are_verified_with_the_kernels_arguments() {
    // Without BTF function info the kernel refuses to take a function's address.
    let r = loop_with_callback_info("r0 = 0\nexit\n", false).unwrap_err();
    assert_eq!(r.msg, "missing btf func_info", "{r}");
    // The callback may use its index (R1) and write the caller's context through R2.
    let v = loop_with_callback("r1 &= 7\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit\n");
    assert!(v.is_ok(), "{v:?}");
    // bpf_loop's callbacks return 0 (go on) or 1 (stop).
    let r = loop_with_callback("r0 = 2\nexit\n").unwrap_err();
    assert_eq!(r.class, Class::Return, "{r}");
    assert!(r.msg.contains("callback"), "{r}");
    // The context is the caller's 8 bytes and no more.
    let r = loop_with_callback("r1 = *(u64 *)(r2 + 8)\nr0 = 0\nexit\n").unwrap_err();
    assert_eq!(r.class, Class::Bounds, "{r}");
    // R3-R5 are not arguments of a bpf_loop callback.
    let r = loop_with_callback("r0 = r3\nexit\n").unwrap_err();
    assert_eq!(r.class, Class::Uninit, "{r}");
    // A value the callback leaves in the context is what the caller reads on a later
    // iteration: the second call sees 0 -> 1 and may not use it as a pointer.
    let r = loop_with_callback(
        "r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nif r1 != 2 goto +1\nr0 = *(u64 *)(r1 + 0)\nr0 = 0\nexit\n",
    )
    .unwrap_err();
    assert_eq!(
        r.class,
        Class::Pointer,
        "rejected on the second iteration: {r}"
    );
}

/// A rejection explains itself: the path taken and, on it, where the faulting pointer came
/// from (the lookup), the NULL check, the value added to it through a stack spill, and the
/// branch that bounded that value too loosely.
#[test]
fn rejections_explain_where_the_values_came_from() {
    let src =
        "r6 = r1\nr1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map_idx(0, 0) ll\n\
               call 1\nif r0 == 0 goto out\nr7 = *(u32 *)(r6 + 12)\nr7 &= 63\nr9 = 5\n\
               *(u64 *)(r10 - 16) = r7\nr8 = *(u64 *)(r10 - 16)\nif r9 > 3 goto +0\n\
               if r8 > 60 goto out\nr0 += r8\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit\n";
    let r = check(src, XDP, &[map("m", 1, 4, 64, 4)]).unwrap_err();
    assert_eq!(r.pc, 17, "{r}");
    let e = r.explain.clone().expect("an explanation");
    assert_eq!(e.path, vec![(0, 17)]);
    let causes: Vec<(usize, Option<bool>)> = e.causes.iter().map(|c| (c.pc, c.branch)).collect();
    // Not: the key's setup (1-5), `r9 = 5` and the jump on r9 (11, 14).
    assert_eq!(
        causes,
        vec![
            (0, None),
            (7, None),
            (8, Some(false)),
            (9, None),
            (10, None),
            (12, None),
            (13, None),
            (15, Some(false)),
            (16, None)
        ]
    );
    // A taken branch is on the path as a jump.
    let src = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\n\
               if r4 <= r3 goto ok\nr0 = 1\nexit\nok:\nr0 = *(u32 *)(r2 + 8)\nr0 = 2\nexit\n";
    let r = check(src, XDP, &[]).unwrap_err();
    let e = r.explain.clone().expect("an explanation");
    assert_eq!(e.path, vec![(0, 4), (7, 7)], "{r}");
    let causes: Vec<(usize, Option<bool>)> = e.causes.iter().map(|c| (c.pc, c.branch)).collect();
    assert_eq!(causes, vec![(0, None), (4, Some(true))]);
}

/// Global functions: a chain of eight, each calling the next 40 times, is judged in time
/// linear in its size (each function is verified, and its effects computed, once), and a
/// NULL-able memory argument must be checked in the callee whatever the caller passes.
#[test]
fn global_functions_are_verified_once_each_from_their_prototype() {
    use bpf_verifier::{GlobalArg, GlobalFunc};
    let (levels, calls) = (8usize, 40usize);
    // Function k: `calls` calls of function k + 1 (none in the last), then r0 = 0; exit.
    let size = |k: usize| if k + 1 < levels { calls + 2 } else { 2 };
    let starts: Vec<usize> = (0..levels).map(|k| (0..k).map(size).sum()).collect();
    let mut src = String::new();
    for k in 0..levels {
        if k + 1 < levels {
            for c in 0..calls {
                let pc = starts[k] + c;
                src.push_str(&format!("call +{}\n", starts[k + 1] - pc - 1));
            }
        }
        src.push_str("r0 = 0\nexit\n");
    }
    let starts = &starts[1..];
    let insns = bpf_insn::assemble(&src).unwrap();
    let opts = Options {
        func_info: true,
        global_funcs: Some(
            starts
                .iter()
                .map(|&start| GlobalFunc {
                    start,
                    name: format!("f{start}"),
                    args: Ok(Vec::new()),
                })
                .collect(),
        ),
        ..Options::default()
    };
    let input = Input {
        insns: &insns,
        prog_type: 6,
        maps: &[],
    };
    let v = verify(&input, &opts).unwrap();
    // Every function once: 7 * 42 + 2 instructions (inline, it would be 40^7 calls).
    assert_eq!(v.insns_processed as usize, insns.len(), "{v:?}");

    // int f(int *p) { return *p; }, called with a pointer to the stack.
    let src = "r1 = r10\nr1 += -8\nr2 = 0\n*(u64 *)(r10 - 8) = r2\ncall +1\nexit\nr0 = *(u32 *)(r1 + 0)\nexit\n";
    let insns = bpf_insn::assemble(src).unwrap();
    let opts = Options {
        func_info: true,
        global_funcs: Some(vec![GlobalFunc {
            start: 6,
            name: "f".into(),
            args: Ok(vec![GlobalArg::Mem {
                size: 4,
                nullable: true,
            }]),
        }]),
        ..Options::default()
    };
    let r = verify(
        &Input {
            insns: &insns,
            ..input
        },
        &opts,
    )
    .unwrap_err();
    assert_eq!(r.pc, 6, "{r}");
    assert!(r.msg.contains("mem_or_null"), "{r}");
}
