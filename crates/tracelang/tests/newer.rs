//! The language of bpftrace 0.19 to 0.23 without a kernel: the `config` block, `let`,
//! `has_key`, tuple elements and `for` loops, parsed, checked and compiled (or refused) as
//! bpftrace 0.23.2 does. The comparison with bpftrace 0.23.2 itself lives in
//! crates/kmodkit/tests/trace_newer.rs.

use tracelang::codegen::{self, Compiled};
use tracelang::sema;

mod common;

fn analyse(src: &str) -> Result<(tracelang::ast::Program, sema::Analysis), String> {
    common::analyse(src, true)
}

fn compile(src: &str) -> Result<Compiled, String> {
    common::compile(src, true)
}

fn refused(src: &str, message: &str) {
    match compile(src) {
        Ok(_) => panic!("accepted: {src}"),
        Err(e) => assert!(e.contains(message), "{src}: {e}"),
    }
}

#[test]
fn config_block_keys_and_values() {
    let c = compile(
        "config = { max_map_keys = 16; print_maps_on_exit = 0; BPFTRACE_LOG_SIZE = 5; \
         stack_mode = bpftrace; symbol_source = \"dwarf\" } \
         BEGIN { @a[1] = 1; }",
    )
    .unwrap();
    assert!(!c.print_maps_on_exit);
    let (_, a) = analyse("config = { max_map_keys = 16 } BEGIN { @a[1] = 1; }").unwrap();
    assert_eq!(a.config.max_map_keys, Some(16));
    // Without a block: bpftrace's defaults.
    assert!(compile("BEGIN { @a = 1; }").unwrap().print_maps_on_exit);
    // The last `;` is optional; an empty block is one.
    compile("config = {} BEGIN { exit(); }").unwrap();
    compile("config = { max_probes = 2; } BEGIN { exit(); }").unwrap();
    refused(
        "config = { foo = 1 } BEGIN { }",
        "Unrecognized config variable: foo",
    );
    refused(
        "config = { vmlinux = 1 } BEGIN { }",
        "vmlinux can only be set as an environment variable",
    );
    refused(
        "config = { max_strlen = \"x\" } BEGIN { }",
        "Invalid type for max_strlen. Type: string. Expected Type: int",
    );
    refused(
        "config = { max_strlen = 32 } BEGIN { }",
        "max_strlen is not supported yet",
    );
    refused(
        "config = { str_trunc_trailer = \"\" } BEGIN { }",
        "str_trunc_trailer is not supported yet",
    );
    refused(
        "config = { cpp_demangle = 2 } BEGIN { }",
        "Needs to be 0 or 1. Value: 2",
    );
    refused(
        "config = { missing_probes = \"x\" } BEGIN { }",
        "valid values are \"ignore\", \"warn\", and \"error\".",
    );
    refused(
        "config = { stack_mode = nonsense } BEGIN { }",
        "Unknown stack mode: 'nonsense'",
    );
    refused(
        "config = { max_map_keys = 1 + 1 } BEGIN { }",
        "must be literal",
    );
    refused(
        "config = { max_probes = 1 } BEGIN { } END { }",
        "more than 1 probes",
    );
    // Only before the probes.
    assert!(compile("BEGIN { } config = { max_map_keys = 1 }").is_err());
}

#[test]
fn let_declarations() {
    compile("BEGIN { let $x; $x = 1; let $y: uint16; let $s: string[8] = \"abc\"; let $b: bool; printf(\"%d %d %s %d\\n\", $x, $y, $s, $b); }").unwrap();
    compile("BEGIN { let $x: uint8 = (uint8)3; $x = (uint8)4; }").unwrap();
    refused("BEGIN { let $x: uint8; $x = 300; }", "declared uint8");
    refused("BEGIN { let $x: int64 = \"s\"; }", "type mismatch for $x");
    refused("BEGIN { let x; }", "expected a variable after `let`");
    // bpftrace 0.23's scope rules for `let`.
    refused(
        "BEGIN { let $x = 1; let $x = 2; }",
        "Variable $x was already declared. Variable shadowing is not allowed.",
    );
    refused(
        "BEGIN { $x = 1; let $x = 2; }",
        "Variable declarations need to occur before variable usage or assignment. Variable: $x",
    );
    refused(
        "BEGIN { if (1) { let $x = 1; } printf(\"%d\\n\", $x); }",
        "Undefined or undeclared variable: $x",
    );
    refused(
        "BEGIN { @m[1] = 1; for ($kv : @m) { } printf(\"%d\\n\", $kv.0); }",
        "Undefined or undeclared variable: $kv",
    );
    compile("BEGIN { if (1) { let $x = 1; } if (1) { let $x = 2; } let $x = 3; }").unwrap();
    compile("BEGIN { @m[1] = 1; for ($kv : @m) { } for ($kv : @m) { } }").unwrap();
    // Variables without `let` keep bpftrace 0.17's probe-wide scope.
    compile("BEGIN { if (1) { $y = 1; } printf(\"%d\\n\", $y); }").unwrap();
}

