//! modprobe's resolution, without a kernel: a name or alias becomes the ordered plan kmod's
//! `kmod_module_probe_insert_module` would execute (libkmod-module.c), with the reasons each
//! step is there.
//!
//! libkmod keeps a pool of module objects per context, keyed by name (or `name\alias` for a
//! module found through an alias), with per-object state (path, dependencies, install
//! command, the `visited`/`required`/`ignorecmd` flags) that carries over between lookups
//! and probes. [`Resolver`] reproduces that pool, because the plan's exact order and
//! repetitions depend on it: dependencies come from modules.dep in reverse line order
//! (libkmod prepends), each wrapped in its own softdeps; softdep modules are probed
//! recursively and may appear more than once; a module with softdeps ignores its install
//! command. What is loaded in the kernel is asked of a [`LiveKernel`], never read here;
//! [`crate::live`] executes the plans.

use crate::context::{Context, Source};
use crate::fnmatch::fnmatch;
use crate::live::{LiveKernel, ModuleState};
use crate::Error;
use std::collections::HashMap;
use std::path::PathBuf;

/// Why a step is in the plan (for `--explain`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The module asked for (by name or through `alias`).
    Requested { query: String, how: String },
    /// A modules.dep dependency of `of` (it uses symbols `of` needs).
    Dependency { of: String },
    /// A softdep `pre:` or `post:` module of `of`.
    Softdep {
        of: String,
        pre: bool,
        config: String,
    },
}

/// What the plan does at one step.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Load the module file with these options.
    Insmod { path: PathBuf, options: String },
    /// Run a modprobe.d install command (the command as configured, and the options that
    /// replace `$CMDLINE_OPTS` in it).
    Install { command: String, options: String },
    /// Built into the kernel: nothing to load.
    Builtin,
    /// Neither a file nor builtin (not in modules.dep): kmod silently skips it.
    Nothing,
    /// Already loaded (only when the caller says so).
    AlreadyLoaded,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub module: String,
    pub action: Action,
    pub why: Reason,
    /// A softdep module or dependency whose failure kmod ignores (not `required`).
    pub required: bool,
}

/// The plan for one requested name or alias.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub query: String,
    /// Modules the query resolved to (one probe each, in order).
    pub modules: Vec<String>,
    pub steps: Vec<Step>,
    /// Set when kmod stops before planning anything: the module is blacklisted (`-b`, or an
    /// alias of a blacklisted module) or already loaded.
    pub skipped: Option<String>,
    /// The error kmod would report (e.g. already loaded with `--first-time`).
    pub error: Option<String>,
}

/// Probe flags (kmod's `KMOD_PROBE_*` as modprobe sets them).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    /// `--show-depends`: do not consult what is loaded.
    pub ignore_loaded: bool,
    /// `-i`: ignore install commands and softdeps of the requested module.
    pub ignore_commands: bool,
    /// `-b`: refuse blacklisted modules (aliases of blacklisted modules always are).
    pub use_blacklist: bool,
    /// `--first-time`: fail if already loaded.
    pub first_time: bool,
}

struct PMod {
    name: String,
    alias: Option<String>,
    path: Option<PathBuf>,
    deps: Option<Vec<usize>>,
    builtin: Option<bool>,
    install: Option<Option<String>>,
    visited: bool,
    required: bool,
    ignorecmd: bool,
    /// Reason it was last added to a list (for explain).
    why: Option<Reason>,
}

/// libkmod's module pool over a [`Context`].
pub struct Resolver<'c> {
    ctx: &'c Context,
    mods: Vec<PMod>,
    by_key: HashMap<String, usize>,
    /// libkmod's messages (as modprobe prints them on stderr).
    pub messages: Vec<String>,
}

