//! Tracing inside the real Debian kernels (the host kernel has no kprobes): one `kmodkit vm`
//! boot per kernel (Debian 12's 6.1 and 6.12) runs, with our binary as /bin/kmodkit,
//! - a kprobe + kretprobe script on `do_sys_openat2` around a `cat` started with `-c`
//!   (`arg0` is the directory fd, AT_FDCWD; `retval` the new fd, 3 for cat's one open);
//! - `kmodkit trace -l 'kprobe:do_sys_open*'` listing the two functions.
//!
//! `kmodkit leaks` has its own boot: tests/leaks_vm.rs.

mod vm_kernels;

use std::process::Command;
use testsupport::kmodkit;
use vm_kernels::Kernel;

/// The lines between `=== NAME` and the next `=== ` marker.
fn section<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("=== {name}");
    out.lines()
        .skip_while(|l| l.trim() != start)
        .skip(1)
        .take_while(|l| !l.starts_with("=== "))
        .collect()
}

fn map_value(lines: &[&str], prefix: &str) -> Option<u64> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
}

#[test]
fn kprobes_in_the_debian_kernel_6_1() {
    if let Some(k) = vm_kernels::kernel("6.1") {
        kprobes(&k);
    }
}

#[test]
fn kprobes_in_the_debian_kernel_6_12() {
    if let Some(k) = vm_kernels::kernel("6.12") {
        kprobes(&k);
    }
}

fn kprobes(k: &Kernel) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let kp = d.join("open.bt");
    std::fs::write(
        &kp,
        "kprobe:do_sys_openat2 /pid == cpid/ { @opens = count(); @dfd[(int32)arg0] = count(); }\n\
         kretprobe:do_sys_openat2 /pid == cpid/ { @fd[(int64)retval] = count(); }\n",
    )
    .unwrap();
    let script =
        "echo '=== kprobe'; kmodkit trace -c 'cat /proc/version' /open.bt; echo \"rc=$?\"\n\
         echo '=== list'; kmodkit trace -l 'kprobe:do_sys_open*'\n\
         echo '=== end'";
    let image = k.image();
    let out = Command::new(kmodkit())
        .arg("vm")
        .arg("--kernel")
        .arg(&image)
        .arg("--timeout")
        .arg("240")
        .arg("--add")
        .arg(format!("{}:/open.bt", kp.display()))
        .arg("--")
        .arg(script)
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "vm failed on {}:\n{t}", k.release());

    // kprobe + kretprobe: every open of cat's returned, from AT_FDCWD, the one file is fd 3.
    let k = section(&t, "kprobe");
    assert_eq!(k.first(), Some(&"Attaching 2 probes..."), "{t}");
    assert!(k.contains(&"rc=0"), "{t}");
    let opens = map_value(&k, "@opens: ").expect("@opens printed");
    assert!(opens >= 1, "{t}");
    assert_eq!(map_value(&k, "@dfd[-100]: "), Some(opens), "{t}");
    assert!(map_value(&k, "@fd[3]: ").is_some_and(|n| n >= 1), "{t}");
    let fd_total: u64 = k
        .iter()
        .filter(|l| l.starts_with("@fd["))
        .filter_map(|l| l.rsplit_once(": ")?.1.parse::<u64>().ok())
        .sum();
    assert_eq!(fd_total, opens, "every kprobe hit has its kretprobe:\n{t}");

    // -l lists kprobe-able functions (tracefs available_filter_functions).
    assert_eq!(
        section(&t, "list"),
        ["kprobe:do_sys_open", "kprobe:do_sys_openat2"],
        "{t}"
    );
}

