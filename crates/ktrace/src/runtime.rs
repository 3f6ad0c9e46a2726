//! The runtime: creates the maps, loads and attaches the compiled programs, runs BEGIN,
//! turns ring-buffer records into output, and at the end runs END and prints the maps,
//! the way bpftrace 0.17 does it.

use crate::codegen::{self, Action, Compiled};
use crate::output::{self, Entry, Symbolizer};
use crate::printf::{self, Arg};
use crate::symbols::SymCache;
use crate::system::{resolve_binary, uprobe_offset};
use crate::types::{ProbeKind, Ty};
use bpf_insn::insn::pseudo::MAP_FD as PSEUDO_MAP_FD;
use bpf_insn::{Endian, Insn};
use std::cell::RefCell;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create map {name}: {err}")]
    Map { name: String, err: bpf_sys::Error },
    #[error("the kernel rejected the program for {probe} ({err}); this is a bug in kmodkit's code generator.\nverifier log:\n{log}")]
    Verifier {
        probe: String,
        err: String,
        log: String,
    },
    #[error(transparent)]
    Sys(#[from] bpf_sys::Error),
    #[error("cannot attach {probe}: {err}")]
    Attach { probe: String, err: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot attach {probe}: {why}")]
    Unsupported { probe: String, why: &'static str },
}

struct Syms<'a> {
    names: &'a [String],
    cache: &'a RefCell<SymCache>,
    /// The stack-trace maps: frame limit, map, value size.
    stacks: Vec<(u16, &'a OwnedFd, usize)>,
}

impl Symbolizer for Syms<'_> {
    fn ksym(&self, addr: u64) -> String {
        self.cache.borrow_mut().ksym(addr)
    }
    fn usym(&self, addr: u64, pid: u64) -> String {
        self.cache.borrow_mut().usym(addr, pid)
    }
    fn probe(&self, id: u64) -> String {
        self.names.get(id as usize).cloned().unwrap_or_default()
    }
    fn stack(&self, id: u64, user: bool, pid: u64, limit: u16) -> Vec<String> {
        // A negative id is bpf_get_stackid's error: no frames, as bpftrace prints it.
        let Some(&(_, fd, size)) = self.stacks.iter().find(|s| s.0 == limit) else {
            return Vec::new();
        };
        let Ok(key) = u32::try_from(id) else {
            return Vec::new();
        };
        let mut val = vec![0u8; size];
        if !matches!(
            bpf_sys::map_lookup(fd, &key.to_le_bytes(), &mut val),
            Ok(true)
        ) {
            return Vec::new();
        }
        let mut cache = self.cache.borrow_mut();
        val.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .take_while(|&a| a != 0)
            .map(|a| {
                if user {
                    cache.uframe(a, pid)
                } else {
                    cache.kframe(a)
                }
            })
            .collect()
    }
}

/// A loaded, attached program set.
pub struct Session {
    pub compiled: Compiled,
    maps: Vec<OwnedFd>,
    progs: Vec<OwnedFd>,
    /// Perf events holding the attachments (closing them detaches).
    links: Vec<OwnedFd>,
    ring: bpf_sys::RingBuf,
    ncpus: usize,
    pub attached: usize,
    /// Text (bpftrace's default) or `--json` lines.
    pub format: output::Format,
    /// Symbol tables read so far (kallsyms, processes' maps, ELF files).
    symcache: RefCell<SymCache>,
}

fn patch_maps(insns: &[Insn], fds: &[OwnedFd]) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    let mut out = Vec::with_capacity(insns.len() * 8);
    for i in insns {
        let mut i = *i;
        if i.is_lddw() && i.src == PSEUDO_MAP_FD {
            // The code generator only emits indices of the maps it declared.
            if let Some(fd) = usize::try_from(i.imm).ok().and_then(|m| fds.get(m)) {
                i.imm = fd.as_raw_fd();
            }
        }
        out.extend_from_slice(&i.encode(Endian::Little));
    }
    out
}

