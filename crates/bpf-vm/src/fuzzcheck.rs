//! The verifier/interpreter cross-check shared by the fuzz target and the smoke test:
//! a program the verifier accepts must run in the interpreter without any memory
//! violation; one that does is a verifier bug.

use crate::maps::MapSpec;
use crate::run::{run, MapInit, RunError};
use crate::VmError;
use bpf_insn::Insn;

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Rejected,
    Ran(u64),
}

/// The maps the generated programs use: a hash (key 8, value 16) and an array (key 4, value 64).
pub fn maps() -> Vec<MapSpec> {
    vec![
        MapSpec {
            name: "h".into(),
            map_type: 1,
            key_size: 8,
            value_size: 16,
            max_entries: 4,
            flags: 0,
        },
        MapSpec {
            name: "a".into(),
            map_type: 2,
            key_size: 4,
            value_size: 64,
            max_entries: 4,
            flags: 0,
        },
    ]
}

/// Run `prog` (XDP) if `accepted`; `Err` describes a memory violation (a verifier bug).
pub fn run_accepted(prog: &[Insn], packet: &[u8]) -> Result<Checked, String> {
    let inits: Vec<MapInit> = maps()
        .into_iter()
        .map(|spec| MapInit { spec, data: None })
        .collect();
    match run(prog, 6, &inits, packet, 1) {
        Ok(r) => Ok(Checked::Ran(r.ret)),
        Err(RunError::Vm(VmError::StepLimit(_))) => Ok(Checked::Ran(0)),
        Err(e) => Err(format!("accepted program failed in the interpreter: {e}")),
    }
}