#[test]
fn has_key_and_tuple_keys() {
    compile("BEGIN { @m[1, \"a\"] = 1; @n[2] = 3; $a = has_key(@m, (1, \"a\")); @k[has_key(@n, 2)] = has_key(@n, 5); }").unwrap();
    compile("BEGIN { $t = (1, \"x\"); @m[$t] = 5; @m[2, \"y\"] = 6; @n[(3, \"z\")] = @m[(2, \"y\")]; delete(@m[$t]); }").unwrap();
    refused(
        "BEGIN { @m[1, \"x\"] = 5; @m[(\"y\", 2)] = 6; }",
        "type mismatch for the keys of @m",
    );
    refused(
        "BEGIN { @s = 1; $a = has_key(@s, 1); }",
        "has_key() only accepts maps that have keys",
    );
    refused(
        "BEGIN { @n[1] = 1; $a = has_key(@n[1], 1); }",
        "Not a map value expression",
    );
    refused(
        "BEGIN { @n[1] = 1; $a = has_key(@n); }",
        "has_key() requires 2 arguments (1 provided)",
    );
    refused(
        "BEGIN { @n[1] = 1; $a = has_key(@n, \"x\"); }",
        "type mismatch for the key of @n",
    );
    refused(
        "BEGIN { $a = has_key(1, 2); }",
        "has_key() expects the first argument to be a map",
    );
}

#[test]
fn tuple_elements() {
    compile("BEGIN { $t = (1, \"ab\"); printf(\"%d %s\\n\", $t.0, $t.1); @x[$t.1] = $t.0; }")
        .unwrap();
    refused(
        "BEGIN { $t = (1, 2); $a = $t.2; }",
        "invalid tuple index `2`",
    );
}

#[test]
fn for_loops() {
    // bpftrace 0.23's rules hold ...
    refused(
        "BEGIN { @m[1] = 1; for ($kv : @m) { break; } }",
        "'break' statement is not allowed in a for-loop",
    );
    refused(
        "BEGIN { @m = 1; for ($kv : @m) { } }",
        "Maps used as for-loop expressions must have keys",
    );
    refused(
        "BEGIN { $kv = 1; @m[1] = 1; for ($kv : @m) { } }",
        "Loop declaration shadows existing variable: $kv",
    );
    refused(
        "BEGIN { @m[1] = hist(1); for ($kv : @m) { } }",
        "Loop expression does not support type",
    );
    refused(
        "BEGIN { for ($kv : 1) { } }",
        "Loop expression must be a map",
    );
    refused(
        "tracepoint:syscalls:sys_enter_read { @m[1] = 1; for ($kv : @m) { @x = args.count; } }",
        "'args' builtin is not allowed in a for-loop",
    );
    // ... a loop is a callback after the main function, described to the kernel by BTF ...
    let c = compile("BEGIN { @m[1, \"a\"] = 2; $x = 1; for ($kv : @m) { printf(\"%d %s %d\\n\", $kv.0.0, $kv.0.1, $kv.1 + $x); for ($i : @m) { $x++; } } }").unwrap();
    let p = &c.progs[0];
    assert_eq!(p.funcs.len(), 2, "two callbacks");
    assert!(
        p.funcs
            .iter()
            .all(|&f| (f as usize) < p.insns.len() && p.insns[f as usize - 1].code == 0x95),
        "each function starts after an exit"
    );
    let btf = codegen::funcs_btf();
    assert_eq!(&btf[..2], &0xeb9f_u16.to_le_bytes());
    // One type per variable name in a probe (0.23 scopes each loop's variable to it).
    refused(
        "BEGIN { @n[1] = 1; @m[1, \"a\"] = 2; for ($kv : @n) { } for ($kv : @m) { } }",
        "$kv is the loop variable of another loop",
    );
    // Counts and sums are added up over the CPUs; other aggregations are refused.
    compile("BEGIN { @c[1] = count(); @s[2] = sum(3); for ($kv : @c) { @t[$kv.0] = $kv.1; } for ($e : @s) { printf(\"%d\\n\", $e.1); } }").unwrap();
    refused(
        "BEGIN { @a[1] = avg(1); for ($kv : @a) { } }",
        "for loops over avg maps are not supported yet",
    );
}

#[test]
fn fentry_and_fexit_are_kfunc_and_kretfunc() {
    // SampleEnv has no BTF: both spellings are refused alike, naming BTF.
    for p in [
        "fentry:vfs_read",
        "kfunc:vfs_read",
        "fexit:vfs_read",
        "kretfunc:vfs_read",
    ] {
        refused(&format!("{p} {{ @ = count(); }}"), "BTF is not available");
    }
}
