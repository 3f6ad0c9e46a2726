//! Kernel types in the language against a small hand-made BTF (no kernel needed): casts,
//! member chains through anonymous unions, bitfields, char arrays, enum constants,
//! `sizeof`/`offsetof`, script-defined structs, kfunc arguments, and the diagnostics for
//! members that do not exist.

use btf::{Btf, Enumerator, Kind, Member, Param};
use std::sync::Arc;
use tracelang::sema::{analyse, Env, Options};
use tracelang::types::TpField;
use tracelang::{codegen, parser, SampleEnv};

/// SampleEnv's system with this BTF:
/// `struct task { int pid; struct task *parent; char comm[16]; unsigned int a:1, b:3;
///  union { int x; long y; }; }` (size 40), `enum e { E_SEVEN = 7 }`,
/// `long f(struct task *t, int n)`.
struct TypedEnv(Arc<Btf>);

fn btf() -> Btf {
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
    let uint = b.push(
        "unsigned int",
        Kind::Int {
            size: 4,
            signed: false,
            char: false,
            bool: false,
            bit_offset: 0,
            bits: 32,
        },
    );
    let long = b.push(
        "long int",
        Kind::Int {
            size: 8,
            signed: true,
            char: false,
            bool: false,
            bit_offset: 0,
            bits: 64,
        },
    );
    let ch = b.push(
        "char",
        Kind::Int {
            size: 1,
            signed: true,
            char: true,
            bool: false,
            bit_offset: 0,
            bits: 8,
        },
    );
    let comm = b.push(
        "",
        Kind::Array {
            elem: ch,
            index: int,
            len: 16,
        },
    );
    let (x, y) = (b.add_str("x"), b.add_str("y"));
    let anon = b.push(
        "",
        Kind::Union {
            size: 8,
            members: vec![
                Member {
                    name_off: x,
                    type_id: int,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                Member {
                    name_off: y,
                    type_id: long,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
            ],
        },
    );
    // `struct task` refers to a pointer to itself: the pointer is the next id.
    let task_id = b.len() as u32;
    let ptr = task_id + 1;
    let names: Vec<u32> = ["pid", "parent", "comm", "a", "b"]
        .iter()
        .map(|n| b.add_str(n))
        .collect();
    let m = |name_off, type_id, bit_offset, bitfield_size| Member {
        name_off,
        type_id,
        bit_offset,
        bitfield_size,
    };
    b.push(
        "task",
        Kind::Struct {
            size: 40,
            members: vec![
                m(names[0], int, 0, 0),
                m(names[1], ptr, 64, 0),
                m(names[2], comm, 128, 0),
                m(names[3], uint, 256, 1),
                m(names[4], uint, 257, 3),
                m(0, anon, 320, 0),
            ],
        },
    );
    assert_eq!(b.push("", Kind::Ptr(task_id)), ptr);
    let seven = b.add_str("E_SEVEN");
    b.push(
        "e",
        Kind::Enum {
            size: 4,
            signed: false,
            wide: false,
            values: vec![Enumerator {
                name_off: seven,
                value: 7,
            }],
        },
    );
    let (t, n) = (b.add_str("t"), b.add_str("n"));
    let proto = b.push(
        "",
        Kind::FuncProto {
            ret: long,
            params: vec![
                Param {
                    name_off: t,
                    type_id: ptr,
                },
                Param {
                    name_off: n,
                    type_id: int,
                },
            ],
        },
    );
    b.push("f", Kind::Func { proto, linkage: 1 });
    b
}

impl Env for TypedEnv {
    fn tracepoints(&self, c: &str, n: &str) -> Result<Vec<(String, String)>, String> {
        SampleEnv.tracepoints(c, n)
    }
    fn tracepoint_format(&self, c: &str, n: &str) -> Result<Vec<TpField>, String> {
        SampleEnv.tracepoint_format(c, n)
    }
    fn kprobes_available(&self) -> bool {
        false
    }
    fn uprobe_target(&self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn btf(&self) -> Result<Arc<Btf>, String> {
        Ok(self.0.clone())
    }
}

/// Compiles `src`; Ok(listing of the first program) or Err(rendered diagnostics).
fn compile(src: &str) -> Result<String, String> {
    let env = TypedEnv(Arc::new(btf()));
    let prog = parser::parse(src).map_err(|d| d.render("t.bt", src))?;
    let a = analyse(
        &prog,
        &env,
        &Options {
            positional: &[],
            unsafe_ok: false,
            dry_run: true,
        },
    )
    .map_err(|d| d.render("t.bt", src))?;
    let c = codegen::compile(&prog, &a, &codegen::Options::default())
        .map_err(|d| d.render("t.bt", src))?;
    Ok(bpf_insn::disassemble(&c.progs[0].insns))
}

#[test]
fn member_chains_read_through_probe_read_kernel() {
    let l = compile("BEGIN { $t = (struct task *)curtask; printf(\"%d\\n\", $t->parent->pid); }")
        .unwrap();
    // parent at byte 8, then pid at 0: two reads with bpf_probe_read_kernel.
    assert_eq!(l.matches("call 113").count(), 2, "{l}");
    assert!(l.contains("+= 8"), "{l}");
}

#[test]
fn anonymous_unions_bitfields_and_char_arrays() {
    let l = compile(
        "BEGIN { $t = (struct task *)0; printf(\"%d %d %s\\n\", $t->y, $t->b, $t->comm); }",
    )
    .unwrap();
    // y is in the anonymous union at byte 40; b is bits 1..4 of byte 32.
    assert!(l.contains("+= 40"), "{l}");
    assert!(l.contains("+= 32"), "{l}");
    assert!(l.contains("<<= 60") && l.contains(">>= 61"), "{l}");
    // comm: 16 bytes read whole.
    assert!(l.contains("+= 16"), "{l}");
}

#[test]
fn constants_sizeof_offsetof_and_defines() {
    let l = compile(
        "#define TWICE 14\nBEGIN { printf(\"%d %d %d %d %d\\n\", E_SEVEN, TWICE, sizeof(struct task), offsetof(struct task, comm), sizeof(int)); }",
    )
    .unwrap();
    for v in ["= 7", "= 14", "= 40", "= 16", "= 4"] {
        assert!(l.contains(v), "{v} missing:\n{l}");
    }
}

#[test]
fn script_structs_are_laid_out_like_c() {
    let l = compile(
        "struct s { char c; long v; struct task t; int tail[3]; };\n\
         BEGIN { $p = (struct s *)0; printf(\"%d %d %d\\n\", $p->v, $p->t.pid, sizeof(struct s)); }",
    )
    .unwrap();
    // v aligned to 8; t at 16; 16 + 40 + 12 = 68, rounded to 72.
    assert!(l.contains("+= 8"), "{l}");
    assert!(l.contains("+= 16"), "{l}");
    assert!(l.contains("= 72"), "{l}");
    // Skipped: a definition for kernels without BTF.
    compile("#ifndef BPFTRACE_HAVE_BTF\nstruct task { int nope; };\n#endif\nBEGIN { printf(\"%d\\n\", ((struct task *)0)->pid); }")
        .unwrap();
}

#[test]
fn kfunc_arguments_and_retval_are_typed_from_the_prototype() {
    let l = compile("kfunc:f { printf(\"%d %d\\n\", args->n, args->t->pid); }").unwrap();
    assert!(l.contains("+ 8)"), "{l}");
    let l = compile("kretfunc:f { @ = hist(retval); }").unwrap();
    assert!(l.contains("+ 16)"), "{l}");
    let e = compile("kfunc:f { printf(\"%d\\n\", args->m); }").unwrap_err();
    assert!(
        e.contains("unknown field `m` in the args of kfunc:f"),
        "{e}"
    );
    assert!(e.contains("fields: t, n"), "{e}");
}

#[test]
fn missing_members_are_reported_at_the_member_with_the_real_ones() {
    let src = "BEGIN { $t = (struct task *)curtask; printf(\"%d\\n\", $t->nosuch); }";
    let e = compile(src).unwrap_err();
    assert!(e.contains("struct task has no field named `nosuch`"), "{e}");
    assert!(e.contains("t.bt:1:57"), "{e}");
    assert!(e.contains("fields: pid, parent, comm, a, b, x, y"), "{e}");
    let e = compile("BEGIN { printf(\"%d\\n\", ((struct nothere *)0)->x); }").unwrap_err();
    assert!(e.contains("unknown type `struct nothere`"), "{e}");
}

#[test]
fn scripts_without_types_never_ask_for_btf() {
    struct NoBtf;
    impl Env for NoBtf {
        fn tracepoints(&self, c: &str, n: &str) -> Result<Vec<(String, String)>, String> {
            SampleEnv.tracepoints(c, n)
        }
        fn tracepoint_format(&self, c: &str, n: &str) -> Result<Vec<TpField>, String> {
            SampleEnv.tracepoint_format(c, n)
        }
        fn kprobes_available(&self) -> bool {
            false
        }
        fn uprobe_target(&self, _: &str, _: &str) -> Result<(), String> {
            Ok(())
        }
        fn btf(&self) -> Result<Arc<Btf>, String> {
            panic!("BTF asked for")
        }
    }
    let src = "tracepoint:syscalls:sys_enter_read { @[comm] = sum(args->count); }";
    let prog = parser::parse(src).unwrap();
    analyse(
        &prog,
        &NoBtf,
        &Options {
            positional: &[],
            unsafe_ok: false,
            dry_run: false,
        },
    )
    .unwrap();
}
