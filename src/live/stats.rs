// SPDX-License-Identifier: GPL-2.0-only
//! The loop's counters: the dispatch loop copies them into a [`Metrics`] snapshot and hands it
//! to the reporter thread, which adds what needs /proc (page faults, read here) and publishes
//! it as [`crate::live::sched_stats::SchedStats`]. Nothing here runs in the loop but the copy.

use crate::core::classify::{Signals, SystemClass, NR_CLASSES};
use crate::core::policy::{ModeParams, NR_TASK_CLASSES};
use crate::live::procinfo::ExecCounts;

/// What wakeup preemption (bpf/wakeups.bpf.c) has done since it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WakePreemptCounts {
    /// Preempting kicks issued for a wakeup (a kick from a tracepoint does nothing on 7.2).
    pub preempts: u64,
    /// Wakeups that found a CPU idle (no one preempted).
    pub idle: u64,
    /// Slices of long runners ended because a real-time wakee took their CPU (a launcher
    /// about to fork): the task is decided again beside the child instead of resuming.
    pub rt_preempts: u64,
    /// Slices ended because a task woken from state D was placed on that CPU (only with
    /// --uninterruptible-preempt).
    pub d_wake_preempts: u64,
}

/// What the hog rule did (--hog-preempt-cpu-us; bpf/hogpreempt.bpf.h, in the dispatcher) since
/// it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HogPreemptCounts {
    /// CPU hogs a normal wakeup preempted: at once, or by a timer when they became hogs.
    pub preempts: u64,
    /// Timers armed for a task that was not yet a hog when a sleeper woke behind it.
    pub timers: u64,
    /// Wakeups inside a timer's callback the rule looked at (its own least sleep).
    pub irq_wakes: u64,
    /// Of the preempts, hogs preempted when they resumed after a higher class held the CPU.
    pub on_resume: u64,
    /// Hogs a higher class preempted while their rule timer ran, at resume (--hog-timer-rearm):
    /// timer armed again, or preempted at once (then also in `preempts`).
    pub rearms: u64,
}

/// What the dispatcher did for lock holders (bpf/holders.bpf.h) since it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockHolderCounts {
    /// Tasks that began to sleep on a lock whose owner the kernel names (mutex, written rwsem).
    pub waits: u64,
    /// Of those, the waits whose owner sat in one of our dispatch queues.
    pub queued: u64,
    /// Owners the dispatcher then ran first.
    pub run: u64,
    /// Tasks the dispatcher saw go to sleep in state D (not counted with
    /// --no-kernel-preempted-first),
    /// and the tasks preempted inside the kernel it then ran first.
    pub d_sleeps: u64,
    pub kernel_preempted_run: u64,
}