impl<'c> Resolver<'c> {
    pub fn new(ctx: &'c Context) -> Resolver<'c> {
        Resolver {
            ctx,
            mods: Vec::new(),
            by_key: HashMap::new(),
            messages: Vec::new(),
        }
    }

    fn get(&mut self, key: String, name: &str, alias: Option<&str>) -> usize {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        self.mods.push(PMod {
            name: name.to_string(),
            alias: alias.map(str::to_string),
            path: None,
            deps: None,
            builtin: None,
            install: None,
            visited: false,
            required: false,
            ignorecmd: false,
            why: None,
        });
        self.by_key.insert(key, self.mods.len() - 1);
        self.mods.len() - 1
    }

    fn pool_name(&mut self, name: &str) -> usize {
        self.get(name.to_string(), name, None)
    }

    fn pool_alias(&mut self, alias: &str, name: &str) -> usize {
        self.get(format!("{name}\\{alias}"), name, Some(alias))
    }

    /// `kmod_module_new_from_path` for a modules.dep entry.
    fn pool_path(&mut self, path: &std::path::Path) -> usize {
        let name = crate::modname_normalize(
            path.file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default()
                .as_ref(),
        );
        let i = self.pool_name(&name);
        if self.mods[i].path.is_none() {
            self.mods[i].path = Some(path.to_path_buf());
        }
        i
    }

    /// Parse the module's modules.dep line once (path, and dependencies in libkmod's
    /// reversed order).
    fn init_dep(&mut self, i: usize) -> Result<(), Error> {
        if self.mods[i].deps.is_some() {
            return Ok(());
        }
        let name = self.mods[i].name.clone();
        match self.ctx.moddep(&name)? {
            Some((path, deps)) => {
                if self.mods[i].path.is_none() {
                    self.mods[i].path = Some(path);
                }
                let mut list: Vec<usize> = deps.iter().map(|d| self.pool_path(d)).collect();
                list.reverse();
                self.mods[i].deps = Some(list);
            }
            None => self.mods[i].deps = Some(Vec::new()),
        }
        Ok(())
    }

    fn path(&mut self, i: usize) -> Result<Option<PathBuf>, Error> {
        if self.mods[i].path.is_none() {
            self.init_dep(i)?;
        }
        Ok(self.mods[i].path.clone())
    }

    fn is_builtin(&mut self, i: usize) -> Result<bool, Error> {
        if let Some(b) = self.mods[i].builtin {
            return Ok(b);
        }
        let b = self.ctx.is_builtin(&self.mods[i].name)?;
        self.mods[i].builtin = Some(b);
        Ok(b)
    }

    fn install_command(&mut self, i: usize) -> Option<String> {
        if self.mods[i].install.is_none() {
            let name = &self.mods[i].name;
            let c = self
                .ctx
                .config()
                .install
                .iter()
                .find(|(pat, _, _)| fnmatch(pat.as_bytes(), name.as_bytes()))
                .map(|(_, c, _)| c.clone());
            self.mods[i].install = Some(c);
        }
        self.mods[i].install.clone().flatten()
    }

    /// `kmod_module_get_options`: every `options` line for the name or the alias.
    fn options(&self, i: usize) -> Option<String> {
        let m = &self.mods[i];
        let mut out = String::new();
        for (name, opts, _) in &self.ctx.config().options {
            if !(name == &m.name || m.alias.as_deref() == Some(name.as_str())) || opts.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(opts);
        }
        (!out.is_empty()).then_some(out)
    }

    fn is_blacklisted(&self, i: usize) -> bool {
        let name = &self.mods[i].name;
        self.ctx.config().blacklist.iter().any(|(b, _)| b == name)
    }

    /// `kmod_module_new_from_lookup` into pool objects.
    pub fn lookup(&mut self, query: &str) -> Result<Vec<usize>, Error> {
        let found = self.ctx.lookup_alias(query)?;
        let mut out = Vec::new();
        for m in found {
            let i = match &m.alias {
                Some(a) => self.pool_alias(a, &m.name),
                None => self.pool_name(&m.name),
            };
            match &m.source {
                Source::Builtin | Source::BuiltinAlias => self.mods[i].builtin = Some(true),
                Source::Command {
                    remove: false,
                    command,
                } => self.mods[i].install = Some(Some(command.clone())),
                _ => {}
            }
            let how = match &m.source {
                Source::Name => "modules.dep".to_string(),
                Source::ConfigAlias { pattern } => format!("modprobe.d alias {pattern}"),
                Source::Symbol => "modules.symbols".into(),
                Source::Command { remove, .. } => {
                    format!(
                        "modprobe.d {} command",
                        if *remove { "remove" } else { "install" }
                    )
                }
                Source::Alias => "modules.alias".into(),
                Source::Builtin => "modules.builtin".into(),
                Source::BuiltinAlias => "modules.builtin.alias".into(),
            };
            self.mods[i].why = Some(Reason::Requested {
                query: query.to_string(),
                how,
            });
            out.push(i);
        }
        Ok(out)
    }

    /// `kmod_module_new_from_path` for a module file named on modprobe's command line (kmod
    /// 31+: an argument starting with `/` or `./`): the module is the file (made absolute
    /// against `cwd` as libkmod does, without normalising), its dependencies those that
    /// modules.dep records for its name. Errors carry strerror's text, as modprobe prints
    /// it after "Failed to get module from path".
    pub fn from_path(&mut self, query: &str, cwd: &std::path::Path) -> Result<usize, String> {
        let abs = if query.starts_with('/') {
            PathBuf::from(query)
        } else {
            PathBuf::from(format!("{}/{query}", cwd.display()))
        };
        if let Err(e) = std::fs::metadata(&abs) {
            return Err(crate::depmod::strerror(&e));
        }
        let base = query.rsplit('/').next().unwrap_or(query);
        let name = crate::modname_normalize(base);
        let i = self.pool_name(&name);
        match &self.mods[i].path {
            None => self.mods[i].path = Some(abs),
            Some(p) if *p == abs => {}
            Some(p) => {
                let msg = format!(
                    "kmod_module '{name}' already exists with different path: new-path='{}' old-path='{}'\n",
                    abs.display(),
                    p.display()
                );
                self.messages.push(crate::config::libkmod_message(
                    self.ctx.config().kmod,
                    0,
                    "kmod_module_new_from_path",
                    &msg,
                ));
                return Err("File exists".into());
            }
        }
        self.mods[i].builtin = Some(false);
        self.mods[i].why = Some(Reason::Requested {
            query: query.to_string(),
            how: "file".into(),
        });
        Ok(i)
    }

    /// The module's name (for `-R`).
    pub fn name(&self, i: usize) -> &str {
        &self.mods[i].name
    }

    fn softdeps(&mut self, i: usize) -> (Vec<usize>, Vec<usize>, String) {
        let name = self.mods[i].name.clone();
        let Some((sd, origin)) = self
            .ctx
            .config()
            .softdeps
            .iter()
            .find(|(s, _)| fnmatch(s.name.as_bytes(), name.as_bytes()))
            .cloned()
        else {
            return (Vec::new(), Vec::new(), String::new());
        };
        let kmod = self.ctx.config().kmod;
        let look = |r: &mut Self, list: &[String]| -> Vec<usize> {
            let mut out = Vec::new();
            for d in list {
                match r.lookup(d) {
                    Ok(v) => out.extend(v),
                    Err(_) => r.messages.push(match kmod {
                        crate::Kmod::V30 => format!(
                            "modprobe: ERROR: ../libkmod/libkmod-module.c:1567 lookup_softdep() failed to lookup soft dependency '{d}', continuing anyway.\n"
                        ),
                        crate::Kmod::V34 => format!(
                            "modprobe: ERROR: failed to lookup dependency '{d}', continuing anyway.\n"
                        ),
                    }),
                }
            }
            out
        };
        let pre = look(self, &sd.pre);
        let post = look(self, &sd.post);
        (pre, post, format!("{}:{}", origin.file, origin.line))
    }

    fn fill_softdep(
        &mut self,
        i: usize,
        list: &mut Vec<(usize, Reason)>,
        why: Reason,
    ) -> Result<(), Error> {
        let (pre, post, cfg) = self.softdeps(i);
        let of = self.mods[i].name.clone();
        for &m in &pre {
            let r = Reason::Softdep {
                of: of.clone(),
                pre: true,
                config: cfg.clone(),
            };
            self.probe_list(m, false, false, list, r)?;
        }
        list.push((i, why));
        self.mods[i].ignorecmd = !pre.is_empty() || !post.is_empty();
        for &m in &post {
            let r = Reason::Softdep {
                of: of.clone(),
                pre: false,
                config: cfg.clone(),
            };
            self.probe_list(m, false, false, list, r)?;
        }
        Ok(())
    }

    fn probe_list(
        &mut self,
        i: usize,
        required: bool,
        ignorecmd: bool,
        list: &mut Vec<(usize, Reason)>,
        why: Reason,
    ) -> Result<(), Error> {
        if self.mods[i].visited {
            return Ok(());
        }
        self.mods[i].visited = true;
        self.init_dep(i)?;
        let deps = self.mods[i].deps.clone().unwrap_or_default();
        if required {
            self.mods[i].required = true;
            for &d in &deps {
                self.mods[d].required = true;
            }
        }
        let of = self.mods[i].name.clone();
        for &d in &deps {
            self.fill_softdep(d, list, Reason::Dependency { of: of.clone() })?;
        }
        if ignorecmd {
            list.push((i, why));
            self.mods[i].ignorecmd = true;
        } else {
            self.fill_softdep(i, list, why)?;
        }
        Ok(())
    }

    /// `kmod_module_probe_insert_module` in dry-run: the plan for pool module `i`.
    /// `extra` are command-line options (for the requested module only); `kernel` says
    /// which modules are live (it is only asked, never changed).
    pub fn plan(
        &mut self,
        i: usize,
        flags: Flags,
        extra: Option<&str>,
        kernel: &dyn LiveKernel,
    ) -> Result<Plan, Error> {
        let why = self.mods[i].why.clone().unwrap_or(Reason::Requested {
            query: self.mods[i].name.clone(),
            how: "name".into(),
        });
        let query = match &why {
            Reason::Requested { query, .. } => query.clone(),
            _ => self.mods[i].name.clone(),
        };
        let mut plan = Plan {
            query,
            modules: vec![self.mods[i].name.clone()],
            steps: Vec::new(),
            skipped: None,
            error: None,
        };
        let in_kernel = |r: &mut Self, m: usize| -> Result<bool, Error> {
            Ok(r.is_builtin(m)? || kernel.state(&r.mods[m].name) == ModuleState::Live)
        };
        if !flags.ignore_loaded && in_kernel(self, i)? {
            if flags.first_time {
                plan.error = Some(format!(
                    "could not insert '{}': Module already in kernel",
                    self.mods[i].name
                ));
            } else {
                plan.skipped = Some("already in kernel".into());
            }
            return Ok(plan);
        }
        if (self.mods[i].alias.is_some() || flags.use_blacklist) && self.is_blacklisted(i) {
            plan.skipped = Some("blacklisted".into());
            return Ok(plan);
        }
        for m in &mut self.mods {
            m.visited = false;
            m.required = false;
        }
        let mut list = Vec::new();
        self.probe_list(i, true, flags.ignore_commands, &mut list, why)?;
        for (m, why) in list {
            let name = self.mods[m].name.clone();
            let required = self.mods[m].required;
            if !flags.ignore_loaded && in_kernel(self, m)? {
                plan.steps.push(Step {
                    module: name.clone(),
                    action: Action::AlreadyLoaded,
                    why,
                    required,
                });
                if m == i && flags.first_time {
                    plan.error = Some(format!(
                        "could not insert '{name}': Module already in kernel"
                    ));
                    break;
                }
                continue;
            }
            let opts = concat_options(self.options(m), if m == i { extra } else { None });
            let cmd = self.install_command(m);
            let action = match cmd {
                Some(command) if !self.mods[m].ignorecmd => Action::Install {
                    command,
                    options: opts,
                },
                _ => match self.path(m)? {
                    Some(path) => Action::Insmod {
                        path,
                        options: opts,
                    },
                    None if self.is_builtin(m)? => Action::Builtin,
                    None => Action::Nothing,
                },
            };
            plan.steps.push(Step {
                module: name,
                action,
                why,
                required,
            });
        }
        Ok(plan)
    }
}

/// `module_options_concat`.
fn concat_options(opt: Option<String>, extra: Option<&str>) -> String {
    match (opt, extra) {
        (None, None) => String::new(),
        (Some(o), None) => format!("{o} "),
        (None, Some(x)) => x.to_string(),
        (Some(o), Some(x)) => format!("{o} {x}"),
    }
}

impl Plan {
    /// `--explain`: each step with why it is there.
    pub fn explain(&self) -> String {
        let mut s = format!("{}:\n", self.query);
        if let Some(k) = &self.skipped {
            s.push_str(&format!("  skipped: {k}\n"));
        }
        for st in &self.steps {
            let what = match &st.action {
                Action::Insmod { path, options } if options.is_empty() => {
                    format!("insmod {}", path.display())
                }
                Action::Insmod { path, options } => format!("insmod {} {options}", path.display()),
                Action::Install { command, options } => {
                    format!("install command `{command}` {options}")
                }
                Action::Builtin => "builtin (nothing to load)".into(),
                Action::Nothing => "not in modules.dep: skipped".into(),
                Action::AlreadyLoaded => "already loaded".into(),
            };
            let why = match &st.why {
                Reason::Requested { query, how } => {
                    format!("requested as {query} (found in {how})")
                }
                Reason::Dependency { of } => format!("{of} uses its symbols (modules.dep)"),
                Reason::Softdep { of, pre, config } => format!(
                    "softdep {} of {of} ({config})",
                    if *pre { "pre" } else { "post" }
                ),
            };
            s.push_str(&format!("  {}: {what}\n      because {why}\n", st.module));
        }
        s
    }

