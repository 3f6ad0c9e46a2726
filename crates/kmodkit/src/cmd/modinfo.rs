//! `modinfo`, as kmod prints it (tools/modinfo.c + libkmod's kmod_module_get_info): kmod
//! 34.2 by default, kmod 30 with `KMODKIT_KMOD_COMPAT=30` (they differ in `--version` and in
//! keys longer than 15 bytes, see below).
//!
//! Output rules reproduced here, each visible in kmod's output:
//! - `filename:` first (`name:` before it for builtin modules, whose filename is
//!   `(builtin)`), then every `.modinfo` entry in file order, then the signature fields
//!   (`sig_id`, `signer`, `sig_key`, `sig_hashalgo`, `signature`), then `parm:` lines;
//! - keys are padded to 16 columns (`%-*s` with `15 - len(key)`; with kmod 30 a longer key
//!   still gets `len - 15` spaces, as C's printf treats a negative width as left-justified;
//!   kmod 34 clamps the length to 15, so a longer key gets none);
//! - `parm` and `parmtype` entries merge per parameter name and print in reverse order of
//!   first appearance (kmod prepends to a list);
//! - `-0` separates with NUL and prints `key=value`; `-F` prints bare values;
//! - key ids and signatures print as `AA:BB:...` hex, 20 bytes a line, continued with `\n\t\t`.

use super::{Exit, Outcome};
use crate::getopt::{self, opt, HasArg, LongOpt};
use anyhow::{anyhow, bail};
use moddb::modinfo::{Modinfo, Module, Query};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// modinfo's options (kmod 30's tools/modinfo.c), also the source of its man page.
pub(crate) const SHORTOPTS: &str = "adlpn0mF:k:b:Vh";
pub(crate) const LONGOPTS: &[LongOpt] = &[
    opt("author", HasArg::No, 'a'),
    opt("description", HasArg::No, 'd'),
    opt("license", HasArg::No, 'l'),
    opt("parameters", HasArg::No, 'p'),
    opt("filename", HasArg::No, 'n'),
    opt("null", HasArg::No, '0'),
    opt("modname", HasArg::No, 'm'),
    opt("field", HasArg::Required, 'F'),
    opt("set-version", HasArg::Required, 'k'),
    opt("basedir", HasArg::Required, 'b'),
    opt("version", HasArg::No, 'V'),
    opt("help", HasArg::No, 'h'),
    // kmodkit only.
    opt("json", HasArg::No, 'J'),
];

/// How the output is shaped.
struct Options {
    kmod: moddb::Kmod,
    field: Option<Vec<u8>>,
    sep: u8,
    json: bool,
}

pub fn main(prog: &str, args: Vec<OsString>) -> Outcome {
    let Ok(parsed) = getopt::parse(prog, &args, SHORTOPTS, LONGOPTS) else {
        return Err(Exit::status(1));
    };
    let mut opts = Options {
        kmod: super::moddb::kmod_compat()?,
        field: None,
        sep: b'\n',
        json: false,
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
            'J' => opts.json = true,
            'h' => {
                help(prog);
                return Ok(ExitCode::SUCCESS);
            }
            'V' => {
                super::moddb::print_kmod_version(opts.kmod);
                return Ok(ExitCode::SUCCESS);
            }
            _ => unreachable!("getopt returns only declared options"),
        }
    }
    if parsed.operands.is_empty() {
        bail!("ERROR: missing module or filename.");
    }

    let release = || match &kversion {
        Some(k) => Ok(k.clone()),
        None => kernels::running_release()
            .ok()
            .map(OsString::from)
            .ok_or_else(|| anyhow!("ERROR: uname() failed")),
    };
    let dirname = if root.is_some() || kversion.is_some() {
        let mut d = root.clone().unwrap_or_default();
        d.push("/lib/modules/");
        d.push(release()?);
        PathBuf::from(d)
    } else {
        let mut d = OsString::from("/lib/modules/");
        d.push(
            kernels::running_release()
                .ok()
                .map(OsString::from)
                .unwrap_or_default(),
        );
        PathBuf::from(d)
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut db = moddb::modinfo::Modinfo::new(dirname, modsys::file::read_boxed)
        .with_open_at(modsys::file::open_at);
    let mut failed = false;
    if opts.json {
        let mut docs = Vec::new();
        for arg in &parsed.operands {
            match db.lookup(&Query::of(arg, by_name)) {
                Ok(found) => {
                    for m in found {
                        failed |= !describe_json(prog, &mut db, &m, &opts, &mut docs);
                    }
                }
                Err(e) => {
                    eprintln!("{prog}: ERROR: {e}");
                    failed = true;
                }
            }
        }
        let _ = serde_json::to_writer_pretty(&mut out, &docs);
        let _ = writeln!(out);
    } else {
        failed |= describe_all(prog, &mut db, &parsed.operands, by_name, &opts, &mut out);
    }
    if out.flush().is_err() || failed {
        return Err(Exit::status(1));
    }
    Ok(ExitCode::SUCCESS)
}

