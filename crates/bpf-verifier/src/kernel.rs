//! The kernel whose verifier is modelled: its version, and what that version's verifier
//! does differently ("versions as data", DESIGN.md). The engine asks this profile instead of
//! assuming one kernel; the helper table (`helpers.rs`) carries each helper's version of
//! introduction and per-program-type availability by version.
//!
//! What changes by version, as modelled (privileged loader: CAP_BPF + CAP_PERFMON, or
//! root on kernels before 5.8), with the upstream change each rule follows:
//! - **complexity limit**: 1,000,000 processed instructions and programs of up to 1,000,000
//!   instructions since 5.2 (commit c04c0d2b968a "bpf: increase complexity limit and maximum
//!   program size"); 131,072 processed / 4,096 instructions before;
//! - **bounded loops** (back-edges) since 5.3 (commit 2589726d12a1 "bpf: introduce bounded
//!   loops"); before, any back-edge is "back-edge from insn X to Y";
//! - **cpu v4 instructions** since 6.6: sign-extending loads (`ldsx`, BPF_MEMSX) and moves
//!   (`movsx`), signed division and modulo (`sdiv`/`smod`, `off` = 1), unconditional byte
//!   swaps (`bswap`, BPF_ALU64 | BPF_END) (Yonghong Song's series merged for 6.6, "bpf:
//!   Support new sign-extension load insns" and siblings); older kernels reject them as
//!   unknown opcodes, and `gotol +imm` (BPF_JMP32 | BPF_JA) as "BPF_JA uses reserved
//!   fields" — except the 6.1 stable series, which has `gotol` by 6.1.192 (Debian 12's
//!   kernel accepts it under `kmodkit vm`, and only it of the cpu v4 instructions; when it was
//!   backported is not known here, so 6.1.y before 192 is judged without it);
//! - **`may_goto`** (BPF_JMP | BPF_JCOND) since 6.9 ("bpf: Introduce may_goto instruction");
//! - **nullness of array lookups**: since 6.13, `bpf_map_lookup_elem` on an ARRAY or
//!   PERCPU_ARRAY map with a key the verifier knows to be a constant below `max_entries`
//!   returns a map value that is not NULL (commit d2102f2f5d75 "bpf: verifier: Support
//!   eliding map lookup nullness", Daniel Xu, posted for bpf-next on 2 Oct 2024, in 6.13's
//!   merge window). The key must be on the stack at a constant offset, either all zero bytes
//!   or one spilled constant of exactly `key_size` bytes (`get_constant_map_key`). Older
//!   kernels (Debian 12's 6.1) want a NULL check after every lookup;
//! - **context fields** newer than the kernel (`__sk_buff`: tstamp and wire_len 5.0,
//!   gso_segs and sk 5.1, gso_size 5.7, hwtstamp 5.16, tstamp_type 5.18; `xdp_md`:
//!   egress_ifindex 5.8) are refused;
//! - **helpers**: which exist and which program types get them, by version (`helpers.rs`).
//!
//! Not modelled by version (the engine judges as 6.x does): range tracking and precision,
//! stack rules, helper prototypes (6.12's for every version), context layouts of the other
//! fields. Tests compare the model with Debian's 6.1 and 6.12 and the 6.18 host.

use std::fmt;

/// A kernel version, as the verifier's behaviour depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kernel {
    /// `(major, minor, patch)`; only major and minor decide a rule here.
    pub version: (u32, u32, u32),
}

/// Versions at which a rule changed (major, minor).
pub mod since {
    pub const COMPLEXITY_1M: (u32, u32) = (5, 2);
    pub const BOUNDED_LOOPS: (u32, u32) = (5, 3);
    pub const CPU_V4: (u32, u32) = (6, 6);
    pub const MAY_GOTO: (u32, u32) = (6, 9);
    pub const CONST_KEY_NOT_NULL: (u32, u32) = (6, 13);
}

impl Kernel {
    /// The newest kernel this model knows (the host's 6.18 when this was written): the
    /// default of [`crate::Options`].
    pub const LATEST: Kernel = Kernel::new(6, 18, 0);
    /// The oldest version whose rules are modelled; older versions are refused by
    /// [`Kernel::parse`].
    pub const OLDEST: Kernel = Kernel::new(4, 19, 0);

    pub const fn new(major: u32, minor: u32, patch: u32) -> Kernel {
        Kernel {
            version: (major, minor, patch),
        }
    }

