//! The kernel's own verifier tests as a peer suite: the programs of
//! `tools/testing/selftests/bpf/progs/verifier_*.c`, compiled with clang, carry their expected
//! verdict in BTF declaration tags on the program's function (`bpf_misc.h`'s `__success`,
//! `__failure`, `__msg(...)`, `__retval(...)`, their `_unpriv` variants, `__description`,
//! `__flag`, `__auxiliary`, `__arch_*`). This module reads those tags as the kernel's test
//! runner does (`test_loader.c`: `parse_test_spec`) and compares this verifier's verdict with
//! the expected privileged one.
//!
//! Only the privileged verdict is compared (this verifier judges for CAP_BPF + CAP_PERFMON,
//! as `test_progs` runs these tests: without CAP_SYS_ADMIN). A program is skipped, with the
//! reason, when the runner would not load it on its own in privileged mode on x86_64:
//! `__auxiliary` programs (loaded only beside another test), programs whose only annotations
//! are for unprivileged mode, and programs tagged for other architectures.
//!
//! Pure: bytes of an object in, results out. Finding the objects and printing is the CLI's
//! (`kmodkit bpf selftests`); building them is `scripts/verifier-selftests`.

use bpf_insn::object::Object;

use crate::{Class, Input, MapInfo, Options, Rejection};

/// What the annotations of one program say (the privileged half of `struct test_spec`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// Function name.
    pub program: String,
    pub section: String,
    /// `__description("...")`, the name the kernel's runner prints.
    pub description: Option<String>,
    /// Tested in privileged mode (`__success`, `__failure`, `__msg`, `__retval`, ... or no
    /// annotation at all).
    pub privileged: bool,
    /// `__failure`: the kernel must reject the program (privileged mode).
    pub expect_failure: bool,
    /// `__msg(...)`: texts expected in the kernel's log, in order (`{{...}}` are regexes).
    pub msgs: Vec<String>,
    /// `__retval(...)`: the program is also run (the verdict expected is success).
    pub retval: Option<String>,
    /// `__flag(...)`: load flags (e.g. `BPF_F_STRICT_ALIGNMENT`, `BPF_F_SLEEPABLE`).
    pub flags: Vec<String>,
    /// `__auxiliary`: not a test of its own.
    pub auxiliary: bool,
    /// `__arch_*`: the architectures it runs on (empty: all).
    pub arches: Vec<String>,
    /// `__btf_path("...")`: the BTF (an object's `.BTF`) that test_loader.c gives libbpf as
    /// `btf_custom_path`: CO-RE relocations resolve against it instead of the kernel's.
    pub btf_path: Option<String>,
}

/// The annotations of every program of `obj`, in the object's program order. A program
/// without a BTF `FUNC` of its name has an empty spec (privileged, success), as the kernel's
/// runner would refuse it; the objects of the suite always have one.
pub fn specs(obj: &Object) -> Vec<Spec> {
    obj.programs
        .iter()
        .map(|p| {
            let mut s = Spec {
                program: p.name.clone(),
                section: p.section.clone(),
                ..Spec::default()
            };
            let mut modes = (false, false);
            if let Some(b) = &obj.btf {
                if let Some(func) = b.func_named(&p.name) {
                    for id in 1..=b.len() as u32 {
                        let Some(t) = b.get(id) else { continue };
                        let btf::Kind::DeclTag {
                            type_id,
                            component: -1,
                        } = t.kind
                        else {
                            continue;
                        };
                        if type_id != func {
                            continue;
                        }
                        apply_tag(&mut s, &mut modes, b.str_at(t.name_off));
                    }
                }
            }
            // No mode named: privileged (test_loader.c).
            s.privileged = modes.0 || !modes.1;
            s
        })
        .collect()
}

