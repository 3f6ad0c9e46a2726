//! printf-style formats: parsed once at compile time (to check arguments) and applied in
//! user space to the values an event carries, with C's flags, width and precision.

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Lit(String),
    Conv(Conv),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub left: bool,
    pub zero: bool,
    pub plus: bool,
    pub space: bool,
    pub alt: bool,
    pub width: usize,
    pub precision: Option<usize>,
    /// Length modifier bytes (`h`, `hh`, `l`, `ll`, `z`, `j`, `t`).
    pub length: String,
    pub conv: char,
}

/// The largest field width or precision a format may ask for. C's printf takes up to
/// `INT_MAX`, which would make every event a 2 GiB string; no sensible format needs more
/// than this, and the limit keeps the padding a user-space formatter writes bounded.
pub const MAX_WIDTH: usize = 65_535;

/// A width or precision: decimal digits, at most [`MAX_WIDTH`].
fn number(chars: &mut std::iter::Peekable<std::str::Chars>, what: &str) -> Result<usize, String> {
    let mut n: usize = 0;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = n * 10 + d as usize;
        if n > MAX_WIDTH {
            return Err(format!(
                "the {what} of a conversion is larger than {MAX_WIDTH}"
            ));
        }
        chars.next();
    }
    Ok(n)
}

pub fn parse_format(fmt: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            lit.push('%');
            continue;
        }
        let mut conv = Conv {
            left: false,
            zero: false,
            plus: false,
            space: false,
            alt: false,
            width: 0,
            precision: None,
            length: String::new(),
            conv: ' ',
        };
        while let Some(&f) = chars.peek() {
            match f {
                '-' => conv.left = true,
                '0' => conv.zero = true,
                '+' => conv.plus = true,
                ' ' => conv.space = true,
                '#' => conv.alt = true,
                _ => break,
            }
            chars.next();
        }
        conv.width = number(&mut chars, "width")?;
        if chars.peek() == Some(&'.') {
            chars.next();
            conv.precision = Some(number(&mut chars, "precision")?);
        }
        while let Some(&l) = chars.peek() {
            if matches!(l, 'h' | 'l' | 'z' | 'j' | 't') {
                conv.length.push(l);
                chars.next();
            } else {
                break;
            }
        }
        match chars.next() {
            Some(c @ ('d' | 'i' | 'u' | 'x' | 'X' | 'o' | 'c' | 's' | 'p' | 'r')) => conv.conv = c,
            Some(c) => return Err(format!("unsupported conversion `%{c}`")),
            None => return Err("the format ends inside a conversion".into()),
        }
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(Piece::Conv(conv));
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

/// A value to format.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Str(String),
}

fn pad(conv: &Conv, body: String, numeric: bool) -> String {
    let len = body.chars().count();
    if len >= conv.width {
        return body;
    }
    let fill = conv.width - len;
    if conv.left {
        format!("{body}{}", " ".repeat(fill))
    } else if conv.zero && numeric && conv.precision.is_none() {
        // Zeros go after the sign or 0x prefix.
        let split = if body.starts_with(['-', '+', ' ']) {
            1
        } else if body.starts_with("0x") || body.starts_with("0X") {
            2
        } else {
            0
        };
        format!("{}{}{}", &body[..split], "0".repeat(fill), &body[split..])
    } else {
        format!("{}{body}", " ".repeat(fill))
    }
}

/// Truncates an integer to the width its length modifier names (`%hhd`, `%hd`, `%d` is 32-bit).
fn sized(conv: &Conv, v: i64, signed: bool) -> i64 {
    let bits = match conv.length.as_str() {
        "hh" => 8,
        "h" => 16,
        "" => 32,
        _ => 64,
    };
    if bits == 64 {
        return v;
    }
    let mask = (1i64 << bits) - 1;
    let u = v & mask;
    if signed && u >> (bits - 1) & 1 == 1 {
        u - (1i64 << bits)
    } else {
        u
    }
}

fn with_precision(conv: &Conv, digits: String) -> String {
    match conv.precision {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        Some(0) if digits == "0" => String::new(),
        _ => digits,
    }
}

pub fn format_one(conv: &Conv, arg: &Arg) -> String {
    match (conv.conv, arg) {
        ('s', Arg::Str(s)) => {
            let s = match conv.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            pad(conv, s, false)
        }
        ('s', Arg::Int(i)) => pad(conv, i.to_string(), false),
        ('c', Arg::Int(i)) => pad(conv, ((*i as u8) as char).to_string(), false),
        ('d' | 'i', Arg::Int(i)) => {
            let v = sized(conv, *i, true);
            let digits = with_precision(conv, v.unsigned_abs().to_string());
            let sign = if v < 0 {
                "-"
            } else if conv.plus {
                "+"
            } else if conv.space {
                " "
            } else {
                ""
            };
            pad(conv, format!("{sign}{digits}"), true)
        }
        ('u' | 'x' | 'X' | 'o' | 'p', Arg::Int(i)) => {
            let v = if conv.conv == 'p' {
                *i as u64
            } else {
                sized(conv, *i, false) as u64
            };
            let digits = match conv.conv {
                'u' => v.to_string(),
                'x' | 'p' => format!("{v:x}"),
                'X' => format!("{v:X}"),
                _ => format!("{v:o}"),
            };
            let digits = with_precision(conv, digits);
            let prefix = match conv.conv {
                'p' => "0x",
                'x' if conv.alt && v != 0 => "0x",
                'X' if conv.alt && v != 0 => "0X",
                'o' if conv.alt && !digits.starts_with('0') => "0",
                _ => "",
            };
            pad(conv, format!("{prefix}{digits}"), true)
        }
        (_, Arg::Str(s)) => pad(conv, s.clone(), false),
        (_, Arg::Int(i)) => pad(conv, i.to_string(), true),
    }
}

pub fn format(pieces: &[Piece], args: &[Arg]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    for p in pieces {
        match p {
            Piece::Lit(s) => out.push_str(s),
            Piece::Conv(c) => {
                if let Some(a) = it.next() {
                    out.push_str(&format_one(c, a));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: &[Arg]) -> String {
        format(&parse_format(fmt).unwrap(), args)
    }

    #[test]
    fn c_like() {
        assert_eq!(
            f(
                "%d %s %5d|%-5d|%x %lu %c\n",
                &[
                    Arg::Int(5),
                    Arg::Str("str".into()),
                    Arg::Int(42),
                    Arg::Int(42),
                    Arg::Int(255),
                    Arg::Int(7),
                    Arg::Int(65)
                ]
            ),
            "5 str    42|42   |ff 7 A\n"
        );
        assert_eq!(
            f(
                "%05d|%-8s|%08x|%%",
                &[Arg::Int(-42), Arg::Str("ab".into()), Arg::Int(0xbeef)]
            ),
            "-0042|ab      |0000beef|%"
        );
        assert_eq!(f("%d", &[Arg::Int(-1)]), "-1");
        assert_eq!(f("%u", &[Arg::Int(-1)]), "4294967295");
        assert_eq!(f("%lu", &[Arg::Int(-1)]), "18446744073709551615");
        assert_eq!(f("%.3s", &[Arg::Str("abcdef".into())]), "abc");
    }
}
