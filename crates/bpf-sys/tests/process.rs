//! The gated child of `-c`: held in a read until released, then runs its command.

use bpf_sys::GatedChild;

fn exit_code(status: i32) -> i32 {
    (status >> 8) & 0xff
}

#[test]
fn the_child_waits_at_its_gate_then_runs() {
    let mut c = GatedChild::spawn(&["/bin/sh".into(), "-c".into(), "exit 7".into()]).unwrap();
    // Held in read(): still there after a while.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(c.try_wait().unwrap(), None);
    let syscall = std::fs::read_to_string(format!("/proc/{}/syscall", c.id())).unwrap();
    assert_eq!(
        syscall.split(' ').next(),
        Some("0"),
        "not in read(): {syscall}"
    );
    c.release().unwrap();
    assert_eq!(exit_code(c.wait().unwrap()), 7);
}

#[test]
fn a_child_never_released_does_not_run_its_command() {
    let dir = std::env::temp_dir().join(format!("gated-{}", std::process::id()));
    let marker = dir.with_extension("ran");
    let mut c = GatedChild::spawn(&[
        "/bin/sh".into(),
        "-c".into(),
        format!("touch {}", marker.display()),
    ])
    .unwrap();
    assert_eq!(exit_code(c.wait().unwrap()), 127);
    assert!(!marker.exists());
}

#[test]
fn unknown_commands_fail_before_forking() {
    let e = GatedChild::spawn(&["/nonexistent/cmd".into()])
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/cmd"), "{e}");
    assert!(GatedChild::spawn(&[]).is_err());
}
