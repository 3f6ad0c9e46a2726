//! modprobe.d configuration (libkmod-config.c): `alias`, `options`, `install`, `remove`,
//! `blacklist`, `softdep`, `weakdep` (kmod 34), the module directory's `modules.softdep`
//! (and `modules.weakdep` with kmod 34), and `modprobe.blacklist=` / `module.param=` from
//! the kernel command line.
//!
//! Files are gathered from every configuration path (a directory's `*.conf` files, and with
//! kmod 30 its `*.alias` files too, or a file named directly), sorted by base name with the
//! first of equal names winning, and parsed in that order; `modules.softdep` joins that sort
//! under its own name. Bad lines are reported with libkmod's messages (kmod 30's debug build
//! prints libkmod's source position, kmod 34's does not: both are reproduced, so that stderr
//! matches) and skipped.

use std::path::{Path, PathBuf};

/// kmod's default configuration directories.
pub const DEFAULT_PATHS: [&str; 4] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// kmod 34's (Debian 13's build): its distribution directory `/usr/lib` before `/lib`.
pub const DEFAULT_PATHS_34: [&str; 5] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// The default modprobe.d directories of `kmod`.
pub fn default_paths(kmod: crate::Kmod) -> &'static [&'static str] {
    match kmod {
        crate::Kmod::V30 => &DEFAULT_PATHS,
        crate::Kmod::V34 => &DEFAULT_PATHS_34,
    }
}

/// One `softdep` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Softdep {
    pub name: String,
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

impl Softdep {
    /// libkmod's `softdep_to_char` (what `modprobe -c` prints).
    pub fn plain(&self) -> String {
        let mut s = String::new();
        if !self.pre.is_empty() {
            s.push_str("pre: ");
            s.push_str(&self.pre.join(" "));
        }
        if !self.post.is_empty() {
            s.push_str("post: ");
            s.push_str(&self.post.join(" "));
        }
        s
    }
}

/// One `weakdep` line (kmod 34): modules a module may use, made available but not loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Weakdep {
    pub name: String,
    pub weak: Vec<String>,
}

impl Weakdep {
    /// libkmod's `weakdep_to_char` (what `modprobe -c` prints).
    pub fn plain(&self) -> String {
        self.weak.join(" ")
    }
}

/// libkmod's own message, as its default logger prints it for `kmod` (`line`: the source
/// line in libkmod-config.c that kmod 30's debug build names).
pub(crate) fn libkmod_message(kmod: crate::Kmod, line: u32, func: &str, msg: &str) -> String {
    match kmod {
        crate::Kmod::V30 => format!("libkmod: ERROR {SRC}:{line} {func}: {msg}"),
        crate::Kmod::V34 => format!("libkmod: ERROR: {func}: {msg}"),
    }
}

/// Where a configuration entry came from (file and line), for `--explain`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// A parsed configuration, lists in the order libkmod keeps them.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `(pattern, module)`.
    pub aliases: Vec<(String, String, Origin)>,
    /// `(module, options)`.
    pub options: Vec<(String, String, Origin)>,
    /// `(module pattern, command)`.
    pub install: Vec<(String, String, Origin)>,
    pub remove: Vec<(String, String, Origin)>,
    pub blacklist: Vec<(String, Origin)>,
    pub softdeps: Vec<(Softdep, Origin)>,
    /// `weakdep` lines (kmod 34 only).
    pub weakdeps: Vec<(Weakdep, Origin)>,
    /// Which kmod's rules apply (set it before parsing).
    pub kmod: crate::Kmod,
}

/// kmod's `freadline_wrapped`: logical lines (a backslash joins the next physical line, and
/// before any other character is dropped), each with the number of its last physical line.
pub fn wrapped_lines(text: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut n = 0usize;
    let mut pending = 0usize;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        i += 1;
        match c {
            b'\n' => {
                pending += 1;
                n += pending;
                pending = 0;
                out.push((n, std::mem::take(&mut cur)));
            }
            b'\\' => match text.get(i) {
                Some(b'\n') => {
                    i += 1;
                    pending += 1;
                }
                Some(&c2) => {
                    i += 1;
                    cur.push(c2);
                }
                None => cur.push(0xff),
            },
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        n += pending + 1;
        out.push((n, cur));
    }
    out
}

