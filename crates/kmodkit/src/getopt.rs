//! GNU `getopt_long`, as kmod's tools parse their arguments: options and operands may be
//! mixed (operands are collected in order), `--` ends options, short options combine
//! (`-0F name`), arguments attach (`-Fname`, `--field=name`) or follow, long options may be
//! abbreviated to an unambiguous prefix, and errors print glibc's messages. Keeping kmod's
//! exact option grammar (rather than clap's) is part of being a drop-in.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Whether an option takes an argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    Optional,
}

/// A long option: `--name`, with the short letter it stands for.
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: HasArg,
    pub val: char,
}

/// `LongOpt { name, has_arg, val }`, short enough for option tables.
pub const fn opt(name: &'static str, has_arg: HasArg, val: char) -> LongOpt {
    LongOpt { name, has_arg, val }
}

/// Parsed command line: options in order (letter, argument), then operands in order.
pub struct Parsed {
    pub opts: Vec<(char, Option<OsString>)>,
    pub operands: Vec<OsString>,
}

/// Parse `args` (without argv[0]). On an error, glibc's message is printed to stderr with
/// `prog` as the program name and `Err(())` is returned (kmod then exits with status 1).
pub fn parse(
    prog: &str,
    args: &[OsString],
    shortopts: &str,
    longopts: &[LongOpt],
) -> Result<Parsed, ()> {
    let short_arg = |c: char| -> Option<HasArg> {
        let i = shortopts.find(c)?;
        let rest = &shortopts[i + c.len_utf8()..];
        Some(if rest.starts_with("::") {
            HasArg::Optional
        } else if rest.starts_with(':') {
            HasArg::Required
        } else {
            HasArg::No
        })
    };
    let mut out = Parsed {
        opts: Vec::new(),
        operands: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        i += 1;
        if arg == b"--" {
            out.operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, value) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    &long[..eq],
                    Some(OsStr::from_bytes(&long[eq + 1..]).to_os_string()),
                ),
                None => (long, None),
            };
            let name_str = String::from_utf8_lossy(name);
            let exact = longopts.iter().find(|o| o.name.as_bytes() == name);
            let opt = match exact {
                Some(o) => o,
                None => {
                    let cands: Vec<&LongOpt> = longopts
                        .iter()
                        .filter(|o| o.name.as_bytes().starts_with(name))
                        .collect();
                    match cands.as_slice() {
                        [o] => *o,
                        [] => {
                            eprintln!("{prog}: unrecognized option '--{name_str}'");
                            return Err(());
                        }
                        many => {
                            let list: Vec<String> =
                                many.iter().map(|o| format!("'--{}'", o.name)).collect();
                            eprintln!(
                                "{prog}: option '--{name_str}' is ambiguous; possibilities: {}",
                                list.join(" ")
                            );
                            return Err(());
                        }
                    }
                }
            };
            match (opt.has_arg, value) {
                (HasArg::No, Some(_)) => {
                    eprintln!("{prog}: option '--{}' doesn't allow an argument", opt.name);
                    return Err(());
                }
                (HasArg::No, None) | (HasArg::Optional, None) => out.opts.push((opt.val, None)),
                (_, Some(v)) => out.opts.push((opt.val, Some(v))),
                (HasArg::Required, None) => match args.get(i) {
                    Some(v) => {
                        out.opts.push((opt.val, Some(v.clone())));
                        i += 1;
                    }
                    None => {
                        eprintln!("{prog}: option '--{}' requires an argument", opt.name);
                        return Err(());
                    }
                },
            }
            continue;
        }
        if arg.len() > 1 && arg[0] == b'-' {
            let text = String::from_utf8_lossy(&arg[1..]).into_owned();
            for (pos, c) in text.char_indices() {
                match short_arg(c).filter(|_| c != ':') {
                    None => {
                        eprintln!("{prog}: invalid option -- '{c}'");
                        return Err(());
                    }
                    Some(HasArg::No) => out.opts.push((c, None)),
                    Some(kind) => {
                        let rest = &arg[1 + pos + c.len_utf8()..];
                        if !rest.is_empty() {
                            out.opts
                                .push((c, Some(OsStr::from_bytes(rest).to_os_string())));
                        } else if kind == HasArg::Optional {
                            out.opts.push((c, None));
                        } else if let Some(v) = args.get(i) {
                            out.opts.push((c, Some(v.clone())));
                            i += 1;
                        } else {
                            eprintln!("{prog}: option requires an argument -- '{c}'");
                            return Err(());
                        }
                        break;
                    }
                }
            }
            continue;
        }
        out.operands.push(args[i - 1].clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &[LongOpt] = &[
        LongOpt {
            name: "field",
            has_arg: HasArg::Required,
            val: 'F',
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
    ];

    fn run(args: &[&str]) -> Result<Parsed, ()> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse("t", &v, "0nF:", LONG)
    }

    fn opts(p: &Parsed) -> Vec<(char, Option<String>)> {
        p.opts
            .iter()
            .map(|(c, v)| (*c, v.as_ref().map(|s| s.to_string_lossy().into_owned())))
            .collect()
    }

    #[test]
    fn mixes_options_and_operands() {
        let p = run(&[
            "a.ko", "-0Fname", "b.ko", "--field", "x", "--fie=y", "--nu", "--", "-n",
        ])
        .unwrap();
        let want = vec![
            ('0', None),
            ('F', Some("name".to_string())),
            ('F', Some("x".to_string())),
            ('F', Some("y".to_string())),
            ('0', None),
        ];
        assert_eq!(opts(&p), want);
        assert_eq!(p.operands, ["a.ko", "b.ko", "-n"]);
    }

    #[test]
    fn errors() {
        assert!(run(&["--fi"]).is_err(), "ambiguous prefix");
        assert!(run(&["--bogus"]).is_err());
        assert!(run(&["-x"]).is_err());
        assert!(run(&["-F"]).is_err(), "missing argument");
        assert!(run(&["--null=1"]).is_err(), "argument not allowed");
        assert_eq!(run(&["-"]).unwrap().operands, ["-"]);
    }
}
