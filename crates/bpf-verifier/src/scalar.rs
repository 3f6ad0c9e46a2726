//! Scalar abstract domain: tristate numbers (known bits) combined with unsigned and signed
//! 64-bit ranges, kept consistent with each other after every operation, as the kernel's
//! verifier does (`kernel/bpf/tnum.c`, `reg_bounds_sync`).

/// A tristate number: bits set in `mask` are unknown; the others equal `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

impl Tnum {
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    pub fn konst(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The smallest tnum containing every value of `[min, max]`.
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum {
            value: min & !delta,
            mask: delta,
        }
    }

    pub fn is_const(self) -> bool {
        self.mask == 0
    }

    pub fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum {
            value: sv & !mu,
            mask: mu,
        }
    }

    pub fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum {
            value: dv & !mu,
            mask: mu,
        }
    }

    pub fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum {
            value: v,
            mask: alpha & beta & !v,
        }
    }

    pub fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum {
            value: v,
            mask: mu & !v,
        }
    }

    pub fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum {
            value: v & !mu,
            mask: mu,
        }
    }

    pub fn mul(self, b: Tnum) -> Tnum {
        let acc_v = self.value.wrapping_mul(b.value);
        let mut acc_m = Tnum::konst(0);
        let (mut a, mut bb) = (self, b);
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc_m = acc_m.add(Tnum {
                    value: 0,
                    mask: bb.mask,
                });
            } else if a.mask & 1 != 0 {
                acc_m = acc_m.add(Tnum {
                    value: 0,
                    mask: bb.value | bb.mask,
                });
            }
            a = a.rshift(1);
            bb = bb.lshift(1);
        }
        Tnum::konst(acc_v).add(acc_m)
    }

    pub fn lshift(self, s: u32) -> Tnum {
        Tnum {
            value: self.value.wrapping_shl(s),
            mask: self.mask.wrapping_shl(s),
        }
    }

    pub fn rshift(self, s: u32) -> Tnum {
        Tnum {
            value: self.value.wrapping_shr(s),
            mask: self.mask.wrapping_shr(s),
        }
    }

    pub fn arshift(self, s: u32) -> Tnum {
        Tnum {
            value: ((self.value as i64).wrapping_shr(s)) as u64,
            mask: ((self.mask as i64).wrapping_shr(s)) as u64,
        }
    }

    /// Keep the low 32 bits (zero-extension).
    pub fn cast32(self) -> Tnum {
        Tnum {
            value: self.value & 0xffff_ffff,
            mask: self.mask & 0xffff_ffff,
        }
    }

    pub fn intersect(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Tnum {
            value: v & !mu,
            mask: mu,
        }
    }

    pub fn umin(self) -> u64 {
        self.value
    }

    pub fn umax(self) -> u64 {
        self.value | self.mask
    }

    pub fn smin(self) -> i64 {
        if self.mask >> 63 != 0 {
            (self.value | (1 << 63)) as i64
        } else {
            self.value as i64
        }
    }

    pub fn smax(self) -> i64 {
        if self.mask >> 63 != 0 {
            ((self.value | self.mask) & !(1 << 63)) as i64
        } else {
            (self.value | self.mask) as i64
        }
    }
}

/// A scalar: what is known about a 64-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    pub t: Tnum,
    pub umin: u64,
    pub umax: u64,
    pub smin: i64,
    pub smax: i64,
}

impl Scalar {
    pub fn unknown() -> Scalar {
        Scalar {
            t: Tnum::UNKNOWN,
            umin: 0,
            umax: u64::MAX,
            smin: i64::MIN,
            smax: i64::MAX,
        }
    }

    pub fn konst(v: u64) -> Scalar {
        Scalar {
            t: Tnum::konst(v),
            umin: v,
            umax: v,
            smin: v as i64,
            smax: v as i64,
        }
    }

    pub fn urange(lo: u64, hi: u64) -> Scalar {
        let mut s = Scalar::unknown();
        s.umin = lo;
        s.umax = hi;
        s.sync();
        s
    }

    pub fn is_const(&self) -> bool {
        self.t.is_const()
    }

    pub fn value(&self) -> Option<u64> {
        self.is_const().then_some(self.t.value)
    }