/// kfunc/kretfunc (BPF trampolines: the host cannot attach them) and a module's function
/// as `kprobe:MODULE:FUNC`, in Debian's 6.12 kernel with the guest's own BTF, in one boot:
/// - kfunc + kretfunc on `do_sys_openat2` around a `cat` (`args->dfd` is AT_FDCWD, `retval`
///   the new fd, 3 for cat's one open; every entry has its exit);
/// - `path()` of `security_inode_getattr`'s path naming the file `stat` asks about;
/// - `kprobe:loop:lo_ioctl` after `modprobe loop`, fired by `losetup /dev/loop0` (its
///   LOOP_GET_STATUS64 ioctl), `func` naming the function.
#[test]
fn kfunc_and_module_kprobes_in_the_debian_kernel_6_12() {
    let Some(k) = vm_kernels::kernel("6.12") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let kf = d.join("kfunc.bt");
    std::fs::write(
        &kf,
        "kfunc:do_sys_openat2 /pid == cpid/ { @opens = count(); @dfd[args->dfd] = count(); }\n\
         kretfunc:do_sys_openat2 /pid == cpid/ { @fd[retval] = count(); }\n",
    )
    .unwrap();
    let kp = d.join("path.bt");
    std::fs::write(
        &kp,
        "kfunc:security_inode_getattr /pid == cpid/ { @[path(args->path)] = count(); }\n",
    )
    .unwrap();
    let km = d.join("mod.bt");
    std::fs::write(
        &km,
        "kprobe:loop:lo_ioctl /pid == cpid/ { @[probe, func] = count(); }\n",
    )
    .unwrap();
    let script =
        "echo '=== kfunc'; kmodkit trace -c 'cat /proc/version' /kfunc.bt; echo \"rc=$?\"\n\
         echo '=== path'; kmodkit trace -c 'stat /proc/version' /path.bt; echo \"rc=$?\"\n\
         modprobe loop\n\
         echo '=== module'; kmodkit trace -c 'losetup /dev/loop0' /mod.bt; echo \"rc=$?\"\n\
         echo '=== end'";
    let out = Command::new(kmodkit())
        .arg("vm")
        .arg("--kernel")
        .arg(k.image())
        .arg("--timeout")
        .arg("240")
        .args(["--with", "loop"])
        .arg("--add")
        .arg(format!("{}:/kfunc.bt", kf.display()))
        .arg("--add")
        .arg(format!("{}:/mod.bt", km.display()))
        .arg("--add")
        .arg(format!("{}:/path.bt", kp.display()))
        .arg("--")
        .arg(script)
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "vm failed on {}:\n{t}", k.release());

    let s = section(&t, "kfunc");
    assert_eq!(s.first(), Some(&"Attaching 2 probes..."), "{t}");
    assert!(s.contains(&"rc=0"), "{t}");
    let opens = map_value(&s, "@opens: ").expect("@opens printed");
    assert!(opens >= 1, "{t}");
    assert_eq!(map_value(&s, "@dfd[-100]: "), Some(opens), "{t}");
    assert!(map_value(&s, "@fd[3]: ").is_some_and(|n| n >= 1), "{t}");
    let fd_total: u64 = s
        .iter()
        .filter(|l| l.starts_with("@fd["))
        .filter_map(|l| l.rsplit_once(": ")?.1.parse::<u64>().ok())
        .sum();
    assert_eq!(fd_total, opens, "every kfunc hit has its kretfunc:\n{t}");

    // path(): bpf_d_path on the `struct path *` security_inode_getattr is given (a function the
    // kernel allows it in), for busybox stat's file.
    let s = section(&t, "path");
    assert_eq!(s.first(), Some(&"Attaching 1 probe..."), "{t}");
    assert!(s.contains(&"rc=0"), "{t}");
    assert!(
        map_value(&s, "@[/proc/version]: ").is_some_and(|n| n >= 1),
        "{t}"
    );

    let s = section(&t, "module");
    assert_eq!(s.first(), Some(&"Attaching 1 probe..."), "{t}");
    assert!(s.contains(&"rc=0"), "{t}");
    assert!(
        map_value(&s, "@[kprobe:loop:lo_ioctl, lo_ioctl]: ").is_some_and(|n| n >= 1),
        "{t}"
    );
}