    /// The lines `modprobe --show-depends` (or `-v`) prints for this plan.
    pub fn show(&self) -> String {
        let mut s = String::new();
        for st in &self.steps {
            match &st.action {
                Action::Insmod { path, options } => {
                    s.push_str(&format!("insmod {} {options}\n", path.display()))
                }
                Action::Install { command, options } => {
                    s.push_str(&format!("install {command} {options}\n"))
                }
                Action::Builtin => s.push_str(&format!("builtin {}\n", st.module)),
                Action::Nothing | Action::AlreadyLoaded => {}
            }
        }
        s
    }
}

/// One step of `modprobe -r`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RemoveStep {
    /// `delete_module(NAME)`.
    Rmmod { module: String },
    /// A modprobe.d remove command.
    Command { module: String, command: String },
}

/// The removal plan for one query, and the message kmod would stop with.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RemovePlan {
    pub steps: Vec<RemoveStep>,
    /// kmod's `LOG(...)` message that ends the removal (not in kernel with
    /// `--first-time`, builtin, in use).
    pub error: Option<String>,
}

/// Options of `modprobe -r`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveFlags {
    pub ignore_commands: bool,
    pub first_time: bool,
    pub remove_holders: bool,
    pub wait: bool,
}

impl Resolver<'_> {
    fn remove_command(&self, i: usize) -> Option<String> {
        let name = &self.mods[i].name;
        self.ctx
            .config()
            .remove
            .iter()
            .find(|(pat, _, _)| fnmatch(pat.as_bytes(), name.as_bytes()))
            .map(|(_, c, _)| c.clone())
    }

    /// `rmmod_do_module` without touching the kernel: the steps kmod would take given `live`.
    /// Returns Err(()) when kmod would report an error (recorded in `plan.error`).
    fn rmmod_do(
        &mut self,
        i: usize,
        ignore_builtin: bool,
        f: RemoveFlags,
        live: &dyn LiveKernel,
        plan: &mut RemovePlan,
    ) -> Result<(), Error> {
        let name = self.mods[i].name.clone();
        let (mut pre, mut post, mut cmd) = (Vec::new(), Vec::new(), None);
        if !f.ignore_commands {
            let (p, q, _) = self.softdeps(i);
            pre = p;
            post = q;
            cmd = self.remove_command(i);
        }
        if cmd.is_none() {
            if self.is_builtin(i)? {
                if !ignore_builtin {
                    plan.error = Some(format!("Module {name} is builtin."));
                }
                return Ok(());
            }
            if live.state(&name) == ModuleState::NotLoaded {
                if f.first_time {
                    plan.error = Some(format!("Module {name} is not in kernel."));
                }
                return Ok(());
            }
        }
        for &m in post.iter().rev() {
            self.rmmod_do(m, true, f, live, plan)?;
            if plan.error.is_some() {
                // kmod's LOG() is fatal: nothing after it happens.
                return Ok(());
            }
        }
        if f.remove_holders {
            for h in live.holders(&name).iter().rev() {
                let hi = self.pool_name(h);
                self.rmmod_do(hi, true, f, live, plan)?;
                if plan.error.is_some() {
                    return Ok(());
                }
            }
        }
        match cmd {
            Some(command) => plan.steps.push(RemoveStep::Command {
                module: name,
                command,
            }),
            None => {
                let removed = |plan: &RemovePlan, m: &str| {
                    plan.steps
                        .iter()
                        .any(|s| matches!(s, RemoveStep::Rmmod { module } if module == m))
                };
                // Removed already in this plan (as an unused dependency of a holder that
                // `--remove-holders` took out first): nothing left to do for it.
                if removed(plan, &name) {
                    return Ok(());
                }
                // Holders this plan removed no longer count (the kernel drops their
                // references as they go).
                let released = live
                    .holders(&name)
                    .iter()
                    .filter(|h| removed(plan, h))
                    .count() as u32;
                let refcnt = live.refcnt(&name).unwrap_or(0).saturating_sub(released);
                if !f.wait && refcnt > 0 {
                    plan.error = Some(format!("Module {name} is in use."));
                    return Ok(());
                }
                plan.steps.push(RemoveStep::Rmmod {
                    module: name.clone(),
                });
                self.init_dep(i)?;
                // kmod reads each dependency's use count after the removals before it, so
                // a dependency held only by modules this plan removes counts as unused.
                for d in self.mods[i].deps.clone().unwrap_or_default() {
                    let dn = self.mods[d].name.clone();
                    let released = live
                        .holders(&dn)
                        .iter()
                        .filter(|h| {
                            plan.steps
                                .iter()
                                .any(|s| matches!(s, RemoveStep::Rmmod { module } if module == *h))
                        })
                        .count();
                    let refcnt = live.refcnt(&dn).map(|r| r.saturating_sub(released as u32));
                    if live.state(&dn) == ModuleState::Live && refcnt == Some(0) {
                        plan.steps.push(RemoveStep::Rmmod { module: dn });
                    }
                }
            }
        }
        for &m in pre.iter().rev() {
            self.rmmod_do(m, true, f, live, plan)?;
            if plan.error.is_some() {
                // kmod's LOG() is fatal: nothing after it happens.
                return Ok(());
            }
        }
        Ok(())
    }

    /// `modprobe -r` for pool module `i` (kmod's `rmmod_do_module`).
    pub fn remove_plan(
        &mut self,
        i: usize,
        f: RemoveFlags,
        live: &dyn LiveKernel,
    ) -> Result<RemovePlan, Error> {
        let mut plan = RemovePlan::default();
        self.rmmod_do(i, false, f, live, &mut plan)?;
        Ok(plan)
    }
}

impl RemovePlan {
    /// The lines `modprobe -r -v`/`-n` prints.
    pub fn show(&self) -> String {
        let mut s = String::new();
        for st in &self.steps {
            match st {
                RemoveStep::Rmmod { module } => s.push_str(&format!("rmmod {module}\n")),
                RemoveStep::Command { command, .. } => s.push_str(&format!(
                    "remove {}\n",
                    command.replace("$CMDLINE_OPTS", "")
                )),
            }
        }
        s
    }
}
