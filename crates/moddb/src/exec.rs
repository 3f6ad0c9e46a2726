//! Carrying out modprobe's plans on a [`LiveKernel`]: the load plan step by step as kmod's
//! `kmod_module_probe_insert_module` does, and `modprobe -r`'s removal plan. The plans come
//! from [`crate::modprobe`]; the kernel is the real one (`modsys::live::Kernel`) or a
//! [`crate::live::Recorded`] state in tests.

use crate::live::{errno, KernelError, LiveKernel};
use crate::modprobe::{Action, Plan, RemovePlan, RemoveStep};

/// Why executing a plan stopped; the text is kmod's message (modprobe prints it after
/// `modprobe: ERROR: `).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("could not insert '{module}': {reason}")]
    Insert { module: String, reason: String },
    #[error("could not remove '{module}': {reason}")]
    Remove { module: String, reason: String },
    #[error("Error running {kind} command '{command}' for module {module}: retcode {code}")]
    Command {
        kind: &'static str,
        command: String,
        module: String,
        code: i32,
    },
}

/// Carries out a load plan as kmod's modprobe does (`kmod_module_probe_insert_module`): the
/// steps in order; a module already loaded (EEXIST) is fine unless it is the requested one
/// under `first_time`; a failing step that is not `required` (a softdep) is ignored; any
/// other failure stops, reported (as kmod does) under the requested module's name. A plan
/// that was skipped or has an error does nothing.
pub fn execute_plan(
    plan: &Plan,
    requested: &str,
    force: bool,
    first_time: bool,
    kernel: &mut dyn LiveKernel,
) -> Result<(), ExecError> {
    if plan.skipped.is_some() || plan.error.is_some() {
        return Ok(());
    }
    let insert_error = |reason: String| ExecError::Insert {
        module: requested.to_string(),
        reason,
    };
    for st in &plan.steps {
        let errno = match &st.action {
            Action::Insmod { path, options } => match kernel.insert(path, options, force) {
                Ok(()) => continue,
                Err(KernelError {
                    errno: Some(e),
                    message,
                }) => (e, message),
                Err(e) => return Err(insert_error(e.message)),
            },
            Action::Install { command, options } => {
                let command = command.replace("$CMDLINE_OPTS", options);
                match kernel.run_command(&command, &st.module) {
                    Ok(()) => continue,
                    Err(code) if st.required => {
                        return Err(ExecError::Command {
                            kind: "install",
                            command,
                            module: st.module.clone(),
                            code,
                        })
                    }
                    Err(_) => continue,
                }
            }
            Action::Builtin | Action::Nothing | Action::AlreadyLoaded => continue,
        };
        let is_requested = st.module == requested;
        match errno.0 {
            errno::EEXIST if !(first_time && is_requested) => {}
            _ if !st.required => {}
            errno::EEXIST => return Err(insert_error("Module already in kernel".into())),
            errno::ENOENT => {
                return Err(insert_error(
                    "Unknown symbol in module, or unknown parameter (see dmesg)".into(),
                ))
            }
            _ => return Err(insert_error(errno.1)),
        }
    }
    Ok(())
}

/// Carries out `modprobe -r`'s plan (which already checked holders and use counts): the steps
/// in order; the first failure stops, with kmod's message.
pub fn execute_removal(
    plan: &RemovePlan,
    force: bool,
    kernel: &mut dyn LiveKernel,
) -> Result<(), ExecError> {
    if plan.error.is_some() {
        return Ok(());
    }
    for st in &plan.steps {
        match st {
            RemoveStep::Rmmod { module } => {
                kernel
                    .delete(module, force)
                    .map_err(|e| ExecError::Remove {
                        module: module.clone(),
                        reason: e.message,
                    })?
            }
            RemoveStep::Command { module, command } => {
                let command = command.replace("$CMDLINE_OPTS", "");
                kernel
                    .run_command(&command, module)
                    .map_err(|code| ExecError::Command {
                        kind: "remove",
                        command,
                        module: module.clone(),
                        code,
                    })?
            }
        }
    }
    Ok(())
}