/// libkmod's `underscores`: `-` to `_` outside brackets; unbalanced brackets are an error.
fn underscores(s: Option<&str>) -> Option<String> {
    let s = s?;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' => out.push(b'_'),
            b']' => return None,
            b'[' => {
                let end = b[i..].iter().position(|&c| c == b']')?;
                out.extend_from_slice(&b[i..i + end]);
                i += end;
                out.push(b']');
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `strtok_r(line, "\t ")` then the rest of the line (`strtok_r(NULL, "\0")`).
struct Tok<'a> {
    rest: &'a str,
}

impl<'a> Tok<'a> {
    fn word(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches([' ', '\t']);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        self.rest = if end < s.len() { &s[end + 1..] } else { "" };
        Some(&s[..end])
    }
    /// strtok with an empty delimiter set: the rest, unless empty.
    fn rest(&mut self) -> Option<&'a str> {
        let r = self.rest;
        self.rest = "";
        (!r.is_empty()).then_some(r)
    }
}

/// kmod_config_add_softdep's tokenizer: words separated by whitespace; `pre:`/`post:` switch
/// the list words go to; words before either are dropped.
fn parse_softdep(name: &str, line: &str) -> Softdep {
    let mut d = Softdep {
        name: name.to_string(),
        ..Softdep::default()
    };
    #[derive(PartialEq)]
    enum M {
        None,
        Pre,
        Post,
    }
    let mut mode = M::None;
    for w in line
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        match w {
            "pre:" => mode = M::Pre,
            "post:" => mode = M::Post,
            _ => match mode {
                M::Pre => d.pre.push(w.to_string()),
                M::Post => d.post.push(w.to_string()),
                M::None => {}
            },
        }
    }
    d
}

const SRC: &str = "../libkmod/libkmod-config.c";

impl Config {
    /// Parse one file's text into this configuration (`kmod_config_parse`); messages are
    /// appended to `msgs` as libkmod prints them.
    pub fn parse(&mut self, file: &str, text: &[u8], msgs: &mut Vec<String>) {
        for (n, line) in wrapped_lines(text) {
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let line = String::from_utf8_lossy(&line);
            let mut t = Tok { rest: &line };
            let Some(cmd) = t.word() else { continue };
            let origin = Origin {
                file: file.to_string(),
                line: n,
            };
            let ok = match cmd {
                "alias" => {
                    let (a, m) = (underscores(t.word()), underscores(t.word()));
                    match (a, m) {
                        (Some(a), Some(m)) => {
                            self.aliases.push((a, m, origin));
                            true
                        }
                        _ => false,
                    }
                }
                "blacklist" => match underscores(t.word()) {
                    Some(m) => {
                        self.blacklist.push((m, origin));
                        true
                    }
                    None => false,
                },
                "weakdep" if self.kmod >= crate::Kmod::V34 => {
                    let m = underscores(t.word());
                    match (m, t.rest()) {
                        (Some(m), Some(rest)) => {
                            let weak = rest
                                .split(|c: char| c.is_ascii_whitespace())
                                .filter(|w| !w.is_empty())
                                .map(str::to_string)
                                .collect();
                            self.weakdeps.push((Weakdep { name: m, weak }, origin));
                            true
                        }
                        _ => false,
                    }
                }
                "options" | "install" | "remove" | "softdep" => {
                    let m = underscores(t.word());
                    match (m, t.rest()) {
                        (Some(m), Some(rest)) => {
                            match cmd {
                                "options" => {
                                    self.options.push((m, rest.replace('\t', " "), origin))
                                }
                                "install" => self.install.push((m, rest.to_string(), origin)),
                                "remove" => self.remove.push((m, rest.to_string(), origin)),
                                _ => self.softdeps.push((parse_softdep(&m, rest), origin)),
                            }
                            true
                        }
                        _ => false,
                    }
                }
                "include" | "config" => {
                    msgs.push(libkmod_message(
                        self.kmod,
                        708,
                        "kmod_config_parse",
                        &format!("{file}: command {cmd} is deprecated and not parsed anymore\n"),
                    ));
                    true
                }
                _ => false,
            };
            if !ok {
                msgs.push(libkmod_message(
                    self.kmod,
                    712,
                    "kmod_config_parse",
                    &format!("{file} line {n}: ignoring bad line starting with '{cmd}'\n"),
                ));
            }
        }
    }

