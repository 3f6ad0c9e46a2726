//! A child process held at a gate until its tracer is ready, the way bpftrace's `-c` starts
//! its command: the child is forked, blocks in an 8-byte `read()` of a pipe, and execs the
//! command only when the parent opens the gate. Scripts filtered on `pid == cpid` therefore
//! see exactly what bpftrace's see: the end of that read (returning 8), then the exec.
//!
//! (`std::process::Command` cannot do this: its `spawn` waits until the child has exec'd.)

use crate::{Error, Result};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A forked child waiting at its gate, then running its command.
pub struct GatedChild {
    pid: libc::pid_t,
    gate: Option<OwnedFd>,
    status: Option<i32>,
}

fn sys_err(op: &'static str) -> Error {
    Error::Sys {
        op,
        source: io::Error::last_os_error(),
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1, -1];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(sys_err("pipe2"));
    }
    // SAFETY: both descriptors were just created by pipe2 and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `name` as execve needs it: itself when it has a slash, else the first executable file of
/// that name on PATH.
pub fn resolve_command(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return is_exec(Path::new(name)).then(|| PathBuf::from(name));
    }
    std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())
        .as_bytes()
        .split(|&c| c == b':')
        .map(|d| Path::new(std::ffi::OsStr::from_bytes(d)).join(name))
        .find(|p| is_exec(p))
}

impl GatedChild {
    /// Forks a child that will run `argv` (`argv[0]` resolved through PATH) once released.
    /// The child gets SIGTERM if this process dies first.
    pub fn spawn(argv: &[String]) -> Result<GatedChild> {
        let first = argv
            .first()
            .ok_or_else(|| Error::Invalid("empty command".into()))?;
        let path = resolve_command(first).ok_or_else(|| {
            Error::Invalid(format!("{first}: command not found or not executable"))
        })?;
        let cpath = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Invalid("NUL in command".into()))?;
        let cargs: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Invalid("NUL in command".into()))?;
        let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let (rd, wr) = pipe()?;
        let (rd_raw, wr_raw) = (rd.as_raw_fd(), wr.as_raw_fd());
        // SAFETY: fork has no memory effects in the parent. In the child only
        // async-signal-safe calls follow (prctl, close, read, execv, _exit), on memory that
        // was fully prepared before the fork (the C strings and the pointer array).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(sys_err("fork"));
        }
        if pid == 0 {
            // SAFETY: see above; every pointer passed is valid in the child's copy of memory
            // and the argv array is NULL-terminated.
            unsafe {
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGTERM as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                libc::close(wr_raw);
                let mut buf = [0u8; 8];
                let r = libc::read(rd_raw, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
                if r == 8 {
                    libc::execv(cpath.as_ptr(), ptrs.as_ptr());
                }
                libc::_exit(127);
            }
        }
        drop(rd);
        let mut child = GatedChild {
            pid,
            gate: Some(wr),
            status: None,
        };
        child.wait_at_gate();
        Ok(child)
    }

    /// Waits (up to about two seconds) until the child sits in its gate's `read()`, so that
    /// nothing the child does before the gate is seen by probes attached afterwards: without
    /// this, a child not yet scheduled would enter that read with the probes in place.
    fn wait_at_gate(&mut self) {
        let path = format!("/proc/{}/syscall", self.pid);
        let read_nr = libc::SYS_read.to_string();
        for _ in 0..4000 {
            if let Ok(s) = std::fs::read_to_string(&path) {
                if s.split(' ').next() == Some(read_nr.as_str()) {
                    return;
                }
            } else if !Path::new(&format!("/proc/{}", self.pid)).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
    }

    /// The child's process id (`cpid`).
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec its command.
    pub fn release(&mut self) -> Result<()> {
        if let Some(g) = self.gate.take() {
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a live buffer to a pipe descriptor we own.
            let r = unsafe { libc::write(g.as_raw_fd(), one.as_ptr() as *const libc::c_void, 8) };
            if r != 8 {
                return Err(sys_err("write to the child's gate"));
            }
        }
        Ok(())
    }

    fn reap(&mut self, flags: i32) -> Result<Option<i32>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut st = 0;
        // SAFETY: waitpid writes one int that we own.
        let r = unsafe { libc::waitpid(self.pid, &mut st, flags) };
        if r < 0 {
            return Err(sys_err("waitpid"));
        }
        if r == 0 {
            return Ok(None);
        }
        self.status = Some(st);
        Ok(Some(st))
    }

    /// The raw wait status once the child has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<i32>> {
        self.reap(libc::WNOHANG)
    }

    /// Sends SIGTERM to a child that has not ended yet.
    pub fn terminate(&mut self) -> Result<()> {
        self.gate = None;
        if self.try_wait()?.is_none() {
            crate::kill(self.pid, libc::SIGTERM)?;
        }
        Ok(())
    }

    /// Waits for the child to end; a child still at its gate is let go without running its
    /// command.
    pub fn wait(&mut self) -> Result<i32> {
        self.gate = None;
        loop {
            if let Some(s) = self.reap(0)? {
                return Ok(s);
            }
        }
    }
}

impl Drop for GatedChild {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.wait();
        }
    }
}
