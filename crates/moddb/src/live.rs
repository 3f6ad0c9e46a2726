//! The running kernel as modprobe needs it, behind a trait, and the execution of modprobe's
//! plans against it.
//!
//! [`LiveKernel`] is what a plan asks of and does to a kernel: the state, use count and
//! holders of a loaded module (`/sys/module`), inserting a module file, deleting a module,
//! and running a modprobe.d `install`/`remove` command. `modsys::live::Kernel` implements it
//! for the real kernel (syscalls, `/sys/module`, `/bin/sh`); [`Recorded`] implements it over
//! a recorded state, so that plans and their execution are tested without a kernel (as aya
//! tests its loader against `sys/fake.rs`).
//!
//! Why the trait is here and not in `modsys`: this crate is a *format* crate and must not
//! depend on a system crate (crates/testsupport/tests/layers.rs checks it), while the
//! decisions of modprobe (which step to take, which failure to ignore, which message to give)
//! are this crate's knowledge. So the trait and the executor live here, and the system crate,
//! which may depend on this one, implements the trait. Nothing here makes a syscall.

use crate::modprobe::{Action, Plan, RemovePlan, RemoveStep};
use std::collections::BTreeMap;
use std::path::Path;

/// The Linux errno values the executor decides on (the same on every architecture).
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const EEXIST: i32 = 17;
    pub const EAGAIN: i32 = 11;
}

/// A loaded module's state, as `/sys/module/NAME` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleState {
    Live,
    Coming,
    Going,
    /// `/sys/module/NAME` exists without `initstate`: built into the kernel (with parameters).
    Builtin,
    /// Not in `/sys/module`.
    NotLoaded,
}

/// A failed kernel operation: the errno when the kernel (or opening the file) gave one, and
/// the text kmod would print for it (`strerror`, or a reason of our own).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KernelError {
    pub errno: Option<i32>,
    pub message: String,
}

/// What modprobe asks of and does to a running kernel.
pub trait LiveKernel {
    fn state(&self, name: &str) -> ModuleState;
    /// The use count, `None` when the module is not loaded (or the kernel cannot unload).
    fn refcnt(&self, name: &str) -> Option<u32>;
    /// Modules holding this one, in the order the kernel lists them.
    fn holders(&self, name: &str) -> Vec<String>;
    /// Load a module file with these parameters (`force`: ignore vermagic and modversions).
    fn insert(&mut self, path: &Path, options: &str, force: bool) -> Result<(), KernelError>;
    /// Unload a module.
    fn delete(&mut self, name: &str, force: bool) -> Result<(), KernelError>;
    /// Run a modprobe.d command (by the shell, `MODPROBE_MODULE=module` in its environment);
    /// `Err` carries its exit status.
    fn run_command(&mut self, command: &str, module: &str) -> Result<(), i32>;
}

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

/// One module of a [`Recorded`] kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedModule {
    pub state: ModuleState,
    pub refcnt: u32,
    pub holders: Vec<String>,
}

/// A kernel state written down (or read once from a real kernel) and changed only by the
/// operations a plan performs, each of which is logged. For tests of plans and of their
/// execution without a kernel.
///
/// Its rules are the kernel's as far as a plan can see them: inserting a module that is
/// loaded fails with EEXIST; deleting one that is not loaded fails with ENOENT, one in use
/// with EAGAIN (unless forced); deleting a module releases the modules it held (their use
/// count drops, it leaves their holders). Failures can be planned per module (`fail_insert`)
/// and per command (`fail_command`).
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub modules: BTreeMap<String, RecordedModule>,
    /// Module name -> the errno its insertion fails with.
    pub fail_insert: BTreeMap<String, i32>,
    /// Command (after `$CMDLINE_OPTS` substitution) -> its exit status.
    pub fail_command: BTreeMap<String, i32>,
    /// Every operation, in order: `insmod PATH OPTIONS`, `rmmod NAME`, `run MODULE: COMMAND`.
    pub log: Vec<String>,
}

