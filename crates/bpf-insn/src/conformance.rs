//! The bpf_conformance test-vector format: sections introduced by `-- NAME` lines
//! (`asm`, `raw`, `mem`, `result`, `error`, `c`, ...), `#` comment lines outside `asm`.

use crate::{AsmError, Insn};

/// One parsed `.data` file.
#[derive(Debug, Clone, Default)]
pub struct Vector {
    /// The `-- asm` text.
    pub asm: String,
    /// Line number (1-based) in the file where the asm text starts.
    pub asm_line: usize,
    /// `-- raw`: 64-bit instruction words.
    pub raw: Option<Vec<u64>>,
    /// `-- mem`: the input memory.
    pub mem: Vec<u8>,
    /// `-- result`: the expected r0.
    pub result: Option<u64>,
    /// `-- error`: the expected error text.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("line {line}: {msg}")]
    Syntax { line: usize, msg: String },
    #[error("line {}:{}: {}", .0.line, .0.col, .0.msg)]
    Asm(AsmError),
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(d) = s.strip_prefix('-') {
        d.parse::<u64>().ok().map(|v| v.wrapping_neg())
    } else {
        s.parse().ok()
    }
}

impl Vector {
    pub fn parse(text: &str) -> Result<Vector, VectorError> {
        let mut v = Vector::default();
        let mut section: Option<String> = None;
        let mut result_seen = false;
        for (n, line) in text.lines().enumerate() {
            let lineno = n + 1;
            if let Some(name) = line.strip_prefix("-- ") {
                let name = name.trim().to_string();
                if name == "asm" {
                    v.asm_line = lineno + 1;
                }
                if name == "raw" {
                    v.raw = Some(Vec::new());
                }
                section = Some(name);
                continue;
            }
            let sec = section.as_deref();
            let body = line.trim();
            match sec {
                Some("asm") => {
                    v.asm.push_str(line);
                    v.asm.push('\n');
                }
                Some("raw") => {
                    let t = body.split('#').next().unwrap_or("").trim();
                    if t.is_empty() {
                        continue;
                    }
                    let w = parse_num(t).ok_or_else(|| VectorError::Syntax {
                        line: lineno,
                        msg: format!("bad raw instruction word `{t}`"),
                    })?;
                    v.raw.get_or_insert_with(Vec::new).push(w);
                }
                Some("mem") => {
                    let t = body.split('#').next().unwrap_or("").trim();
                    for byte in t.split_whitespace() {
                        let b = u8::from_str_radix(byte, 16).map_err(|_| VectorError::Syntax {
                            line: lineno,
                            msg: format!("bad memory byte `{byte}`"),
                        })?;
                        v.mem.push(b);
                    }
                }
                Some("result") => {
                    let t = body.split('#').next().unwrap_or("").trim();
                    if t.is_empty() {
                        continue;
                    }
                    if result_seen {
                        return Err(VectorError::Syntax {
                            line: lineno,
                            msg: "more than one result value".into(),
                        });
                    }
                    result_seen = true;
                    v.result = Some(parse_num(t).ok_or_else(|| VectorError::Syntax {
                        line: lineno,
                        msg: format!("bad result `{t}`"),
                    })?);
                }
                Some("error") if !body.is_empty() => {
                    let e = v.error.get_or_insert_with(String::new);
                    if !e.is_empty() {
                        e.push('\n');
                    }
                    e.push_str(body);
                }
                // `-- c` (the C source), and sections this runner does not use.
                _ => {}
            }
        }
        if v.asm.trim().is_empty() && v.raw.is_none() {
            return Err(VectorError::Syntax {
                line: 1,
                msg: "no `-- asm` or `-- raw` section".into(),
            });
        }
        if v.result.is_none() && v.error.is_none() {
            return Err(VectorError::Syntax {
                line: 1,
                msg: "no `-- result` or `-- error` section".into(),
            });
        }
        Ok(v)
    }

    /// The program: assembled from `-- asm`; when `-- raw` is present too, it must match.
    pub fn program(&self) -> Result<Vec<Insn>, VectorError> {
        let insns = crate::ubpf::assemble(&self.asm).map_err(|e| {
            VectorError::Asm(AsmError::new(e.line + self.asm_line - 1, e.col, e.msg))
        })?;
        if let Some(raw) = &self.raw {
            let from_raw: Vec<Insn> = raw
                .iter()
                .map(|w| Insn::decode(w.to_le_bytes(), crate::Endian::Little))
                .collect();
            if !self.asm.trim().is_empty() && from_raw != insns {
                return Err(VectorError::Syntax {
                    line: self.asm_line,
                    msg: "the assembled program differs from the `-- raw` words".into(),
                });
            }
            return Ok(from_raw);
        }
        Ok(insns)
    }
}
