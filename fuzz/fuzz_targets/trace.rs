//! Any bytes as a tracing script through the whole compiler: lexer, parser, analysis
//! (against tracelang's fixed sample system) and code generation, with diagnostics
//! rendered. Nothing may panic, overflow the stack or allocate past the limits. The body is
//! `tracelang::fuzz_one`, which AFL harnesses and the smoke test call too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tracelang::fuzz_one(data);
});
