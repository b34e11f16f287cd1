// SPDX-License-Identifier: GPL-2.0-only
//! scx_foresight's library: everything but the BPF side, in four rooms (the binary adds the
//! fifth, `src/sched/`: the loop attached to the kernel, and `src/cli/`, its subcommands).
//! docs/ARCHITECTURE.md draws how they meet.
//!
//! - [`core`]: the decisions (no threads, no clock of its own, no I/O but the loaders of its
//!   classifier and modes files): a command line into features, the models' predictions, the
//!   policy's order and slice, the task table, the workload classes and modes. The live loop
//!   and the simulator both call it.
//! - [`formats`]: the files we read and write (model files, samples, traces) and the helpers
//!   they share (one error type, one CSV row loop, versioned JSON).
//! - [`offline`]: the tools that need no kernel: simulator, traces, training, replay, fuzzing.
//! - [`live`]: the threads beside the dispatch loop (learner, adapt, /proc and exec identity,
//!   recorder, file reloads), their start-up checks and the statistics they publish.

pub mod core;
pub mod formats;
pub mod live;
pub mod offline;

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
