//! BTF-typed program types (fentry/fexit/fmod_ret, LSM) and netfilter: the attach target
//! from a small BTF written here (the kernel's prototypes of a few functions), the
//! context's arguments and the return values each type may give.

use bpf_verifier::{verify, verify_with_btf, Attach, AttachArg, Class, Input, Options, Rejection};
use btf::{Btf, Kind, Member, Param};

const TRACING: u32 = 26;
const LSM: u32 = 29;
const NETFILTER: u32 = 32;
const SYSCALL: u32 = 31;

/// `int bpf_fentry_test1(int)`, `int bpf_modify_return_test(int, int *)`,
/// `int dentry_open(struct file *)`, and the LSM hooks `bpf_lsm_file_alloc_security`
/// (int), `bpf_lsm_file_free_security` (void), `bpf_lsm_audit_rule_known` (bool hook),
/// `bpf_lsm_getprocattr` (disabled), `migrate_disable` (denied).
fn kernel_btf() -> Btf {
    let mut b = Btf::empty();
    let int = b.push(
        "int",
        Kind::Int {
            size: 4,
            signed: true,
            char: false,
            bool: false,
            bit_offset: 0,
            bits: 32,
        },
    );
    let int_ptr = b.push("", Kind::Ptr(int));
    // struct file { int f_flags; struct file *next; }: the pointer type comes first and
    // names the struct pushed right after it.
    let file_ptr = b.push("", Kind::Ptr(b.len() as u32 + 1));
    let f_flags = b.add_str("f_flags");
    let next = b.add_str("next");
    let file = b.push(
        "file",
        Kind::Struct {
            size: 16,
            members: vec![
                Member {
                    name_off: f_flags,
                    type_id: int,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                Member {
                    name_off: next,
                    type_id: file_ptr,
                    bit_offset: 64,
                    bitfield_size: 0,
                },
            ],
        },
    );
    assert_eq!(b.get(file_ptr).map(|t| &t.kind), Some(&Kind::Ptr(file)));
    let param = |t| Param {
        name_off: 0,
        type_id: t,
    };
    let func = |b: &mut Btf, name: &str, ret: u32, args: &[u32]| {
        let proto = b.push(
            "",
            Kind::FuncProto {
                ret,
                params: args.iter().map(|&t| param(t)).collect(),
            },
        );
        b.push(name, Kind::Func { proto, linkage: 1 });
    };
    func(&mut b, "bpf_fentry_test1", int, &[int]);
    func(&mut b, "bpf_modify_return_test", int, &[int, int_ptr]);
    func(&mut b, "dentry_open", int, &[file_ptr]);
    func(&mut b, "bpf_lsm_file_alloc_security", int, &[file_ptr]);
    func(&mut b, "bpf_lsm_file_free_security", 0, &[file_ptr]);
    func(&mut b, "bpf_lsm_audit_rule_known", int, &[file_ptr]);
    func(&mut b, "bpf_lsm_getprocattr", int, &[file_ptr]);
    func(&mut b, "bpf_lsm_file_open", int, &[file_ptr]);
    func(&mut b, "migrate_disable", 0, &[]);
    func(&mut b, "bpf_iter_task", int, &[file_ptr, file_ptr]);
    b
}

fn run(prog_type: u32, section: &str, src: &str) -> Result<(), Rejection> {
    let b = kernel_btf();
    let insns = bpf_insn::assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let mut opts = Options {
        section: Some(section.into()),
        ..Default::default()
    };
    if matches!(prog_type, TRACING | LSM) {
        match Attach::from_btf(&b, prog_type, section) {
            Ok(a) => opts.attach = Some(a),
            Err(e) => opts.attach_error = Some(e),
        }
    }
    verify(
        &Input {
            insns: &insns,
            prog_type,
            maps: &[],
        },
        &opts,
    )
    .map(|_| ())
}

/// As `run`, with the test BTF as the kernel's (BTF-typed pointers followed).
fn run_btf(prog_type: u32, section: &str, src: &str) -> Result<(), Rejection> {
    let b = kernel_btf();
    let insns = bpf_insn::assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let mut opts = Options {
        section: Some(section.into()),
        gpl: true,
        ..Default::default()
    };
    if matches!(prog_type, TRACING | LSM) {
        opts.attach = Some(Attach::from_btf(&b, prog_type, section).unwrap());
    }
    verify_with_btf(
        &Input {
            insns: &insns,
            prog_type,
            maps: &[],
        },
        &opts,
        Some(&b),
    )
    .map(|_| ())
}

fn rejects_btf(prog_type: u32, section: &str, src: &str, class: Class, msg: &str) {
    match run_btf(prog_type, section, src) {
        Ok(()) => panic!("{section}: accepted\n{src}"),
        Err(r) => {
            assert_eq!(r.class, class, "{section}: {}", r.msg);
            assert!(r.msg.contains(msg), "{section}: {:?} lacks {msg:?}", r.msg);
        }
    }
}

/// With the kernel's BTF, a pointer argument is a PTR_TO_BTF_ID: its struct is read
/// through the BTF (check_ptr_to_btf_access, btf_struct_walk), never written.
#[test]
fn btf_pointer_arguments_are_walked() {
    let s = "fentry/dentry_open";
    run_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit",
    )
    .unwrap();
    // A pointer field gives a pointer to its struct.
    run_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r2 + 8)\nr0 = *(u16 *)(r3 + 2)\nr0 = 0\nexit",
    )
    .unwrap();
    rejects_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 16)\nr0 = 0\nexit",
        Class::Bounds,
        "access beyond struct file at off 16 size 4",
    );
    rejects_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 8)\nr0 = 0\nexit",
        Class::Bounds,
        "cannot access ptr member next with moff 8 in struct file with off 8 size 4",
    );
    rejects_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr3 = 0\n*(u32 *)(r2 + 0) = r3\nr0 = 0\nexit",
        Class::Pointer,
        "only read is supported",
    );
    rejects_btf(
        TRACING,
        s,
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 - 4)\nr0 = 0\nexit",
        Class::Bounds,
        "R2 is ptr_file invalid negative access: off=-4",
    );
    // iter/task: the task argument (ctx_arg_info) may be NULL.
    rejects_btf(
        TRACING,
        "iter/task",
        "r2 = *(u64 *)(r1 + 8)\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit",
        Class::Null,
        "may be NULL",
    );
    run_btf(
        TRACING,
        "iter/task",
        "r2 = *(u64 *)(r1 + 8)\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit",
    )
    .unwrap();
}

