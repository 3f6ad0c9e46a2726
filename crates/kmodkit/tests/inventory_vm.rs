//! `kmodkit inventory` inside the real kernel: one boot of Debian's 6.1 under `kmodkit vm`,
//! laid out as an installed system (`/boot/vmlinuz-R`, `/boot/config-R`, modules under
//! `/lib/modules/R`), with real modules loaded: an unsigned out-of-tree module (taint O and
//! E) and two of Debian's own signed modules. The inventory's taint bits, letters, versions
//! and signature verdicts are compared with what the kernel itself says (`/proc/sys/kernel/
//! tainted`, `/sys/module/*/taint`, `/proc/keys`), the prediction for a module on disk with a
//! vermagic the kernel lacks with the kernel's refusal of it, and the Prometheus file written
//! inside the guest is checked with `promtool check metrics` on the host.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testsupport::{kmodkit, Requirement};

/// Builds `name.ko` against the corpus kernel's headers.
fn build(dir: &Path, release: &str, name: &str, body: &str) -> PathBuf {
    let src = dir.join(name);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join(format!("{name}.c")),
        format!(
            "#include <linux/module.h>\n#include <linux/init.h>\n\
             static int __init {name}_init(void) {{ return 0; }}\n\
             static void __exit {name}_exit(void) {{ }}\n\
             module_init({name}_init);\nmodule_exit({name}_exit);\n\
             MODULE_LICENSE(\"GPL\");\n{body}\n"
        ),
    )
    .unwrap();
    std::fs::write(src.join("Makefile"), format!("obj-m := {name}.o\n")).unwrap();
    let out = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(format!("/lib/modules/{release}/build"))
        .arg(format!("M={}", src.display()))
        .arg("modules")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    src.join(format!("{name}.ko"))
}

/// The text between `@@NAME-begin` and `@@NAME-end` lines of the guest's output.
fn section(out: &str, name: &str) -> String {
    let begin = format!("@@{name}-begin\n");
    let end = format!("@@{name}-end");
    let start = out
        .find(&begin)
        .unwrap_or_else(|| panic!("no {name} in the guest's output:\n{out}"))
        + begin.len();
    let stop = out[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("{name} not ended:\n{out}"))
        + start;
    out[start..stop].to_string()
}

fn line(out: &str, key: &str) -> String {
    let prefix = format!("@@{key} ");
    out.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no @@{key} line:\n{out}"))
        .to_string()
}

