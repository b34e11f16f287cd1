// SPDX-License-Identifier: GPL-2.0-only
//! Userspace side of bpf/wakeups.bpf.c: wakeup preemption. A task that wakes on a busy CPU
//! kicks a task that has held that CPU for at least the configured time (a kick from there
//! does nothing on kernel 7.2), and a real-time wakee ends the slice of a long runner it
//! interrupts, so the loop decides that runner again beside the newcomer instead of letting
//! it resume.

use std::mem::MaybeUninit;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::OpenObject;
use scx_foresight::live::stats::WakePreemptCounts;

#[allow(clippy::all, dead_code, non_camel_case_types)]
mod wakeups_skel {
    include!(concat!(env!("OUT_DIR"), "/wakeups_skel.rs"));
}
use wakeups_skel::{WakeupsSkel, WakeupsSkelBuilder};

/// The wakeup and context-switch tracepoints that preempt long runners.
pub struct WakePreempt<'a> {
    skel: WakeupsSkel<'a>,
}

impl<'a> WakePreempt<'a> {
    /// Load and attach; must run before the scheduler attaches (the core forbids new mappings
    /// afterwards). Tasks that ran less than `min_run_ns` since they were switched in are left
    /// alone (0: no kick); a real-time wakee ends the slice of a task that used at least
    /// `rt_min_cpu_ns` in all (0: never); with `d_wake`, a wakee woken from state D ends the
    /// slice of the task running on its CPU.
    pub fn load(
        open_object: &'a mut MaybeUninit<OpenObject>,
        min_run_ns: u64,
        rt_min_cpu_ns: u64,
        d_wake: bool,
    ) -> Result<Self> {
        let mut open = WakeupsSkelBuilder::default()
            .open(open_object)
            .context("opening bpf/wakeups.bpf.c")?;
        if let Some(rodata) = open.maps.rodata_data.as_mut() {
            rodata.own_tgid = std::process::id();
            rodata.preempt_min_run_ns = min_run_ns;
            rodata.rt_preempt_min_cpu_ns = rt_min_cpu_ns;
            rodata.d_wake_preempt = d_wake;
        }
        let mut skel = open.load().context("loading bpf/wakeups.bpf.c")?;
        skel.attach()
            .context("attaching the wakeup preemption tracepoints")?;
        Ok(Self { skel })
    }

    pub fn counts(&self) -> WakePreemptCounts {
        self.skel
            .maps
            .bss_data
            .as_ref()
            .map_or(WakePreemptCounts::default(), |b| WakePreemptCounts {
                preempts: b.nr_wake_preempts,
                idle: b.nr_wake_idle,
                rt_preempts: b.nr_rt_preempts,
                d_wake_preempts: b.nr_d_wake_preempts,
            })
    }
}