type Info = Result<Option<moddb::modinfo::Entries>, moddb::modinfo::InfoError>;

/// One module's (or failed argument's) stdout bytes, stderr bytes and success.
type Out = (Vec<u8>, Vec<u8>, bool);

/// Part of a batch's output, in argument order.
enum Part {
    /// Described already.
    Done(Out),
    /// The argument named no module: kmod's message.
    NotFound(String),
    /// A module whose info needs the index (builtin), read already.
    Read(Module, Info),
    /// A module file, to read and format on any thread.
    File(Module),
}

/// Arguments described as kmod's `modinfo_do` does, one after the other on the outputs,
/// but in batches on every core (kmod does one at a time). In each batch: the arguments
/// naming module files are classified, read and formatted on any thread; then the others
/// (names and aliases, which share the index) are looked up in order; then the modules
/// they found are read and formatted on any thread; then the batch's stdout and stderr
/// bytes are written in argument order. Returns whether anything failed.
fn describe_all(
    prog: &str,
    db: &mut Modinfo,
    args: &[OsString],
    by_name: bool,
    opts: &Options,
    out: &mut impl Write,
) -> bool {
    use rayon::prelude::*;
    const BATCH: usize = 1024;
    let mut failed = false;
    let read = db.reader();
    let file = |m: &Module| -> Out {
        let (mut w, mut e) = (Vec::new(), Vec::new());
        let info = || match &m.path {
            Some(p) => moddb::modinfo::file_info(read, p).map(Some),
            None => Ok(None),
        };
        let ok = describe(prog, m, info, opts, &mut w, &mut e);
        (w, e, ok)
    };
    for batch in args.chunks(BATCH) {
        let first: Vec<Result<Out, Query>> = batch
            .par_iter()
            .map(|arg| {
                if let Some((m, f)) = moddb::modinfo::open_file_arg(read, arg, by_name) {
                    let (mut w, mut e) = (Vec::new(), Vec::new());
                    let info = || match &m.path {
                        Some(p) => f.info(p).map(Some),
                        None => Ok(None),
                    };
                    let ok = describe(prog, &m, info, opts, &mut w, &mut e);
                    return Ok((w, e, ok));
                }
                match Query::of(arg, by_name) {
                    Query::File(p) => Ok(file(&Modinfo::file_module(&p))),
                    q => Err(q),
                }
            })
            .collect();
        let mut parts = Vec::with_capacity(first.len());
        for r in first {
            match r {
                Ok(o) => parts.push(Part::Done(o)),
                Err(q) => match db.lookup(&q) {
                    Ok(found) => {
                        for m in found {
                            if Modinfo::is_file_only(&m) {
                                parts.push(Part::File(m));
                            } else {
                                let info = db.info(&m);
                                parts.push(Part::Read(m, info));
                            }
                        }
                    }
                    Err(e) => parts.push(Part::NotFound(format!("{prog}: ERROR: {e}\n"))),
                },
            }
        }
        let done: Vec<Out> = parts
            .into_par_iter()
            .map(|p| match p {
                Part::Done(o) => o,
                Part::NotFound(msg) => (Vec::new(), msg.into_bytes(), false),
                Part::Read(m, info) => {
                    let (mut w, mut e) = (Vec::new(), Vec::new());
                    let ok = describe(prog, &m, || info, opts, &mut w, &mut e);
                    (w, e, ok)
                }
                Part::File(m) => file(&m),
            })
            .collect();
        for (w, e, ok) in done {
            if !e.is_empty() {
                let _ = std::io::stderr().write_all(&e);
            }
            failed |= !ok || out.write_all(&w).is_err();
        }
    }
    failed
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
         \t-h, --help                  Show this help\n\
         \t    --json                  (kmodkit) One JSON array of objects, one per module;\n\
         \t                            alias, depends, parm, firmware, softdep, weakdep,\n\
         \t                            import_ns (and any key a module repeats) are arrays\n"
    );
}

