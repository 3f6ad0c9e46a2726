//! A short, deterministic run of the fuzz target's body (`tracelang::fuzz_one`, also
//! fuzz/fuzz_targets/trace.rs) on mutations of real scripts: byte flips, token insertions,
//! splices, truncations, repeats. The long runs belong to the fuzzers; this catches a panic
//! in every `cargo test`. Inputs that once crashed are kept in `REGRESSIONS`.

const SEEDS: &[&str] = &[
    "tracepoint:syscalls:sys_enter_read /args->count > 10/ { @[comm] = count(); @b[pid, args->fd] = sum(args->count); }",
    "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); @l = lhist(args->count, 0, 100, 10); }",
    "BEGIN { $i = 0; while ($i < 10) { $i++; if ($i == 5) { continue; } else if ($i > 8) { break; } } printf(\"%d %s\\n\", $i, comm); exit(); }",
    "tracepoint:syscalls:sys_enter_read { @s[str(args->buf, 16)] = count(); printf(\"%-10s %5d\\n\", str(args->buf), tid); }",
    "tracepoint:syscalls:sys_enter_read /comm == \"bash\" && strncmp(comm, \"ba\", 2) == 0/ { @k[kstack(3)] = count(); @u[ustack] = count(); }",
    "interval:s:1 { @x = count(); print(@x); clear(@x); time(\"%H\\n\"); } END { @y = (uint32)(1 << 3) ? $1 : $#; printf(\"%s\\n\", str($2)); }",
    "uprobe:/bin/bash:readline { @start[tid] = nsecs; } uretprobe:/bin/bash:readline /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }",
    "config = { max_map_keys = 8; print_maps_on_exit = 0 } BEGIN { let $x: uint8 = (uint8)1; let $y; @m[1, \"a\"] = $x; $t = (1, \"s\"); @h[$t.1] = has_key(@m, (1, \"a\")); printf(\"%d\\n\", $t.0); for ($kv : @m) { @c[$kv.0.1] = $kv.1 + $x; } }",
    "BEGIN { unroll(3) { @c = count(); } @t[1, \"a\"] = (1, \"b\"); $x = ksym(0); @m = max(-1); @n = avg(2); @z = stats(3); zero(@z); }",
];

const TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "/",
    "*",
    "->",
    ".",
    ",",
    ";",
    ":",
    "?",
    "\"",
    "\\",
    "$1",
    "$#",
    "@",
    "@x",
    "$x",
    "unroll(100)",
    "for ($kv : @m) { $kv.0; }",
    "let $v: uint8",
    "config = { a = 1 }",
    "has_key(@x, 1)",
    "while",
    "if",
    "else",
    "(uint8)",
    "str(",
    "hist(",
    "lhist(",
    "printf(\"%",
    "%s",
    "%d",
    "%999d",
    "0x",
    "1e9",
    "99999999999999999999",
    "-",
    "++",
    "<<=",
    "BEGIN",
    "END",
    "kprobe:",
    "tracepoint:",
    "uprobe:",
    "args",
    "#include",
    "/*",
    "//",
    "\n",
    "é",
    "\u{0}",
    "kstack(",
    "ustack(",
    "exit()",
    "break",
    "continue",
];

/// xorshift64*: enough randomness for mutations, and the same inputs every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            2 => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let from = rng.below(other.len());
                v.splice(at..at, other[from..].iter().copied());
            }
            4 => v.truncate(at),
            _ => {
                let end = (at + 1 + rng.below(8)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                for _ in 0..rng.below(64) {
                    v.splice(at..at, piece.iter().copied());
                }
            }
        }
    }
    v
}

/// Inputs that crashed an earlier version.
const REGRESSIONS: &[&[u8]] = &[
    // An unknown escape followed by a multi-byte character: the diagnostic's span used to
    // end inside the character.
    b"BEGIN { printf(\"\\\xc3\xa9\"); }",
    // A printf width past usize.
    b"BEGIN { printf(\"%99999999999999999999999d\", 1); }",
];

#[test]
fn mutated_scripts_never_panic() {
    // The target runs on a main thread (8 MiB) under the fuzzers; so does this.
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            for r in REGRESSIONS {
                tracelang::fuzz_one(r);
            }
            for s in SEEDS {
                assert!(
                    tracelang::fuzz_one(s.as_bytes()),
                    "seed does not compile: {s}"
                );
            }
            // TRACELANG_SMOKE_ITERS=N runs longer (e.g. with --release).
            let iters = std::env::var("TRACELANG_SMOKE_ITERS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(4000);
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            for _ in 0..iters {
                let seed = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let input = mutate(&mut rng, seed);
                tracelang::fuzz_one(&input);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
