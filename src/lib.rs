// SPDX-License-Identifier: GPL-2.0-only
//! scx_foresight: the BPF-free part of the scheduler.
//!
//! Everything here runs without a sched_ext kernel, so it is unit-tested on any host:
//! - [`features`] turns a command line into a function identity and numeric features;
//! - [`model`] predicts a task's CPU demand (linear regression on log CPU time);
//! - [`policy`] decides each task's order (deadline) and slice from that prediction;
//! - [`classify`] names the workload from per-window signals ([`classmodel`]: the fitted
//!   classifier), [`modes`] maps each class to policy parameters and cgroups to boosts;
//! - [`sim`] runs traces ([`trace`]) through the same policy and model code;
//! - [`preflight`] checks that the host can attach a sched_ext scheduler at all;
//! - [`stats`] holds the counters the loop publishes and formats them, away from the loop.

pub mod adapt;
pub mod classify;
pub mod classmodel;
pub mod cpus;
pub mod exec_record;
pub mod features;
pub mod fuzz_targets;
pub mod helper_thread;
pub mod last_good;
pub mod learner;
pub mod model;
pub mod modelfile;
pub mod modes;
pub mod policy;
pub mod preflight;
pub mod procinfo;
pub mod recorder;
pub mod reload;
pub mod replay;
pub mod rng;
pub mod samples;
pub mod sim;
pub mod stats;
pub mod tasks;
pub mod trace;
pub mod training;

/// Name passed to the kernel; `root/ops` reads `scx_foresight_<version>_<target>`.
pub const SCHEDULER_NAME: &str = "scx_foresight";

/// CLOCK_MONOTONIC in ns: the BPF side's clock, and the one the payload reports its start on
/// (a vDSO read, no syscall).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
