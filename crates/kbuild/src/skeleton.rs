//! `kmodkit new NAME`: a module that builds as is against any installed kernel's headers.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A valid module name: what the kernel accepts and C accepts as an identifier prefix.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 56
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid module name '{name}': use letters, digits and '_', starting with a letter (at most 55 characters)"
        )))
    }
}

/// The files of a skeleton module called `name`, as (relative path, contents).
pub fn files(name: &str, author: &str) -> Vec<(String, String)> {
    vec![
        (format!("{name}.c"), source(name, author)),
        ("Makefile".into(), makefile(name)),
        ("dkms.conf".into(), dkms_conf(name)),
        (".gitignore".into(), GITIGNORE.to_string()),
        ("README.md".into(), readme(name)),
    ]
}

/// Write the skeleton into `dir` (created; must not already hold any of its files).
pub fn create(name: &str, dir: &Path, author: &str) -> Result<Vec<PathBuf>> {
    check_name(name)?;
    write_new(dir, files(name, author))
}

/// Writes `files` (relative path, contents) into `dir` (created), refusing before writing
/// anything if one of them already exists there.
pub(crate) fn write_new(dir: &Path, files: Vec<(String, String)>) -> Result<Vec<PathBuf>> {
    for (rel, _) in &files {
        let p = dir.join(rel);
        if p.exists() {
            return Err(Error::Invalid(format!(
                "{}: already exists; not overwriting",
                p.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut written = Vec::new();
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::write(&p, text).map_err(Error::io(&p))?;
        written.push(p);
    }
    Ok(written)
}

fn source(name: &str, author: &str) -> String {
    format!(
        r#"// SPDX-License-Identifier: GPL-2.0
/*
 * {name}: an out-of-tree kernel module, made by `kmodkit new`.
 *
 * On load it allocates a buffer (its size is a module parameter) and says so in the
 * kernel log; on unload it frees the buffer and says goodbye. Read the log with
 * `kmodkit dmesg --module {name}`.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/slab.h>

static unsigned int bufsize = 4096;
module_param(bufsize, uint, 0444);
MODULE_PARM_DESC(bufsize, "Size in bytes of the buffer allocated at load time");

static void *buf;

static int __init {name}_init(void)
{{
	buf = kmalloc(bufsize, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	pr_info("loaded, %u-byte buffer allocated\n", bufsize);
	return 0;
}}

static void __exit {name}_exit(void)
{{
	kfree(buf);
	pr_info("unloaded, buffer freed\n");
}}

module_init({name}_init);
module_exit({name}_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("{author}");
MODULE_DESCRIPTION("{name}: a skeleton module made by kmodkit");
MODULE_VERSION("0.1");
"#
    )
}

fn makefile(name: &str) -> String {
    format!(
        r#"# Kbuild part: the kernel's build system reads this when KERNELRELEASE is set.
ifneq ($(KERNELRELEASE),)
obj-m := {name}.o
else
# Outside Kbuild: build against the running kernel's headers, or KDIR=<headers dir>.
KDIR ?= /lib/modules/$(shell uname -r)/build

all:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

.PHONY: all clean
endif
"#
    )
}

fn dkms_conf(name: &str) -> String {
    format!(
        r#"PACKAGE_NAME="{name}"
PACKAGE_VERSION="0.1"
BUILT_MODULE_NAME[0]="{name}"
DEST_MODULE_LOCATION[0]="/updates/dkms"
AUTOINSTALL="yes"
"#
    )
}

const GITIGNORE: &str = "*.o\n*.ko\n*.ko.*\n*.mod\n*.mod.c\n*.cmd\n.*.cmd\nmodules.order\nModule.symvers\n.tmp_versions/\n.build/\n";

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

An out-of-tree Linux kernel module.

Build against every installed kernel's headers (`linux-headers-<release>`), checking
vermagic and symbol versions, and sign it:

    kmodkit build . --sign-key key.pem --sign-cert cert.pem

(`kmodkit keygen --cn "{name} signing key" --key key.pem --cert cert.pem` makes a key.)
The results are in `.build/<release>/{name}.ko`.

Load it, read what it printed, see the taint, unload it (as root, on that kernel):

    insmod .build/$(uname -r)/{name}.ko bufsize=8192
    kmodkit dmesg --module {name}
    kmodkit taint
    rmmod {name}

Or try it in a throwaway real kernel: `kmodkit vm --add .build/<release>/{name}.ko:/{name}.ko -- insmod /{name}.ko`.

Packaged for DKMS (`dkms.conf` is included): copy this directory to `/usr/src/{name}-0.1`, then
`kmodkit dkms install -m {name} -v 0.1` (or DKMS's own `dkms install`).
"#
    )
}
