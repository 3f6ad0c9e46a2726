//! `dkms.conf`: read by letting bash source it (it is a bash fragment: packages compute
//! values, test `$kernelver`, use arrays), then applying DKMS 3's defaults and checks
//! (`read_conf` in dkms 3.0.10) to the variables it set.

use crate::trees::{self, Origin};
use crate::{Error, Result};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variables a `dkms.conf` may set (DKMS's `dkms_conf_variables`).
const CONF_VARIABLES: &[&str] = &[
    "CLEAN",
    "PACKAGE_NAME",
    "PACKAGE_VERSION",
    "POST_ADD",
    "POST_BUILD",
    "POST_INSTALL",
    "POST_REMOVE",
    "PRE_BUILD",
    "PRE_INSTALL",
    "BUILD_DEPENDS",
    "BUILD_EXCLUSIVE_KERNEL",
    "BUILD_EXCLUSIVE_ARCH",
    "OBSOLETE_BY",
    "MAKE",
    "MAKE_MATCH",
    "PATCH",
    "PATCH_MATCH",
    "BUILT_MODULE_NAME",
    "BUILT_MODULE_LOCATION",
    "DEST_MODULE_NAME",
    "DEST_MODULE_LOCATION",
    "STRIP",
    "AUTOINSTALL",
    "NO_WEAK_MODULES",
    "SIGN_FILE",
    "MOK_SIGNING_KEY",
    "MOK_CERTIFICATE",
];

/// The variables DKMS gives a `dkms.conf` to use.
#[derive(Clone, Debug)]
pub struct ConfVars {
    pub kernelver: String,
    pub arch: String,
    pub kernel_source_dir: PathBuf,
    pub dkms_tree: PathBuf,
    pub source_tree: PathBuf,
    pub install_tree: PathBuf,
    pub module: String,
    pub module_version: String,
}

/// One module a package builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltModule {
    pub built_name: String,
    /// Relative to the build directory; empty or ending in '/'.
    pub built_location: String,
    pub dest_name: String,
    /// Where it is installed under `<install_tree>/<kernel>` (after the distribution override).
    pub dest_location: String,
    /// As written in dkms.conf (before the override).
    pub dest_location_conf: String,
    pub strip: bool,
}

/// A `dkms.conf` evaluated for one kernel and architecture.
#[derive(Clone, Debug)]
pub struct DkmsConf {
    pub package_name: String,
    pub package_version: String,
    pub modules: Vec<BuiltModule>,
    pub make_command: String,
    pub clean: String,
    pub patches: Vec<String>,
    /// A BUILD_EXCLUSIVE_KERNEL/ARCH directive does not match this kernel/arch.
    pub build_exclude: bool,
    pub pre_build: Option<String>,
    pub post_build: Option<String>,
    pub pre_install: Option<String>,
    pub post_install: Option<String>,
    pub post_remove: Option<String>,
    pub post_add: Option<String>,
    pub autoinstall: bool,
    pub no_weak_modules: bool,
    pub build_depends: Vec<String>,
}

type Vars = HashMap<String, BTreeMap<usize, String>>;