/// One `comment:test_*` tag; `modes` is (privileged, unprivileged) as named so far.
fn apply_tag(s: &mut Spec, modes: &mut (bool, bool), tag: &str) {
    let Some(tag) = tag.strip_prefix("comment:") else {
        return;
    };
    // `__msg` and friends are `test_expect_msg=<counter>=<text>`.
    let counted = |rest: &str| rest.split_once('=').map(|(_, m)| m.to_string());
    if let Some(d) = tag.strip_prefix("test_description=") {
        s.description = Some(d.to_string());
    } else if tag == "test_expect_failure" {
        s.expect_failure = true;
        modes.0 = true;
    } else if tag == "test_expect_success" {
        s.expect_failure = false;
        modes.0 = true;
    } else if tag == "test_expect_failure_unpriv" || tag == "test_expect_success_unpriv" {
        modes.1 = true;
    } else if tag == "test_auxiliary" {
        s.auxiliary = true;
        modes.0 = true;
    } else if tag == "test_auxiliary_unpriv" {
        s.auxiliary = true;
        modes.1 = true;
    } else if let Some(m) = tag.strip_prefix("test_expect_msg=") {
        s.msgs.extend(counted(m));
        modes.0 = true;
    } else if tag.starts_with("test_expect_msg_unpriv=")
        || tag.starts_with("test_expect_xlated_unpriv=")
        || tag.starts_with("test_jited_unpriv=")
        || tag.starts_with("test_retval_unpriv=")
    {
        modes.1 = true;
    } else if tag.starts_with("test_expect_xlated=") || tag.starts_with("test_jited=") {
        modes.0 = true;
    } else if let Some(v) = tag.strip_prefix("test_retval=") {
        s.retval = Some(v.to_string());
        modes.0 = true;
    } else if let Some(f) = tag.strip_prefix("test_prog_flags=") {
        s.flags.push(f.to_string());
    } else if let Some(b) = tag.strip_prefix("test_btf_path=") {
        s.btf_path = Some(b.to_string());
    } else if let Some(a) = tag.strip_prefix("test_arch=") {
        s.arches.push(a.to_string());
    }
}

/// How our verdict compares with the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not compared; the reason.
    Skipped(&'static str),
    /// Same verdict. For a rejection with `__msg` annotations, whether our message contains
    /// the literal text of one of them (a hint that we name the same problem).
    Agree { msg_match: Option<bool> },
    /// We accept what the kernel rejects: a soundness bug.
    WeAccept,
    /// We reject what the kernel accepts (a program beyond this model, or a false alarm).
    WeReject,
}

/// One program's comparison.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub spec: Spec,
    /// The program type we judged it as (None: unknown section name).
    pub prog_type: Option<u32>,
    /// Our verdict (None when skipped).
    pub ours: Option<Result<crate::Verdict, Rejection>>,
    pub outcome: Outcome,
}

/// Errors that stop a whole object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Object(#[from] bpf_insn::Error),
}

/// Runs every program of one object (its bytes) through the verifier and compares with its
/// annotations. CO-RE relocations are resolved against `target` (the tested kernel's BTF)
/// when given; kfunc calls are resolved by name against `opts.kfunc_btf` as libbpf does
/// (an unknown one stays a call to id 0), kernel variables stay unresolved (a program with
/// one is judged unsupported). The object's license decides `opts.gpl`.
pub fn run_object(
    bytes: &[u8],
    target: Option<&btf::Btf>,
    opts: &Options,
) -> Result<Vec<CaseResult>, Error> {
    run_object_with(bytes, target, &|_| None, opts)
}

