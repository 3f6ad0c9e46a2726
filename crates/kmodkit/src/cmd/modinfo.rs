//! `modinfo`, as kmod 30 prints it (tools/modinfo.c + libkmod's kmod_module_get_info).
//!
//! Output rules reproduced here, each visible in kmod's output:
//! - `filename:` first (`name:` before it for builtin modules, whose filename is
//!   `(builtin)`), then every `.modinfo` entry in file order, then the signature fields
//!   (`sig_id`, `signer`, `sig_key`, `sig_hashalgo`, `signature`), then `parm:` lines;
//! - keys are padded to 16 columns (`%-*s` with `15 - len(key)`; a longer key still gets
//!   `len - 15` spaces, as C's printf treats a negative width as left-justified);
//! - `parm` and `parmtype` entries merge per parameter name and print in reverse order of
//!   first appearance (kmod prepends to a list);
//! - `-0` separates with NUL and prints `key=value`; `-F` prints bare values;
//! - key ids and signatures print as `AA:BB:...` hex, 20 bytes a line, continued with `\n\t\t`.

use crate::getopt::{self, HasArg, LongOpt};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// modinfo's options (kmod 30's tools/modinfo.c), also the source of its man page.
pub(crate) const SHORTOPTS: &str = "adlpn0mF:k:b:Vh";
pub(crate) const LONGOPTS: &[LongOpt] = &[
    LongOpt {
        name: "author",
        has_arg: HasArg::No,
        val: 'a',
    },
    LongOpt {
        name: "description",
        has_arg: HasArg::No,
        val: 'd',
    },
    LongOpt {
        name: "license",
        has_arg: HasArg::No,
        val: 'l',
    },
    LongOpt {
        name: "parameters",
        has_arg: HasArg::No,
        val: 'p',
    },
    LongOpt {
        name: "filename",
        has_arg: HasArg::No,
        val: 'n',
    },
    LongOpt {
        name: "null",
        has_arg: HasArg::No,
        val: '0',
    },
    LongOpt {
        name: "modname",
        has_arg: HasArg::No,
        val: 'm',
    },
    LongOpt {
        name: "field",
        has_arg: HasArg::Required,
        val: 'F',
    },
    LongOpt {
        name: "set-version",
        has_arg: HasArg::Required,
        val: 'k',
    },
    LongOpt {
        name: "basedir",
        has_arg: HasArg::Required,
        val: 'b',
    },
    LongOpt {
        name: "version",
        has_arg: HasArg::No,
        val: 'V',
    },
    LongOpt {
        name: "help",
        has_arg: HasArg::No,
        val: 'h',
    },
];

/// The module extensions kmod recognises as file names (plus `.ko.gz`, which kmodkit reads
/// although Debian's kmod 30 is built without zlib).
const MODULE_EXTS: &[&str] = &[".ko", ".ko.gz", ".ko.xz", ".ko.zst"];

/// How the output is shaped.
struct Options {
    field: Option<Vec<u8>>,
    sep: u8,
}