/// Creates map `i` of `compiled` (the ring buffer with `ring_size` bytes).
fn create_map(compiled: &Compiled, i: usize, ring_size: u32) -> Result<OwnedFd, RunError> {
    let m = &compiled.maps[i];
    let name = m.name.trim_start_matches('@');
    bpf_sys::map_create(&bpf_sys::MapSpec {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: if i == compiled.ringbuf {
            ring_size
        } else {
            m.max_entries
        },
        flags: 0,
        name: if name.is_empty() { "_" } else { name },
    })
    .map_err(|err| RunError::Map {
        name: m.name.clone(),
        err,
    })
}

/// Loads program `p` with its map references turned into `maps`' descriptors; `funcs_btf`
/// keeps the BTF of callback functions once loaded, for the next program that needs it.
fn load_prog(
    p: &codegen::ProgSpec,
    maps: &[OwnedFd],
    funcs_btf: &mut Option<OwnedFd>,
) -> Result<OwnedFd, RunError> {
    let bytes = patch_maps(&p.insns, maps);
    // A kfunc program is loaded for its function (BTF id) and entry or exit.
    let expected_attach_type = match p.kind {
        ProbeKind::Kfunc { ret: false, .. } => bpf_sys::attach_type::TRACE_FENTRY,
        ProbeKind::Kfunc { ret: true, .. } => bpf_sys::attach_type::TRACE_FEXIT,
        _ => 0,
    };
    let spec = bpf_sys::ProgSpec {
        name: "kmodkit_trace",
        expected_attach_type,
        attach_btf_id: p.attach_btf_id,
        ..bpf_sys::ProgSpec::new(p.prog_type, &bytes)
    };
    let verifier = |err: String, log: String| RunError::Verifier {
        probe: p.name.clone(),
        err,
        log,
    };
    // A program with callbacks (`for` loops) needs BTF describing its functions.
    let loaded = if p.funcs.is_empty() {
        bpf_sys::prog_load(&spec)
    } else {
        let btf = match funcs_btf {
            Some(b) => b,
            None => funcs_btf.insert(bpf_sys::btf_load(&codegen::funcs_btf()).map_err(|e| {
                verifier(
                    format!("cannot load the BTF of its functions: {e}"),
                    String::new(),
                )
            })?),
        };
        let mut info = vec![(0, codegen::BTF_MAIN_FUNC)];
        info.extend(p.funcs.iter().map(|&at| (at, codegen::BTF_CALLBACK_FUNC)));
        use std::os::fd::AsFd;
        bpf_sys::prog_load_with_funcs(&spec, btf.as_fd(), &info)
    };
    loaded.map_err(|e| match e {
        bpf_sys::Error::Verifier { source, log } => verifier(source.to_string(), log),
        other => verifier(other.to_string(), String::new()),
    })
}