    /// Make tnum and ranges agree (a fixed point of a few rounds suffices).
    pub fn sync(&mut self) {
        for _ in 0..3 {
            // From tnum.
            self.umin = self.umin.max(self.t.umin());
            self.umax = self.umax.min(self.t.umax());
            self.smin = self.smin.max(self.t.smin());
            self.smax = self.smax.min(self.t.smax());
            // Signed <-> unsigned when the signed range does not cross the sign boundary.
            if self.smin >= 0 || self.smax < 0 {
                self.umin = self.umin.max(self.smin as u64);
                self.umax = self.umax.min(self.smax as u64);
            }
            if (self.umax as i64) >= 0 || (self.umin as i64) < 0 {
                // unsigned range within one sign half
                if (self.umin as i64) <= (self.umax as i64) {
                    self.smin = self.smin.max(self.umin as i64);
                    self.smax = self.smax.min(self.umax as i64);
                }
            }
            // Tnum from the unsigned range.
            if self.umin <= self.umax {
                self.t = self.t.intersect(Tnum::range(self.umin, self.umax));
            }
        }
    }

    /// Whether this value can never occur (contradictory bounds): the path is dead.
    pub fn is_empty(&self) -> bool {
        self.umin > self.umax || self.smin > self.smax || (self.t.value & self.t.mask) != 0
    }

    /// Whether every value of `other` is a value of `self`.
    pub fn contains(&self, o: &Scalar) -> bool {
        self.umin <= o.umin
            && self.umax >= o.umax
            && self.smin <= o.smin
            && self.smax >= o.smax
            && tnum_in(self.t, o.t)
    }

    pub fn add(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.add(b.t);
        if let (Some(lo), Some(hi)) = (self.umin.checked_add(b.umin), self.umax.checked_add(b.umax))
        {
            r.umin = lo;
            r.umax = hi;
        }
        if let (Some(lo), Some(hi)) = (self.smin.checked_add(b.smin), self.smax.checked_add(b.smax))
        {
            r.smin = lo;
            r.smax = hi;
        }
        r.sync();
        r
    }

    pub fn sub(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.sub(b.t);
        if self.umin >= b.umax {
            r.umin = self.umin - b.umax;
            r.umax = self.umax - b.umin;
        }
        if let (Some(lo), Some(hi)) = (self.smin.checked_sub(b.smax), self.smax.checked_sub(b.smin))
        {
            r.smin = lo;
            r.smax = hi;
        }
        r.sync();
        r
    }

    pub fn mul(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.mul(b.t);
        if let Some(hi) = self.umax.checked_mul(b.umax) {
            r.umin = self.umin * b.umin;
            r.umax = hi;
        }
        r.sync();
        r
    }

    pub fn and(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.and(b.t);
        r.umax = self.umax.min(b.umax);
        r.sync();
        r
    }

    pub fn or(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.or(b.t);
        r.umin = self.umin.max(b.umin);
        r.sync();
        r
    }

    pub fn xor(&self, b: &Scalar) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = self.t.xor(b.t);
        r.sync();
        r
    }

    pub fn from_tnum(t: Tnum) -> Scalar {
        let mut r = Scalar::unknown();
        r.t = t;
        r.sync();
        r
    }

    pub fn lsh(&self, s: u32) -> Scalar {
        let mut r = Scalar::from_tnum(self.t.lshift(s));
        if s < 64 && self.umax.leading_zeros() >= s {
            r.umin = r.umin.max(self.umin << s);
            r.umax = r.umax.min(self.umax << s);
            r.sync();
        }
        r
    }

    pub fn rsh(&self, s: u32) -> Scalar {
        let mut r = Scalar::from_tnum(self.t.rshift(s));
        r.umin = r.umin.max(self.umin >> s);
        r.umax = r.umax.min(self.umax >> s);
        r.sync();
        r
    }

    pub fn arsh(&self, s: u32) -> Scalar {
        let mut r = Scalar::from_tnum(self.t.arshift(s));
        r.smin = r.smin.max(self.smin >> s);
        r.smax = r.smax.min(self.smax >> s);
        r.sync();
        r
    }

    /// Zero-extend the low 32 bits (result of a 32-bit ALU operation).
    pub fn zext32(&self) -> Scalar {
        if self.umax <= u32::MAX as u64 {
            return *self;
        }
        let mut r = Scalar::from_tnum(self.t.cast32());
        // When the 64-bit range stays within one 2^32 window, the low halves form a range.
        if self.umax - self.umin <= u32::MAX as u64 && (self.umin >> 32) == (self.umax >> 32) {
            r.umin = r.umin.max(self.umin & 0xffff_ffff);
            r.umax = r.umax.min(self.umax & 0xffff_ffff);
            r.sync();
        }
        r
    }

    /// Sign-extend from `bits` (movsx, sign-extending loads).
    pub fn sext(&self, bits: u32) -> Scalar {
        let half = 1u64 << (bits - 1);
        if self.umax < half {
            return *self;
        }
        Scalar::unknown_signed(bits)
    }

    /// Any value of a sign-extended `bits`-bit integer.
    pub fn unknown_signed(bits: u32) -> Scalar {
        let mut r = Scalar::unknown();
        r.smin = -(1i64 << (bits - 1));
        r.smax = (1i64 << (bits - 1)) - 1;
        r.sync();
        r
    }
}

