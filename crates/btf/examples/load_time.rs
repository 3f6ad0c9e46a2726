//! How long the kernel's BTF takes to read, in the steps a tracing script pays for:
//! `cargo run --release -p btf --example load_time [FILE]` (default /sys/kernel/btf/vmlinux).

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/sys/kernel/btf/vmlinux".into());
    let t = Instant::now();
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let read = t.elapsed();
    let t = Instant::now();
    let b = match btf::Btf::parse(&data) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let parse = t.elapsed();
    let t = Instant::now();
    let task = b.struct_named("task_struct");
    let index = t.elapsed();
    let t = Instant::now();
    let hash = b.enum_value("BPF_MAP_TYPE_HASH");
    let scan = t.elapsed();
    println!(
        "{path}: {} bytes, {} types; read {read:?}, parse {parse:?}, first struct lookup {index:?}, \
         one enum constant {scan:?} (task_struct {task:?}, BPF_MAP_TYPE_HASH {hash:?})",
        data.len(),
        b.len()
    );
}
