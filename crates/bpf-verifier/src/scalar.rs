//! Scalar abstract domain: tristate numbers (known bits) combined with unsigned and signed
//! 64-bit ranges and unsigned and signed ranges of the low 32 bits (the subregister `wN`),
//! kept consistent with each other after every operation, as the kernel's verifier does
//! (`kernel/bpf/tnum.c`, `reg_bounds_sync` in `kernel/bpf/verifier.c`).

/// A tristate number: bits set in `mask` are unknown; the others equal `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

#[allow(clippy::should_implement_trait)]
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

/// A scalar: what is known about a 64-bit value and about its low 32 bits (the kernel's
/// `u32_min_value` .. `s32_max_value`, which JMP32 compares refine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    pub t: Tnum,
    pub umin: u64,
    pub umax: u64,
    pub smin: i64,
    pub smax: i64,
    pub u32min: u32,
    pub u32max: u32,
    pub s32min: i32,
    pub s32max: i32,
    /// Registers (and spilled copies) with the same non-zero id hold the same value: a
    /// bound learnt on one holds for all (the kernel's scalar ids, `sync_linked_regs`).
    pub id: u32,
    /// With `id`: this value is the linked value plus `link_off` (`rX += K` after a copy:
    /// the kernel's BPF_ADD_CONST), wrapping.
    pub link_off: i64,
}

impl Scalar {
    pub fn unknown() -> Scalar {
        Scalar {
            t: Tnum::UNKNOWN,
            umin: 0,
            umax: u64::MAX,
            smin: i64::MIN,
            smax: i64::MAX,
            u32min: 0,
            u32max: u32::MAX,
            s32min: i32::MIN,
            s32max: i32::MAX,
            id: 0,
            link_off: 0,
        }
    }

    pub fn konst(v: u64) -> Scalar {
        Scalar {
            t: Tnum::konst(v),
            umin: v,
            umax: v,
            smin: v as i64,
            smax: v as i64,
            u32min: v as u32,
            u32max: v as u32,
            s32min: v as i32,
            s32max: v as i32,
            id: 0,
            link_off: 0,
        }
    }

    pub fn urange(lo: u64, hi: u64) -> Scalar {
        let mut s = Scalar::unknown();
        s.umin = lo;
        s.umax = hi;
        s.sync();
        s
    }

    /// The same value, linked to no other register.
    pub fn unlinked(&self) -> Scalar {
        Scalar {
            id: 0,
            link_off: 0,
            ..*self
        }
    }

    pub fn is_const(&self) -> bool {
        self.t.is_const()
    }

    pub fn value(&self) -> Option<u64> {
        self.is_const().then_some(self.t.value)
    }

