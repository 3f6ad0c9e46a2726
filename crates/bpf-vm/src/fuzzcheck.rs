//! The verifier/interpreter cross-check shared by the fuzz target and the smoke test:
//! a program the verifier accepts must run in the interpreter without any memory
//! violation; one that does is a verifier bug.

use crate::maps::MapSpec;
use crate::run::{run_with, MapInit, RunError};
use crate::VmError;
use bpf_insn::Insn;

/// Outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Rejected,
    Ran(u64),
    /// A helper needs kernel state the interpreter does not have
    /// ([`VmError::Unsupported`]): not a verifier bug.
    Unsupported,
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

/// Program types the fuzz target verifies programs as, chosen by the input.
pub const PROG_TYPES: [u32; 4] = [6, 17, 3, 1];

/// The program type for a fuzz input: bits 1-2 of its first byte.
pub fn prog_type(data: &[u8]) -> u32 {
    let b = data.first().copied().unwrap_or(0) as usize;
    PROG_TYPES[(b >> 1) % PROG_TYPES.len()]
}

/// Run `prog`, of type `prog_type`, over `packet` (an accepted program); `Err` describes a
/// memory violation or a helper the interpreter lacks (a bug of the verifier or of the
/// interpreter).
pub fn run_accepted(prog: &[Insn], prog_type: u32, packet: &[u8]) -> Result<Checked, String> {
    let inits: Vec<MapInit> = maps()
        .into_iter()
        .map(|spec| MapInit { spec, data: None })
        .collect();
    // Verified programs end, but bpf_loop may call a callback 8M times: a run stops after
    // 4M instructions (an accepted program that runs that long is not a memory bug).
    let opts = crate::Options { max_steps: 1 << 22 };
    match run_with(prog, prog_type, &inits, packet, 1, opts) {
        Ok(r) => Ok(Checked::Ran(r.ret)),
        Err(RunError::Vm(VmError::StepLimit(_))) => Ok(Checked::Ran(0)),
        Err(RunError::Vm(VmError::Unsupported { .. })) => Ok(Checked::Unsupported),
        Err(e) => Err(format!("accepted program failed in the interpreter: {e}")),
    }
}
