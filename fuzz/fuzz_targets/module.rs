//! Any bytes through the whole module reader: parse (with decompression), every accessor,
//! the signature trailer and the PKCS#7 fields modinfo prints. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = modfile::Module::parse(data) {
        let _ = m.modinfo().len();
        let _ = m.name();
        let _ = m.versions();
        let _ = m.exported_symbols();
        let _ = m.dependency_symbols();
        let elf = m.elf();
        for s in elf.sections() {
            let _ = elf.section_name(&s);
        }
        if let Ok(Some(sig)) = m.signature() {
            let _ = sig.info();
        }
    }
    if let Ok(Some(sig)) = modfile::ModuleSignature::find(data) {
        let _ = sig.info();
    }
});