/// As [`run_object`]; a program annotated `__btf_path(NAME)` has its CO-RE relocations
/// resolved against `custom(NAME)` instead of `target` when that gives a BTF (as
/// test_loader.c opens the object with `btf_custom_path`).
pub fn run_object_with(
    bytes: &[u8],
    target: Option<&btf::Btf>,
    custom: &dyn Fn(&str) -> Option<btf::Btf>,
    opts: &Options,
) -> Result<Vec<CaseResult>, Error> {
    let mut obj = Object::parse(bytes)?;
    for p in obj.programs.iter_mut() {
        resolve_kfuncs(p, opts.kfunc_btf.as_deref());
    }
    let gpl = obj.license.as_deref().is_some_and(crate::gpl_compatible);
    let specs = specs(&obj);
    let core_err = match target {
        Some(t) if obj.programs.iter().any(|p| !p.core_relos.is_empty()) => {
            obj.relocate_core(t).err().map(|e| e.to_string())
        }
        _ => None,
    };
    let infos: Vec<MapInfo> = crate::map_infos(&obj.maps);
    let mut out = Vec::new();
    for (k, (p, spec)) in obj.programs.iter().zip(specs).enumerate() {
        // The program as relocated against its own CO-RE target, if it names one.
        let own = match spec.btf_path.as_deref().and_then(custom) {
            Some(b) => {
                let mut o = Object::parse(bytes)?;
                let e = o.relocate_core(&b).err().map(|e| e.to_string());
                let mut q = o.programs.swap_remove(k);
                resolve_kfuncs(&mut q, opts.kfunc_btf.as_deref());
                Some((q, e))
            }
            _ => None,
        };
        let (p, core_err) = match &own {
            Some((q, e)) => (q, e),
            None => (p, &core_err),
        };
        let skip = if spec.auxiliary {
            Some("auxiliary program (loaded only beside another test)")
        } else if !spec.privileged {
            Some("annotated for unprivileged mode only")
        } else if !spec.arches.is_empty() && !spec.arches.iter().any(|a| a == "X86_64") {
            Some("for another architecture")
        } else {
            None
        };
        // libbpf's section names (`?` = no autoload) give the type.
        let prog_type = p.prog_type;
        if let Some(why) = skip {
            out.push(CaseResult {
                spec,
                prog_type,
                ours: None,
                outcome: Outcome::Skipped(why),
            });
            continue;
        }
        let unsupported = |msg: String| Rejection {
            pc: 0,
            class: Class::Unsupported,
            msg,
            hint: None,
            regs: String::new(),
            explain: None,
        };
        let ours = if let Some(e) = &core_err {
            Err(unsupported(format!("CO-RE relocation failed: {e}")))
        } else if let Some(fd) = raw_map_fd(&p.insns) {
            // The verifier's `MAP_FD` is an index into the object's maps; in an object it is
            // a file descriptor the loader passes through unchanged, and no map has it.
            Err(Rejection {
                pc: 0,
                class: Class::Cfg,
                msg: format!(
                    "fd {fd} is not pointing to valid bpf_map (a raw map fd in the object)"
                ),
                hint: None,
                regs: String::new(),
                explain: None,
            })
        } else if let Some((_, name)) = p.ksym_refs.first() {
            Err(unsupported(format!(
                "kernel variable `{name}` (__ksym) is not modelled"
            )))
        } else if let Some(t) = prog_type {
            let input = Input {
                insns: &p.insns,
                prog_type: t,
                maps: &infos,
            };
            let strict = spec
                .flags
                .iter()
                .any(|f| f == "BPF_F_STRICT_ALIGNMENT" || f == "1");
            // A BTF-typed program's attach target, from the tested kernel's BTF.
            let (attach, attach_error) = match (t, target) {
                (crate::engine::TRACING | crate::engine::LSM, Some(b)) => {
                    match crate::Attach::from_btf(b, t, &p.section) {
                        Ok(a) => (Some(a), None),
                        Err(e) => (None, Some(e)),
                    }
                }
                _ => (None, None),
            };
            crate::verify_with_btf(
                &input,
                &Options {
                    strict_alignment: opts.strict_alignment || strict,
                    attach,
                    attach_error,
                    gpl,
                    ..opts.for_program(obj.btf.as_ref(), p, t)
                },
                target,
            )
        } else {
            Err(unsupported(format!(
                "section `{}` names no program type",
                p.section
            )))
        };
        let outcome = match (&ours, spec.expect_failure) {
            (Ok(_), false) => Outcome::Agree { msg_match: None },
            (Err(r), true) => Outcome::Agree {
                msg_match: (!spec.msgs.is_empty())
                    .then(|| spec.msgs.iter().any(|m| msg_matches(m, &r.msg))),
            },
            (Ok(_), true) => Outcome::WeAccept,
            (Err(_), false) => Outcome::WeReject,
        };
        out.push(CaseResult {
            spec,
            prog_type,
            ours: Some(ours),
            outcome,
        });
    }
    Ok(out)
}

/// Each kfunc call's `imm` becomes the BTF id of the function of its name in `btf`, or 0
/// when there is none (libbpf's handling of an unresolved `__weak` kfunc).
fn resolve_kfuncs(p: &mut bpf_insn::object::Program, btf: Option<&btf::Btf>) {
    for (at, name) in std::mem::take(&mut p.kfunc_calls) {
        let id = btf.and_then(|b| b.func_named(&name)).unwrap_or(0);
        if let Some(i) = p.insns.get_mut(at) {
            i.imm = id as i32;
            i.off = 0;
        }
    }
}

