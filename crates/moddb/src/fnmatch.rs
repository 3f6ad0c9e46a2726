//! POSIX `fnmatch(pattern, string, 0)` as glibc implements it for the C locale: `*`, `?`,
//! bracket expressions (`[a-z]`, `[!x]`, `[^x]`, `[[:alpha:]]`) and backslash escapes; no
//! special treatment of `/` or leading dots (flags 0). libkmod matches modprobe.d aliases and
//! wildcard keys of modules.alias with it, so its exact rules decide which module an alias
//! resolves to.

/// Does `pat` match the whole of `s`?
pub fn fnmatch(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, string index it covers to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    while p < pat.len() && pat[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' if i < s.len() => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' if i < s.len() => {
                    if let Some((matched, next)) = bracket(pat, p, s[i]) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    } else if s[i] == b'[' {
                        // An unterminated bracket is an ordinary '['.
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && i < s.len() && s[i] == pat[p + 1] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() => {}
                c if c != b'?' && c != b'[' && i < s.len() && s[i] == c => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more byte.
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

/// Match `c` against the bracket expression starting at `pat[p] == '['`. Returns whether it
/// matched and the index after the closing `]`, or `None` if the bracket is not terminated.
fn bracket(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut k = p + 1;
    let negate = matches!(pat.get(k), Some(b'!') | Some(b'^'));
    if negate {
        k += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &b = pat.get(k)?;
        if b == b']' && !first {
            return Some((matched != negate, k + 1));
        }
        first = false;
        // Character class.
        if b == b'[' && pat.get(k + 1) == Some(&b':') {
            if let Some(end) = pat[k + 2..].windows(2).position(|w| w == b":]") {
                let name = &pat[k + 2..k + 2 + end];
                matched |= class(name, c);
                k += 2 + end + 2;
                continue;
            }
        }
        let (lo, after) = if b == b'\\' {
            (*pat.get(k + 1)?, k + 2)
        } else {
            (b, k + 1)
        };
        if pat.get(after) == Some(&b'-') && pat.get(after + 1).is_some_and(|&e| e != b']') {
            let (hi, next) = if pat[after + 1] == b'\\' {
                (*pat.get(after + 2)?, after + 3)
            } else {
                (pat[after + 1], after + 2)
            };
            matched |= lo <= c && c <= hi;
            k = next;
        } else {
            matched |= lo == c;
            k = after;
        }
    }
}

fn class(name: &[u8], c: u8) -> bool {
    match name {
        b"alpha" => c.is_ascii_alphabetic(),
        b"digit" => c.is_ascii_digit(),
        b"alnum" => c.is_ascii_alphanumeric(),
        b"upper" => c.is_ascii_uppercase(),
        b"lower" => c.is_ascii_lowercase(),
        b"space" => matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"blank" => c == b' ' || c == b'\t',
        b"punct" => c.is_ascii_punctuation(),
        b"print" => (0x20..0x7f).contains(&c),
        b"graph" => (0x21..0x7f).contains(&c),
        b"cntrl" => c < 0x20 || c == 0x7f,
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn basics() {
        assert!(fnmatch(
            b"pci:v00008086d*sv*",
            b"pci:v00008086d00001234sv0000"
        ));
        assert!(!fnmatch(
            b"pci:v00008086d*sv*",
            b"pci:v00008087d00001234sv0000"
        ));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(!fnmatch(b"a?c", b"ac"));
        assert!(fnmatch(b"[a-c]x", b"bx"));
        assert!(!fnmatch(b"[!a-c]x", b"bx"));
        assert!(fnmatch(b"[^a-c]x", b"dx"));
        assert!(fnmatch(b"[]]", b"]"));
        assert!(fnmatch(b"[[:digit:]]*", b"7up"));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"\\*", b"x"));
        assert!(fnmatch(b"[abc", b"[abc"));
        assert!(fnmatch(b"*", b""));
        assert!(fnmatch(b"a*b*c", b"aXXbYYc"));
        assert!(!fnmatch(b"a*b*c", b"aXXbYY"));
    }

    /// Against glibc's fnmatch on the host, through a tiny C-free oracle: python's `fnmatch`
    /// differs (it treats `[!` and escapes differently), so the oracle here is the shell's
    /// `case`, which uses the same POSIX pattern rules.
    #[test]
    fn agrees_with_shell_case() {
        let pats = ["a*", "*[0-9]", "[!x]?", "?\\?", "[[:upper:]]*", "x[a-]y"];
        let strs = ["abc", "a1", "x9", "b?", "Q", "x-y", "xay", "ab"];
        for p in pats {
            for s in strs {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("case \"$1\" in {p}) echo y;; *) echo n;; esac"))
                    .arg("sh")
                    .arg(s)
                    .output();
                let Ok(out) = out else { return };
                let shell = out.stdout == b"y\n";
                assert_eq!(fnmatch(p.as_bytes(), s.as_bytes()), shell, "{p} vs {s}");
            }
        }
    }
}