pub fn main(prog: &str, args: Vec<OsString>) -> u8 {
    let Ok(parsed) = getopt::parse(prog, &args, SHORTOPTS, LONGOPTS) else {
        return 1;
    };
    let mut opts = Options {
        field: None,
        sep: b'\n',
    };
    let (mut kversion, mut root, mut by_name) = (None, None, false);
    for (c, v) in parsed.opts {
        match c {
            'a' => opts.field = Some(b"author".to_vec()),
            'd' => opts.field = Some(b"description".to_vec()),
            'l' => opts.field = Some(b"license".to_vec()),
            'p' => opts.field = Some(b"parm".to_vec()),
            'n' => opts.field = Some(b"filename".to_vec()),
            '0' => opts.sep = 0,
            'm' => by_name = true,
            'F' => opts.field = v.map(|v| v.as_bytes().to_vec()),
            'k' => kversion = v,
            'b' => root = v,
            'h' => {
                help(prog);
                return 0;
            }
            'V' => {
                println!("kmod version 30");
                println!("+ZSTD +XZ +ZLIB +LIBCRYPTO -EXPERIMENTAL");
                return 0;
            }
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    if parsed.operands.is_empty() {
        eprintln!("{prog}: ERROR: missing module or filename.");
        return 1;
    }

    let dirname = if root.is_some() || kversion.is_some() {
        let release = match kversion {
            Some(k) => k,
            None => match uname_release() {
                Some(r) => r,
                None => {
                    eprintln!("{prog}: ERROR: uname() failed");
                    return 1;
                }
            },
        };
        let mut d = root.unwrap_or_default();
        d.push("/lib/modules/");
        d.push(release);
        Some(PathBuf::from(d))
    } else {
        None
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut ctx = Lookup::new(dirname);
    let mut failed = false;
    for arg in &parsed.operands {
        let ok = if by_name {
            ctx.name_do(prog, arg, &opts, &mut out)
        } else if is_module_filename(Path::new(arg)) {
            ctx.path_do(prog, Path::new(arg), &opts, &mut out)
        } else {
            ctx.alias_do(prog, arg, &opts, &mut out)
        };
        failed |= !ok;
    }
    if out.flush().is_err() {
        return 1;
    }
    u8::from(failed)
}

fn help(prog: &str) {
    print!(
        "Usage:\n\
         \t{prog} [options] <modulename|filename> [args]\n\
         Options:\n\
         \t-a, --author                Print only 'author'\n\
         \t-d, --description           Print only 'description'\n\
         \t-l, --license               Print only 'license'\n\
         \t-p, --parameters            Print only 'parm'\n\
         \t-n, --filename              Print only 'filename'\n\
         \t-0, --null                  Use \\0 instead of \\n\n\
         \t-m, --modname               Handle argument as module name instead of alias or filename\n\
         \t-F, --field=FIELD           Print only provided FIELD\n\
         \t-k, --set-version=VERSION   Use VERSION instead of `uname -r`\n\
         \t-b, --basedir=DIR           Use DIR as filesystem root for /lib/modules\n\
         \t-V, --version               Show version\n\
         \t-h, --help                  Show this help\n"
    );
}

fn uname_release() -> Option<OsString> {
    std::fs::read("/proc/sys/kernel/osrelease")
        .ok()
        .map(|mut v| {
            while v.last() == Some(&b'\n') {
                v.pop();
            }
            OsString::from(std::ffi::OsStr::from_bytes(&v))
        })
}

fn is_module_filename(p: &Path) -> bool {
    let name = p.as_os_str().as_bytes();
    p.metadata().is_ok_and(|m| m.is_file())
        && MODULE_EXTS
            .iter()
            .any(|e| name.len() > e.len() && name.ends_with(e.as_bytes()))
}

/// libkmod's `path_make_absolute_cwd`: absolute paths as given, relative ones joined to the
/// current directory with a `/` (no normalisation: `./x.ko` becomes `/cwd/./x.ko`).
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => {
            let mut s = cwd.into_os_string();
            s.push("/");
            s.push(p.as_os_str());
            PathBuf::from(s)
        }
        Err(_) => p.to_path_buf(),
    }
}

/// libkmod's `modname_normalize` of a file's base name: up to the first '.', '-' -> '_'.
fn modname_of_path(p: &Path) -> Vec<u8> {
    let base = p.file_name().map(|b| b.as_bytes()).unwrap_or_default();
    base.iter()
        .take_while(|&&b| b != b'.')
        .map(|&b| if b == b'-' { b'_' } else { b })
        .collect()
}

/// One module to describe.
struct Target {
    name: Vec<u8>,
    /// `None` for a builtin module (or one missing from modules.dep).
    path: Option<PathBuf>,
    /// libkmod's `kmod_module_is_builtin`: its modinfo comes from modules.builtin.modinfo.
    builtin: bool,
}

/// Where names and aliases are resolved (the module directory and its indexes), and the
/// modules already seen in this invocation (libkmod's pool: one path per name).
struct Lookup {
    dirname: Option<PathBuf>,
    db: Option<moddb::Context>,
    seen: Vec<(Vec<u8>, PathBuf)>,
}

impl Lookup {
    fn new(dirname: Option<PathBuf>) -> Self {
        Lookup {
            dirname,
            db: None,
            seen: Vec::new(),
        }
    }

    /// The module directory's indexes; modinfo reads no modprobe.d configuration (kmod passes
    /// an empty config path list).
    fn db(&mut self) -> &moddb::Context {
        if self.db.is_none() {
            let dir = match &self.dirname {
                Some(d) => d.clone(),
                None => {
                    let mut d = OsString::from("/lib/modules/");
                    d.push(uname_release().unwrap_or_default());
                    PathBuf::from(d)
                }
            };
            self.db = Some(
                moddb::Context::new(&dir, moddb::Config::default()).with_reader(Box::new(
                    |p: &Path| -> std::io::Result<moddb::depmod::Bytes> {
                        Ok(Box::new(modsys::file::read(p)?))
                    },
                )),
            );
        }
        self.db.as_ref().expect("set just above")
    }

    /// libkmod's module pool: a name seen before keeps the path it was first given.
    fn target_of(&mut self, m: moddb::ModuleRef) -> Target {
        let name = m.name.into_bytes();
        let path = match self.seen.iter().find(|(n, _)| *n == name) {
            Some((_, p)) => Some(p.clone()),
            None => {
                if let Some(p) = &m.path {
                    self.seen.push((name.clone(), p.clone()));
                }
                m.path
            }
        };
        Target {
            name,
            path,
            builtin: m.builtin,
        }
    }

    fn path_do(&mut self, prog: &str, path: &Path, opts: &Options, out: &mut impl Write) -> bool {
        let abs = absolute(path);
        let name = modname_of_path(path);
        if let Some((_, old)) = self.seen.iter().find(|(n, _)| *n == name) {
            if *old != abs {
                eprintln!(
                    "libkmod: ERROR: kmod_module '{}' already exists with different path: new-path='{}' old-path='{}'",
                    String::from_utf8_lossy(&name),
                    abs.display(),
                    old.display()
                );
                eprintln!("{prog}: ERROR: Module file {} not found.", path.display());
                return false;
            }
        } else {
            self.seen.push((name.clone(), abs.clone()));
        }
        self.describe(
            prog,
            &Target {
                name,
                path: Some(abs),
                builtin: false,
            },
            opts,
            out,
        )
    }

    fn name_do(
        &mut self,
        prog: &str,
        arg: &OsString,
        opts: &Options,
        out: &mut impl Write,
    ) -> bool {
        let found = self.db().lookup_name(&arg.to_string_lossy()).ok().flatten();
        match found {
            Some(m) => {
                let t = self.target_of(m);
                self.describe(prog, &t, opts, out)
            }
            None => {
                eprintln!(
                    "{prog}: ERROR: Module name {} not found.",
                    arg.to_string_lossy()
                );
                false
            }
        }
    }

    fn alias_do(
        &mut self,
        prog: &str,
        arg: &OsString,
        opts: &Options,
        out: &mut impl Write,
    ) -> bool {
        let alias = arg.to_string_lossy();
        if !alias_is_valid(&alias) {
            eprintln!("{prog}: ERROR: Module alias {alias} not found.");
            return false;
        }
        let found = self.db().lookup_alias(&alias).unwrap_or_default();
        if found.is_empty() {
            eprintln!("{prog}: ERROR: Module {alias} not found.");
            return false;
        }
        let mut ok = true;
        for m in found {
            let t = self.target_of(m);
            ok &= self.describe(prog, &t, opts, out);
        }
        ok
    }

    /// kmod's `modinfo_do`.
    fn describe(&mut self, prog: &str, t: &Target, opts: &Options, out: &mut impl Write) -> bool {
        let field = opts.field.as_deref();
        let sep = opts.sep;
        let mut w = Vec::with_capacity(4096);
        let filename: Vec<u8> = match &t.path {
            Some(p) => p.as_os_str().as_bytes().to_vec(),
            None => {
                match field {
                    None => pad_line(&mut w, b"name:", &t.name, sep),
                    Some(b"name") => line(&mut w, &t.name, sep),
                    Some(_) => {}
                }
                b"(builtin)".to_vec()
            }
        };
        match field {
            Some(b"filename") => {
                line(&mut w, &filename, sep);
                return out.write_all(&w).is_ok();
            }
            None => pad_line(&mut w, b"filename:", &filename, sep),
            Some(_) => {}
        }

        let entries = match self.info(t) {
            Ok(Some(e)) => e,
            Ok(None) => return out.write_all(&w).is_ok(),
            Err(e) => {
                let _ = out.write_all(&w);
                eprintln!(
                    "{prog}: ERROR: could not get modinfo from '{}': {}",
                    String::from_utf8_lossy(&t.name),
                    e
                );
                return false;
            }
        };

        let mut params = Params::default();
        if field == Some(b"parm") {
            for (k, v) in &entries {
                params.add(prog, k, v);
            }
            params.write_bare(&mut w, sep);
            return out.write_all(&w).is_ok();
        }
        for (k, v) in &entries {
            if let Some(f) = field {
                if f == &k[..] {
                    line(&mut w, v, sep);
                }
                continue;
            }
            if k == b"parm" || k == b"parmtype" {
                params.add(prog, k, v);
                continue;
            }
            if sep == 0 {
                w.extend_from_slice(k);
                w.push(b'=');
                w.extend_from_slice(v);
                w.push(0);
                continue;
            }
            w.extend_from_slice(k);
            w.push(b':');
            w.resize(w.len() + 15usize.abs_diff(k.len()), b' ');
            w.extend_from_slice(v);
            w.push(sep);
        }
        if field.is_none() {
            params.write_prefixed(&mut w, sep);
        }
        out.write_all(&w).is_ok()
    }

    /// kmod_module_get_info: `.modinfo` (or the builtin modinfo) then the signature fields.
    /// `Ok(None)`: a builtin module with no builtin modinfo file (kmod prints nothing more).
    #[allow(clippy::type_complexity)]
    fn info(&mut self, t: &Target) -> Result<Option<Vec<(Vec<u8>, Vec<u8>)>>, String> {
        const ENOENT: &str = "No such file or directory";
        if t.builtin {
            let name = String::from_utf8_lossy(&t.name).into_owned();
            return match self.db().builtin_modinfo(&name) {
                Ok(Some(e)) => Ok(Some(e)),
                // No modules.builtin.modinfo (ENOENT): silent for a module without a file.
                Ok(None) if t.path.is_none() => Ok(None),
                Ok(None) => Err(ENOENT.into()),
                Err(moddb::Error::NoBuiltinModinfo { .. }) => {
                    Err("Function not implemented".into())
                }
                Err(e) => Err(e.to_string()),
            };
        }
        // Not builtin and not in modules.dep: kmod_module_get_elf fails with ENOENT, which
        // modinfo_do treats like a builtin module without modinfo (prints nothing more).
        let Some(path) = &t.path else {
            return Ok(None);
        };
        let bytes = modsys::file::read(path).map_err(|e| io_reason(&e))?;
        let module = modfile::Module::parse(&bytes).map_err(|e| elf_reason(path, &e))?;
        if module.elf().section_by_name(".modinfo").is_none() {
            return Err("No such file or directory".into());
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = module
            .modinfo()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        if let Some(si) = module.signature().ok().flatten().and_then(|s| s.info()) {
            entries.push((b"sig_id".to_vec(), si.id_type.as_bytes().to_vec()));
            entries.push((b"signer".to_vec(), si.signer));
            entries.push((b"sig_key".to_vec(), hex_wrapped(&si.key_id)));
            entries.push((b"sig_hashalgo".to_vec(), si.hash_algo.as_bytes().to_vec()));
            entries.push((b"signature".to_vec(), hex_wrapped(&si.signature)));
        }
        Ok(Some(entries))
    }
}

/// kmod's `alias_normalize` rejects a `]` without `[` and an unclosed `[`.
fn alias_is_valid(alias: &str) -> bool {
    let mut open = false;
    for c in alias.chars() {
        match c {
            '[' if !open => open = true,
            ']' if open => open = false,
            ']' => return false,
            _ => {}
        }
    }
    !open
}

fn io_reason(e: &std::io::Error) -> String {
    // strerror text without Rust's " (os error N)" suffix, as kmod prints it.
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn elf_reason(path: &Path, e: &modfile::Error) -> String {
    let errno = match e {
        modfile::Error::NotElf => "Exec format error",
        _ => "Invalid argument",
    };
    format!("{errno} ({}: {e})", path.display())
}

fn line(w: &mut Vec<u8>, v: &[u8], sep: u8) {
    w.extend_from_slice(v);
    w.push(sep);
}

/// `printf("%-16s%s%c", key, value, sep)`.
fn pad_line(w: &mut Vec<u8>, key: &[u8], v: &[u8], sep: u8) {
    w.extend_from_slice(key);
    w.resize(w.len() + 16usize.saturating_sub(key.len()), b' ');
    line(w, v, sep);
}

/// kmod's `kmod_module_hex_to_str`: `AA:BB:...`, a line break and two tabs after every
/// 20th byte except the last.
fn hex_wrapped(bytes: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = Vec::with_capacity(bytes.len() * 3 + bytes.len() / 20 * 3);
    for (i, b) in bytes.iter().enumerate() {
        s.push(HEX[(b >> 4) as usize]);
        s.push(HEX[(b & 15) as usize]);
        if i + 1 < bytes.len() {
            s.push(b':');
            if (i + 1) % 20 == 0 {
                s.extend_from_slice(b"\n\t\t");
            }
        }
    }
    s
}

/// `parm` and `parmtype` entries merged per parameter name.
#[derive(Default)]
struct Params {
    /// In order of first appearance; printed in reverse.
    list: Vec<Param>,
}

struct Param {
    name: Vec<u8>,
    desc: Option<Vec<u8>>,
    kind: Option<Vec<u8>>,
}

impl Params {
    fn add(&mut self, prog: &str, key: &[u8], value: &[u8]) {
        if key != b"parm" && key != b"parmtype" {
            return;
        }
        let Some(colon) = value.iter().position(|&b| b == b':') else {
            eprintln!(
                "{prog}: ERROR: Found invalid \"{}={}\": missing ':'",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(value)
            );
            return;
        };
        let (name, rest) = (&value[..colon], &value[colon + 1..]);
        let idx = match self.list.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.list.push(Param {
                    name: name.to_vec(),
                    desc: None,
                    kind: None,
                });
                self.list.len() - 1
            }
        };
        let p = &mut self.list[idx];
        if key == b"parm" {
            p.desc = Some(rest.to_vec());
        } else {
            p.kind = Some(rest.to_vec());
        }
    }

    /// `-p` / `-F parm`: `name:desc (type)`, `name: (type)` or `name:desc`.
    fn write_bare(&self, w: &mut Vec<u8>, sep: u8) {
        for p in self.list.iter().rev() {
            w.extend_from_slice(&p.name);
            w.push(b':');
            match (&p.desc, &p.kind) {
                (None, k) => {
                    w.extend_from_slice(b" (");
                    w.extend_from_slice(k.as_deref().unwrap_or_default());
                    w.push(b')');
                }
                (Some(d), Some(k)) => {
                    w.extend_from_slice(d);
                    w.extend_from_slice(b" (");
                    w.extend_from_slice(k);
                    w.push(b')');
                }
                (Some(d), None) => w.extend_from_slice(d),
            }
            w.push(sep);
        }
    }

    /// The default output: `parm:` padded, then `name:type` (no description),
    /// `name:desc (type)` or `name:desc`.
    fn write_prefixed(&self, w: &mut Vec<u8>, sep: u8) {
        for p in self.list.iter().rev() {
            w.extend_from_slice(b"parm:           ");
            w.extend_from_slice(&p.name);
            w.push(b':');
            match (&p.desc, &p.kind) {
                (None, k) => w.extend_from_slice(k.as_deref().unwrap_or_default()),
                (Some(d), Some(k)) => {
                    w.extend_from_slice(d);
                    w.extend_from_slice(b" (");
                    w.extend_from_slice(k);
                    w.push(b')');
                }
                (Some(d), None) => w.extend_from_slice(d),
            }
            w.push(sep);
        }
    }
}
