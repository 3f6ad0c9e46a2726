//! `kmodkit new --rust NAME`: the Rust twin of the C skeleton ([`crate::skeleton`]), for a
//! kernel with `CONFIG_RUST=y` (`kmodkit kernel build --rust` makes one).
//!
//! It uses the 6.12 `kernel` crate: `module!` with name, author, description and license;
//! `init` printing with `pr_info!` and allocating with `KBox`/`KVec` (the kernel's
//! allocation API, `GFP_KERNEL`, failures returned as `ENOMEM`); `Drop` printing, the
//! allocations freed by their own `Drop`. No module parameter: 6.12's `module!` accepts only
//! `type`, `name`, `author`, `description`, `license` and `alias` (rust/macros/module.rs);
//! parameters came to the Rust API later.

use crate::skeleton::check_name;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The files of a Rust skeleton module called `name`, as (relative path, contents).
pub fn files(name: &str, author: &str) -> Vec<(String, String)> {
    vec![
        (format!("{name}.rs"), source(name, author)),
        ("Kbuild".into(), format!("obj-m := {name}.o\n")),
        ("Makefile".into(), MAKEFILE.to_string()),
        ("dkms.conf".into(), dkms_conf(name)),
        (".gitignore".into(), GITIGNORE.to_string()),
        ("README.md".into(), readme(name)),
    ]
}

/// Write the skeleton into `dir` (created; must not already hold any of its files).
pub fn create(name: &str, dir: &Path, author: &str) -> Result<Vec<PathBuf>> {
    check_name(name)?;
    if author.contains(['"', '\\', '\n']) {
        return Err(Error::Invalid(format!(
            "invalid author '{author}': no quotes, backslashes or newlines"
        )));
    }
    crate::skeleton::write_new(dir, files(name, author))
}

/// `Name` for `name` (`my_mod` -> `MyMod`): the module's type.
fn type_name(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn source(name: &str, author: &str) -> String {
    let ty = type_name(name);
    format!(
        r#"// SPDX-License-Identifier: GPL-2.0

//! {name}: an out-of-tree kernel module in Rust, made by `kmodkit new --rust`.
//!
//! On load it allocates a buffer and a small vector with the kernel's allocator and says so
//! in the kernel log; on unload its `Drop` says goodbye and the allocations are freed by
//! their own `Drop`: nothing to forget. Read the log with `kmodkit dmesg --module {name}`.

use kernel::prelude::*;

module! {{
    type: {ty},
    name: "{name}",
    author: "{author}",
    description: "{name}: a skeleton module in Rust made by kmodkit",
    license: "GPL",
}}

/// The size of the buffer allocated at load time.
const BUFSIZE: usize = 4096;

struct {ty} {{
    buf: KBox<[u8; BUFSIZE]>,
    numbers: KVec<u32>,
}}

impl kernel::Module for {ty} {{
    fn init(_module: &'static ThisModule) -> Result<Self> {{
        let buf = KBox::new([0u8; BUFSIZE], GFP_KERNEL)?;
        let mut numbers = KVec::new();
        for n in [1, 2, 3] {{
            numbers.push(n, GFP_KERNEL)?;
        }}
        pr_info!("loaded, {{}}-byte buffer allocated\n", buf.len());
        Ok({ty} {{ buf, numbers }})
    }}
}}

impl Drop for {ty} {{
    fn drop(&mut self) {{
        pr_info!(
            "unloaded, {{}}-byte buffer and {{}} numbers freed\n",
            self.buf.len(),
            self.numbers.len()
        );
    }}
}}
"#
    )
}

const MAKEFILE: &str = r#"# Outside Kbuild: build against a Rust-enabled kernel tree (KDIR), with its toolchain.
# `kmodkit build . --kernel RELEASE --headers KDIR` does this and checks and signs the result.
KDIR ?= /lib/modules/$(shell uname -r)/build
# A tree made by `kmodkit kernel build --rust` records the compiler it was built with.
TOOLCHAIN := $(shell cat $(KDIR)/kmodkit-toolchain 2>/dev/null)

