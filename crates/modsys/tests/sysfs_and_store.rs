//! modsys's own API over a recorded `/sys` tree (a directory laid out as the kernel lays out
//! `/sys/module`), and depmod's index store (safeio's staged set under a directory lock).

use moddb::live::{LiveKernel, ModuleState};
use modsys::live::{write_index_set, Kernel};
use modsys::state::{InitState, Sys};
use std::path::Path;

fn module(root: &Path, name: &str, initstate: Option<&str>, refcnt: u32, holders: &[&str]) {
    let d = root.join("sys/module").join(name);
    std::fs::create_dir_all(d.join("holders")).unwrap();
    if let Some(s) = initstate {
        std::fs::write(d.join("initstate"), format!("{s}\n")).unwrap();
        std::fs::write(d.join("refcnt"), format!("{refcnt}\n")).unwrap();
    }
    for h in holders {
        std::fs::create_dir_all(root.join("sys/module").join(h)).unwrap();
        std::os::unix::fs::symlink(format!("../../{h}"), d.join("holders").join(h)).unwrap();
    }
}

#[test]
fn sys_module_state_refcnt_holders_and_sections() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    module(root, "ext4", Some("live"), 2, &["jbd2_user"]);
    module(root, "going", Some("going"), 0, &[]);
    module(root, "printk", None, 0, &[]);
    let sections = root.join("sys/module/ext4/sections");
    std::fs::create_dir_all(&sections).unwrap();
    std::fs::write(sections.join(".init.text"), "0xffffffffc0a00000\n").unwrap();
    std::fs::write(sections.join(".text"), "0xffffffffc0900000\n").unwrap();
    std::fs::write(sections.join(".note.junk"), "not a number\n").unwrap();

    let sys = Sys::new(root);
    assert_eq!(sys.initstate("ext4"), InitState::Live);
    assert_eq!(sys.initstate("going"), InitState::Going);
    assert_eq!(sys.initstate("printk"), InitState::Builtin);
    assert_eq!(sys.initstate("absent"), InitState::NotLoaded);
    assert_eq!(sys.refcnt("ext4").unwrap(), 2);
    assert_eq!(sys.holders("ext4").unwrap(), ["jbd2_user"]);
    let mut s = sys.sections("ext4").unwrap();
    s.sort();
    assert_eq!(
        s,
        [
            (".init.text".to_string(), 0xffff_ffff_c0a0_0000),
            (".text".to_string(), 0xffff_ffff_c090_0000)
        ]
    );
    assert!(sys.sections("absent").is_err());
    let notes = root.join("sys/module/ext4/notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join(".note.gnu.build-id"), b"\x04\0\0\0id").unwrap();
    assert_eq!(
        sys.note("ext4", ".note.gnu.build-id").unwrap(),
        b"\x04\0\0\0id"
    );
    assert!(sys.note("absent", ".note.gnu.build-id").is_err());

    // The same through moddb's LiveKernel trait.
    let k = Kernel::new(Sys::new(root));
    assert_eq!(k.state("ext4"), ModuleState::Live);
    assert_eq!(k.state("printk"), ModuleState::Builtin);
    assert_eq!(k.state("absent"), ModuleState::NotLoaded);
    assert_eq!(k.refcnt("ext4"), Some(2));
    assert_eq!(k.refcnt("printk"), None);
    assert_eq!(k.holders("ext4"), ["jbd2_user"]);
    assert!(k.holders("absent").is_empty());
}

#[test]
fn install_commands_get_the_module_name_and_report_their_status() {
    assert_eq!(
        modsys::live::run_command("test \"$MODPROBE_MODULE\" = snd", "snd"),
        Ok(())
    );
    assert_eq!(modsys::live::run_command("exit 7", "snd"), Err(7));
}

#[test]
fn index_sets_replace_whole_and_leave_no_temporaries() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    std::fs::write(dir.join("modules.dep"), "old\n").unwrap();
    let files = vec![
        ("modules.dep", b"new dep\n".to_vec()),
        ("modules.dep.bin", b"new bin".to_vec()),
    ];
    write_index_set(dir, &files).unwrap();
    assert_eq!(
        std::fs::read(dir.join("modules.dep")).unwrap(),
        b"new dep\n"
    );
    assert_eq!(
        std::fs::read(dir.join("modules.dep.bin")).unwrap(),
        b"new bin"
    );
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(safeio::leftovers(dir).is_empty());

    // A directory that does not exist: an error naming it, nothing written.
    let missing = dir.join("absent");
    let e = write_index_set(&missing, &files).unwrap_err().to_string();
    assert!(e.starts_with(&missing.display().to_string()), "{e}");
}

#[test]
fn concurrent_index_sets_never_mix() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_path_buf();
    let names = [
        "modules.dep",
        "modules.alias",
        "modules.symbols",
        "modules.devname",
    ];
    let writers: Vec<_> = (0..2u8)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for round in 0..40u32 {
                    let files: Vec<(&str, Vec<u8>)> = names
                        .iter()
                        .map(|n| (*n, format!("{w}:{round}").into_bytes()))
                        .collect();
                    write_index_set(&dir, &files).unwrap();
                    // Under the lock, a set reads back whole.
                    let _l = safeio::Lock::dir(&dir).unwrap();
                    let seen: Vec<Vec<u8>> = names
                        .iter()
                        .map(|n| std::fs::read(dir.join(n)).unwrap())
                        .collect();
                    assert!(seen.windows(2).all(|p| p[0] == p[1]), "mixed set: {seen:?}");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert!(safeio::leftovers(&dir).is_empty());
}
