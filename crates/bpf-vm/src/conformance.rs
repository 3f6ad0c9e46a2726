//! Run one bpf_conformance vector through the uBPF-style assembler and this interpreter.

use bpf_insn::conformance::Vector;

/// Why a vector did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("bad vector: {0}")]
    Vector(String),
    #[error("expected r0 = {expected:#x}, got {got:#x}")]
    Result { expected: u64, got: u64 },
    #[error("expected r0 = {expected:#x}, the program failed: {error}")]
    Failed { expected: u64, error: String },
    #[error("expected the error `{expected}`, got `{got}`")]
    WrongError { expected: String, got: String },
    #[error("expected the error `{expected}`, the program returned {got:#x}")]
    NoError { expected: String, got: u64 },
}

/// Run the vector text; `Ok` when it behaves as the vector says.
pub fn run_vector(text: &str) -> Result<(), Failure> {
    let v = Vector::parse(text).map_err(|e| Failure::Vector(e.to_string()))?;
    let prog = match v.program() {
        Ok(p) => p,
        Err(e) => {
            // An `-- error` vector may expect the program to be refused by the assembler.
            if let Some(expected) = &v.error {
                let got = e.to_string();
                if got.to_lowercase().contains(&expected.to_lowercase()) {
                    return Ok(());
                }
                return Err(Failure::WrongError {
                    expected: expected.clone(),
                    got,
                });
            }
            return Err(Failure::Vector(e.to_string()));
        }
    };
    let run = crate::run_with_memory(&prog, &v.mem);
    match (run, v.result, &v.error) {
        (Ok((out, _)), Some(expected), _) if out.ret == expected => Ok(()),
        (Ok((out, _)), Some(expected), _) => Err(Failure::Result {
            expected,
            got: out.ret,
        }),
        (Err(e), None, Some(expected)) => {
            let got = e.to_string();
            if got.to_lowercase().contains(&expected.to_lowercase()) {
                Ok(())
            } else {
                Err(Failure::WrongError {
                    expected: expected.clone(),
                    got,
                })
            }
        }
        (Ok((out, _)), None, Some(e)) => Err(Failure::NoError {
            expected: e.clone(),
            got: out.ret,
        }),
        (Err(e), Some(expected), _) => Err(Failure::Failed {
            expected,
            error: e.to_string(),
        }),
        (_, None, None) => Err(Failure::Vector("no result and no error".into())),
    }
}