/// The fd of the first `lddw` with a raw map fd (`BPF_PSEUDO_MAP_FD`/`MAP_VALUE`), which a
/// loader leaves as it is.
fn raw_map_fd(insns: &[bpf_insn::Insn]) -> Option<i32> {
    use bpf_insn::insn::pseudo;
    let mut pc = 0;
    while pc < insns.len() {
        let i = insns[pc];
        if i.is_lddw() {
            if i.src == pseudo::MAP_FD || i.src == pseudo::MAP_VALUE {
                return Some(i.imm);
            }
            pc += 2;
        } else {
            pc += 1;
        }
    }
    None
}

/// Whether our message `ours` contains every literal piece of the kernel's expected log
/// line `expected` (the parts outside `{{regex}}`), ignoring a piece's surrounding blanks.
pub fn msg_matches(expected: &str, ours: &str) -> bool {
    let mut pieces = Vec::new();
    let mut rest = expected;
    while let Some(a) = rest.find("{{") {
        pieces.push(&rest[..a]);
        rest = match rest[a..].find("}}") {
            Some(b) => &rest[a + b + 2..],
            None => "",
        };
    }
    pieces.push(rest);
    let pieces: Vec<&str> = pieces
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    !pieces.is_empty() && pieces.iter().all(|p| ours.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_test_loader() {
        let mut s = Spec::default();
        let mut m = (false, false);
        for t in [
            "comment:test_description=desc",
            "comment:test_expect_failure",
            "comment:test_expect_msg=12=R1 invalid mem access",
            "comment:test_prog_flags=BPF_F_STRICT_ALIGNMENT",
            "comment:test_arch=X86_64",
            "comment:test_btf_path=btf__core_reloc_bitfields.bpf.o",
            "other tag",
        ] {
            apply_tag(&mut s, &mut m, t);
        }
        assert_eq!(s.description.as_deref(), Some("desc"));
        assert!(s.expect_failure);
        assert_eq!(s.msgs, ["R1 invalid mem access"]);
        assert_eq!(s.flags, ["BPF_F_STRICT_ALIGNMENT"]);
        assert_eq!(s.arches, ["X86_64"]);
        assert_eq!(
            s.btf_path.as_deref(),
            Some("btf__core_reloc_bitfields.bpf.o")
        );
        assert_eq!(m, (true, false));
        let mut s = Spec::default();
        let mut m = (false, false);
        apply_tag(&mut s, &mut m, "comment:test_expect_failure_unpriv");
        assert_eq!(m, (false, true));
    }

    #[test]
    fn the_suites_section_names_give_libbpfs_program_types() {
        use bpf_insn::object::prog_type_of_section as t;
        assert_eq!(t("?raw_tp"), Some(17));
        assert_eq!(t("raw_tp"), Some(17));
        assert_eq!(t("tracepoint"), Some(5));
        assert_eq!(t("kprobe"), Some(2));
        assert_eq!(t("?tp_btf/sys_enter"), Some(26));
        assert_eq!(t("cgroup/sendmsg6"), Some(18));
        assert_eq!(t("cgroup/getsockname_unix"), Some(18));
        assert_eq!(t("cgroup/post_bind4"), Some(9));
        assert_eq!(t("cgroup/sock"), Some(9));
        assert_eq!(t("tcx/ingress"), Some(3));
        assert_eq!(t("tc/ingress"), Some(3));
        assert_eq!(t("lsm.s/file_open"), Some(29));
        assert_eq!(t("raw_tracepoint.w"), Some(24));
        assert_eq!(t("license"), None);
    }

    #[test]
    fn messages_match_literal_pieces() {
        assert!(msg_matches(
            "R1 invalid mem access 'scalar'",
            "R1 invalid mem access 'scalar': R1 is NULL"
        ));
        assert!(msg_matches(
            "R{{[0-9]}} !read_ok",
            "R2 !read_ok: reading R2"
        ));
        assert!(!msg_matches("invalid access to packet", "R1 !read_ok"));
        assert!(!msg_matches("{{.*}}", "anything"));
    }
}
