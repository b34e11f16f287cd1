// SPDX-License-Identifier: GPL-2.0-only
//! Scheduler statistics: the loop copies counters into a [`Metrics`] snapshot and hands it to
//! a reporter thread, which adds what needs /proc (page faults) and prints. Nothing here runs
//! in the dispatch loop but the copy.

use std::fmt;

use crate::classify::{Signals, SystemClass, NR_CLASSES};
use crate::modes::{CpuChoice, ModeParams};
use crate::policy::NR_TASK_CLASSES;

/// Where a running scheduler leaves its latest stats line, for `--monitor`.
pub const STATS_FILE: &str = "/run/scx_foresight.stats";

/// One snapshot of the scheduler's counters (cumulative since attach).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    /// Online CPUs as seen by the BPF side.
    pub nr_cpus: u64,
    /// Tasks running on a CPU.
    pub nr_running: u64,
    /// Tasks queued to userspace, not yet drained.
    pub nr_queued: u64,
    /// Tasks drained but not yet dispatched (pending in userspace).
    pub nr_scheduled: u64,
    /// Dispatches decided by userspace (all of them, counted by the loop).
    pub nr_user_dispatches: u64,
    /// Of those, dispatches straight to an idle CPU (the rest go to the shared queue).
    pub nr_idle_cpu_dispatches: u64,
    /// Idle-CPU searches made (a syscall each); skipped while every CPU is busy.
    pub nr_cpu_searches: u64,
    /// Dispatches the kernel made itself (e.g. the scheduler's own task, per-CPU kthreads).
    pub nr_kernel_dispatches: u64,
    /// Dispatches cancelled because the task changed state meanwhile.
    pub nr_cancel_dispatches: u64,
    /// Dispatches bounced to the shared queue (target CPU not allowed/offline).
    pub nr_bounce_dispatches: u64,
    /// Dispatches that failed.
    pub nr_failed_dispatches: u64,
    /// Times the userspace scheduler could not keep up (ring buffer congestion).
    pub nr_sched_congested: u64,
    /// Scheduling rounds (drain → decide → dispatch) run by the loop.
    pub nr_rounds: u64,
    /// Largest batch decided in one round.
    pub max_batch: u64,
    /// Longest round (µs): the hot loop must never block, on /proc or anything else.
    pub max_round_us: u64,
    /// Page faults of the scheduler process since attach; must stay 0. Filled by the reporter.
    pub nr_page_faults: u64,
    /// Tasks in the task table.
    pub nr_tasks: u64,
    /// Exit records received, and lost.
    pub nr_exits: u64,
    pub nr_exits_dropped: u64,
    /// /proc replies applied, and requests dropped because the worker was behind.
    pub nr_proc_replies: u64,
    pub nr_proc_dropped: u64,
    /// First decisions of exec'd images, and how many of them had a function-level prediction.
    pub nr_exec_first_decisions: u64,
    pub nr_exec_first_fn: u64,
    /// Identities applied from the exec tracer and from /proc reads.
    pub nr_ident_exec: u64,
    pub nr_ident_proc: u64,
    /// Tasks that exited identified at exec, by /proc, or never.
    pub nr_exit_ident_exec: u64,
    pub nr_exit_ident_proc: u64,
    pub nr_exit_ident_never: u64,
    /// /proc replies read from another image than the loop saw (an exec in between): re-asked.
    pub nr_proc_stale: u64,
    /// Training samples sent to the learner, and dropped because it was behind.
    pub nr_samples: u64,
    pub nr_samples_dropped: u64,
    /// Samples the learner has taken in.
    pub nr_trained: u64,
    /// Decisions made with a function model, an executable model, the general model, or no
    /// prediction.
    pub nr_pred_function: u64,
    pub nr_pred_executable: u64,
    pub nr_pred_general: u64,
    pub nr_pred_none: u64,
    /// Generation of the models in use, and how many function models are trusted.
    pub model_generation: u64,
    pub nr_function_models: u64,
    /// Model file in use (content hash, 0: none), reloads applied and rejected.
    pub model_file_hash: u64,
    pub nr_reloads: u64,
    pub nr_rejected_reloads: u64,
    /// `--record` rows dropped because the writer was behind.
    pub nr_record_dropped: u64,
    /// The workload class in force (its mode is applied), and the last window's own verdict.
    pub class: SystemClass,
    pub last_seen: SystemClass,
    pub mode: ModeParams,
    /// Mode switches, seconds with each class in force, windows classified and dropped.
    pub nr_mode_switches: u64,
    pub class_seconds: [f64; NR_CLASSES],
    pub nr_windows: u64,
    pub nr_windows_dropped: u64,
    /// The last window's signals.
    pub signals: Signals,
    /// "model" or "thresholds".
    pub classifier: &'static str,
    /// Modes config reloads applied and rejected.
    pub nr_config_reloads: u64,
    pub nr_config_rejected: u64,
    /// Decisions per task class (interactive, I/O-bound, short FaaS, batch CPU), and of
    /// those, decisions for tasks in a boosted cgroup.
    pub decisions_by_class: [u64; NR_TASK_CLASSES],
    pub nr_boosted_decisions: u64,
}