/// kmod's `modinfo_do`: the module's text into `w`, its error messages into `e`; `info`
/// reads its entries (not called when only the file name is asked for). Returns whether
/// it succeeded.
fn describe(
    prog: &str,
    t: &Module,
    info: impl FnOnce() -> Info,
    opts: &Options,
    w: &mut Vec<u8>,
    e: &mut Vec<u8>,
) -> bool {
    let field = opts.field.as_deref();
    let sep = opts.sep;
    let filename: Vec<u8> = match &t.path {
        Some(p) => p.as_os_str().as_bytes().to_vec(),
        None => {
            match field {
                None => pad_line(w, b"name:", t.name.as_bytes(), sep),
                Some(b"name") => line(w, t.name.as_bytes(), sep),
                Some(_) => {}
            }
            b"(builtin)".to_vec()
        }
    };
    match field {
        Some(b"filename") => {
            line(w, &filename, sep);
            return true;
        }
        None => pad_line(w, b"filename:", &filename, sep),
        Some(_) => {}
    }

    let entries = match info() {
        Ok(Some(entries)) => entries,
        Ok(None) => return true,
        Err(err) => {
            let _ = writeln!(
                e,
                "{prog}: ERROR: could not get modinfo from '{}': {err}",
                t.name
            );
            return false;
        }
    };

    let mut params = Params::default();
    if field == Some(b"parm") {
        for (k, v) in &entries {
            params.add(prog, k, v, e);
        }
        params.write_bare(w, sep);
        return true;
    }
    for (k, v) in &entries {
        if let Some(f) = field {
            if f == &k[..] {
                line(w, v, sep);
            }
            continue;
        }
        if k == b"parm" || k == b"parmtype" {
            params.add(prog, k, v, e);
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
        let pad = match opts.kmod {
            moddb::Kmod::V30 => 15usize.abs_diff(k.len()),
            moddb::Kmod::V34 => 15usize.saturating_sub(k.len()),
        };
        w.resize(w.len() + pad, b' ');
        w.extend_from_slice(v);
        w.push(sep);
    }
    if field.is_none() {
        params.write_prefixed(w, sep);
    }
    true
}

/// Keys that may repeat in a module (kmod prints one line each): always a JSON array, so
/// that a consumer need not guess. Other keys are a string, or an array where a module
/// repeats one.
const LIST_KEYS: &[&str] = &[
    "alias",
    "depends",
    "parm",
    "firmware",
    "softdep",
    "weakdep",
    "import_ns",
];

/// `--json`: one object per module with what the text output shows: `name` (builtin only),
/// `filename`, each entry (values as the text lines print them, `sig_key` and `signature`
/// unwrapped, `parm` as the merged
/// `name:description (type)` lines and no separate `parmtype`); with a field option, that
/// field only.
fn describe_json(
    prog: &str,
    db: &mut Modinfo,
    t: &Module,
    opts: &Options,
    docs: &mut Vec<serde_json::Value>,
) -> bool {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if t.path.is_none() {
        pairs.push(("name".into(), t.name.clone()));
    }
    let filename = match &t.path {
        Some(p) => p.display().to_string(),
        None => "(builtin)".into(),
    };
    pairs.push(("filename".into(), filename));
    let mut ok = true;
    match db.info(t) {
        Ok(Some(entries)) => {
            let mut params = Params::default();
            for (k, v) in &entries {
                if k == b"parm" || k == b"parmtype" {
                    let mut e = Vec::new();
                    params.add(prog, k, v, &mut e);
                    let _ = std::io::stderr().write_all(&e);
                } else if k == b"sig_key" || k == b"signature" {
                    // Hex without the text output's line wrapping.
                    pairs.push((text(k), text(v).replace("\n\t\t", "")));
                } else {
                    pairs.push((text(k), text(v)));
                }
            }
            // As the text's `parm:` lines show them.
            for l in params.lines() {
                pairs.push(("parm".into(), text(&l)));
            }
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!(
                "{prog}: ERROR: could not get modinfo from '{}': {e}",
                t.name
            );
            ok = false;
        }
    }
    if let Some(f) = &opts.field {
        let f = text(f);
        pairs.retain(|(k, _)| *k == f);
    }
    let mut obj = serde_json::Map::new();
    for (k, v) in pairs {
        let repeated = LIST_KEYS.contains(&k.as_str());
        match obj.get_mut(&k) {
            Some(serde_json::Value::Array(a)) => a.push(v.into()),
            Some(old) => {
                let first = old.take();
                *old = serde_json::Value::Array(vec![first, v.into()]);
            }
            None if repeated => {
                obj.insert(k, serde_json::Value::Array(vec![v.into()]));
            }
            None => {
                obj.insert(k, v.into());
            }
        }
    }
    docs.push(serde_json::Value::Object(obj));
    ok
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
    /// Merge one entry; a malformed one is reported into `e`.
    fn add(&mut self, prog: &str, key: &[u8], value: &[u8], e: &mut Vec<u8>) {
        if key != b"parm" && key != b"parmtype" {
            return;
        }
        let Some(colon) = value.iter().position(|&b| b == b':') else {
            let _ = writeln!(
                e,
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

    /// The default output: `parm:` padded, then each of [`Params::lines`].
    fn write_prefixed(&self, w: &mut Vec<u8>, sep: u8) {
        for l in self.lines() {
            w.extend_from_slice(b"parm:           ");
            w.extend_from_slice(&l);
            w.push(sep);
        }
    }

    /// Each parameter as the default output shows it after `parm:`: `name:type` (no
    /// description), `name:desc (type)` or `name:desc`.
    fn lines(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.list.len());
        for p in self.list.iter().rev() {
            let mut w = p.name.clone();
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
            out.push(w);
        }
        out
    }
}