fn rejects(prog_type: u32, section: &str, src: &str, class: Class, msg: &str) {
    match run(prog_type, section, src) {
        Ok(()) => panic!("{section}: accepted\n{src}"),
        Err(r) => {
            assert_eq!(r.class, class, "{section}: {}", r.msg);
            assert!(r.msg.contains(msg), "{section}: {:?} lacks {msg:?}", r.msg);
        }
    }
}

#[test]
fn attach_targets_from_btf() {
    let b = kernel_btf();
    let a = Attach::from_btf(&b, TRACING, "?fentry/bpf_modify_return_test").unwrap();
    assert_eq!(a.args, [AttachArg::Scalar, AttachArg::IntPtr]);
    assert_eq!(a.ret, AttachArg::Scalar);
    let a = Attach::from_btf(&b, LSM, "lsm/file_free_security").unwrap();
    assert_eq!(
        (a.args.as_slice(), a.ret),
        (&[AttachArg::Ptr][..], AttachArg::Void)
    );
    assert!(
        Attach::from_btf(&b, LSM, "lsm/audit_rule_known")
            .unwrap()
            .bool_hook
    );
    for (t, sec, why) in [
        (TRACING, "fentry/no_such_function", "no function"),
        (LSM, "lsm/getprocattr", "points to disabled hook"),
        (TRACING, "fentry/migrate_disable", "is rejected"),
        // A sleepable LSM program only on a sleepable hook (sleepable_lsm_hooks);
        // fmod_ret on functions not known to allow error injection is outside the model.
        (LSM, "lsm.s/file_alloc_security", "is not sleepable"),
        (TRACING, "fentry.s/dentry_open", "error injection"),
        (TRACING, "tp_btf.s/sys_enter", "can be sleepable"),
        (TRACING, "fmod_ret/dentry_open", "error injection"),
        (TRACING, "lsm/file_alloc_security", "not modelled"),
    ] {
        let e = Attach::from_btf(&b, t, sec).unwrap_err();
        assert!(e.contains(why), "{sec}: {e}");
    }
}