fn tnum_in(a: Tnum, b: Tnum) -> bool {
    // b within a: b's unknown bits are unknown in a, and known bits agree where a knows them.
    if b.mask & !a.mask != 0 {
        return false;
    }
    (b.value & !a.mask) == a.value
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(v) = self.value() {
            return write!(f, "{}", v as i64);
        }
        let mut parts = Vec::new();
        if self.smin != i64::MIN {
            parts.push(format!("smin={}", self.smin));
        }
        if self.smax != i64::MAX {
            parts.push(format!("smax={}", self.smax));
        }
        if self.umin != 0 {
            parts.push(format!("umin={}", self.umin));
        }
        if self.umax != u64::MAX {
            parts.push(format!("umax={}", self.umax));
        }
        if self.t.mask != u64::MAX && self.t != Tnum::range(self.umin, self.umax) {
            parts.push(format!("var_off=({:#x}; {:#x})", self.t.value, self.t.mask));
        }
        if parts.is_empty() {
            write!(f, "unknown")
        } else {
            write!(f, "{}", parts.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tnum_basics() {
        let a = Tnum::range(0, 7);
        assert_eq!(a, Tnum { value: 0, mask: 7 });
        assert_eq!(Tnum::konst(3).add(Tnum::konst(4)), Tnum::konst(7));
        let s = Scalar::urange(0, 255).and(&Scalar::konst(0xf));
        assert_eq!((s.umin, s.umax), (0, 15));
        let s = Scalar::urange(1, 10).add(&Scalar::konst(5));
        assert_eq!((s.umin, s.umax), (6, 15));
        let s = Scalar::urange(0, 10).lsh(3);
        assert_eq!((s.umin, s.umax), (0, 80));
        assert!(Scalar::urange(0, 100).contains(&Scalar::urange(3, 7)));
        assert!(!Scalar::urange(3, 7).contains(&Scalar::urange(0, 100)));
    }

    /// Exhaustive soundness on small values: every concrete result lies in the abstract one.
    #[test]
    fn ops_are_sound_on_small_ranges() {
        let ranges = [(0u64, 0u64), (0, 3), (2, 9), (5, 5), (7, 20), (250, 260)];
        for &(a0, a1) in &ranges {
            for &(b0, b1) in &ranges {
                let a = Scalar::urange(a0, a1);
                let b = Scalar::urange(b0, b1);
                let ops: [(fn(&Scalar, &Scalar) -> Scalar, fn(u64, u64) -> u64); 6] = [
                    (Scalar::add, |x, y| x.wrapping_add(y)),
                    (Scalar::sub, |x, y| x.wrapping_sub(y)),
                    (Scalar::mul, |x, y| x.wrapping_mul(y)),
                    (Scalar::and, |x, y| x & y),
                    (Scalar::or, |x, y| x | y),
                    (Scalar::xor, |x, y| x ^ y),
                ];
                for (abs, conc) in ops {
                    let r = abs(&a, &b);
                    for x in a0..=a1 {
                        for y in b0..=b1 {
                            let v = conc(x, y);
                            assert!(r.contains(&Scalar::konst(v)), "{x} {y} -> {v} not in {r:?}");
                        }
                    }
                }
            }
        }
    }
}
