//! Mutated clang objects that once made the loader panic (a call or function reference past
//! the end of its section): each now parses to a value or an error naming the place.

use bpf_insn::object::Object;

#[test]
fn mutated_objects_are_errors_not_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/objects");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap();
        if let Err(e) = Object::parse(&data) {
            assert!(!e.to_string().is_empty(), "{}", p.display());
        }
        n += 1;
    }
    assert!(n >= 2);
}