    /// A release string: `6.1`, `6.12.117`, `6.12.117+deb12-amd64`, `6.1.0-56-amd64`,
    /// `6.18.44-fc-v657`. The leading `MAJOR.MINOR[.PATCH]` is the version; anything after
    /// it is the distribution's. `None` when there is no such prefix.
    pub fn parse(release: &str) -> Option<Kernel> {
        let s = release.trim();
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Kernel::new(major, minor, patch))
    }

    /// The Debian upstream version in a kernel banner or bzImage version string
    /// (`... #1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1 (2025-09-20)`): Debian's release names
    /// say `6.1.0-56`, the banner says which 6.1 it is. Falls back to the release.
    pub fn from_version_string(s: &str) -> Option<Kernel> {
        if let Some(i) = s.find(" Debian ") {
            if let Some(k) = Kernel::parse(&s[i + 8..]) {
                return Some(k);
            }
        }
        let s = s.trim_start();
        let s = s.strip_prefix("Linux version ").unwrap_or(s);
        Kernel::parse(s)
    }

    pub fn at_least(&self, v: (u32, u32)) -> bool {
        (self.version.0, self.version.1) >= v
    }

    /// Processed-instruction limit (`BPF_COMPLEXITY_LIMIT_INSNS`).
    pub fn complexity_limit(&self) -> u64 {
        if self.at_least(since::COMPLEXITY_1M) {
            1_000_000
        } else {
            131_072
        }
    }

    /// Largest program a privileged loader may load (`BPF_MAXINSNS` before 5.2).
    pub fn max_insns(&self) -> usize {
        if self.at_least(since::COMPLEXITY_1M) {
            1_000_000
        } else {
            4096
        }
    }

    pub fn bounded_loops(&self) -> bool {
        self.at_least(since::BOUNDED_LOOPS)
    }

    pub fn cpu_v4(&self) -> bool {
        self.at_least(since::CPU_V4)
    }

    /// `gotol` (BPF_JMP32 | BPF_JA): cpu v4, and seen in the 6.1 stable series by 6.1.192.
    pub fn gotol(&self) -> bool {
        self.cpu_v4() || (self.version.0, self.version.1) == (6, 1) && self.version.2 >= 192
    }

    pub fn may_goto(&self) -> bool {
        self.at_least(since::MAY_GOTO)
    }

    /// `is_branch_taken` decides `==`/`!=` from ranges, not only for a constant, and
    /// compares two registers that are not constants (Andrii Nakryiko's register bounds
    /// series, 6.8). Before, such a branch is explored both ways; Debian's 6.1 does.
    pub fn range_branches(&self) -> bool {
        self.at_least((6, 8))
    }

    /// Linked scalars beyond plain copies: a spilled copy stays linked, `rX += K` keeps the
    /// link with K as its offset (BPF_ADD_CONST), and a NULL-able pointer compared equal to
    /// one known not NULL is not NULL. Counted from 6.12, the first release we have checked
    /// them against (its selftests and Debian's kernel); Debian's 6.1 rejects all three.
    pub fn linked_scalars(&self) -> bool {
        self.at_least((6, 12))
    }

    pub fn const_key_not_null(&self) -> bool {
        self.at_least(since::CONST_KEY_NOT_NULL)
    }
}

impl Default for Kernel {
    fn default() -> Kernel {
        Kernel::LATEST
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version;
        if c == 0 {
            write!(f, "{a}.{b}")
        } else {
            write!(f, "{a}.{b}.{c}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse() {
        assert_eq!(Kernel::parse("6.1"), Some(Kernel::new(6, 1, 0)));
        assert_eq!(
            Kernel::parse("6.12.117+deb12-amd64"),
            Some(Kernel::new(6, 12, 117))
        );
        assert_eq!(
            Kernel::parse("6.18.44-fc-v657"),
            Some(Kernel::new(6, 18, 44))
        );
        assert_eq!(Kernel::parse("6.1.0-56-amd64"), Some(Kernel::new(6, 1, 0)));
        assert_eq!(Kernel::parse("six"), None);
        assert_eq!(Kernel::parse("6"), None);
        assert_eq!(
            Kernel::from_version_string(
                "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1 (2025-09-20)"
            ),
            Some(Kernel::new(6, 1, 153))
        );
        assert_eq!(
            Kernel::from_version_string("Linux version 6.18.44-fc-v657 (root@x) #1 SMP"),
            Some(Kernel::new(6, 18, 44))
        );
    }

    #[test]
    fn rules_by_version() {
        let k61 = Kernel::parse("6.1").unwrap();
        let k612 = Kernel::parse("6.12").unwrap();
        assert!(!k61.cpu_v4() && k612.cpu_v4() && Kernel::LATEST.cpu_v4());
        assert!(!k61.const_key_not_null() && !k612.const_key_not_null());
        assert!(Kernel::LATEST.const_key_not_null());
        assert!(!k61.may_goto() && k612.may_goto());
        assert!(!k61.gotol() && Kernel::new(6, 1, 192).gotol() && !Kernel::new(6, 5, 0).gotol());
        assert_eq!(Kernel::new(5, 1, 0).complexity_limit(), 131_072);
        assert!(!Kernel::new(5, 2, 0).bounded_loops());
    }
}