impl Recorded {
    pub fn new() -> Recorded {
        Recorded::default()
    }

    /// Adds a live module with this use count and these holders (who also hold it: the
    /// count is at least their number).
    pub fn loaded(mut self, name: &str, refcnt: u32, holders: &[&str]) -> Recorded {
        self.modules.insert(
            name.to_string(),
            RecordedModule {
                state: ModuleState::Live,
                refcnt: refcnt.max(holders.len() as u32),
                holders: holders.iter().map(|h| h.to_string()).collect(),
            },
        );
        self
    }

    /// Adds a module in another state (coming, going, builtin with parameters).
    pub fn with_state(mut self, name: &str, state: ModuleState) -> Recorded {
        self.modules.insert(
            name.to_string(),
            RecordedModule {
                state,
                refcnt: 0,
                holders: Vec::new(),
            },
        );
        self
    }

    fn error(errno: i32) -> KernelError {
        let message = match errno {
            errno::EPERM => "Operation not permitted",
            errno::ENOENT => "No such file or directory",
            errno::EIO => "Input/output error",
            errno::EAGAIN => "Resource temporarily unavailable",
            errno::EEXIST => "File exists",
            _ => "Unknown error",
        };
        KernelError {
            errno: Some(errno),
            message: message.to_string(),
        }
    }
}

impl LiveKernel for Recorded {
    fn state(&self, name: &str) -> ModuleState {
        self.modules
            .get(name)
            .map_or(ModuleState::NotLoaded, |m| m.state)
    }

    fn refcnt(&self, name: &str) -> Option<u32> {
        self.modules
            .get(name)
            .filter(|m| m.state != ModuleState::Builtin)
            .map(|m| m.refcnt)
    }

    fn holders(&self, name: &str) -> Vec<String> {
        self.modules
            .get(name)
            .map(|m| m.holders.clone())
            .unwrap_or_default()
    }

    fn insert(&mut self, path: &Path, options: &str, _force: bool) -> Result<(), KernelError> {
        self.log.push(
            format!("insmod {} {options}", path.display())
                .trim_end()
                .to_string(),
        );
        let name = module_name(path);
        if let Some(&e) = self.fail_insert.get(&name) {
            return Err(Recorded::error(e));
        }
        if self.modules.contains_key(&name) {
            return Err(Recorded::error(errno::EEXIST));
        }
        self.modules.insert(
            name,
            RecordedModule {
                state: ModuleState::Live,
                refcnt: 0,
                holders: Vec::new(),
            },
        );
        Ok(())
    }

    fn delete(&mut self, name: &str, force: bool) -> Result<(), KernelError> {
        self.log.push(format!("rmmod {name}"));
        match self.modules.get(name) {
            None => return Err(Recorded::error(errno::ENOENT)),
            Some(m) if m.state == ModuleState::Builtin => {
                return Err(Recorded::error(errno::ENOENT))
            }
            Some(m) if m.refcnt > 0 && !force => return Err(Recorded::error(errno::EAGAIN)),
            Some(_) => {}
        }
        self.modules.remove(name);
        for m in self.modules.values_mut() {
            if let Some(at) = m.holders.iter().position(|h| h == name) {
                m.holders.remove(at);
                m.refcnt = m.refcnt.saturating_sub(1);
            }
        }
        Ok(())
    }

    fn run_command(&mut self, command: &str, module: &str) -> Result<(), i32> {
        self.log.push(format!("run {module}: {command}"));
        match self.fail_command.get(command) {
            Some(&code) => Err(code),
            None => Ok(()),
        }
    }
}

/// The module name of a module file (libkmod's `modname_normalize` of its base name).
pub fn module_name(path: &Path) -> String {
    crate::modname_normalize(
        path.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default()
            .as_ref(),
    )
}
