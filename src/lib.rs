// SPDX-License-Identifier: GPL-2.0-only
//! scx_foresight: the BPF-free part of the scheduler.
//!
//! Everything here runs without a sched_ext kernel, so it is unit-tested on any host:
//! - [`policy`] decides each task's order (deadline) and slice;
//! - [`preflight`] checks that the host can attach a sched_ext scheduler at all;
//! - [`stats`] holds the counters the loop publishes and formats them, away from the loop.

pub mod policy;
pub mod preflight;
pub mod stats;
pub mod tasks;

/// Name passed to the kernel; `root/ops` reads `scx_foresight_<version>_<target>`.
pub const SCHEDULER_NAME: &str = "scx_foresight";