/// What the dispatcher's slice timers did (bpf/slicetimer.bpf.h) since it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SliceTimerCounts {
    /// Timers armed for a marked slice (one that holds its task back) shorter than
    /// --slice-timer-us.
    pub armed: u64,
    /// Of those, the slices they ended: the task still ran when its timer fired.
    pub ended: u64,
}

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
    /// Of the userspace dispatches, those straight to an idle CPU (the rest: shared queue).
    pub nr_idle_cpu_dispatches: u64,
    /// Idle-CPU searches made (a syscall each); skipped while every CPU is busy.
    pub nr_cpu_searches: u64,
    /// Dispatches the kernel made itself (e.g. the scheduler's own task, per-CPU kthreads).
    pub nr_kernel_dispatches: u64,
    /// Tasks enqueued inside a migrate-disabled section (bpf/pinned.bpf.h).
    pub nr_migration_disabled: u64,
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
    /// Rounds that found no task to decide (the dispatcher's heartbeat timer, for one, wakes
    /// the loop with nothing queued).
    pub nr_empty_rounds: u64,
    /// Largest batch decided in one round.
    pub max_batch: u64,
    /// Longest round (µs): the hot loop must never block, on /proc or anything else.
    pub max_round_us: u64,
    /// Lock holders run first by the dispatcher.
    pub lock_holders: LockHolderCounts,
    /// Sub-tick slices ended on time by the dispatcher.
    pub slice_timers: SliceTimerCounts,
    /// Decisions of tasks woken from an uninterruptible sleep (due at once).
    pub nr_uninterruptible_wakeups: u64,
    /// Page faults of the scheduler process since attach; must stay 0. Filled by the reporter.
    pub nr_page_faults: u64,
    /// Tasks in the task table, and entries it dropped because it was full.
    pub nr_tasks: u64,
    pub nr_task_evictions: u64,
    /// Exit records received, and lost.
    pub nr_exits: u64,
    pub nr_exits_dropped: u64,
    /// /proc replies applied, and requests dropped because the worker was behind.
    pub nr_proc_replies: u64,
    pub nr_proc_dropped: u64,
    /// First decisions of exec'd images, and how many of them had a function-level prediction.
    pub nr_exec_first_decisions: u64,
    pub nr_exec_first_fn: u64,
    /// The exec tracer's counters: slices ended at exec, records lost, arguments cut or unread.
    pub exec_tracer: ExecCounts,
    pub wake_preempt: WakePreemptCounts,
    pub hog_preempt: HogPreemptCounts,
    /// Identities applied from the exec tracer, from /proc reads, and from a parent at fork.
    pub nr_ident_exec: u64,
    pub nr_ident_proc: u64,
    pub nr_ident_fork: u64,
    /// Tasks that exited identified at exec, by /proc, from their parent, or never.
    pub nr_exit_ident_exec: u64,
    pub nr_exit_ident_proc: u64,
    pub nr_exit_ident_fork: u64,
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
    /// Generation of the models in use, refits published by the learner, and how many
    /// function models are trusted.
    pub model_generation: u64,
    pub nr_model_refits: u64,
    pub nr_function_models: u64,
    /// Model file in use (content hash, 0: none), reloads applied and rejected.
    pub model_file_hash: u64,
    pub nr_reloads: u64,
    pub nr_rejected_reloads: u64,
    /// `--record` rows dropped because the writer was behind.
    pub nr_record_dropped: u64,
    /// `--trace-decisions` rows dropped because the writer was behind.
    pub nr_decisions_unlogged: u64,
    /// The workload class in force (its mode is applied), and the last window's own verdict.
    pub class: SystemClass,
    pub last_seen: SystemClass,
    pub mode: ModeParams,
    /// Mode switches, seconds with each class in force, windows classified and dropped.
    pub nr_mode_switches: u64,
    /// When the mode in force was applied (CLOCK_MONOTONIC ms).
    pub mode_since_ms: u64,
    pub class_seconds: [f64; NR_CLASSES],
    pub nr_windows: u64,
    pub nr_windows_dropped: u64,
    /// The last window's signals.
    pub signals: Signals,
    /// "model" or "thresholds".
    pub classifier: &'static str,
    /// Content hashes of the modes config and of the classifier in use (0: none).
    pub config_hash: u64,
    pub classifier_hash: u64,
    /// Modes config reloads applied and rejected.
    pub nr_config_reloads: u64,
    pub nr_config_rejected: u64,
    /// Decisions per task class (interactive, I/O-bound, short FaaS, batch CPU), and of
    /// those, decisions for tasks in a boosted cgroup.
    pub decisions_by_class: [u64; NR_TASK_CLASSES],
    pub nr_boosted_decisions: u64,
}

/// Page faults (minor + major) of this whole process so far: one getrusage(2), no /proc file
/// to open and parse (the stats thread runs on a small CPU budget; on the host, reading
/// /proc/self/stat was 10.6 µs of a snapshot's 18).
pub fn own_page_faults() -> Option<u64> {
    // SAFETY: getrusage fills the struct we own; RUSAGE_SELF covers every thread, live or ended.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    Some(usage.ru_minflt as u64 + usage.ru_majflt as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_faults_count_the_pages_we_touch() {
        const PAGES: usize = 64;
        let before = own_page_faults().unwrap();
        // SAFETY: a fresh private anonymous mapping of our own, written within its length and
        // unmapped below; each page's first write is a fault (the heap may hold touched pages).
        unsafe {
            let len = PAGES * 4096;
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            for page in 0..PAGES {
                std::ptr::write_volatile(p.cast::<u8>().add(page * 4096), 1);
            }
            libc::munmap(p, len);
        }
        assert!(own_page_faults().unwrap() >= before + PAGES as u64);
    }
}
