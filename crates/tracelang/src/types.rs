//! Types of expressions, map keys and values, and the probe kinds a script can attach to.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// An integer held in a 64-bit register; `size` is its storage size in bytes.
    Int {
        size: u8,
        signed: bool,
    },
    /// A NUL-padded string buffer of this many bytes.
    Str(usize),
    Void,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Hist,
    Lhist {
        min: i64,
        max: i64,
        step: i64,
    },
    /// The `args` of a tracepoint.
    Args,
    Tuple(Vec<Ty>),
    /// An address printed as a kernel or user symbol (`ksym`, `usym`, `func`).
    Ksym,
    Usym,
    /// A stack id in the stack-trace map (`kstack`; `ustack` also keeps the pid).
    /// The frame limit (`kstack(N)`); 0 for the default, `perf_event_max_stack`.
    Kstack(u16),
    Ustack(u16),
    /// The probe's name (`probe`).
    Probe,
    /// A pointer into kernel memory to the BTF type with this id (0: `void *`). An integer
    /// for arithmetic, comparisons and printing; `->` reads through it.
    Ptr(u32),
    /// A struct or union (BTF id) at a kernel address: only its members can be read.
    Record(u32),
    /// An array (BTF id of the array type) at a kernel address: only indexed.
    Array(u32),
    /// An address for `ntop()`: `[family u64][16 address bytes]`, printed as inet_ntop does.
    Inet,
    /// A MAC address from `macaddr()`: 6 bytes, printed `AA:BB:CC:DD:EE:FF`.
    MacAddr,
    /// Bytes from `buf()`: `[length u64][up to N bytes]`, printed with `%r` (hex escapes).
    Buf(usize),
    /// A timestamp from `strftime(FORMAT, ns)`: the ns, formatted in user space.
    Timestamp(String),
    /// `cgroup_path(id [, FILTER])`: the cgroup id, named in user space in each cgroup
    /// hierarchy whose name matches FILTER (`*` by default).
    CgroupPath(String),
}

pub const INT64: Ty = Ty::Int {
    size: 8,
    signed: true,
};
pub const UINT64: Ty = Ty::Int {
    size: 8,
    signed: false,
};

/// bpftrace's default string size.
pub const STRLEN: usize = 64;

impl Ty {
    /// Integers, and pointers (which are integers to everything but `->`).
    pub fn is_int(&self) -> bool {
        matches!(self, Ty::Int { .. } | Ty::Ptr(_))
    }
    /// The type a value keeps once stored (in a map, an event): pointers become uint64.
    pub fn stored(&self) -> Ty {
        match self {
            Ty::Ptr(_) => UINT64,
            Ty::Tuple(t) => Ty::Tuple(t.iter().map(Ty::stored).collect()),
            t => t.clone(),
        }
    }
    pub fn is_str(&self) -> bool {
        matches!(self, Ty::Str(_))
    }
    /// Values that print as text (printf's `%s`, print()): strings and what is rendered as
    /// one (symbols, stacks, addresses, buffers, times, cgroup paths).
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            Ty::Str(_)
                | Ty::Ksym
                | Ty::Usym
                | Ty::Probe
                | Ty::Kstack(_)
                | Ty::Ustack(_)
                | Ty::Inet
                | Ty::MacAddr
                | Ty::Buf(_)
                | Ty::Timestamp(_)
                | Ty::CgroupPath(_)
        )
    }
    pub fn is_aggregation(&self) -> bool {
        matches!(
            self,
            Ty::Count
                | Ty::Sum
                | Ty::Min
                | Ty::Max
                | Ty::Avg
                | Ty::Stats
                | Ty::Hist
                | Ty::Lhist { .. }
        )
    }
    /// Aggregations keep one value per CPU (a per-CPU hash map).
    pub fn is_per_cpu(&self) -> bool {
        self.is_aggregation()
    }
    /// Aggregations whose key gets an extra 8-byte bucket (as bpftrace lays them out).
    pub fn has_bucket(&self) -> bool {
        matches!(self, Ty::Hist | Ty::Lhist { .. })
    }
    /// Bytes this type takes as a map key, a map value, or a value in an event.
    pub fn size(&self) -> usize {
        match self {
            Ty::Int { .. } | Ty::Count | Ty::Sum | Ty::Hist | Ty::Lhist { .. } => 8,
            Ty::Ptr(_) => 8,
            Ty::Record(_) | Ty::Array(_) => 0,
            Ty::Ksym | Ty::Probe => 8,
            Ty::Usym => 16,
            Ty::Kstack(_) => 8,
            Ty::Ustack(_) => 16,
            // min/max: one 64-bit value per CPU, as bpftrace 0.17 keeps them.
            Ty::Min | Ty::Max => 8,
            Ty::Avg | Ty::Stats => 16,
            Ty::Str(n) => *n,
            Ty::Tuple(t) => t.iter().map(|t| t.size().next_multiple_of(8)).sum(),
            Ty::Void | Ty::Args => 0,
            Ty::Inet => 24,
            Ty::MacAddr | Ty::Timestamp(_) | Ty::CgroupPath(_) => 8,
            Ty::Buf(n) => 8 + n,
        }
    }
    /// May values of `other` be stored where this type was first stored?
    pub fn accepts(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Int { .. }, Ty::Int { .. } | Ty::Ptr(_)) => true,
            (Ty::Ptr(_), Ty::Int { .. } | Ty::Ptr(_)) => true,
            (Ty::Str(_), Ty::Str(_)) => true,
            (Ty::Tuple(a), Ty::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.accepts(b))
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int { size, signed } => {
                write!(f, "{}int{}", if *signed { "" } else { "u" }, size * 8)
            }
            Ty::Str(n) => write!(f, "string[{n}]"),
            Ty::Void => write!(f, "none"),
            Ty::Count => write!(f, "count"),
            Ty::Sum => write!(f, "sum"),
            Ty::Min => write!(f, "min"),
            Ty::Max => write!(f, "max"),
            Ty::Avg => write!(f, "avg"),
            Ty::Stats => write!(f, "stats"),
            Ty::Hist => write!(f, "hist"),
            Ty::Lhist { .. } => write!(f, "lhist"),
            Ty::Args => write!(f, "args"),
            Ty::Tuple(t) => {
                write!(f, "(")?;
                for (i, t) in t.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, ")")
            }
            Ty::Ksym => write!(f, "ksym"),
            Ty::Usym => write!(f, "usym"),
            Ty::Kstack(_) => write!(f, "kstack"),
            Ty::Ustack(_) => write!(f, "ustack"),
            Ty::Probe => write!(f, "probe"),
            Ty::Ptr(_) => write!(f, "pointer"),
            Ty::Record(_) => write!(f, "struct"),
            Ty::Array(_) => write!(f, "array"),
            Ty::Inet => write!(f, "inet"),
            Ty::MacAddr => write!(f, "mac_address"),
            Ty::Buf(_) => write!(f, "buffer"),
            Ty::Timestamp(_) => write!(f, "timestamp"),
            Ty::CgroupPath(_) => write!(f, "cgroup_path_t"),
        }
    }
}