    /// Make tnum and ranges agree (a fixed point of a few rounds suffices): the kernel's
    /// `reg_bounds_sync` (`__update_reg_bounds`, `__reg32_deduce_bounds`,
    /// `__reg64_deduce_bounds`, `__reg_deduce_mixed_bounds`, `__reg_bound_offset`).
    pub fn sync(&mut self) {
        for _ in 0..3 {
            // From tnum (__update_reg64_bounds / __update_reg32_bounds).
            self.umin = self.umin.max(self.t.umin());
            self.umax = self.umax.min(self.t.umax());
            self.smin = self.smin.max(self.t.smin());
            self.smax = self.smax.min(self.t.smax());
            let (v32, m32) = (self.t.value as u32, self.t.mask as u32);
            self.u32min = self.u32min.max(v32);
            self.u32max = self.u32max.min(v32 | m32);
            self.s32min = self.s32min.max((v32 | (m32 & 0x8000_0000)) as i32);
            self.s32max = self.s32max.min((v32 | (m32 & 0x7fff_ffff)) as i32);
            // 32-bit bounds from the 64-bit ones (__reg32_deduce_bounds): when the upper
            // halves of a range's ends are equal, its lower halves form a range.
            if (self.umin >> 32) == (self.umax >> 32) {
                self.u32min = self.u32min.max(self.umin as u32);
                self.u32max = self.u32max.min(self.umax as u32);
                if (self.umin as i32) <= (self.umax as i32) {
                    self.s32min = self.s32min.max(self.umin as i32);
                    self.s32max = self.s32max.min(self.umax as i32);
                }
            }
            if (self.smin >> 32) == (self.smax >> 32) {
                self.u32min = self.u32min.max(self.smin as u32);
                self.u32max = self.u32max.min(self.smax as u32);
                if (self.smin as i32) <= (self.smax as i32) {
                    self.s32min = self.s32min.max(self.smin as i32);
                    self.s32max = self.s32max.min(self.smax as i32);
                }
            }
            // A signed range within the 32-bit signed one is that of the low half too (the
            // kernel's special case of two consecutive upper halves, 0xffffffff and 0).
            if self.smin >= i32::MIN as i64 && self.smax <= i32::MAX as i64 {
                self.s32min = self.s32min.max(self.smin as i32);
                self.s32max = self.s32max.min(self.smax as i32);
            }
            // Signed <-> unsigned 32-bit when the range does not cross the sign boundary.
            if (self.u32min as i32) <= (self.u32max as i32) {
                self.s32min = self.s32min.max(self.u32min as i32);
                self.s32max = self.s32max.min(self.u32max as i32);
            }
            if (self.s32min as u32) <= (self.s32max as u32) {
                self.u32min = self.u32min.max(self.s32min as u32);
                self.u32max = self.u32max.min(self.s32max as u32);
            }
            // A signed range across the sign boundary is the two ends of the unsigned
            // domain: an unsigned range that meets only one end bounds both (the kernel's
            // __reg32_deduce_bounds and __reg64_deduce_bounds).
            if (self.s32min as u32) > (self.s32max as u32) {
                if self.u32max < self.s32min as u32 {
                    self.s32min = self.s32min.max(self.u32min as i32);
                    self.u32max = self.u32max.min(self.s32max as u32);
                } else if (self.s32max as u32) < self.u32min {
                    self.s32max = self.s32max.min(self.u32max as i32);
                    self.u32min = self.u32min.max(self.s32min as u32);
                }
            }
            if (self.smin as u64) > (self.smax as u64) {
                if self.umax < self.smin as u64 {
                    self.smin = self.smin.max(self.umin as i64);
                    self.umax = self.umax.min(self.smax as u64);
                } else if (self.smax as u64) < self.umin {
                    self.smax = self.smax.min(self.umax as i64);
                    self.umin = self.umin.max(self.smin as u64);
                }
            }
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
            // 64-bit bounds from the 32-bit ones (__reg_deduce_mixed_bounds): a value at
            // least `umin` whose low half is at least `u32min` is at least `umin` with its
            // low half raised to `u32min` (the same for the other ends, and in signed order).
            if self.u32min <= self.u32max {
                let (lo, hi) = (self.u32min as u64, self.u32max as u64);
                self.umin = self.umin.max((self.umin & !0xffff_ffff) | lo);
                self.umax = self.umax.min((self.umax & !0xffff_ffff) | hi);
                self.smin = self
                    .smin
                    .max(((self.smin as u64 & !0xffff_ffff) | lo) as i64);
                self.smax = self
                    .smax
                    .min(((self.smax as u64 & !0xffff_ffff) | hi) as i64);
            }
            if (self.s32min as u32) <= (self.s32max as u32) && self.s32min <= self.s32max {
                let (lo, hi) = (self.s32min as u32 as u64, self.s32max as u32 as u64);
                self.umin = self.umin.max((self.umin & !0xffff_ffff) | lo);
                self.umax = self.umax.min((self.umax & !0xffff_ffff) | hi);
                self.smin = self
                    .smin
                    .max(((self.smin as u64 & !0xffff_ffff) | lo) as i64);
                self.smax = self
                    .smax
                    .min(((self.smax as u64 & !0xffff_ffff) | hi) as i64);
            }
            // Tnum from the unsigned ranges (__reg_bound_offset).
            if self.umin <= self.umax {
                self.t = self.t.intersect(Tnum::range(self.umin, self.umax));
            }
            if self.u32min <= self.u32max {
                let r32 = Tnum::range(self.u32min as u64, self.u32max as u64);
                let low = self.t.cast32().intersect(r32);
                self.t = Tnum {
                    value: (self.t.value & !0xffff_ffff) | low.value,
                    mask: (self.t.mask & !0xffff_ffff) | low.mask,
                };
            }
        }
    }

    /// Whether this value can never occur (contradictory bounds): the path is dead.
    pub fn is_empty(&self) -> bool {
        self.umin > self.umax
            || self.smin > self.smax
            || self.u32min > self.u32max
            || self.s32min > self.s32max
            || (self.t.value & self.t.mask) != 0
    }