/// The perf event, CPUs and task that program `p` attaches to; None for BEGIN/END and for
/// the probes attached through bpf() itself (kfunc, rawtracepoint).
fn plan(
    p: &codegen::ProgSpec,
    all_cpus: &[u32],
) -> Result<Option<(bpf_sys::PerfEvent, Vec<u32>, i32)>, RunError> {
    let err = |e: String| RunError::Attach {
        probe: p.name.clone(),
        err: e,
    };
    let read_u64 = |path: &str| -> Result<u64, RunError> {
        std::fs::read_to_string(path)
            .map_err(|e| err(format!("{path}: {e}")))?
            .trim()
            .parse()
            .map_err(|_| err(format!("{path}: not a number")))
    };
    let first_cpu = vec![all_cpus.first().copied().unwrap_or(0)];
    let sw = |config: u64, sample: u64, freq: bool| bpf_sys::PerfEvent {
        type_: bpf_sys::perf_type::SOFTWARE,
        config,
        sample,
        freq,
        ..bpf_sys::PerfEvent::default()
    };
    let (ev, cpus, ev_pid): (bpf_sys::PerfEvent, Vec<u32>, i32) = match &p.kind {
        ProbeKind::Begin | ProbeKind::End => return Ok(None),
        ProbeKind::Kfunc { .. } | ProbeKind::RawTracepoint { .. } => return Ok(None),
        ProbeKind::Tracepoint { category, name } => {
            let id = read_u64(&format!(
                "{}/events/{category}/{name}/id",
                crate::system::TRACEFS
            ))?;
            (bpf_sys::PerfEvent::tracepoint(id), first_cpu, -1)
        }
        // `-p` does not narrow a uprobe to that process: bpftrace 0.17 attaches it to the
        // file for every process (seen side by side), and so do we.
        ProbeKind::Uprobe { path, symbol, ret } => {
            let off = uprobe_offset(path, symbol).map_err(err)?;
            let bin = resolve_binary(path);
            let ev = bpf_sys::PerfEvent::uprobe(&bin, off, *ret).map_err(|e| err(e.to_string()))?;
            (ev, first_cpu, -1)
        }
        ProbeKind::Kprobe { function, ret } => {
            let ev =
                bpf_sys::PerfEvent::kprobe(function, 0, *ret).map_err(|e| err(e.to_string()))?;
            (ev, first_cpu, -1)
        }
        ProbeKind::Interval { period_ns } => (sw(0, *period_ns, false), first_cpu, -1),
        ProbeKind::Profile { freq_hz } => (sw(0, *freq_hz, true), all_cpus.to_vec(), -1),
        ProbeKind::Software { config, period } => {
            (sw(*config, *period, false), all_cpus.to_vec(), -1)
        }
        ProbeKind::Hardware { config, period } => (
            bpf_sys::PerfEvent {
                type_: bpf_sys::perf_type::HARDWARE,
                config: *config,
                sample: *period,
                ..bpf_sys::PerfEvent::default()
            },
            all_cpus.to_vec(),
            -1,
        ),
    };
    Ok(Some((ev, cpus, ev_pid)))
}

/// Opens program `p`'s perf events, disabled: they count nothing until the program is
/// attached and they are enabled.
fn open_events(p: &codegen::ProgSpec, all_cpus: &[u32]) -> Result<Vec<OwnedFd>, RunError> {
    let Some((ev, cpus, ev_pid)) = plan(p, all_cpus)? else {
        return Ok(Vec::new());
    };
    let ev = bpf_sys::PerfEvent {
        disabled: true,
        ..ev
    };
    let mut fds = Vec::new();
    for cpu in cpus {
        // A task-bound event is opened for that task on any CPU.
        let cpu = if ev_pid >= 0 { -1 } else { cpu as i32 };
        fds.push(
            bpf_sys::perf_event_open(&ev, ev_pid, cpu).map_err(|e| RunError::Attach {
                probe: p.name.clone(),
                err: e.to_string(),
            })?,
        );
        if ev_pid >= 0 {
            break;
        }
    }
    Ok(fds)
}

