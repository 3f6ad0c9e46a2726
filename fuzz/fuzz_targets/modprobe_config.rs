//! The modprobe.d parser and the kernel command line parser on arbitrary bytes: bad lines
//! become messages naming file and line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut cfg = moddb::Config::default();
    let mut msgs = Vec::new();
    cfg.parse("fuzz.conf", data, &mut msgs);
    cfg.parse_kcmdline(data, &mut msgs);
    for (sd, _) in &cfg.softdeps {
        let _ = sd.plain();
    }
    for m in &msgs {
        assert!(m.ends_with('\n'));
    }
});