/// Source the files with bash and return every element of every DKMS variable.
fn evaluate(files: &[PathBuf], v: &ConfVars) -> Result<Vars> {
    let script = format!(
        r#"kernelver=$1 arch=$2 kernel_source_dir=$3 dkms_tree=$4 source_tree=$5 install_tree=$6 module=$7 module_version=$8
shift 8
for __f in "$@"; do . "$__f" >/dev/null; done
for __v in {vars}; do
  eval "__idx=(\"\${{!$__v[@]}}\")"
  for __i in "${{__idx[@]}}"; do
    eval "printf '%s\0%s\0%s\0' \"\$__v\" \"\$__i\" \"\${{$__v[\$__i]}}\""
  done
done"#,
        vars = CONF_VARIABLES.join(" ")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("dkms.conf")
        .arg(&v.kernelver)
        .arg(&v.arch)
        .arg(&v.kernel_source_dir)
        .arg(&v.dkms_tree)
        .arg(&v.source_tree)
        .arg(&v.install_tree)
        .arg(&v.module)
        .arg(&v.module_version)
        .args(files)
        .env_remove("CC")
        .output()
        .map_err(Error::io("bash"))?;
    if !out.status.success() {
        return Err(Error::Dkms {
            code: 8,
            message: format!(
                "Error! Bad conf file.\nFile: {} could not be read by bash: {}",
                files[0].display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let mut vars: Vars = HashMap::new();
    let fields: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    for chunk in fields.chunks_exact(3) {
        let name = String::from_utf8_lossy(chunk[0]).into_owned();
        let Ok(idx) = String::from_utf8_lossy(chunk[1]).parse::<usize>() else {
            continue;
        };
        vars.entry(name)
            .or_default()
            .insert(idx, String::from_utf8_lossy(chunk[2]).into_owned());
    }
    Ok(vars)
}

/// Does bash's `[[ $text =~ $re ]]` hold? (POSIX ERE, unanchored.)
fn matches(text: &str, re: &str) -> bool {
    Regex::new(re).map(|r| r.is_match(text)).unwrap_or(false)
}

/// Where `name` (element `index` of an array) was set: the last of `files` (they are sourced
/// in order) with a line assigning it literally, and that line; else the first file.
fn origin_of(files: &[PathBuf], name: &str, index: usize) -> Origin {
    let element = format!("{name}[{index}]");
    for f in files.iter().rev() {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let (mut exact, mut any) = (None, None);
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let t = t.strip_prefix("export ").map_or(t, str::trim_start);
            if let Some(rest) = t.strip_prefix(&element) {
                if rest.starts_with('=') || rest.starts_with("+=") {
                    exact = Some(i + 1);
                }
            }
            if let Some(rest) = t.strip_prefix(name) {
                if rest.starts_with('=') || rest.starts_with('[') || rest.starts_with("+=") {
                    any = Some(i + 1);
                }
            }
        }
        if let Some(line) = exact.or(any) {
            return Origin::Conf {
                file: f.clone(),
                line: Some(line),
            };
        }
    }
    Origin::Conf {
        file: files[0].clone(),
        line: None,
    }
}

/// Every value of the evaluated conf that becomes part of a path, checked (see [`trees`]).
fn check_paths(files: &[PathBuf], c: &DkmsConf, vars: &Vars) -> Result<()> {
    let at = |name: &str, i: usize| origin_of(files, name, i);
    let set = |name: &str, i: usize| {
        vars.get(name)
            .and_then(|a| a.get(&i))
            .is_some_and(|v| !v.is_empty())
    };
    trees::component("PACKAGE_NAME", &c.package_name, &at("PACKAGE_NAME", 0))?;
    trees::component(
        "PACKAGE_VERSION",
        &c.package_version,
        &at("PACKAGE_VERSION", 0),
    )?;
    for (i, b) in c.modules.iter().enumerate() {
        let (built_from, dest_from) = if set("DEST_MODULE_NAME", i) {
            ("BUILT_MODULE_NAME", "DEST_MODULE_NAME")
        } else {
            ("BUILT_MODULE_NAME", "BUILT_MODULE_NAME")
        };
        trees::component("BUILT_MODULE_NAME", &b.built_name, &at(built_from, i))?;
        trees::component(dest_from, &b.dest_name, &at(dest_from, i))?;
        trees::relative_path(
            "BUILT_MODULE_LOCATION",
            &b.built_location,
            &at("BUILT_MODULE_LOCATION", i),
            true,
        )?;
        trees::dest_location(&b.dest_location_conf, &at("DEST_MODULE_LOCATION", i))?;
    }
    for p in &c.patches {
        let i = vars
            .get("PATCH")
            .and_then(|a| a.iter().find(|(_, v)| *v == p).map(|(i, _)| *i))
            .unwrap_or(0);
        trees::relative_path("PATCH", p, &at("PATCH", i), false)?;
    }
    Ok(())
}

/// Read `conf` (plus DKMS's per-module overrides in `etc_dir`: `<module>.conf`,
/// `<module>-<version>.conf`, ...-<kernel>.conf, ...-<kernel>-<arch>.conf).
/// `debian_like` applies Debian's override of every DEST_MODULE_LOCATION to `/updates/dkms`.
/// Element `i` of variable `name` (empty when unset).
fn get(vars: &Vars, name: &str, i: usize) -> String {
    vars.get(name)
        .and_then(|a| a.get(&i))
        .cloned()
        .unwrap_or_default()
}

/// The files sourced, in order: the conf, then the /etc/dkms overrides that exist.
fn conf_files(conf: &Path, etc_dir: &Path, v: &ConfVars) -> Vec<PathBuf> {
    let (m, mv, k, a) = (&v.module, &v.module_version, &v.kernelver, &v.arch);
    let mut files = vec![conf.to_path_buf()];
    for name in [
        format!("{m}.conf"),
        format!("{m}-{mv}.conf"),
        format!("{m}-{mv}-{k}.conf"),
        format!("{m}-{mv}-{k}-{a}.conf"),
    ] {
        let p = etc_dir.join(name);
        if p.exists() {
            files.push(p);
        }
    }
    files
}

/// The module records (BUILT_/DEST_MODULE_* arrays, STRIP) with DKMS's defaults and
/// checks; problems are added to `errors`.
fn built_modules(
    vars: &Vars,
    m: &str,
    debian_like: bool,
    errors: &mut Vec<String>,
) -> Vec<BuiltModule> {
    let get = |name: &str, i: usize| get(vars, name, i);
    let count = |name: &str| vars.get(name).map_or(0, |a| a.len());
    let size = [
        "BUILT_MODULE_NAME",
        "BUILT_MODULE_LOCATION",
        "DEST_MODULE_NAME",
        "DEST_MODULE_LOCATION",
    ]
    .iter()
    .map(|n| count(n))
    .max()
    .unwrap_or(0);
    let mut modules = Vec::new();
    let mut strip0 = true;
    for i in 0..size {
        let mut built_name = get("BUILT_MODULE_NAME", i);
        if built_name.is_empty() && count("DEST_MODULE_LOCATION") == 1 {
            built_name = m.to_string();
        }
        let mut dest_name = get("DEST_MODULE_NAME", i);
        if dest_name.is_empty() {
            dest_name = built_name.clone();
        }
        let mut built_location = get("BUILT_MODULE_LOCATION", i);
        if !built_location.is_empty() && !built_location.ends_with('/') {
            built_location.push('/');
        }
        let s = get("STRIP", i);
        let strip = match s.chars().next() {
            Some('n' | 'N') => false,
            Some('y' | 'Y') => true,
            None => strip0,
            Some(_) => true,
        };
        if i == 0 {
            strip0 = strip;
        }
        if built_name.is_empty() {
            errors.push(format!(
                "dkms.conf: Error! No 'BUILT_MODULE_NAME' directive specified for record #{i}."
            ));
        }
        if built_name.ends_with(".o") || built_name.ends_with(".ko") {
            errors.push(format!("dkms.conf: Error! 'BUILT_MODULE_NAME' directive ends in '.o' or '.ko' in record #{i}."));
        }
        if dest_name.ends_with(".o") || dest_name.ends_with(".ko") {
            errors.push(format!("dkms.conf: Error! 'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in record #{i}."));
        }
        let conf_loc = get("DEST_MODULE_LOCATION", i);
        if conf_loc.is_empty() {
            errors.push(format!(
                "dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified for record #{i}."
            ));
        } else if !["/kernel", "/updates", "/extra"]
            .iter()
            .any(|p| conf_loc.starts_with(p))
        {
            errors.push(format!(
                "dkms.conf: Error! Directive 'DEST_MODULE_LOCATION' does not begin with\n'/kernel', '/updates', or '/extra' in record #{i}."
            ));
        }
        let dest_location = if debian_like {
            "/updates/dkms".to_string()
        } else {
            conf_loc.clone()
        };
        modules.push(BuiltModule {
            built_name,
            built_location,
            dest_name,
            dest_location,
            dest_location_conf: conf_loc,
            strip,
        });
    }

    modules
}

/// The make and clean command lines for the kernel (MAKE/MAKE_MATCH, CLEAN, or DKMS's
/// defaults), with the kernel's compiler choice.
fn make_commands(vars: &Vars, v: &ConfVars) -> (String, String) {
    let get = |name: &str, i: usize| get(vars, name, i);
    let (m, mv, k) = (&v.module, &v.module_version, &v.kernelver);
    let mut make_command = if get("MAKE_MATCH", 0).is_empty() {
        get("MAKE", 0)
    } else {
        String::new()
    };
    let makes = vars
        .get("MAKE")
        .map(|a| a.keys().copied().collect::<Vec<_>>())
        .unwrap_or_default();
    for i in makes {
        let (cmd, re) = (get("MAKE", i), get("MAKE_MATCH", i));
        if !cmd.is_empty() && !re.is_empty() && matches(k, &re) {
            make_command = cmd;
        }
    }
    let build_dir = v.dkms_tree.join(m).join(mv).join("build");
    if make_command.is_empty() {
        make_command = format!(
            "make -C {} M={}",
            v.kernel_source_dir.display(),
            build_dir.display()
        );
    }
    let mut clean = get("CLEAN", 0);
    if clean.is_empty() {
        clean = format!(
            "make -C {} M={} clean",
            v.kernel_source_dir.display(),
            build_dir.display()
        );
    }
    let kconfig = std::fs::read_to_string(v.kernel_source_dir.join(".config")).unwrap_or_default();
    if kconfig.lines().any(|l| l == "CONFIG_CC_IS_CLANG=y") {
        make_command.push_str(" CC=clang");
    }
    if kconfig.lines().any(|l| l == "CONFIG_LD_IS_LLD=y") {
        make_command.push_str(" LD=ld.lld");
    }

    (make_command, clean)
}

pub fn read(conf: &Path, etc_dir: &Path, v: &ConfVars, debian_like: bool) -> Result<DkmsConf> {
    if !conf.is_file() {
        return Err(Error::Dkms {
            code: 4,
            message: format!(
                "Error! Could not locate dkms.conf file.\nFile: {} does not exist.",
                conf.display()
            ),
        });
    }
    let files = conf_files(conf, etc_dir, v);
    let k = &v.kernelver;
    let a = &v.arch;
    let vars = evaluate(&files, v)?;
    let get = |name: &str, i: usize| get(&vars, name, i);
    let scalar = |name: &str| Some(get(name, 0)).filter(|s| !s.is_empty());

    let mut errors = Vec::new();
    let modules = built_modules(&vars, &v.module, debian_like, &mut errors);
    let (make_command, clean) = make_commands(&vars, v);
    let patch_idx = vars
        .get("PATCH")
        .map(|a| a.keys().copied().collect::<Vec<_>>())
        .unwrap_or_default();
    let patches = patch_idx
        .into_iter()
        .filter_map(|i| {
            let (p, re) = (get("PATCH", i), get("PATCH_MATCH", i));
            (!p.is_empty() && (re.is_empty() || matches(k, &re))).then_some(p)
        })
        .collect();
    let excl_k = get("BUILD_EXCLUSIVE_KERNEL", 0);
    let excl_a = get("BUILD_EXCLUSIVE_ARCH", 0);
    let build_exclude = (!excl_k.is_empty() && !matches(k, &excl_k))
        || (!excl_a.is_empty() && !matches(a, &excl_a));

    if modules.is_empty() {
        errors.push("dkms.conf: Error! No 'DEST_MODULE_LOCATION' directive specified.".into());
    }
    let package_name = get("PACKAGE_NAME", 0);
    let package_version = get("PACKAGE_VERSION", 0);
    if package_name.is_empty() {
        errors.push("dkms.conf: Error! No 'PACKAGE_NAME' directive specified.".into());
    }
    if package_version.is_empty() {
        errors.push("dkms.conf: Error! No 'PACKAGE_VERSION' directive specified.".into());
    }
    if !errors.is_empty() {
        errors.push(format!(
            "Error! Bad conf file.\nFile: {} does not represent a valid dkms.conf file.",
            conf.display()
        ));
        return Err(Error::Dkms {
            code: 8,
            message: errors.join("\n"),
        });
    }
    let c = DkmsConf {
        package_name,
        package_version,
        modules,
        make_command,
        clean,
        patches,
        build_exclude,
        pre_build: scalar("PRE_BUILD"),
        post_build: scalar("POST_BUILD"),
        pre_install: scalar("PRE_INSTALL"),
        post_install: scalar("POST_INSTALL"),
        post_remove: scalar("POST_REMOVE"),
        post_add: scalar("POST_ADD"),
        autoinstall: scalar("AUTOINSTALL").is_some(),
        no_weak_modules: scalar("NO_WEAK_MODULES").is_some(),
        build_depends: vars
            .get("BUILD_DEPENDS")
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default(),
    };
    check_paths(&files, &c, &vars)?;
    Ok(c)
}