#[test]
fn tracing_context_and_return_values() {
    // Scalar arguments at any size, an int pointer as a whole u64 (btf_ctx_access).
    run(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r2 = *(u32 *)(r1 + 0)\nr0 = 0\nexit",
    )
    .unwrap();
    run(
        TRACING,
        "fentry/bpf_modify_return_test",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
    )
    .unwrap();
    rejects(
        TRACING,
        "fentry/bpf_modify_return_test",
        "r2 = *(u32 *)(r1 + 8)\nr0 = 0\nexit",
        Class::Bounds,
        "size 4 must be 8",
    );
    // No second argument; fexit reads the return value after the last one.
    rejects(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
        Class::Bounds,
        "doesn't have 2-th argument",
    );
    run(
        TRACING,
        "fexit/bpf_fentry_test1",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
    )
    .unwrap();
    rejects(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r2 = *(u64 *)(r1 + 4)\nr0 = 0\nexit",
        Class::Bounds,
        "invalid bpf_context access",
    );
    rejects(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r2 = 0\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
        Class::Bounds,
        "read-only",
    );
    // A pointer to a kernel struct is not followed.
    rejects(
        TRACING,
        "fentry/dentry_open",
        "r2 = *(u64 *)(r1 + 0)\nr0 = 0\nexit",
        Class::Unsupported,
        "PTR_TO_BTF_ID",
    );
    // fentry and fexit return 0; fmod_ret anything.
    rejects(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r0 = 1\nexit",
        Class::Return,
        "R0 has smin=1 smax=1 should have been in [0, 0]",
    );
    run(TRACING, "fmod_ret/bpf_modify_return_test", "r0 = -22\nexit").unwrap();
    // Without the kernel's BTF there is no target.
    let insns = bpf_insn::assemble("r0 = 0\nexit").unwrap();
    let r = verify(
        &Input {
            insns: &insns,
            prog_type: TRACING,
            maps: &[],
        },
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(r.class, Class::Unsupported);
}

/// Sleepable programs (`.s` sections) may call helpers that might sleep; others may not
/// (check_helper_call); they may use only some map types (check_map_prog_compatibility).
#[test]
fn sleepable_programs_may_sleep() {
    let copy = "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 148\nr0 = 0\nexit";
    assert!(
        Attach::from_btf(&kernel_btf(), LSM, "lsm.s/file_open")
            .unwrap()
            .sleepable
    );
    run(LSM, "lsm.s/file_open", copy).unwrap();
    rejects(
        LSM,
        "lsm/file_open",
        copy,
        Class::Helper,
        "helper call might sleep in a non-sleepable prog",
    );
    run(TRACING, "iter.s/task", "r0 = 0\nexit").unwrap();
    let insns = bpf_insn::assemble("r1 = map_idx(0, 0) ll\nr0 = 0\nexit").unwrap();
    let b = kernel_btf();
    let opts = Options {
        attach: Some(Attach::from_btf(&b, LSM, "lsm.s/file_open").unwrap()),
        ..Default::default()
    };
    let map = |map_type| bpf_verifier::MapInfo {
        name: "m".into(),
        map_type,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        frozen: None,
        flags: 0,
        ..Default::default()
    };
    let (hash, perf) = ([map(1)], [map(4)]);
    let input = |maps| Input {
        insns: &insns,
        prog_type: LSM,
        maps,
    };
    verify(&input(&hash), &opts).unwrap();
    // A perf event array: not for sleepable programs.
    let r = verify(&input(&perf), &opts).unwrap_err();
    assert!(
        r.msg.contains("Sleepable programs can only use"),
        "{}",
        r.msg
    );
}

#[test]
fn lsm_return_values_follow_the_hook() {
    let sec = "lsm/file_alloc_security";
    run(LSM, sec, "r0 = -4095\nexit").unwrap();
    run(LSM, sec, "r0 = 0\nexit").unwrap();
    // The range is checked on the low 32 bits (return_32bit): w0 = -4095 is 0xfffff001.
    run(LSM, sec, "w0 = -4095\nexit").unwrap();
    rejects(
        LSM,
        sec,
        "r0 = -4096\nexit",
        Class::Return,
        "R0 has smin=-4096 smax=-4096 should have been in [-4095, 0]",
    );
    rejects(
        LSM,
        sec,
        "r0 = 1\nexit",
        Class::Return,
        "should have been in [-4095, 0]",
    );
    rejects(
        LSM,
        sec,
        "r0 = r1\nexit",
        Class::Return,
        "R0 is not a known value",
    );
    run(LSM, "lsm/audit_rule_known", "r0 = 1\nexit").unwrap();
    rejects(
        LSM,
        "lsm/audit_rule_known",
        "r0 = 2\nexit",
        Class::Return,
        "should have been in [0, 1]",
    );
    run(LSM, "lsm/file_free_security", "r0 = 4096\nexit").unwrap();
    rejects(
        LSM,
        "lsm/getprocattr",
        "r0 = 0\nexit",
        Class::Cfg,
        "points to disabled hook",
    );
}

#[test]
fn netfilter_context_and_return_values() {
    run(NETFILTER, "netfilter", "r0 = 1\nexit").unwrap();
    rejects(
        NETFILTER,
        "netfilter",
        "r0 = 2\nexit",
        Class::Return,
        "R0 has smin=2 smax=2 should have been in [0, 1]",
    );
    rejects(
        NETFILTER,
        "netfilter",
        "r2 = *(u32 *)(r1 + 8)\nr0 = 1\nexit",
        Class::Bounds,
        "invalid bpf_context access",
    );
    rejects(
        NETFILTER,
        "netfilter",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 1\nexit",
        Class::Unsupported,
        "needs the kernel's BTF",
    );
}

#[test]
fn iterators_return_0_or_1() {
    run(TRACING, "iter/task", "r0 = 1\nexit").unwrap();
    rejects(
        TRACING,
        "iter/task",
        "r0 = 2\nexit",
        Class::Return,
        "should have been in [0, 1]",
    );
    rejects(
        TRACING,
        "iter/task",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
        Class::Unsupported,
        "PTR_TO_BTF_ID",
    );
}

#[test]
fn syscall_context_is_the_callers_buffer() {
    run(
        SYSCALL,
        "syscall",
        "r2 = *(u64 *)(r1 + 4096)\n*(u32 *)(r1 + 32000) = r2\nr0 = r2\nexit",
    )
    .unwrap();
    rejects(
        SYSCALL,
        "syscall",
        "r2 = *(u64 *)(r1 + 4)\nr0 = 0\nexit",
        Class::Bounds,
        "invalid bpf_context access",
    );
    rejects(
        SYSCALL,
        "syscall",
        "r2 = *(u8 *)(r1 - 1)\nr0 = 0\nexit",
        Class::Bounds,
        "invalid bpf_context access",
    );
}

#[test]
fn sign_extending_context_loads_are_refused() {
    rejects(
        TRACING,
        "fentry/bpf_fentry_test1",
        "r2 = *(s32 *)(r1 + 0)\nr0 = 0\nexit",
        Class::Unsupported,
        "sign-extending",
    );
}
