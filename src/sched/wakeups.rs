// SPDX-License-Identifier: GPL-2.0-only
//! Userspace side of bpf/wakeups.bpf.c: wakeup preemption. A task that wakes on a busy CPU
//! ends the run of a task that has held that CPU for at least the configured time, so the
//! loop decides the newcomer at once instead of at the end of that task's slice.

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
    /// alone.
    pub fn load(open_object: &'a mut MaybeUninit<OpenObject>, min_run_ns: u64) -> Result<Self> {
        let mut open = WakeupsSkelBuilder::default()
            .open(open_object)
            .context("opening bpf/wakeups.bpf.c")?;
        if let Some(rodata) = open.maps.rodata_data.as_mut() {
            rodata.own_tgid = std::process::id();
            rodata.preempt_min_run_ns = min_run_ns;
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
            })
    }
}
