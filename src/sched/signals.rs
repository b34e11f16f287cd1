// SPDX-License-Identifier: GPL-2.0-only
//! Userspace side of bpf/signals.bpf.c: once per window, read and zero every CPU's event
//! counters with atomic swaps on the mapped .bss (no syscall, no lock), summed over CPUs.
//! The scheduler's own process is left out of the counts.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::OpenObject;

use scx_foresight::core::classify::EventCounts;

#[allow(clippy::all, dead_code, non_camel_case_types)]
mod signals_skel {
    include!(concat!(env!("OUT_DIR"), "/signals_skel.rs"));
}
use signals_skel::{SignalsSkel, SignalsSkelBuilder};

pub struct SignalCounters<'a> {
    skel: SignalsSkel<'a>,
    /// CPU ids to sweep (highest online + 1, at most MAX_SIGNAL_CPUS).
    nr_cpu_ids: usize,
}

impl<'a> SignalCounters<'a> {
    /// Load and attach the tracepoint counters; must run before the scheduler attaches (the
    /// core forbids new mappings afterwards).
    pub fn load(open_object: &'a mut MaybeUninit<OpenObject>, nr_cpu_ids: usize) -> Result<Self> {
        let mut open = SignalsSkelBuilder::default()
            .open(open_object)
            .context("opening bpf/signals.bpf.c")?;
        // Our own threads' events are not the workload's.
        if let Some(rodata) = open.maps.rodata_data.as_mut() {
            rodata.own_tgid = std::process::id();
        }
        let mut skel = open.load().context("loading bpf/signals.bpf.c")?;
        skel.attach()
            .context("attaching the workload signal tracepoints")?;
        let max = skel.maps.bss_data.as_ref().map_or(0, |b| b.counts.len());
        Ok(Self {
            skel,
            nr_cpu_ids: nr_cpu_ids.min(max),
        })
    }

    /// Counts since the previous harvest, summed over CPUs; every CPU's row starts again at 0.
    pub fn harvest(&mut self) -> EventCounts {
        let mut sum = EventCounts::default();
        let Some(bss) = self.skel.maps.bss_data.as_mut() else {
            return sum;
        };
        for row in bss.counts.iter_mut().take(self.nr_cpu_ids) {
            sum.switches += take(&mut row.switches);
            sum.sleeps += take(&mut row.sleeps);
            sum.block_rqs += take(&mut row.block_rqs);
            sum.page_allocs += take(&mut row.page_allocs);
            sum.net_packets += take(&mut row.net_packets);
            sum.forks += take(&mut row.forks);
            sum.execs += take(&mut row.execs);
        }
        sum
    }
}

/// Read and zero a counter the BPF side bumps with atomic adds.
fn take(counter: &mut u64) -> u64 {
    // SAFETY: the counter lives in the mapped .bss for the skeleton's lifetime, is 8-byte
    // aligned, and is only ever accessed atomically (BPF side: __sync_fetch_and_add).
    unsafe { AtomicU64::from_ptr(counter as *mut u64) }.swap(0, Ordering::Relaxed)
}