    /// Whether every value of `other` is a value of `self`.
    pub fn contains(&self, o: &Scalar) -> bool {
        self.umin <= o.umin
            && self.umax >= o.umax
            && self.smin <= o.smin
            && self.smax >= o.smax
            && self.u32min <= o.u32min
            && self.u32max >= o.u32max
            && self.s32min <= o.s32min
            && self.s32max >= o.s32max
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
        // __scalar64_min_max_lsh: `<<= 32` (half of a sign extension) moves the low half's
        // signed bounds up when they are not negative.
        if s == 32 {
            if self.s32max >= 0 {
                r.smax = r.smax.min((self.s32max as i64) << 32);
            }
            if self.s32min >= 0 {
                r.smin = r.smin.max((self.s32min as i64) << 32);
            }
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
        // The low half keeps its 32-bit bounds (which `sync` derived from the 64-bit ones
        // where it could); the upper half becomes zero.
        let mut r = Scalar::from_tnum(self.t.cast32());
        r.umin = r.umin.max(self.u32min as u64);
        r.umax = r.umax.min(self.u32max as u64);
        r.u32min = self.u32min;
        r.u32max = self.u32max;
        r.s32min = self.s32min;
        r.s32max = self.s32max;
        r.sync();
        r
    }

    /// The low 32 bits as a signed 64-bit value (what a signed JMP32 compare compares):
    /// its 64-bit bounds are this value's 32-bit signed bounds.
    pub fn sext32_low(&self) -> Scalar {
        let mut r = Scalar::unknown();
        let (v, m) = (self.t.value as u32, self.t.mask as u32);
        r.t = Tnum {
            value: v as i32 as i64 as u64,
            mask: m as i32 as i64 as u64,
        };
        if m & 0x8000_0000 != 0 {
            // The sign bit is unknown: so are the upper 32 bits.
            r.t.value &= 0xffff_ffff;
            r.t.mask |= !0xffff_ffff;
        }
        r.smin = self.s32min as i64;
        r.smax = self.s32max as i64;
        r.sync();
        r
    }

    /// Intersect this value's low 32 bits with `low`, a projection of them (`zext32` or
    /// `sext32_low`) that a JMP32 compare refined; `None` when nothing remains.
    pub fn with_low32(&self, low: &Scalar) -> Option<Scalar> {
        let mut r = *self;
        r.u32min = r.u32min.max(low.u32min);
        r.u32max = r.u32max.min(low.u32max);
        r.s32min = r.s32min.max(low.s32min);
        r.s32max = r.s32max.min(low.s32max);
        let lt = low.t.cast32();
        let own = r.t.cast32();
        if (lt.value ^ own.value) & !(lt.mask | own.mask) != 0 {
            return None;
        }
        let i = own.intersect(lt);
        r.t = Tnum {
            value: (r.t.value & !0xffff_ffff) | i.value,
            mask: (r.t.mask & !0xffff_ffff) | i.mask,
        };
        if r.is_empty() {
            return None;
        }
        r.sync();
        (!r.is_empty()).then_some(r)
    }

    /// Sign-extend from `bits` (movsx, sign-extending loads).
    pub fn sext(&self, bits: u32) -> Scalar {
        if !(1..64).contains(&bits) {
            return *self;
        }
        let half = 1u64 << (bits - 1);
        if self.umax < half {
            return *self;
        }
        let mut r = Scalar::unknown_signed(bits);
        // The low `bits` bits with their sign bit known: the tnum sign-extends.
        let low = (1u64 << bits) - 1;
        if self.t.mask & half == 0 {
            let ext = if self.t.value & half != 0 { !low } else { 0 };
            r.t = r.t.intersect(Tnum {
                value: (self.t.value & low) | ext,
                mask: self.t.mask & low,
            });
        }
        // A range within one block of 2^bits whose low parts do not cross the sign bit:
        // their sign-extensions form a range (the kernel's coerce_reg_to_size_sx).
        if self.umin >> bits == self.umax >> bits && (self.umin & half) == (self.umax & half) {
            let sx = |v: u64| {
                let v = v & low;
                (if v & half != 0 { v | !low } else { v }) as i64
            };
            r.smin = r.smin.max(sx(self.umin));
            r.smax = r.smax.min(sx(self.umax));
        }
        r.sync();
        if bits == 32 {
            // The low half's signed bounds are the result's (the kernel's
            // coerce_subreg_to_size_sx).
            r.smin = r.smin.max(self.s32min as i64);
            r.smax = r.smax.min(self.s32max as i64);
            r.sync();
        }
        r
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
        if self.umax > u32::MAX as u64 {
            if self.u32min != 0 {
                parts.push(format!("u32_min={}", self.u32min));
            }
            if self.u32max != u32::MAX {
                parts.push(format!("u32_max={}", self.u32max));
            }
            if self.s32min != i32::MIN && self.s32min as u32 != self.u32min {
                parts.push(format!("s32_min={}", self.s32min));
            }
            if self.s32max != i32::MAX && self.s32max as u32 != self.u32max {
                parts.push(format!("s32_max={}", self.s32max));
            }
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
    #[allow(clippy::type_complexity)]
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

    /// The 32-bit views of a range around the 32-bit boundaries contain every value's
    /// low half, and narrowing the low half keeps exactly the values whose low half fits.
    #[test]
    fn subregister_bounds_are_sound() {
        let edges = [
            0u64,
            5,
            0x7fff_fffe,
            0x8000_0001,
            0xffff_fffe,
            0x1_0000_0003,
            0x1_8000_0000,
            u64::MAX - 3,
        ];
        for &lo in &edges {
            for &len in &[0u64, 3, 9] {
                let hi = lo.saturating_add(len);
                let s = Scalar::urange(lo, hi);
                let z = s.zext32();
                let x = s.sext32_low();
                // Keep the values whose low half is signed-less-than 4.
                let mut p = x;
                p.smax = p.smax.min(3);
                p.sync();
                let n = s.with_low32(&p);
                for v in lo..=hi {
                    let c = Scalar::konst(v);
                    assert!(s.contains(&c), "{v:#x} not in {s:?}");
                    assert!(z.contains(&Scalar::konst(v as u32 as u64)), "{v:#x}: {z:?}");
                    let sx = v as u32 as i32 as i64 as u64;
                    assert!(x.contains(&Scalar::konst(sx)), "{v:#x}: {x:?}");
                    if (v as u32 as i32) < 4 {
                        assert!(n.is_some_and(|n| n.contains(&c)), "{v:#x}: {n:?}");
                    }
                }
            }
        }
    }

    /// `sync` keeps every value that satisfies the bounds it starts from (sampled at the
    /// edges of the signed and unsigned domains, 64-bit and 32-bit).
    #[test]
    fn sync_is_sound() {
        let edges: [u64; 8] = [
            0,
            5,
            0x7fff_fffd,
            0x8000_0003,
            0xffff_ff00,
            0x1_0000_0002,
            0x7fff_ffff_ffff_fffe,
            u64::MAX - 200,
        ];
        let mut vals: Vec<u64> = Vec::new();
        for e in edges {
            for d in 0..4u64 {
                vals.push(e.wrapping_add(d));
                vals.push(e.wrapping_sub(d));
                vals.push(e as u32 as u64 | 0xffff_ffff_0000_0000);
            }
        }
        for &a in &edges {
            for &b in &edges {
                for &c in &edges {
                    for &d in &edges {
                        let mut s = Scalar::unknown();
                        (s.umin, s.umax, s.smin, s.smax) = (a, b, c as i64, d as i64);
                        let mut w = Scalar::unknown();
                        (w.u32min, w.u32max, w.s32min, w.s32max) =
                            (a as u32, b as u32, c as i32, d as i32);
                        for (raw, mut x) in [(s, s), (w, w)] {
                            x.sync();
                            for &v in &vals {
                                let inside = v >= raw.umin
                                    && v <= raw.umax
                                    && v as i64 >= raw.smin
                                    && v as i64 <= raw.smax
                                    && v as u32 >= raw.u32min
                                    && v as u32 <= raw.u32max
                                    && v as i32 >= raw.s32min
                                    && v as i32 <= raw.s32max;
                                if inside {
                                    assert!(
                                        x.contains(&Scalar::konst(v)),
                                        "{v:#x}: {raw:?} -> {x:?}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sign extension keeps every value's sign-extended low bits.
    #[test]
    fn sext_is_sound() {
        let ranges = [
            (0x80u64, 0x8f),
            (0x70, 0x90),
            (0x1_0000_0080, 0x1_0000_00ff),
            (0xffff_ff80, 0xffff_ffff),
            (0x7ff0, 0x8010),
            (5, 9),
        ];
        for (lo, hi) in ranges {
            for t in [
                Scalar::urange(lo, hi),
                Scalar::from_tnum(Tnum {
                    value: lo,
                    mask: 0xf,
                }),
            ] {
                for bits in [8u32, 16, 32] {
                    let r = t.sext(bits);
                    for v in t.umin..=t.umax.min(t.umin + 300) {
                        if !t.contains(&Scalar::konst(v)) {
                            continue;
                        }
                        let sh = 64 - bits;
                        let x = ((v << sh) as i64 >> sh) as u64;
                        assert!(
                            r.contains(&Scalar::konst(x)),
                            "{v:#x} s{bits} {x:#x}: {r:?}"
                        );
                    }
                }
            }
        }
    }
}