    /// `kmod_config_parse_kcmdline` over the text of /proc/cmdline.
    pub fn parse_kcmdline(&mut self, cmdline: &[u8], msgs: &mut Vec<String>) {
        #[derive(PartialEq, Clone, Copy)]
        enum S {
            Ignore,
            Modname,
            Param,
            Value,
            Complete,
        }
        let mut buf = cmdline.to_vec();
        buf.push(0);
        let origin = Origin {
            file: "/proc/cmdline".into(),
            line: 1,
        };
        let mut state = S::Modname;
        let mut quoted = false;
        let mut quote_start: Option<usize> = None;
        let (mut modname, mut param, mut value) = (0usize, None::<usize>, None::<usize>);
        let mut p = 0usize;
        let mut iter = true;
        while iter {
            match buf[p] {
                b'"' => {
                    quoted = !quoted;
                    if quoted && state == S::Modname && p == modname {
                        quote_start = Some(p);
                        modname = p + 1;
                    } else if state != S::Value {
                        state = S::Ignore;
                    }
                }
                c @ (0 | b' ' | b'\n' | b'\t' | 0x0b | 0x0c | b'\r') => {
                    if c == 0 {
                        iter = false;
                    }
                    if quoted && state == S::Value {
                    } else if quoted {
                        state = S::Ignore;
                    } else if state == S::Value || state == S::Param {
                        buf[p] = 0;
                        state = S::Complete;
                    } else {
                        modname = p + 1;
                        state = S::Modname;
                        quote_start = None;
                    }
                }
                b'.' => {
                    if state == S::Modname {
                        buf[p] = 0;
                        param = Some(p + 1);
                        state = S::Param;
                    } else if state == S::Param {
                        state = S::Ignore;
                    }
                }
                b'=' => {
                    if state == S::Param {
                        value = Some(p + 1);
                        state = S::Value;
                    } else if state == S::Modname {
                        state = S::Ignore;
                    }
                }
                _ => {}
            }
            if state == S::Complete {
                let cstr = |b: &[u8], at: usize| -> String {
                    let end = b[at..]
                        .iter()
                        .position(|&c| c == 0)
                        .map_or(b.len(), |e| at + e);
                    String::from_utf8_lossy(&b[at..end]).into_owned()
                };
                let (mut m, mut pa, mut va) = (modname, param, value);
                if let (Some(qs), Some(v)) = (quote_start, value) {
                    if qs < modname {
                        buf.copy_within(modname..v, qs);
                        m -= 1;
                        pa = pa.map(|x| x - 1);
                        va = Some(v - 1);
                        buf[v - 1] = b'"';
                    }
                }
                if let Some(pa) = pa {
                    let name = cstr(&buf, m);
                    let par = cstr(&buf, pa);
                    if name == "modprobe" && par.starts_with("blacklist=") {
                        let v = va.map(|v| cstr(&buf, v)).unwrap_or_default();
                        for t in v.split(',') {
                            self.blacklist.push((t.to_string(), origin.clone()));
                        }
                    } else {
                        match underscores(Some(&name)) {
                            Some(n) => self.options.push((n, par.replace('\t', " "), origin.clone())),
                            None => msgs.push(libkmod_message(
                                self.kmod,
                                489,
                                "kcmdline_parse_result",
                                &format!("Ignoring bad option on kernel command line while parsing module name: '{name}'\n"),
                            )),
                        }
                    }
                }
                modname = p + 1;
                state = S::Modname;
                quote_start = None;
                param = None;
                value = None;
            }
            p += 1;
        }
    }