impl fmt::Display for Metrics {
    /// One `key=value` line, stable for scripts (the VM tests parse it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stats: running={}/{} queued={} pending={} user_dispatches={} idle_cpu={} cpu_searches={} kernel_dispatches={} \
             congested={} cancels={} bounces={} failed={} rounds={} max_batch={} max_round_us={} tasks={} exits={} \
             exits_lost={} proc={} proc_lost={} proc_stale={} ident_exec={} ident_proc={} exited_exec={} exited_proc={} exited_never={} exec_first_fn={}/{} samples={} samples_lost={} trained={} \
             pred_fn={} pred_exe={} pred_general={} pred_none={} model_gen={} fn_models={} model_file={:016x} \
             reloads={} rejected_reloads={} record_lost={} page_faults={} \
             class={} seen={} mode_switches={} windows={} windows_lost={} classifier={} \
             mode=slice:{}%,min:{}%,short_first:{},short_ms:{},batch:{}%,cpu:{} class_s={} \
             tasks=interactive:{},io:{},faas:{},batch:{} boosted={} config_reloads={} \
             config_rejected={} busy={:.2} iowait={:.2} runnable={:.2} switches_s={:.0} sleeps_s={:.0} \
             blk_s={:.0} pages_s={:.0} net_s={:.0} new_s={:.1}",
            self.nr_running,
            self.nr_cpus,
            self.nr_queued,
            self.nr_scheduled,
            self.nr_user_dispatches,
            self.nr_idle_cpu_dispatches,
            self.nr_cpu_searches,
            self.nr_kernel_dispatches,
            self.nr_sched_congested,
            self.nr_cancel_dispatches,
            self.nr_bounce_dispatches,
            self.nr_failed_dispatches,
            self.nr_rounds,
            self.max_batch,
            self.max_round_us,
            self.nr_tasks,
            self.nr_exits,
            self.nr_exits_dropped,
            self.nr_proc_replies,
            self.nr_proc_dropped,
            self.nr_proc_stale,
            self.nr_ident_exec,
            self.nr_ident_proc,
            self.nr_exit_ident_exec,
            self.nr_exit_ident_proc,
            self.nr_exit_ident_never,
            self.nr_exec_first_fn,
            self.nr_exec_first_decisions,
            self.nr_samples,
            self.nr_samples_dropped,
            self.nr_trained,
            self.nr_pred_function,
            self.nr_pred_executable,
            self.nr_pred_general,
            self.nr_pred_none,
            self.model_generation,
            self.nr_function_models,
            self.model_file_hash,
            self.nr_reloads,
            self.nr_rejected_reloads,
            self.nr_record_dropped,
            self.nr_page_faults,
            self.class,
            self.last_seen,
            self.nr_mode_switches,
            self.nr_windows,
            self.nr_windows_dropped,
            self.classifier,
            self.mode.slice_pct,
            self.mode.slice_min_pct,
            self.mode.short_first,
            self.mode.short_task_ms,
            self.mode.batch_slice_pct,
            match self.mode.cpu_choice {
                CpuChoice::Locality => "locality",
                CpuChoice::Spread => "spread",
            },
            class_seconds(&self.class_seconds),
            self.decisions_by_class[0],
            self.decisions_by_class[1],
            self.decisions_by_class[2],
            self.decisions_by_class[3],
            self.nr_boosted_decisions,
            self.nr_config_reloads,
            self.nr_config_rejected,
            self.signals.busy,
            self.signals.iowait,
            self.signals.runnable_per_cpu,
            self.signals.switches_per_cpu_s,
            self.signals.sleeps_per_cpu_s,
            self.signals.block_rqs_per_s,
            self.signals.page_allocs_per_cpu_s,
            self.signals.net_packets_per_s,
            self.signals.new_tasks_per_s,
        )
    }
}

/// `idle:12,cpu-bound:30,...`: whole seconds with each class in force.
fn class_seconds(secs: &[f64; NR_CLASSES]) -> String {
    SystemClass::ALL
        .iter()
        .map(|c| format!("{}:{:.0}", c.name(), secs[c.index()]))
        .collect::<Vec<_>>()
        .join(",")
}

/// Minor plus major faults from the text of `/proc/<pid>/stat`; None when malformed.
pub fn page_faults_from_stat(stat: &str) -> Option<u64> {
    // comm may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After comm: state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6) minflt(7)
    // cminflt(8) majflt(9).
    let minflt: u64 = fields.get(7)?.parse().ok()?;
    let majflt: u64 = fields.get(9)?.parse().ok()?;
    Some(minflt + majflt)
}

/// Page faults of this process so far (reads /proc: never call from the dispatch loop).
pub fn own_page_faults() -> Option<u64> {
    page_faults_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_faults_with_odd_comm() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 150 0 7 0 1 2 0 0 20 0 1 0 100 1000 10";
        assert_eq!(page_faults_from_stat(stat), Some(157));
        assert_eq!(page_faults_from_stat("garbage"), None);
        assert_eq!(page_faults_from_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn own_faults_are_readable_here() {
        assert!(own_page_faults().is_some());
    }

    #[test]
    fn line_has_every_required_counter() {
        let line = Metrics {
            nr_page_faults: 3,
            ..Default::default()
        }
        .to_string();
        for key in [
            "queued=",
            "user_dispatches=",
            "kernel_dispatches=",
            "congested=",
            "cancels=",
            "bounces=",
            "page_faults=3",
            "class=mixed",
            "mode_switches=",
            "class_s=idle:0,cpu-bound:0,interactive:0,io-heavy:0,network-heavy:0,faas-burst:0,mixed:0",
            "mode=slice:",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
    }
}