all:
	$(MAKE) LLVM=1 $(TOOLCHAIN) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) LLVM=1 $(TOOLCHAIN) -C $(KDIR) M=$(CURDIR) clean

.PHONY: all clean
"#;

fn dkms_conf(name: &str) -> String {
    format!(
        r#"PACKAGE_NAME="{name}"
PACKAGE_VERSION="0.1"
BUILT_MODULE_NAME[0]="{name}"
DEST_MODULE_LOCATION[0]="/updates/dkms"
# Rust modules build with LLVM and with the compiler the kernel was built with (a kernel
# made by `kmodkit kernel build --rust` records it in kmodkit-toolchain: LLVM=1 RUSTC=...).
MAKE[0]="make $(xargs 2>/dev/null <${{kernel_source_dir}}/kmodkit-toolchain || echo LLVM=1) -C ${{kernel_source_dir}} M=${{dkms_tree}}/${{PACKAGE_NAME}}/${{PACKAGE_VERSION}}/build modules"
AUTOINSTALL="yes"
"#
    )
}

const GITIGNORE: &str =
    "*.o\n*.ko\n*.ko.*\n*.mod\n*.mod.c\n*.cmd\n.*.cmd\nmodules.order\nModule.symvers\n.build/\n";

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

An out-of-tree Linux kernel module written in Rust, for a kernel with `CONFIG_RUST=y`
(Linux 6.12's `kernel` crate: `module!`, `pr_info!`, `KBox`, `KVec`).

No Debian kernel enables Rust; make one for QEMU (built once, then cached):

    kmodkit kernel build --rust --out kernel

Build against it, check vermagic, and sign with the kernel's own key:

    kmodkit build . --kernel $(cat kernel/release) --headers kernel/build \
        --sign-key kernel/signing_key.pem --sign-cert kernel/signing_key.pem

Load it in that kernel, read what it printed, see the taint (`O`: out of tree, signed),
unload it (its `Drop` runs):

    kmodkit vm --kernel kernel/bzImage --add .build/$(cat kernel/release)/{name}.ko:/{name}.ko -- \
        'insmod /{name}.ko && cat /sys/module/{name}/taint && rmmod {name} && dmesg'

No module parameter: 6.12's `module!` has none (they came to the Rust API later).

Packaged for DKMS (`dkms.conf` is included, building with `LLVM=1` and the kernel's own
Rust compiler): add it, then build, sign with the kernel's key and install it for that kernel
(`--kernelsourcedir`: its tree is not under /lib/modules):

    kmodkit dkms add .
    kmodkit dkms install -m {name}/0.1 -k $(cat kernel/release) --kernelsourcedir kernel/build \
        --sign-key kernel/signing_key.pem --sign-cert kernel/signing_key.pem
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(type_name("rust_hello"), "RustHello");
        assert_eq!(type_name("a"), "A");
        assert_eq!(type_name("x__y2"), "XY2");
    }

    #[test]
    fn files_name_the_module_everywhere() {
        let f = files("kmk_rust", "Me");
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "kmk_rust.rs",
                "Kbuild",
                "Makefile",
                "dkms.conf",
                ".gitignore",
                "README.md"
            ]
        );
        assert!(f[0].1.contains("name: \"kmk_rust\""));
        assert!(f[0].1.contains("type: KmkRust,"));
        assert!(f[0].1.contains("author: \"Me\""));
        assert_eq!(f[1].1, "obj-m := kmk_rust.o\n");
    }

    #[test]
    fn refuses_bad_names_authors_and_overwrites() {
        let d = tempfile::tempdir().unwrap();
        assert!(create("1bad", &d.path().join("x"), "a").is_err());
        assert!(create("ok", &d.path().join("x"), "a\"b").is_err());
        create("ok", &d.path().join("y"), "a").unwrap();
        let e = create("ok", &d.path().join("y"), "a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