/// Where a probe attaches, after wildcards are expanded.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    Begin,
    End,
    Tracepoint {
        category: String,
        name: String,
    },
    Uprobe {
        path: String,
        symbol: String,
        ret: bool,
    },
    Kprobe {
        function: String,
        ret: bool,
    },
    Interval {
        period_ns: u64,
    },
    Profile {
        freq_hz: u64,
    },
    Software {
        config: u64,
        period: u64,
    },
    Hardware {
        config: u64,
        period: u64,
    },
    /// `kfunc:`/`kretfunc:` (also spelled `fentry:`/`fexit:`): a BPF trampoline on a
    /// kernel function, its arguments typed from BTF.
    Kfunc {
        function: String,
        ret: bool,
    },
    /// `rawtracepoint:NAME`: the tracepoint's raw arguments.
    RawTracepoint {
        name: String,
    },
}

impl ProbeKind {
    /// bpftrace's full probe name, as `probe` prints it.
    pub fn full_name(&self, written: &str) -> String {
        match self {
            ProbeKind::Begin => "BEGIN".into(),
            ProbeKind::End => "END".into(),
            ProbeKind::Tracepoint { category, name } => format!("tracepoint:{category}:{name}"),
            ProbeKind::Uprobe { path, symbol, ret } => format!(
                "{}:{path}:{symbol}",
                if *ret { "uretprobe" } else { "uprobe" }
            ),
            ProbeKind::Kprobe { function, ret } => {
                format!("{}:{function}", if *ret { "kretprobe" } else { "kprobe" })
            }
            ProbeKind::Kfunc { function, ret } => {
                format!("{}:{function}", if *ret { "kretfunc" } else { "kfunc" })
            }
            ProbeKind::RawTracepoint { name } => format!("rawtracepoint:{name}"),
            _ => written.to_string(),
        }
    }
}

/// A field of a tracepoint's format file.
#[derive(Debug, Clone, PartialEq)]
pub struct TpField {
    pub name: String,
    /// The C type as the format file declares it (`struct __kernel_timespec *`).
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
    pub kind: TpFieldKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TpFieldKind {
    Int,
    /// `char *`-like pointer to a string (user or kernel memory).
    CharPtr,
    /// Any other pointer: an address.
    Ptr,
    /// `char name[N]` inline.
    CharArray,
    /// `__data_loc char[] name`: u32 with offset (low 16 bits) and length (high 16).
    DataLocStr,
    /// An array or struct we can only address.
    Other,
}

/// Parses a tracefs `format` file into its fields (`field:TYPE NAME; offset:N; size:N; signed:N;`).
pub fn parse_tp_format(text: &str) -> Vec<TpField> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        let mut decl = "";
        let (mut offset, mut size, mut signed) = (0u32, 0u32, false);
        for part in rest.split(';') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("offset:") {
                offset = v.parse().unwrap_or(0);
            } else if let Some(v) = part.strip_prefix("size:") {
                size = v.parse().unwrap_or(0);
            } else if let Some(v) = part.strip_prefix("signed:") {
                signed = v == "1";
            } else if decl.is_empty() {
                decl = part;
            }
        }
        let (ty, name) = match decl.rfind([' ', '*']) {
            Some(i) => (&decl[..=i], &decl[i + 1..]),
            None => continue,
        };
        let (name, array) = match name.find('[') {
            Some(i) => (&name[..i], true),
            None => (name, false),
        };
        let ty = ty.trim();
        let is_char = ty.contains("char");
        let kind = if ty.starts_with("__data_loc") {
            if is_char {
                TpFieldKind::DataLocStr
            } else {
                TpFieldKind::Other
            }
        } else if array {
            if is_char {
                TpFieldKind::CharArray
            } else {
                TpFieldKind::Other
            }
        } else if ty.ends_with('*') {
            if is_char && ty.matches('*').count() == 1 {
                TpFieldKind::CharPtr
            } else {
                TpFieldKind::Ptr
            }
        } else if matches!(size, 1 | 2 | 4 | 8) {
            TpFieldKind::Int
        } else {
            TpFieldKind::Other
        };
        out.push(TpField {
            name: name.to_string(),
            c_type: ty.to_string(),
            offset,
            size,
            signed,
            kind,
        });
    }
    out
}
