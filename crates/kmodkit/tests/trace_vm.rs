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

/// What a guest gets besides the image: modules (`--with`), scripts written to `/NAME`,
/// host files or directories added at a path (`--add HOST:GUEST`), and a time limit.
#[derive(Default)]
struct Guest<'a> {
    with: &'a [&'a str],
    scripts: &'a [(&'a str, &'a str)],
    adds: Vec<String>,
    timeout: Option<u32>,
}

/// Boots `image` as `guest` says, runs `script` in the guest and returns its stdout and
/// stderr.
fn boot(image: &std::path::Path, guest: Guest, script: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(kmodkit());
    cmd.arg("vm")
        .arg("--kernel")
        .arg(image)
        .args(["--timeout", &guest.timeout.unwrap_or(240).to_string()]);
    for m in guest.with {
        cmd.args(["--with", m]);
    }
    for (name, text) in guest.scripts {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        cmd.arg("--add").arg(format!("{}:/{name}", path.display()));
    }
    for a in &guest.adds {
        cmd.arg("--add").arg(a);
    }
    let out = cmd.arg("--").arg(script).output().unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "vm failed on {}:\n{t}",
        image.display()
    );
    t
}

/// A section of an entry probe counting `@opens` and `@dfd[...]` and an exit probe counting
/// `@fd[...]` around cat's one open: all from AT_FDCWD, fd 3 among the results, and every
/// entry with its exit.
fn check_opens(t: &str, name: &str, attaching: &str) {
    let s = section(t, name);
    assert_eq!(s.first(), Some(&attaching), "{t}");
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
    assert_eq!(fd_total, opens, "every entry has its exit:\n{t}");
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
    let t = boot(
        &k.image(),
        Guest {
            scripts: &[(
                "open.bt",
                "kprobe:do_sys_openat2 /pid == cpid/ { @opens = count(); @dfd[(int32)arg0] = count(); }\n\
                 kretprobe:do_sys_openat2 /pid == cpid/ { @fd[(int64)retval] = count(); }\n",
            )],
            ..Guest::default()
        },
        "echo '=== kprobe'; kmodkit trace -c 'cat /proc/version' /open.bt; echo \"rc=$?\"\n\
         echo '=== list'; kmodkit trace -l 'kprobe:do_sys_open*'\n\
         echo '=== end'",
    );
    // kprobe + kretprobe: every open of cat's returned, from AT_FDCWD, the one file is fd 3.
    check_opens(&t, "kprobe", "Attaching 2 probes...");

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
    let t = boot(
        &k.image(),
        Guest {
            with: &["loop"],
            scripts: &[
            (
                "kfunc.bt",
                "kfunc:do_sys_openat2 /pid == cpid/ { @opens = count(); @dfd[args->dfd] = count(); }\n\
                 kretfunc:do_sys_openat2 /pid == cpid/ { @fd[retval] = count(); }\n",
            ),
            (
                "path.bt",
                "kfunc:security_inode_getattr /pid == cpid/ { @[path(args->path)] = count(); }\n",
            ),
            (
                "mod.bt",
                "kprobe:loop:lo_ioctl /pid == cpid/ { @[probe, func] = count(); }\n",
            ),
            ],
            ..Guest::default()
        },
        "echo '=== kfunc'; kmodkit trace -c 'cat /proc/version' /kfunc.bt; echo \"rc=$?\"\n\
         echo '=== path'; kmodkit trace -c 'stat /proc/version' /path.bt; echo \"rc=$?\"\n\
         modprobe loop\n\
         echo '=== module'; kmodkit trace -c 'losetup /dev/loop0' /mod.bt; echo \"rc=$?\"\n\
         echo '=== end'",
    );
    check_opens(&t, "kfunc", "Attaching 2 probes...");

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

/// bpftrace's shipped kprobe tools (`/usr/sbin/*.bt` of Debian's bpftrace package), run with
/// `kmodkit trace --tool NAME -c WORKLOAD` in Debian's 6.12 kernel, in one boot; each prints
/// its header and rows that name its workload:
/// - capable: `mknod` asks for CAP_MKNOD;
/// - tcpconnect, tcpaccept, tcplife: busybox `nc` connects to an `nc -l` over loopback;
/// - oomkill: `tail /dev/zero` in a memory cgroup of 16 MiB is killed;
/// - vfscount (`kprobe:vfs_*`, a wildcard of some 80 functions) counts `vfs_open`;
/// - dcsnoop (`kprobe:lookup_fast, kprobe:lookup_fast.constprop.*`: the second matches
///   nothing in this kernel and adds no probe) sees `stat`'s lookup of its missing path;
/// - a wildcard that matches nothing at all is refused, naming it.
///
/// The tools `#include <sys/socket.h>` for AF_INET: the host's libc headers are added.
#[test]
fn shipped_kprobe_tools_in_the_debian_kernel_6_12() {
    let tools = [
        "capable",
        "tcpconnect",
        "tcpaccept",
        "tcplife",
        "oomkill",
        "vfscount",
        "dcsnoop",
    ];
    let headers = "/usr/include/x86_64-linux-gnu";
    if let Some(t) = tools
        .iter()
        .find(|t| !std::path::Path::new(&format!("/usr/sbin/{t}.bt")).exists())
    {
        testsupport::skip(
            testsupport::Requirement::Tool,
            &format!("/usr/sbin/{t}.bt missing (Debian's bpftrace package)"),
        );
        return;
    }
    if !std::path::Path::new(headers).join("sys/socket.h").exists() {
        testsupport::skip(
            testsupport::Requirement::Tool,
            "libc headers missing (libc6-dev)",
        );
        return;
    }
    let Some(k) = vm_kernels::kernel("6.12") else {
        return;
    };
    // The client tries again until the listener is up (a slow guest may take a while).
    let tcp = "nc -l -p 8080 >/dev/null &\n\
               for i in 1 2 3 4 5 6 7 8 9 10; do\n\
               sleep 0.5; echo hi | nc -w 1 127.0.0.1 8080 && break\n\
               done\n\
               wait\n";
    let oom = "mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup\n\
               echo +memory > /sys/fs/cgroup/cgroup.subtree_control\n\
               mkdir /sys/fs/cgroup/t && echo 16M > /sys/fs/cgroup/t/memory.max\n\
               echo $$ > /sys/fs/cgroup/t/cgroup.procs\n\
               tail /dev/zero\n";
    let adds: Vec<String> = tools
        .iter()
        .map(|t| format!("/usr/sbin/{t}.bt:/usr/sbin/{t}.bt"))
        .chain(["sys", "bits"].map(|d| format!("{headers}/{d}:{headers}/{d}")))
        .collect();
    let script = "ip link set lo up\n\
        echo '=== capable'; kmodkit trace --tool capable -c 'mknod /tmp/n c 1 3'; echo \"rc=$?\"\n\
        echo '=== tcpconnect'; kmodkit trace --tool tcpconnect -c '/bin/sh /tcp.sh'; echo \"rc=$?\"\n\
        echo '=== tcpaccept'; kmodkit trace --tool tcpaccept -c '/bin/sh /tcp.sh'; echo \"rc=$?\"\n\
        echo '=== tcplife'; kmodkit trace --tool tcplife -c '/bin/sh /tcp.sh'; echo \"rc=$?\"\n\
        echo '=== oomkill'; kmodkit trace --tool oomkill -c '/bin/sh /oom.sh'; echo \"rc=$?\"\n\
        echo '=== vfscount'; kmodkit trace --tool vfscount -c 'cat /proc/version'; echo \"rc=$?\"\n\
        echo '=== dcsnoop'; kmodkit trace --tool dcsnoop -c 'stat /no/such/file'; echo \"rc=$?\"\n\
        echo '=== nomatch'; kmodkit trace -e 'kprobe:no_such_function_* { }' 2>&1; echo \"rc=$?\"\n\
        echo '=== end'";
    let t = boot(
        &k.image(),
        Guest {
            scripts: &[("tcp.sh", tcp), ("oom.sh", oom)],
            adds,
            timeout: Some(300),
            ..Guest::default()
        },
        script,
    );

    // Each section: attached, the tool's header, a row naming the workload, exit status 0.
    let row = |name: &str, header: &str, words: &[&str]| {
        let s = section(&t, name);
        assert!(
            s.first().is_some_and(|l| l.starts_with("Attaching ")),
            "{name}:\n{t}"
        );
        assert!(
            s.iter().any(|l| l.starts_with(header)),
            "{name} header:\n{t}"
        );
        assert!(
            s.iter().any(|l| words.iter().all(|w| l.contains(w))),
            "{name}: no row with {words:?}:\n{t}"
        );
        assert!(s.contains(&"rc=0"), "{name}:\n{t}");
    };
    row(
        "capable",
        "TIME      UID    PID    COMM",
        &[" mknod ", "27", "CAP_MKNOD"],
    );
    row(
        "tcpconnect",
        "TIME     PID      COMM",
        &[" nc ", "127.0.0.1", " 8080 "],
    );
    row(
        "tcpaccept",
        "TIME     PID    COMM",
        &[" nc ", "127.0.0.1", " 8080 "],
    );
    row("tcplife", "PID   COMM", &[" nc ", "127.0.0.1", " 8080 "]);
    row(
        "oomkill",
        "Tracing oom_kill_process()",
        &["OOM kill of PID", "(\"tail\")"],
    );
    let s = section(&t, "vfscount");
    let probes: u32 = s
        .first()
        .and_then(|l| {
            l.strip_prefix("Attaching ")?
                .strip_suffix(" probes...")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(probes > 10, "vfs_* expands to many functions:\n{t}");
    assert!(
        map_value(&s, "@[vfs_open]: ").is_some_and(|n| n >= 1),
        "{t}"
    );
    assert!(s.contains(&"rc=0"), "{t}");
    row(
        "dcsnoop",
        "TIME     PID    COMM",
        &[" stat ", " R ", "no/such/file"],
    );
    let s = section(&t, "nomatch");
    assert!(
        s.iter()
            .any(|l| l.contains("no function matches `kprobe:no_such_function_*`")),
        "{t}"
    );
    assert!(s.contains(&"rc=1"), "{t}");
}
