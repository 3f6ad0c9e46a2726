//! modprobe's work for its arguments (tools/modprobe.c `insmod`/`rmmod` over the module
//! names, after option parsing): each name looked up, planned ([`crate::modprobe`]), shown,
//! and executed on a [`LiveKernel`] ([`crate::live`]), with kmod's messages at kmod's
//! priorities and kmod's rule for stopping. The tool only parses options, loads the
//! configuration and prints what [`Report`] receives.

use crate::exec;
use crate::live::LiveKernel;
use crate::modprobe::{Flags, Plan, RemoveFlags, Resolver};
use crate::Context;

/// kmod's log priorities as modprobe uses them.
pub const LOG_CRIT: i32 = 2;
pub const LOG_ERR: i32 = 3;
pub const LOG_WARNING: i32 = 4;

/// What to do with the arguments.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Module names or aliases, each with the command-line options for it (modprobe gives
    /// options to the first name only, and only without `-a`).
    pub queries: Vec<(String, Option<String>)>,
    /// `-r`.
    pub remove: bool,
    /// `-R`: print the names an alias resolves to, nothing more.
    pub lookup_only: bool,
    /// `--explain`: collect the plans (returned), execute nothing.
    pub explain: bool,
    /// `-n` / `-D`: plan and show, execute nothing.
    pub dry_run: bool,
    /// Print each plan (`-D`, `-n -v`, `-v`).
    pub show: bool,
    /// `-f`.
    pub force: bool,
    pub flags: Flags,
    pub remove_flags: RemoveFlags,
    /// The priority of "not found" and "in use" messages: `LOG_CRIT` (fatal) for a single
    /// name, `LOG_WARNING` with `-a`.
    pub log_priority: i32,
    /// Messages above this priority are not shown (and a critical one then does not end
    /// the run, as in kmod's `log_printf`).
    pub verbose: i32,
    /// The module directory, for "not found in directory" messages.
    pub dirname: String,
    /// The current directory: a module file named `./x.ko` is made absolute against it.
    pub cwd: std::path::PathBuf,
}

/// Where the run's output goes.
pub trait Report {
    /// One of modprobe's messages (`modprobe: ERROR: ...` once the tool prefixes it), at a
    /// kmod priority; the tool filters by verbosity.
    fn log(&mut self, priority: i32, message: &str);
    /// Text libkmod prints itself on stderr (complete lines).
    fn libkmod(&mut self, text: &str);
    /// Standard output (plans shown, names resolved).
    fn out(&mut self, text: &str);
    /// Standard output must be written out now (before the kernel is touched, or an error).
    fn flush(&mut self);
}

/// How the run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Some argument failed (modprobe exits 1).
    pub failed: bool,
    /// A critical message ended the run early (kmod exits at once).
    pub fatal: bool,
    /// With `explain`: the plans.
    pub plans: Vec<Plan>,
}

/// Runs `req` over `ctx` on `kernel`.
pub fn run(
    ctx: &Context,
    req: &Request,
    kernel: &mut dyn LiveKernel,
    report: &mut dyn Report,
) -> Outcome {
    let mut r = Resolver::new(ctx);
    let mut done = Outcome::default();
    let fatal = |req: &Request| req.log_priority <= LOG_CRIT && req.verbose >= LOG_CRIT;
    let drain = |r: &mut Resolver<'_>, report: &mut dyn Report| {
        for m in std::mem::take(&mut r.messages) {
            report.libkmod(&m);
        }
    };
    for (q, extra) in &req.queries {
        // kmod 31+: a module file, by path.
        let by_path = !req.remove
            && ctx.config().kmod >= crate::Kmod::V34
            && (q.starts_with('/') || q.starts_with("./"));
        let found = if by_path {
            match r.from_path(q, &req.cwd) {
                Ok(i) => Ok(vec![i]),
                Err(e) => {
                    drain(&mut r, report);
                    report.log(
                        req.log_priority,
                        &format!("Failed to get module from path {q}: {e}"),
                    );
                    if fatal(req) {
                        report.flush();
                        done.fatal = true;
                        done.failed = true;
                        return done;
                    }
                    done.failed = true;
                    continue;
                }
            }
        } else {
            r.lookup(q)
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                report.log(LOG_ERR, &e.to_string());
                done.failed = true;
                continue;
            }
        };
        drain(&mut r, report);
        if found.is_empty() {
            let msg = if req.remove {
                format!("Module {q} not found.")
            } else {
                format!("Module {q} not found in directory {}", req.dirname)
            };
            report.log(req.log_priority, &msg);
            if fatal(req) {
                report.flush();
                done.fatal = true;
                done.failed = true;
                return done;
            }
            done.failed = true;
            continue;
        }
        for i in found {
            if req.remove {
                let plan = match r.remove_plan(i, req.remove_flags, kernel) {
                    Ok(p) => p,
                    Err(e) => {
                        report.log(LOG_ERR, &e.to_string());
                        done.failed = true;
                        break;
                    }
                };
                drain(&mut r, report);
                if req.show {
                    report.out(&plan.show());
                }
                if let Some(e) = &plan.error {
                    report.flush();
                    report.log(req.log_priority, e);
                    done.failed = true;
                    if fatal(req) {
                        done.fatal = true;
                        return done;
                    }
                    break;
                }
                if !req.dry_run {
                    report.flush();
                    if let Err(e) = exec::execute_removal(&plan, req.force, kernel) {
                        report.log(LOG_ERR, &e.to_string());
                        done.failed = true;
                        break;
                    }
                }
                continue;
            }
            if req.lookup_only {
                report.out(&format!("{}\n", r.name(i)));
                continue;
            }
            let plan = match r.plan(i, req.flags, extra.as_deref(), kernel) {
                Ok(p) => p,
                Err(e) => {
                    report.log(LOG_ERR, &e.to_string());
                    done.failed = true;
                    continue;
                }
            };
            drain(&mut r, report);
            if req.explain {
                done.plans.push(plan);
                continue;
            }
            if req.show {
                report.out(&plan.show());
            }
            if let Some(e) = &plan.error {
                report.flush();
                report.log(LOG_ERR, e);
                done.failed = true;
            } else if !req.dry_run && plan.skipped.is_none() {
                report.flush();
                let requested = r.name(i).to_string();
                if let Err(e) =
                    exec::execute_plan(&plan, &requested, req.force, req.flags.first_time, kernel)
                {
                    report.log(LOG_ERR, &e.to_string());
                    done.failed = true;
                }
            }
        }
    }
    done
}