#[test]
fn inventory_in_the_real_kernel() {
    let Some(corpus) = testsupport::corpus("amd64") else {
        return;
    };
    for tool in ["qemu-system-x86_64", "busybox", "make"] {
        if !testsupport::have_tool(tool) {
            return;
        }
    }
    if !testsupport::have_tool("promtool") {
        testsupport::skip(
            Requirement::Tool,
            "promtool not installed (Debian package prometheus)",
        );
        return;
    }
    let release = corpus.release.clone();
    if !Path::new(&format!("/lib/modules/{release}/build/Makefile")).is_file() {
        testsupport::skip(Requirement::Vm, &format!("no headers for {release}"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hello = build(
        dir.path(),
        &release,
        "invhello",
        "MODULE_VERSION(\"1.2.3\");\nMODULE_DESCRIPTION(\"kmodkit inventory test\");",
    );
    // A vermagic the kernel does not have (one word changed, same length).
    let vmagic = build(dir.path(), &release, "invvmagic", "");
    let mut bytes = std::fs::read(&vmagic).unwrap();
    let from = b" mod_unload ";
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("vermagic has mod_unload");
    bytes[at..at + from.len()].copy_from_slice(b" mod_unlXad ");
    std::fs::write(&vmagic, &bytes).unwrap();
    let hello_srcversion = {
        let b = std::fs::read(&hello).unwrap();
        let m = modfile::Module::parse(&b).unwrap();
        String::from_utf8(m.modinfo().get("srcversion").unwrap().to_vec()).unwrap()
    };

    let boot = corpus.root.join("boot");
    let image = boot.join(format!("vmlinuz-{release}"));
    let config = boot.join(format!("config-{release}"));
    let moddir = format!("/lib/modules/{release}");
    let debian = corpus.moddir().join("kernel/lib");
    let script = format!(
        r#"
insmod {moddir}/extra/invhello.ko; echo "@@insmod_hello $?"
insmod {moddir}/kernel/lib/crc7.ko; echo "@@insmod_crc7 $?"
insmod {moddir}/kernel/lib/crc-itu-t.ko; echo "@@insmod_crc $?"
insmod {moddir}/extra/invvmagic.ko 2>/dev/null; echo "@@insmod_vmagic $?"
echo "@@tainted $(cat /proc/sys/kernel/tainted)"
echo "@@hello_taint $(cat /sys/module/invhello/taint)"
echo "@@crc7_taint $(cat /sys/module/crc7/taint)"
mkdir -p /var/lib/prometheus/node-exporter
kmodkit inventory --json > /tmp/inv.json; echo "@@json_rc $?"
kmodkit inventory --prometheus /var/lib/prometheus/node-exporter/kmodkit.prom; echo "@@prom_rc $?"
kmodkit inventory > /tmp/inv.txt; echo "@@table_rc $?"
kmodkit inventory --prometheus /tmp/x.txt 2>/dev/null; echo "@@badname_rc $?"
echo @@json-begin; cat /tmp/inv.json; echo @@json-end
echo @@prom-begin; cat /var/lib/prometheus/node-exporter/kmodkit.prom; echo @@prom-end
echo @@table-begin; cat /tmp/inv.txt; echo @@table-end
echo @@keys-begin; cat /proc/keys; echo @@keys-end
ls -a /var/lib/prometheus/node-exporter/ | sed 's/^/@@promdir /'
"#
    );
    let out = Command::new(kmodkit())
        .arg("vm")
        .arg("--kernel")
        .arg(&image)
        .arg("--timeout")
        .arg("300")
        .arg("--add")
        .arg(format!("{}:/boot/vmlinuz-{release}", image.display()))
        .arg("--add")
        .arg(format!("{}:/boot/config-{release}", config.display()))
        .arg("--add")
        .arg(format!("{}:{moddir}/extra/invhello.ko", hello.display()))
        .arg("--add")
        .arg(format!("{}:{moddir}/extra/invvmagic.ko", vmagic.display()))
        .arg("--add")
        .arg(format!(
            "{}:{moddir}/kernel/lib/crc7.ko",
            debian.join("crc7.ko").display()
        ))
        .arg("--add")
        .arg(format!(
            "{}:{moddir}/kernel/lib/crc-itu-t.ko",
            debian.join("crc-itu-t.ko").display()
        ))
        .arg("--")
        .arg(script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kmodkit vm failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for k in [
        "insmod_hello",
        "insmod_crc7",
        "insmod_crc",
        "json_rc",
        "prom_rc",
        "table_rc",
    ] {
        assert_eq!(line(&stdout, k), "0", "{k}:\n{stdout}");
    }
    // The kernel refused the module with the foreign vermagic; a name without .prom is a
    // usage error.
    assert_ne!(line(&stdout, "insmod_vmagic"), "0");
    assert_eq!(line(&stdout, "badname_rc"), "2");

    let v: serde_json::Value = serde_json::from_str(&section(&stdout, "json")).unwrap();
    let table = section(&stdout, "table");
    // Shown with --nocapture.
    eprintln!("{table}\n{}", section(&stdout, "prom"));

    // Kernel-wide taint: the kernel's own number, decoded. (Nothing else taints this boot;
    // the inventory ran after every load, and taint bits never clear.)
    let tainted: u64 = line(&stdout, "tainted").parse().unwrap();
    assert_eq!(tainted, (1 << 12) | (1 << 13), "O and E only:\n{stdout}");
    assert_eq!(v["release"], release.as_str());
    assert_eq!(v["taint"]["mask"].as_u64(), Some(tainted));
    assert_eq!(v["taint"]["letters"], "OE");
    let names: Vec<&str> = v["taint"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["OOT_MODULE", "UNSIGNED_MODULE"]);
    assert_eq!(v["policy"]["sig_enforce"], false);

    // The image's built-in key, and the kernel holds it (/proc/keys).
    let keys = section(&stdout, "keys");
    let ring = v["keyring"].as_array().unwrap();
    assert_eq!(ring.len(), 1, "{v}");
    let desc = ring[0]["description"].as_str().unwrap();
    assert!(
        desc.starts_with("Build time autogenerated kernel key: "),
        "{desc}"
    );
    assert_eq!(ring[0]["in_kernel"], true, "{keys}");
    assert!(keys.contains(desc), "{desc} not in /proc/keys:\n{keys}");

    let module = |name: &str| -> serde_json::Value {
        v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in the inventory: {v}"))
            .clone()
    };
    // The unsigned out-of-tree module: the kernel's letters, no signature.
    let h = module("invhello");
    assert_eq!(line(&stdout, "hello_taint"), "OE");
    assert_eq!(h["taint"], "OE");
    assert_eq!(h["in_tree"], false);
    assert_eq!(h["version"], "1.2.3");
    assert_eq!(h["srcversion"], hello_srcversion.as_str());
    assert_eq!(h["file"], format!("{moddir}/extra/invhello.ko"));
    assert_eq!(h["signature"]["verdict"], "unsigned");
    assert_eq!(h["signature"]["signer"], serde_json::Value::Null);
    assert_eq!(h["refcount"], 0);
    assert!(h["size_bytes"].as_u64().unwrap() > 0);
    // Debian's signed in-tree modules: valid against the image's key.
    for name in ["crc7", "crc_itu_t"] {
        let m = module(name);
        assert_eq!(m["taint"], "", "{m}");
        assert_eq!(m["in_tree"], true, "{m}");
        assert_eq!(m["signature"]["verdict"], "valid", "{m}");
        assert_eq!(
            m["signature"]["signer"],
            "Build time autogenerated kernel key"
        );
        assert_eq!(m["signature"]["hash_algo"], "sha256");
        assert_eq!(m["signature"]["key"], desc);
        assert!(m["signature"]["key_id"].as_str().unwrap().contains(':'));
    }
    assert_eq!(line(&stdout, "crc7_taint"), "");

    // On disk: the foreign vermagic is predicted refused (ENOEXEC, as the kernel did); the
    // others load.
    let disk = &v["disk"];
    assert_eq!(disk["dir"], moddir.as_str());
    assert_eq!(disk["scanned"], 4, "{disk}");
    let un = disk["unloadable"].as_array().unwrap();
    assert_eq!(un.len(), 1, "{disk}");
    assert_eq!(un[0]["file"], format!("{moddir}/extra/invvmagic.ko"));
    assert_eq!(un[0]["errno"], "ENOEXEC");

    // The table says the same.
    assert!(table.contains("Taint: 12288 (OE)"), "{table}");
    assert!(
        table.contains("Modules on disk that would not load: 1 of 4"),
        "{table}"
    );

    // The Prometheus file: written atomically (no temporary left), promtool accepts it.
    let prom = section(&stdout, "prom");
    let dir_entries: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@@promdir "))
        .map(str::to_string)
        .collect();
    assert_eq!(dir_entries, [".", "..", "kmodkit.prom"]);
    assert!(prom.contains(&format!(
        "kmodkit_kernel_info{{release=\"{release}\",sig_enforce=\"false\",lockdown=\"unknown\"}} 1\n"
    )) || prom.contains(&format!("kmodkit_kernel_info{{release=\"{release}\",sig_enforce=\"false\",lockdown=\"none\"}} 1\n")), "{prom}");
    assert!(prom.contains("kmodkit_kernel_taint_mask 12288\n"), "{prom}");
    assert!(
        prom.contains("kmodkit_kernel_taint_flag{bit=\"12\",letter=\"O\",name=\"OOT_MODULE\"} 1\n")
    );
    assert!(prom.contains(
        "kmodkit_kernel_taint_flag{bit=\"0\",letter=\"P\",name=\"PROPRIETARY_MODULE\"} 0\n"
    ));
    for letter in [("O", "OOT_MODULE"), ("E", "UNSIGNED_MODULE")] {
        assert!(
            prom.contains(&format!(
                "kmodkit_module_taint_flag{{module=\"invhello\",letter=\"{}\",name=\"{}\"}} 1\n",
                letter.0, letter.1
            )),
            "{prom}"
        );
    }
    assert!(prom.contains("kmodkit_module_signature_valid{module=\"crc7\"} 1\n"));
    assert!(prom.contains("kmodkit_module_signature_valid{module=\"invhello\"} 0\n"));
    assert!(prom.contains("kmodkit_disk_modules_unloadable 1\n"));
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(prom.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
        "promtool check metrics: {}{}\n{prom}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