    /// `kmod_config_new`: `dirname/modules.softdep` (and `modules.weakdep` with kmod 34) and
    /// every file of `paths`, sorted by name, then the kernel command line (`cmdline`,
    /// normally /proc/cmdline's contents).
    pub fn load(
        kmod: crate::Kmod,
        dirname: &Path,
        paths: &[PathBuf],
        cmdline: Option<&[u8]>,
        msgs: &mut Vec<String>,
    ) -> Config {
        let mut seed = vec![(b"modules.softdep".to_vec(), dirname.join("modules.softdep"))];
        let exts: &[&str] = match kmod {
            crate::Kmod::V30 => &[".conf", ".alias"],
            crate::Kmod::V34 => {
                seed.push((b"modules.weakdep".to_vec(), dirname.join("modules.weakdep")));
                &[".conf"]
            }
        };
        let files = crate::confdir::files(seed, paths, exts, &mut |n| {
            if let crate::confdir::Note::Directory { dir, name } = n {
                msgs.push(libkmod_message(
                    kmod,
                    772,
                    "conf_files_filter_out",
                    &format!(
                        "Directories inside directories are not supported: {}/{}\n",
                        dir.display(),
                        name.to_string_lossy()
                    ),
                ));
            }
        });
        let mut cfg = Config {
            kmod,
            ..Config::default()
        };
        for f in files {
            if let Ok(text) = std::fs::read(&f) {
                cfg.parse(&f.to_string_lossy(), &text, msgs);
            }
        }
        if let Some(c) = cmdline {
            cfg.parse_kcmdline(c, msgs);
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_commands() {
        let mut c = Config::default();
        let mut m = Vec::new();
        c.parse(
            "t.conf",
            b"# x\nalias pci:v*d-1 snd-hda\\\n-intel\noptions a-b  x=1\ty=2\nblacklist z\nsoftdep m pre: a b post: c\nbogus\nalias only\n",
            &mut m,
        );
        assert_eq!(c.aliases[0].0, "pci:v*d_1");
        assert_eq!(c.aliases[0].1, "snd_hda_intel");
        assert_eq!(c.aliases[0].2.line, 3);
        // strtok_r leaves the second space: kmod keeps it.
        assert_eq!(c.options[0].1, " x=1 y=2");
        assert_eq!(c.softdeps[0].0.plain(), "pre: a bpost: c");
        assert_eq!(m.len(), 2);
        assert!(m[0].ends_with("t.conf line 7: ignoring bad line starting with 'bogus'\n"));
    }

    #[test]
    fn weakdep_lines_by_release() {
        let text = b"weakdep a-b  c\td \nweakdep x\n";
        let mut c = Config::default();
        let mut m = Vec::new();
        c.parse("w.conf", text, &mut m);
        assert_eq!(c.weakdeps.len(), 1);
        assert_eq!(c.weakdeps[0].0.name, "a_b");
        assert_eq!(c.weakdeps[0].0.plain(), "c d");
        assert_eq!(
            m,
            ["libkmod: ERROR: kmod_config_parse: w.conf line 2: ignoring bad line starting with 'weakdep'\n"]
        );
        let mut c = Config {
            kmod: crate::Kmod::V30,
            ..Config::default()
        };
        let mut m = Vec::new();
        c.parse("w.conf", text, &mut m);
        assert!(c.weakdeps.is_empty());
        assert_eq!(m.len(), 2);
        assert!(m[0].starts_with(
            "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: w.conf line 1"
        ));
    }

    #[test]
    fn kernel_command_line() {
        let mut c = Config::default();
        let mut m = Vec::new();
        c.parse_kcmdline(
            b"quiet random.trust_cpu=1 modprobe.blacklist=a,b x=1 \"p.dyndbg=file a.c +p\" q.r.s=1\n",
            &mut m,
        );
        let opts: Vec<_> = c
            .options
            .iter()
            .map(|(a, b, _)| format!("{a} {b}"))
            .collect();
        assert_eq!(opts, ["random trust_cpu=1", "p dyndbg=\"file a.c +p\""]);
        let bl: Vec<_> = c.blacklist.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(bl, ["a", "b"]);
    }
}