impl Session {
    /// Creates maps, loads every program, attaches all but BEGIN/END.
    ///
    /// The kernel takes milliseconds to create a preallocated hash map (a per-CPU one most
    /// of all) and as long to register a uprobe or kprobe, so the script's maps are made on
    /// a second thread while this one makes the ring buffer and opens the probes' perf
    /// events; errors are still reported in the order of the steps (maps, programs, probes).
    pub fn load(compiled: Compiled, pid: Option<i32>) -> Result<Session, RunError> {
        // `-p` does not narrow any attachment (see `plan`).
        let _ = pid;
        // At least a page: the one-page ring buffer of a program without events is 4 KiB,
        // and pages are larger on some machines.
        let ring_size = compiled.maps[compiled.ringbuf]
            .max_entries
            .max(bpf_sys::page_size() as u32);
        let mut symcache = SymCache::default();
        let (maps, ring, events) = std::thread::scope(|sc| {
            let others = sc.spawn(|| {
                (0..compiled.maps.len())
                    .filter(|&i| i != compiled.ringbuf)
                    .map(|i| create_map(&compiled, i, ring_size))
                    .collect::<Result<Vec<_>, _>>()
            });
            let ring = create_map(&compiled, compiled.ringbuf, ring_size).and_then(|fd| {
                let ring = bpf_sys::RingBuf::new(&fd, ring_size as usize)?;
                Ok((fd, ring))
            });
            // Kernel symbols are read now, before anything is attached, when the script
            // prints any: reading /proc/kallsyms takes a while, and events handled meanwhile
            // would find the processes they name gone (their user symbols no longer resolve).
            if compiled.uses_kernel_symbols() {
                symcache.load_kallsyms();
            }
            // Everything an attachment needs (tracefs ids, ELF offsets, the events
            // themselves) is made before anything is attached, so that no file this
            // process opens shows up in probes already attached (bpftrace's order).
            let all_cpus = bpf_sys::online_cpus();
            let events: Vec<_> = compiled
                .progs
                .iter()
                .map(|p| open_events(p, &all_cpus))
                .collect();
            let others = others
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            let mut maps = others?;
            let (ring_fd, ring) = ring?;
            maps.insert(compiled.ringbuf, ring_fd);
            Ok::<_, RunError>((maps, ring, events))
        })?;
        let mut progs = Vec::new();
        let mut funcs_btf = None;
        for p in &compiled.progs {
            progs.push(load_prog(p, &maps, &mut funcs_btf)?);
        }
        let mut s = Session {
            ncpus: bpf_sys::possible_cpus(),
            compiled,
            maps,
            progs,
            links: Vec::new(),
            ring,
            attached: 0,
            format: output::Format::Text,
            symcache: RefCell::new(symcache),
        };
        for (i, fds) in events.into_iter().enumerate() {
            let p = &s.compiled.progs[i];
            let attached = fds.and_then(|fds| {
                for fd in &fds {
                    bpf_sys::perf_attach(fd, &s.progs[i]).map_err(|e| RunError::Attach {
                        probe: p.name.clone(),
                        err: e.to_string(),
                    })?;
                }
                Ok(fds)
            });
            match attached {
                Ok(fds) => s.links.extend(fds),
                // As bpftrace: one function of a wildcard that cannot be probed (notrace,
                // inlined away since the list was read) is skipped with a warning.
                Err(_) if p.wildcard => {
                    eprintln!("WARNING: could not attach probe {}, skipping.", p.name)
                }
                Err(e) => return Err(e),
            }
        }
        // Attached through bpf() itself, not a perf event.
        for (i, p) in s.compiled.progs.iter().enumerate() {
            let name = match &p.kind {
                ProbeKind::Kfunc { .. } => None,
                ProbeKind::RawTracepoint { name } => Some(name.as_str()),
                _ => continue,
            };
            let fd =
                bpf_sys::raw_tracepoint_open(name, &s.progs[i]).map_err(|e| RunError::Attach {
                    probe: p.name.clone(),
                    err: e.to_string(),
                })?;
            s.links.push(fd);
        }
        s.attached = s.compiled.progs.len();
        Ok(s)
    }

    pub fn run_special(&self, which: &ProbeKind) -> Result<(), RunError> {
        for (i, p) in self.compiled.progs.iter().enumerate() {
            if &p.kind == which {
                bpf_sys::prog_test_run(&self.progs[i], &bpf_sys::TestRun::default())?;
            }
        }
        Ok(())
    }

    pub fn detach(&mut self) {
        self.links.clear();
    }

