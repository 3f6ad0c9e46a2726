//! Abstract machine state: registers, pointer kinds, stack slots, frames; their
//! printing and the subsumption test used to prune explored states.

use super::*;

pub(super) const MAX_FRAMES: usize = 8;
pub(super) const STACK: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Ctx,
    Stack(u8),
    MapValue(u32),
    MapPtr(u32),
    Pkt,
    PktEnd,
    PktMeta,
    /// Ring-buffer record of the given size.
    Mem(u32),
    /// A function of the program (`lddw rX, func`): its first instruction.
    Func(u32),
    /// The key of map `m`, as `bpf_for_each_map_elem` gives it to its callback (read-only).
    MapKey(u32),
    /// `struct bpf_sock` pointers (see `sock`): PTR_TO_SOCK_COMMON, PTR_TO_SOCKET,
    /// PTR_TO_TCP_SOCK.
    SockCommon,
    Sock,
    TcpSock,
    /// PTR_TO_XDP_SOCK: an XSKMAP lookup's result.
    XdpSock,
    /// PTR_TO_MEM | MEM_RDONLY of the given size: what a kfunc returning a pointer to a
    /// scalar type gives (an iterator's `next`), not a ring-buffer record.
    RdMem(u32),
    /// PTR_TO_BTF_ID: a pointer to kernel struct (BTF type id) with its flags
    /// (`btfptr::TRUSTED`, `RCU`, `UNTRUSTED`); see `btfptr`.
    Btf(u32, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Ptr {
    pub(super) kind: Kind,
    pub(super) off: i64,
    pub(super) var: Scalar,
    /// Identity shared by copies (NULL checks and packet ranges apply to all copies).
    pub(super) id: u32,
    pub(super) nullable: bool,
    /// Packet pointers: bytes known to be below data_end from this pointer's base.
    pub(super) range: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Reg {
    Uninit,
    Scalar(Scalar),
    Ptr(Ptr),
}

impl Reg {
    pub(super) fn konst(v: u64) -> Reg {
        Reg::Scalar(Scalar::konst(v))
    }
    pub(super) fn unknown() -> Reg {
        Reg::Scalar(Scalar::unknown())
    }
}

pub(super) const SLOT_INVALID: u8 = 0;
pub(super) const SLOT_MISC: u8 = 1;
pub(super) const SLOT_ZERO: u8 = 2;
pub(super) const SLOT_SPILL: u8 = 3;
/// STACK_ITER: the bytes of an open-coded iterator (see `kfunc`); only kfuncs touch them.
pub(super) const SLOT_ITER: u8 = 4;
/// STACK_DYNPTR: the bytes of a dynptr (see `dynptr`); only its helpers touch them.
pub(super) const SLOT_DYNPTR: u8 = 5;

/// An open-coded iterator's state on the stack (the kernel's `spilled_ptr.iter` of its
/// STACK_ITER slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Iter {
    /// Its first byte (index into `Stack::bytes`) and size.
    pub(super) start: u16,
    pub(super) size: u16,
    /// Which iterator (index into `kfunc::ITERS`).
    pub(super) ty: u8,
    /// BPF_ITER_STATE_ACTIVE (else DRAINED).
    pub(super) active: bool,
    /// Iterations of `next` on this path; not compared between states.
    pub(super) depth: u32,
    /// The reference `new` acquired (released by `destroy`).
    pub(super) ref_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Stack {
    pub(super) bytes: Vec<u8>,
    pub(super) spills: Vec<Option<Reg>>,
    /// Per slot: the size of a narrow scalar spill (1, 2 or 4 bytes at the slot's lowest
    /// address, as the kernel saves them); 0 for a full one.
    pub(super) narrow: Vec<u8>,
    /// Lowest offset (from the frame top) written or read: the frame's depth.
    pub(super) depth: usize,
    /// The iterators whose bytes are SLOT_ITER.
    pub(super) iters: Vec<Iter>,
    /// The dynptrs whose bytes are SLOT_DYNPTR.
    pub(super) dynptrs: Vec<dynptr::Dynptr>,
}

impl Stack {
    pub(super) fn new() -> Stack {
        Stack {
            bytes: vec![SLOT_INVALID; STACK],
            spills: vec![None; STACK / 8],
            narrow: vec![0; STACK / 8],
            depth: 0,
            iters: Vec::new(),
            dynptrs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Frame {
    pub(super) regs: [Reg; 11],
    pub(super) stack: Stack,
    /// The call instruction that created this frame.
    pub(super) callsite: usize,
    /// First instruction of the function.
    pub(super) func: usize,
    /// A callback called by a helper (`bpf_loop`, ...): the range its R0 must be in.
    pub(super) callback: Option<(i64, i64)>,
    /// Calls of a callback that returned to this frame since its helper call began (the
    /// kernel's `callback_depth`): the helper calls it at most its count (`bpf_loop`'s
    /// `nr_loops`, the map's `max_entries`) times.
    pub(super) cb_depth: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct State {
    pub(super) frames: Vec<Frame>,
    /// `may_goto` iterations taken on this path (the kernel's `may_goto_depth`).
    pub(super) may_goto_depth: u32,
    /// Socket references held (see `sock`).
    pub(super) refs: sock::Refs,
    /// The spin lock held (see `maps`).
    pub(super) lock: maps::Lock,
}

impl State {
    pub(super) fn cur(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }
    pub(super) fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }
}

pub(super) fn fmt_reg(r: &Reg, maps: &[MapInfo]) -> String {
    match r {
        Reg::Uninit => "uninit".into(),
        Reg::Scalar(s) => format!("scalar({s})"),
        Reg::Ptr(p) => {
            let k = match p.kind {
                Kind::Ctx => "ctx".to_string(),
                Kind::Stack(_) => "fp".to_string(),
                Kind::MapValue(m) => format!(
                    "map_value({})",
                    maps.get(m as usize).map(|m| m.name.as_str()).unwrap_or("?")
                ),
                Kind::MapPtr(m) => format!(
                    "map_ptr({})",
                    maps.get(m as usize).map(|m| m.name.as_str()).unwrap_or("?")
                ),
                Kind::Pkt => "pkt".into(),
                Kind::PktEnd => "pkt_end".into(),
                Kind::PktMeta => "pkt_meta".into(),
                Kind::Mem(n) => format!("mem({n})"),
                Kind::RdMem(n) => format!("rdonly_mem({n})"),
                Kind::Func(t) => format!("func(insn {t})"),
                Kind::MapKey(m) => format!(
                    "map_key({})",
                    maps.get(m as usize).map(|m| m.name.as_str()).unwrap_or("?")
                ),
                Kind::SockCommon | Kind::Sock | Kind::TcpSock | Kind::XdpSock => {
                    sock::type_str(&Reg::Ptr(Ptr {
                        nullable: false,
                        ..*p
                    }))
                }
                // reg_type_str: PTR_TO_BTF_ID's NULL postfix follows its "ptr_".
                Kind::Btf(id, f) => format!(
                    "{}{}btf_id({id})",
                    btfptr::type_prefix(f),
                    if p.nullable { "or_null_" } else { "" }
                ),
            };
            let mut s = k;
            if p.nullable && !matches!(p.kind, Kind::Btf(..)) {
                s.push_str("_or_null");
            }
            if p.off != 0 {
                s.push_str(&format!("{:+}", p.off));
            }
            if !p.var.is_const() || p.var.t.value != 0 {
                s.push_str(&format!("+var({})", p.var));
            }
            if p.kind == Kind::Pkt {
                s.push_str(&format!(",r={}", p.range));
            }
            s
        }
    }
}

pub(super) fn fmt_regs(st: &State, maps: &[MapInfo]) -> String {
    let f = st.cur();
    f.regs
        .iter()
        .enumerate()
        .filter(|(_, r)| **r != Reg::Uninit)
        .map(|(i, r)| format!("R{i}={}", fmt_reg(r, maps)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `new` is covered by `old` (everything safe from `old` is safe from `new`).
pub(super) fn reg_covered(old: &Reg, new: &Reg) -> bool {
    match (old, new) {
        (Reg::Uninit, _) => true,
        (Reg::Scalar(a), Reg::Scalar(b)) => a.contains(b),
        (Reg::Ptr(a), Reg::Ptr(b)) => {
            a.kind == b.kind
                && a.off == b.off
                && a.var.contains(&b.var)
                && a.nullable == b.nullable
                && (a.kind != Kind::Pkt || b.range >= a.range)
                // A socket pointer is the same one (its reference, its NULL check).
                && (!sock::is_sock(a.kind) || a.id == b.id)
        }
        _ => false,
    }
}

/// Every scalar of a state with its id (registers and spilled slots, frame by frame).
fn scalar_ids(st: &State) -> impl Iterator<Item = (u32, i64)> + '_ {
    // Slot by slot (an empty slot counts too), so that two states' lists line up.
    st.frames.iter().flat_map(|f| {
        f.regs
            .iter()
            .map(Some)
            .chain(f.stack.spills.iter().map(Option::as_ref))
            .map(|r| match r {
                Some(Reg::Scalar(s)) => (s.id, s.link_off),
                _ => (0, 0),
            })
    })
}

/// Whether the links between scalars of `old` (equal ids: equal values) hold in `new`:
/// registers linked in `old` must be linked in `new` (the kernel's check_ids in regsafe).
/// An id only one register has links nothing.
fn links_covered(old: &State, new: &State) -> bool {
    // Most states link nothing: no allocation for them.
    if scalar_ids(old).all(|(id, _)| id == 0) {
        return true;
    }
    let mut count: HashMap<u32, u32> = HashMap::new();
    for (id, _) in scalar_ids(old).filter(|&(id, _)| id != 0) {
        *count.entry(id).or_default() += 1;
    }
    if count.values().all(|&n| n < 2) {
        return true;
    }
    // Old id -> new id, and the offsets must be the same (the same sums).
    let mut map: HashMap<u32, u32> = HashMap::new();
    for ((o, ooff), (n, noff)) in scalar_ids(old).zip(scalar_ids(new)) {
        if o == 0 || count[&o] < 2 {
            continue;
        }
        if n == 0 || ooff != noff || *map.entry(o).or_insert(n) != n {
            return false;
        }
    }
    true
}

/// `a` and `b` are the same state up to the numbering of scalar ids (a loop that comes
/// back to an instruction with nothing changed).
pub(super) fn same_state(a: &State, b: &State) -> bool {
    fn canon(st: &State) -> State {
        let mut map: HashMap<u32, u32> = HashMap::new();
        let mut st = st.clone();
        for f in st.frames.iter_mut() {
            for r in f.regs.iter_mut().chain(f.stack.spills.iter_mut().flatten()) {
                if let Reg::Scalar(s) = r {
                    if s.id != 0 {
                        let n = map.len() as u32 + 1;
                        s.id = *map.entry(s.id).or_insert(n);
                    }
                }
            }
        }
        st
    }
    a == b || canon(a) == canon(b)
}

pub(super) fn state_covered(old: &State, new: &State) -> bool {
    if old.frames.len() != new.frames.len() || old.refs != new.refs {
        return false;
    }
    if !links_covered(old, new) || !maps::locks_covered(old, new) {
        return false;
    }
    for (fo, fnw) in old.frames.iter().zip(&new.frames) {
        // An old state with fewer callback calls left does not cover a new one.
        if fo.callsite != fnw.callsite || fo.cb_depth > fnw.cb_depth {
            return false;
        }
        for (a, b) in fo.regs.iter().zip(&fnw.regs) {
            if !reg_covered(a, b) {
                return false;
            }
        }
        for k in 0..STACK {
            let (a, b) = (fo.stack.bytes[k], fnw.stack.bytes[k]);
            match a {
                SLOT_INVALID => {}
                SLOT_MISC => {
                    if b == SLOT_INVALID {
                        return false;
                    }
                    if b == SLOT_SPILL {
                        if let Some(Reg::Ptr(_)) = fnw.stack.spills[k / 8] {
                            return false;
                        }
                    }
                }
                SLOT_ZERO => {
                    if b != SLOT_ZERO {
                        return false;
                    }
                }
                SLOT_ITER | SLOT_DYNPTR => {
                    if b != a {
                        return false;
                    }
                }
                _ => {
                    if b != SLOT_SPILL {
                        return false;
                    }
                }
            }
        }
        // The same iterators in the same states (stacksafe's STACK_ITER case: the depth
        // is not compared; the references are, with `refs`).
        for a in &fo.stack.iters {
            if !fnw.stack.iters.iter().any(|b| {
                (b.start, b.size, b.ty, b.active, b.ref_id)
                    == (a.start, a.size, a.ty, a.active, a.ref_id)
            }) {
                return false;
            }
        }
        // stacksafe's STACK_DYNPTR case: same type, same first slot, same reference.
        if !fo
            .stack
            .dynptrs
            .iter()
            .all(|a| fnw.stack.dynptrs.contains(a))
        {
            return false;
        }
        for (k, (a, b)) in fo.stack.spills.iter().zip(&fnw.stack.spills).enumerate() {
            if a.is_some() && fo.stack.narrow[k] != fnw.stack.narrow[k] {
                return false;
            }
            if let (Some(a), Some(b)) = (a, b) {
                if !reg_covered(a, b) {
                    return false;
                }
            }
        }
    }
    true
}

/// Widening at a loop head (a helper that calls back): every scalar of `new` that differs
/// from the same register or spilled slot of `old`, the state of an earlier iteration,
/// becomes unknown. The result contains `new`, so exploring it instead is sound; it lets
/// the iterations converge (the kernel widens its imprecise scalars the same way).
pub(super) fn widen(old: &State, new: &mut State) {
    if old.frames.len() != new.frames.len() {
        return;
    }
    for (fo, fnw) in old.frames.iter().zip(new.frames.iter_mut()) {
        if fo.callsite != fnw.callsite {
            return;
        }
        for (a, b) in fo.regs.iter().zip(fnw.regs.iter_mut()) {
            if let (Reg::Scalar(x), Reg::Scalar(y)) = (a, &b) {
                if x.unlinked() != y.unlinked() {
                    *b = Reg::unknown();
                }
            }
        }
        for k in 0..fnw.stack.spills.len() {
            if let (Some(Reg::Scalar(x)), Some(Reg::Scalar(y))) =
                (fo.stack.spills[k], fnw.stack.spills[k])
            {
                if x.unlinked() != y.unlinked() {
                    fnw.stack.spills[k] = Some(Reg::unknown());
                    for b in &mut fnw.stack.bytes[k * 8..k * 8 + 8] {
                        if *b == SLOT_ZERO {
                            *b = SLOT_SPILL;
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn fp(frame: u8) -> Reg {
    Reg::Ptr(Ptr {
        kind: Kind::Stack(frame),
        off: 0,
        var: Scalar::konst(0),
        id: 0,
        nullable: false,
        range: 0,
    })
}

impl Ctx<'_> {
    /// Set all copies of pointer `id` (NULL-check results / packet pointers) in the state.
    pub(super) fn for_id(st: &mut State, id: u32, f: &mut dyn FnMut(&mut Reg)) {
        for fr in st.frames.iter_mut() {
            for r in fr.regs.iter_mut() {
                if let Reg::Ptr(p) = r {
                    if p.id == id {
                        f(r);
                    }
                }
            }
            for s in fr.stack.spills.iter_mut().flatten() {
                if let Reg::Ptr(p) = s {
                    if p.id == id {
                        f(s);
                    }
                }
            }
        }
    }
}
