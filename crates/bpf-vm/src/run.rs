//! Running a program the way `BPF_PROG_TEST_RUN` does for its type: the context the kernel
//! builds (`xdp_md` over the packet for XDP; `__sk_buff` for socket filters and tc, with the
//! Ethernet header pulled for socket filters as `eth_type_trans` does), user-space maps,
//! and the program's return value.

use bpf_insn::Insn;

use crate::maps::MapSpec;
use crate::{Memory, RegionKind, StdHelpers, Vm, VmError};

/// A map to create before the run, with optional initial contents (global data).
#[derive(Debug, Clone)]
pub struct MapInit {
    pub spec: MapSpec,
    pub data: Option<Vec<u8>>,
}

impl From<&bpf_insn::object::MapDef> for MapInit {
    /// An object's map with its initial contents (global data sections).
    fn from(m: &bpf_insn::object::MapDef) -> MapInit {
        MapInit {
            spec: MapSpec::from(m),
            data: m.data.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub ret: u64,
    /// Packet after the run (XDP/tc may write it).
    pub data_out: Vec<u8>,
    /// Instructions executed by the last repetition.
    pub steps: u64,
    /// `bpf_trace_printk` output.
    pub printk: Vec<String>,
    /// Map contents after the run: per map, (key, value) pairs.
    pub maps: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Vm(#[from] VmError),
    #[error("{0}")]
    Setup(String),
}

const ETH_HLEN: usize = 14;

/// Run `prog` of type `prog_type` (`BPF_PROG_TYPE_*`) over `data`, `repeat` times (the
/// state of maps carries over between repetitions, as in the kernel).
pub fn run(
    prog: &[Insn],
    prog_type: u32,
    maps: &[MapInit],
    data: &[u8],
    repeat: u32,
) -> Result<RunResult, RunError> {
    run_with(
        prog,
        prog_type,
        maps,
        data,
        repeat,
        crate::Options::default(),
    )
}

/// [`run`] with the interpreter's options (a step limit).
pub fn run_with(
    prog: &[Insn],
    prog_type: u32,
    maps: &[MapInit],
    data: &[u8],
    repeat: u32,
    opts: crate::Options,
) -> Result<RunResult, RunError> {
    let mut helpers = StdHelpers::default();
    let mut vm = Vm::new(prog, StdHelpers::default());
    vm.opts = opts;
    for m in maps {
        let idx = helpers
            .add_map(m.spec.clone(), &mut vm.mem)
            .map_err(|e| RunError::Setup(e.to_string()))?;
        if let Some(d) = &m.data {
            let key = 0u32.to_le_bytes();
            let addr = helpers.maps[idx].lookup(&key).ok_or_else(|| {
                RunError::Setup(format!(
                    "map `{}`: initial data needs an array map",
                    m.spec.name
                ))
            })?;
            let n = d.len().min(m.spec.value_size as usize);
            if let Some(s) = vm.mem.slice_mut(addr, n) {
                s.copy_from_slice(&d[..n]);
            }
        }
    }
    vm.helpers = helpers;
    let (ctx, pkt_region) = build_ctx(&mut vm.mem, prog_type, data, &mut vm.helpers.xdp)?;
    vm.packet = pkt_region;
    if let (1 | 3 | 4 | 8, Some(region)) = (prog_type, pkt_region) {
        // Socket filters and cgroup skb programs run with the Ethernet header pulled.
        let pulled = if matches!(prog_type, 3 | 4) {
            Vec::new()
        } else {
            data[..ETH_HLEN].to_vec()
        };
        // The region of the context (addresses are (region + 1) << 32).
        let ctx_region = (ctx >> 32).saturating_sub(1) as usize;
        // Socket filters have no `data`/`data_end` in their context.
        vm.helpers.skb = Some(crate::skb::Skb::new(
            region,
            pulled,
            ctx_region,
            prog_type != 1,
        ));
    }
    let mut last = None;
    for _ in 0..repeat.max(1) {
        last = Some(vm.run([ctx, 0, 0, 0, 0])?);
    }
    let out = last.expect("at least one run");
    let data_out = match (prog_type, pkt_region) {
        (1 | 8, Some(r)) => {
            // The kernel copies back the pulled Ethernet header as zeros.
            let mut d = vec![0u8; ETH_HLEN.min(data.len())];
            d.extend_from_slice(&vm.mem.regions[r].bytes);
            d
        }
        (6, Some(_)) => match &vm.helpers.xdp {
            Some(x) => x.output(&vm.mem),
            None => Vec::new(),
        },
        (_, Some(r)) => vm.mem.regions[r].bytes.clone(),
        _ => Vec::new(),
    };
    let maps_out = vm.helpers.maps.iter().map(|m| m.dump(&vm.mem)).collect();
    Ok(RunResult {
        ret: out.ret,
        data_out,
        steps: out.steps,
        printk: std::mem::take(&mut vm.helpers.printk),
        maps: maps_out,
    })
}

fn build_ctx(
    mem: &mut Memory,
    prog_type: u32,
    data: &[u8],
    xdp: &mut Option<crate::xdp::Xdp>,
) -> Result<(u64, Option<usize>), RunError> {
    match prog_type {
        // XDP: xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }
        6 => {
            let (ctx, x) = crate::xdp::Xdp::build(mem, data);
            let region = x.region;
            *xdp = Some(x);
            Ok((ctx, Some(region)))
        }
        // __sk_buff (192 bytes) for socket filters (1), tc (3, 4), cgroup skb (8).
        1 | 3 | 4 | 8 => {
            if data.len() < ETH_HLEN {
                return Err(RunError::Setup(format!(
                    "{}-byte packet is shorter than an Ethernet header ({ETH_HLEN} bytes)",
                    data.len()
                )));
            }
            let l2 = matches!(prog_type, 3 | 4);
            let bytes = if l2 {
                data.to_vec()
            } else {
                data[ETH_HLEN..].to_vec()
            };
            let len = bytes.len() as u32;
            let pkt = mem.add(RegionKind::Packet, bytes, true);
            let pr = mem.regions.len() - 1;
            let mut sk = vec![0u8; 192];
            let put = |sk: &mut Vec<u8>, off: usize, v: u32| {
                sk[off..off + 4].copy_from_slice(&v.to_le_bytes())
            };
            put(&mut sk, 0, len); // len
                                  // pkt_type as eth_type_trans computes it on the loopback device (address 0).
            let dst = &data[0..6];
            // The loopback device's broadcast address is all zeros, so ff:ff:.. counts
            // as multicast there.
            let pkt_type = if dst[0] & 1 != 0 {
                2
            } else if dst.iter().all(|&b| b == 0) {
                0
            } else {
                3
            };
            put(&mut sk, 4, pkt_type);
            // protocol: the big-endian EtherType as stored in the skb.
            put(&mut sk, 16, u16::from_ne_bytes([data[12], data[13]]) as u32);
            put(&mut sk, 40, 1); // ifindex: loopback
            let ctx = mem.add(RegionKind::Context, sk, true);
            let cr = mem.regions.len() - 1;
            // __sk_buff.sk: the test run's dummy socket.
            let sock = crate::sock::dummy(mem, data);
            mem.ctx_fields.push((cr, 168, sock));
            if prog_type != 1 {
                mem.ctx_fields.push((cr, 76, pkt));
                mem.ctx_fields.push((cr, 80, pkt + len as u64));
                mem.ctx_fields.push((cr, 140, pkt));
            }
            Ok((ctx, Some(pr)))
        }
        // Tracing types: BPF_PROG_TEST_RUN is not supported for them in the kernel; give
        // a zeroed context of the type's size so programs can still be exercised.
        2 | 5 | 7 | 17 => {
            let size = match prog_type {
                2 => 168,
                5 => 8192,
                7 => 184,
                _ => 96,
            };
            let mut c = vec![0u8; size];
            let n = data.len().min(size);
            c[..n].copy_from_slice(&data[..n]);
            let ctx = mem.add(RegionKind::Context, c, false);
            Ok((ctx, None))
        }
        t => Err(RunError::Setup(format!(
            "program type {t} has no context model in the interpreter"
        ))),
    }
}