    /// Reads every entry of map `idx`.
    pub fn entries(&self, idx: usize) -> Vec<Entry> {
        let spec = &self.compiled.maps[idx];
        let percpu = spec.map_type == codegen::BPF_MAP_TYPE_PERCPU_HASH;
        let n = if percpu { self.ncpus } else { 1 };
        let vsize = spec.value_size as usize;
        let fd = &self.maps[idx];
        let mut out = Vec::new();
        let mut key = vec![0u8; spec.key_size as usize];
        let mut next = vec![0u8; spec.key_size as usize];
        let mut first = true;
        while let Ok(true) =
            bpf_sys::map_next_key(fd, if first { None } else { Some(&key) }, &mut next)
        {
            first = false;
            std::mem::swap(&mut key, &mut next);
            let mut val = vec![0u8; vsize.next_multiple_of(8) * n];
            if let Ok(true) = bpf_sys::map_lookup(fd, &key, &mut val) {
                let values = val
                    .chunks(vsize.next_multiple_of(8))
                    .map(|c| c[..vsize].to_vec())
                    .collect();
                out.push(Entry {
                    key: key.clone(),
                    values,
                });
            }
        }
        out
    }

    fn syms(&self) -> Syms<'_> {
        Syms {
            names: &self.compiled.probe_names,
            cache: &self.symcache,
            stacks: self
                .compiled
                .stackmaps
                .iter()
                .filter_map(|&(limit, i)| {
                    let size = self.compiled.maps[i].value_size as usize;
                    self.maps.get(i).map(|fd| (limit, fd, size))
                })
                .collect(),
        }
    }

    pub fn map_text(&self, idx: usize, top: usize, div: u64) -> String {
        let Some(info) = &self.compiled.maps[idx].info else {
            return String::new();
        };
        let syms = self.syms();
        output::map_to_str(info, &self.entries(idx), top, div, &syms, self.format)
    }

    fn clear(&self, idx: usize, zero: bool) {
        let spec = &self.compiled.maps[idx];
        let percpu = spec.map_type == codegen::BPF_MAP_TYPE_PERCPU_HASH;
        let n = if percpu { self.ncpus } else { 1 };
        for e in self.entries(idx) {
            if zero {
                let z = vec![0u8; (spec.value_size as usize).next_multiple_of(8) * n];
                let _ = bpf_sys::map_update(&self.maps[idx], &e.key, &z, 0);
            } else {
                let _ = bpf_sys::map_delete(&self.maps[idx], &e.key);
            }
        }
    }

    /// Handles every pending record; true when one was `exit()`, or when `out` no longer
    /// takes output (a closed pipe, with SIGPIPE ignored): tracing then ends as after
    /// `exit()` rather than running on with nowhere to print.
    pub fn drain(&mut self, out: &mut dyn Write) -> bool {
        let mut records = Vec::new();
        self.ring.consume(|r| records.push(r.to_vec()));
        let mut exit = false;
        for r in records {
            if exit {
                break;
            }
            exit |= self.handle(&r, out);
        }
        exit | out.flush().is_err()
    }

    /// Acts on one record; true when tracing should end (`exit()`, or output failed).
    fn handle(&self, rec: &[u8], out: &mut dyn Write) -> bool {
        let id = u64::from_le_bytes(
            rec.get(..8)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 8]),
        ) as usize;
        let body = rec.get(8..).unwrap_or(&[]);
        let syms = self.syms();
        let written = match self.compiled.actions.get(id) {
            Some(Action::Exit) => return true,
            Some(Action::Printf { pieces, args }) => {
                let vals = printf_args(args, body, &syms);
                let text = printf::format(pieces, &vals);
                out.write_all(self.event("printf", &text).as_bytes())
            }
            Some(Action::PrintValue(t)) => match self.format {
                output::Format::Text => {
                    writeln!(out, "{}", output::value_to_str(t, body, &syms))
                }
                output::Format::Json => writeln!(
                    out,
                    "{{\"type\": \"value\", \"data\": {}}}",
                    output::value_to_json(t, body, &syms)
                ),
            },
            Some(Action::PrintMap { map, top, div }) => {
                out.write_all(self.map_text(*map, *top, *div).as_bytes())
            }
            Some(Action::Join(delim)) => {
                let mut parts = Vec::new();
                for i in 0..codegen::JOIN_ARGNUM {
                    let at = 8 + i * codegen::JOIN_ARGSIZE;
                    let s = body.get(at..at + codegen::JOIN_ARGSIZE).unwrap_or(&[]);
                    if s.first().copied().unwrap_or(0) == 0 {
                        break;
                    }
                    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                    parts.push(String::from_utf8_lossy(&s[..end]).into_owned());
                }
                let text = format!("{}\n", parts.join(delim));
                out.write_all(self.event("join", &text).as_bytes())
            }
            Some(Action::Cat { pieces, args }) => {
                let vals = printf_args(args, body, &syms);
                let path = printf::format(pieces, &vals);
                match std::fs::read(&path) {
                    Ok(data) => out.write_all(&data),
                    Err(e) => {
                        eprintln!("ERROR: failed to open file '{path}': {e}");
                        Ok(())
                    }
                }
            }
            Some(Action::Time(fmt)) => {
                let text = bpf_sys::strftime_local(fmt);
                out.write_all(self.event("time", &text).as_bytes())
            }
            Some(Action::Clear(m)) => {
                self.clear(*m, false);
                Ok(())
            }
            Some(Action::Zero(m)) => {
                self.clear(*m, true);
                Ok(())
            }
            None => Ok(()),
        };
        written.is_err()
    }

    /// Text output as is, or as a `--json` line `{"type": KIND, "data": "TEXT"}`.
    fn event(&self, kind: &str, text: &str) -> String {
        match self.format {
            output::Format::Text => text.to_string(),
            output::Format::Json => format!(
                "{{\"type\": \"{kind}\", \"data\": \"{}\"}}\n",
                output::json_escape(text)
            ),
        }
    }

    /// Waits for records until exit(), a signal, or `stop()` says so.
    pub fn poll_loop(
        &mut self,
        out: &mut dyn Write,
        interrupted: &Arc<AtomicBool>,
        mut stop: impl FnMut() -> bool,
    ) {
        loop {
            if self.drain(out) {
                return;
            }
            if interrupted.load(Ordering::Relaxed) {
                return;
            }
            if stop() {
                // Pick up what arrived just before.
                self.drain(out);
                return;
            }
            self.ring.wait(100);
        }
    }

    /// At exit: END, then a blank line pair and every map, as bpftrace prints them.
    pub fn finish(&mut self, out: &mut dyn Write) -> Result<(), RunError> {
        self.detach();
        self.run_special(&ProbeKind::End)?;
        self.drain(out);
        out.write_all(b"\n\n")?;
        for idx in 0..self.compiled.maps.len() {
            if self.compiled.print_maps_on_exit && self.compiled.maps[idx].info.is_some() {
                out.write_all(self.map_text(idx, 0, 0).as_bytes())?;
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// The values of a printf-like record's arguments, each in its 8-byte-rounded slot.
fn printf_args(args: &[Ty], body: &[u8], syms: &dyn Symbolizer) -> Vec<Arg> {
    let mut vals = Vec::new();
    let mut off = 0;
    for t in args {
        let b = body.get(off..).unwrap_or(&[]);
        vals.push(match t {
            Ty::Int { size, signed } => {
                let raw = u64::from_le_bytes(
                    b.get(..8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]),
                );
                let v = if *signed {
                    let s = 64 - *size as u32 * 8;
                    ((raw << s) as i64) >> s
                } else {
                    raw as i64
                };
                Arg::Int(v)
            }
            other => Arg::Str(output::value_to_str(other, b, syms)),
        });
        off += t.size().next_multiple_of(8).max(8);
    }
    vals
}
