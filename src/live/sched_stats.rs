// SPDX-License-Identifier: GPL-2.0-only
//! The published statistics: [`SchedStats`], built from a loop snapshot, is what `scx_stats`
//! serves (every field described, grouped) and what `--stats`/`--monitor` print, as one
//! `key=value` line for scripts or grouped deltas for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use scx_stats::prelude::*;
use scx_stats_derive::Stats;
use serde::{Deserialize, Serialize};

use crate::core::classify::SystemClass;
use crate::core::policy::{CpuChoice, ModeParams};
use crate::live::stats::Metrics;

/// Scheduling: what the loop and the BPF side did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
pub struct Scheduling {
    #[stat(desc = "Online CPUs, as the BPF side sees them")]
    pub cpus: u64,
    #[stat(desc = "Tasks running on a CPU now")]
    pub running: u64,
    #[stat(desc = "Tasks queued to userspace, not yet drained")]
    pub queued: u64,
    #[stat(desc = "Tasks drained but not yet dispatched")]
    pub pending: u64,
    #[stat(desc = "Tasks in the task table")]
    pub tasks: u64,
    #[stat(desc = "Task table entries dropped because it was full (the least recently seen half)")]
    pub task_evictions: u64,
    #[stat(desc = "Dispatches decided in userspace")]
    pub user_dispatches: u64,
    #[stat(
        desc = "Userspace dispatches straight to an idle CPU (the rest go to the shared queue)"
    )]
    pub idle_cpu_dispatches: u64,
    #[stat(desc = "Idle-CPU searches (a syscall each; skipped while every CPU is busy)")]
    pub cpu_searches: u64,
    #[stat(desc = "Dispatches the kernel made itself (our own task, per-CPU kthreads)")]
    pub kernel_dispatches: u64,
    #[stat(desc = "Tasks enqueued inside a migrate-disabled section (kept on their CPU)")]
    pub migration_disabled: u64,
    #[stat(desc = "Dispatches cancelled because the task changed state meanwhile")]
    pub cancels: u64,
    #[stat(desc = "Dispatches bounced to the shared queue (target CPU not allowed or offline)")]
    pub bounces: u64,
    #[stat(desc = "Dispatches that failed")]
    pub failed: u64,
    #[stat(desc = "Times userspace could not keep up (ring buffer congestion)")]
    pub congested: u64,
    #[stat(desc = "Scheduling rounds (drain, decide, dispatch)")]
    pub rounds: u64,
    #[stat(desc = "Rounds that found no task to decide (woken for nothing)")]
    pub empty_rounds: u64,
    #[stat(desc = "Largest batch decided in one round since attach")]
    pub max_batch: u64,
    #[stat(desc = "Longest round since attach, in us (the loop must never block)")]
    pub max_round_us: u64,
    #[stat(desc = "Preempting kicks for a task that woke up on a busy CPU")]
    pub wake_preempts: u64,
    #[stat(desc = "Wakeups that found a CPU idle, so no one was preempted")]
    pub wake_idle: u64,
    #[stat(
        desc = "Long runners whose slice a real-time wakeup on their CPU ended (decided again, not resumed)"
    )]
    pub rt_preempts: u64,
    #[stat(
        desc = "Running tasks whose slice a wakeup from state D on their CPU ended (--uninterruptible-preempt)"
    )]
    pub d_wake_preempts: u64,
    #[stat(
        desc = "CPU hogs a normal wakeup on their CPU preempted (--hog-preempt-cpu-us): at once, or when they became hogs"
    )]
    pub hog_preempts: u64,
    #[stat(
        desc = "Of those wakeups, the ones behind a task not yet a hog: a timer to preempt it when it becomes one"
    )]
    pub hog_timers: u64,
    #[stat(
        desc = "Sleepers woken inside a timer's callback (not by an IPI) that the hog rule looked at: their least sleep is --hog-preempt-irq-sleep-us"
    )]
    pub hog_irq_wakes: u64,
    #[stat(
        desc = "Of the hog preempts, hogs preempted when they resumed after a higher class held the CPU while a sleeper woke"
    )]
    pub hog_resume_preempts: u64,
    #[stat(
        desc = "With --hog-timer-rearm: hogs whose rule timer a higher class had disarmed, at their resume (timer armed again, or preempted at once: then also in hog_preempts)"
    )]
    pub hog_timer_rearms: u64,
    #[stat(
        desc = "Tasks that began to sleep on a lock whose owner the kernel names (mutex, rwsem held for writing)"
    )]
    pub lock_waits: u64,
    #[stat(desc = "Of those, the waits whose owner sat in one of our dispatch queues")]
    pub holders_queued: u64,
    #[stat(desc = "Lock owners the dispatcher then ran first, with a short slice")]
    pub holders_run: u64,
    #[stat(
        desc = "Tasks woken from an uninterruptible sleep (state D), decided due at once with a short slice"
    )]
    pub d_wakeups: u64,
    #[stat(desc = "Tasks seen going to sleep in state D (0 with --no-kernel-preempted-first)")]
    pub d_sleeps: u64,
    #[stat(
        desc = "Of those, the times a task preempted inside the kernel was then run first, with a short slice"
    )]
    pub kpreempted_run: u64,
    #[stat(
        desc = "Slices shorter than --slice-timer-us that hold their task back for others (all with --time-every-slice), given a timer to end them on time"
    )]
    pub slice_timers: u64,
    #[stat(
        desc = "Of those, the slices the timer ended (the task still ran), instead of the next tick"
    )]
    pub slice_timer_ends: u64,
    #[stat(desc = "Page faults of the scheduler process since attach (must stay 0)")]
    pub page_faults: u64,
}

/// Prediction: how tasks were identified and which model decided them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
pub struct Prediction {
    #[stat(desc = "Identities applied from the exec tracer")]
    pub ident_exec: u64,
    #[stat(desc = "Identities applied from /proc reads")]
    pub ident_proc: u64,
    #[stat(
        desc = "Identities passed on from the parent at fork (no exec since), without a /proc read"
    )]
    pub ident_fork: u64,
    #[stat(desc = "/proc replies applied")]
    pub proc_replies: u64,
    #[stat(desc = "/proc requests dropped because the worker was behind")]
    pub proc_lost: u64,
    #[stat(desc = "/proc replies from another image than the loop saw (re-asked)")]
    pub proc_stale: u64,
    #[stat(desc = "Exit records received")]
    pub exits: u64,
    #[stat(desc = "Exit records lost")]
    pub exits_lost: u64,
    #[stat(desc = "Tasks that exited identified at exec")]
    pub exited_exec: u64,
    #[stat(desc = "Tasks that exited identified by /proc")]
    pub exited_proc: u64,
    #[stat(desc = "Tasks that exited identified from their parent at fork")]
    pub exited_fork: u64,
    #[stat(desc = "Tasks that exited never identified")]
    pub exited_never: u64,
    #[stat(desc = "First decisions of exec'd images")]
    pub exec_first: u64,
    #[stat(desc = "First decisions of exec'd images made with a function-level prediction")]
    pub exec_first_fn: u64,
    #[stat(
        desc = "Exec'ing tasks whose slice was cut at exec to --exec-grace-us, to be decided as the new image"
    )]
    pub exec_preempted: u64,
    #[stat(
        desc = "Of those, the ones that kept their CPU to finish, their function predicted short (--exec-finish-us)"
    )]
    pub exec_kept: u64,
    #[stat(
        desc = "Of those, the ones that kept nothing, their function predicted long (--exec-end-long)"
    )]
    pub exec_ended: u64,
    #[stat(
        desc = "Slices of exec'd images (the grace, or kept to finish) ended on time by the tracer's timer (--slice-timer-us)"
    )]
    pub exec_timer_ends: u64,
    #[stat(desc = "Exec records lost because the tracer's ring buffer was full")]
    pub exec_lost: u64,
    #[stat(desc = "Exec records whose arguments were cut at the tracer's bound")]
    pub exec_truncated: u64,
    #[stat(desc = "Exec records whose arguments could not be read")]
    pub exec_unread: u64,
    #[stat(desc = "Decisions made with a function model")]
    pub pred_fn: u64,
    #[stat(desc = "Decisions made with an executable model")]
    pub pred_exe: u64,
    #[stat(desc = "Decisions made with the general model")]
    pub pred_general: u64,
    #[stat(desc = "Decisions made without a prediction")]
    pub pred_none: u64,
    #[stat(desc = "Decisions for interactive tasks")]
    pub decided_interactive: u64,
    #[stat(desc = "Decisions for I/O-bound tasks")]
    pub decided_io: u64,
    #[stat(desc = "Decisions for short FaaS invocations")]
    pub decided_faas: u64,
    #[stat(desc = "Decisions for batch CPU tasks")]
    pub decided_batch: u64,
    #[stat(desc = "Decisions for tasks in a boosted cgroup")]
    pub boosted: u64,
}

/// Models: learning and the model file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
pub struct Models {
    #[stat(desc = "Training samples sent to the learner")]
    pub samples: u64,
    #[stat(desc = "Training samples dropped because the learner was behind")]
    pub samples_lost: u64,
    #[stat(desc = "Samples the learner has taken in")]
    pub trained: u64,
    #[stat(desc = "Generation of the models in use")]
    pub generation: u64,
    #[stat(desc = "Model refits the learner published")]
    pub refits: u64,
    #[stat(desc = "Trusted function models")]
    pub fn_models: u64,
    #[stat(desc = "Content hash of the model file in use (16 hex digits; 0: none)")]
    pub model_file: String,
    #[stat(desc = "Model file reloads applied")]
    pub reloads: u64,
    #[stat(desc = "Model file reloads rejected (the models in use stayed)")]
    pub rejected_reloads: u64,
    #[stat(desc = "--record rows dropped because the writer was behind")]
    pub record_lost: u64,
    #[stat(desc = "--trace-decisions rows dropped because the writer was behind")]
    pub decisions_lost: u64,
}

/// Workload class and the mode it put in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
pub struct Workload {
    #[stat(desc = "Workload class in force (its mode is applied)")]
    pub class: String,
    #[stat(desc = "The last window's own verdict")]
    pub seen: String,
    #[stat(desc = "Classifier in use: model or thresholds")]
    pub classifier: String,
    #[stat(
        desc = "The mode's parameters: slice, min slice, short-first, short ms, batch slice, CPU choice"
    )]
    pub mode: String,
    #[stat(desc = "Mode switches")]
    pub mode_switches: u64,
    #[stat(desc = "When the mode in force was applied (CLOCK_MONOTONIC ms, as /proc/uptime)")]
    pub mode_since_ms: u64,
    #[stat(desc = "Windows classified")]
    pub windows: u64,
    #[stat(desc = "Windows dropped because the classifier was behind")]
    pub windows_lost: u64,
    #[stat(desc = "Content hash of the modes config in use (16 hex digits)")]
    pub config_file: String,
    #[stat(desc = "Content hash of the classifier in use (16 hex digits; 0: thresholds)")]
    pub classifier_file: String,
    #[stat(desc = "Modes config reloads applied")]
    pub config_reloads: u64,
    #[stat(desc = "Modes config reloads rejected")]
    pub config_rejected: u64,
    #[stat(desc = "Seconds with each class in force")]
    pub class_seconds: BTreeMap<String, f64>,
}

/// The last classification window's signals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
pub struct WindowSignals {
    #[stat(desc = "CPU busy fraction")]
    pub busy: f64,
    #[stat(desc = "I/O wait fraction")]
    pub iowait: f64,
    #[stat(desc = "Runnable tasks per CPU")]
    pub runnable: f64,
    #[stat(desc = "Context switches per CPU per second")]
    pub switches_s: f64,
    #[stat(desc = "Sleeps per CPU per second")]
    pub sleeps_s: f64,
    #[stat(desc = "Block requests per second")]
    pub blk_s: f64,
    #[stat(desc = "Page allocations per CPU per second")]
    pub pages_s: f64,
    #[stat(desc = "Network packets per second")]
    pub net_s: f64,
    #[stat(desc = "New tasks per second")]
    pub new_s: f64,
}

/// What `scx_stats` serves on the standard socket: cumulative since the worker attached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Stats)]
#[stat(top)]
pub struct SchedStats {
    #[stat(desc = "Pid of the attached worker process (0: none attached, e.g. during a restart)")]
    pub worker_pid: u64,
    #[stat(desc = "Workers this scx_foresight started (1 + restarts)")]
    pub workers: u64,
    #[stat(desc = "Scheduling: the loop's and the BPF side's work")]
    pub scheduling: Scheduling,
    #[stat(desc = "Identification of tasks and the predictions that decided them")]
    pub prediction: Prediction,
    #[stat(desc = "Learning and the model file")]
    pub models: Models,
    #[stat(desc = "Workload class and the mode in force")]
    pub workload: Workload,
    #[stat(desc = "The last window's signals")]
    pub signals: WindowSignals,
}

/// How `--stats` and `--monitor` print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// Grouped lines, counters as deltas over the interval.
    #[default]
    Grouped,
    /// One `stats: key=value ...` line of cumulative counters, for scripts.
    Line,
}

impl SchedStats {
    /// The snapshot of worker `pid` (`page_faults` since attach added by the reporter).
    pub fn from_metrics(m: &Metrics, pid: u32) -> Self {
        Self {
            worker_pid: u64::from(pid),
            workers: 0,
            scheduling: Scheduling {
                cpus: m.nr_cpus,
                running: m.nr_running,
                queued: m.nr_queued,
                pending: m.nr_scheduled,
                tasks: m.nr_tasks,
                task_evictions: m.nr_task_evictions,
                user_dispatches: m.nr_user_dispatches,
                idle_cpu_dispatches: m.nr_idle_cpu_dispatches,
                cpu_searches: m.nr_cpu_searches,
                kernel_dispatches: m.nr_kernel_dispatches,
                migration_disabled: m.nr_migration_disabled,
                cancels: m.nr_cancel_dispatches,
                bounces: m.nr_bounce_dispatches,
                failed: m.nr_failed_dispatches,
                congested: m.nr_sched_congested,
                rounds: m.nr_rounds,
                empty_rounds: m.nr_empty_rounds,
                max_batch: m.max_batch,
                max_round_us: m.max_round_us,
                page_faults: m.nr_page_faults,
                wake_preempts: m.wake_preempt.preempts,
                wake_idle: m.wake_preempt.idle,
                rt_preempts: m.wake_preempt.rt_preempts,
                d_wake_preempts: m.wake_preempt.d_wake_preempts,
                hog_preempts: m.hog_preempt.preempts,
                hog_timers: m.hog_preempt.timers,
                hog_irq_wakes: m.hog_preempt.irq_wakes,
                hog_resume_preempts: m.hog_preempt.on_resume,
                hog_timer_rearms: m.hog_preempt.rearms,
                lock_waits: m.lock_holders.waits,
                holders_queued: m.lock_holders.queued,
                holders_run: m.lock_holders.run,
                d_wakeups: m.nr_uninterruptible_wakeups,
                d_sleeps: m.lock_holders.d_sleeps,
                kpreempted_run: m.lock_holders.kernel_preempted_run,
                slice_timers: m.slice_timers.armed,
                slice_timer_ends: m.slice_timers.ended,
            },
            prediction: Prediction {
                ident_exec: m.nr_ident_exec,
                ident_proc: m.nr_ident_proc,
                ident_fork: m.nr_ident_fork,
                proc_replies: m.nr_proc_replies,
                proc_lost: m.nr_proc_dropped,
                proc_stale: m.nr_proc_stale,
                exits: m.nr_exits,
                exits_lost: m.nr_exits_dropped,
                exited_exec: m.nr_exit_ident_exec,
                exited_proc: m.nr_exit_ident_proc,
                exited_fork: m.nr_exit_ident_fork,
                exited_never: m.nr_exit_ident_never,
                exec_first: m.nr_exec_first_decisions,
                exec_first_fn: m.nr_exec_first_fn,
                exec_preempted: m.exec_tracer.preempted,
                exec_kept: m.exec_tracer.kept,
                exec_ended: m.exec_tracer.ended,
                exec_timer_ends: m.exec_tracer.timer_ends,
                exec_lost: m.exec_tracer.dropped,
                exec_truncated: m.exec_tracer.truncated,
                exec_unread: m.exec_tracer.unread,
                pred_fn: m.nr_pred_function,
                pred_exe: m.nr_pred_executable,
                pred_general: m.nr_pred_general,
                pred_none: m.nr_pred_none,
                decided_interactive: m.decisions_by_class[0],
                decided_io: m.decisions_by_class[1],
                decided_faas: m.decisions_by_class[2],
                decided_batch: m.decisions_by_class[3],
                boosted: m.nr_boosted_decisions,
            },
            models: Models {
                samples: m.nr_samples,
                samples_lost: m.nr_samples_dropped,
                trained: m.nr_trained,
                generation: m.model_generation,
                refits: m.nr_model_refits,
                fn_models: m.nr_function_models,
                model_file: format!("{:016x}", m.model_file_hash),
                reloads: m.nr_reloads,
                rejected_reloads: m.nr_rejected_reloads,
                record_lost: m.nr_record_dropped,
                decisions_lost: m.nr_decisions_unlogged,
            },
            workload: Workload {
                class: m.class.name().into(),
                seen: m.last_seen.name().into(),
                classifier: m.classifier.into(),
                mode: mode_text(&m.mode),
                mode_switches: m.nr_mode_switches,
                mode_since_ms: m.mode_since_ms,
                windows: m.nr_windows,
                windows_lost: m.nr_windows_dropped,
                config_file: format!("{:016x}", m.config_hash),
                classifier_file: format!("{:016x}", m.classifier_hash),
                config_reloads: m.nr_config_reloads,
                config_rejected: m.nr_config_rejected,
                class_seconds: SystemClass::ALL
                    .iter()
                    .map(|c| (c.name().to_string(), m.class_seconds[c.index()]))
                    .collect(),
            },
            signals: WindowSignals {
                busy: m.signals.busy,
                iowait: m.signals.iowait,
                runnable: m.signals.runnable_per_cpu,
                switches_s: m.signals.switches_per_cpu_s,
                sleeps_s: m.signals.sleeps_per_cpu_s,
                blk_s: m.signals.block_rqs_per_s,
                pages_s: m.signals.page_allocs_per_cpu_s,
                net_s: m.signals.net_packets_per_s,
                new_s: m.signals.new_tasks_per_s,
            },
        }
    }

    /// Every struct's description, for the server and `--help-stats`.
    pub fn metas() -> [StatsMeta; 6] {
        [
            Self::meta(),
            Scheduling::meta(),
            Prediction::meta(),
            Models::meta(),
            Workload::meta(),
            WindowSignals::meta(),
        ]
    }

    /// `stats: key=value ...`, cumulative, one line: stable for scripts (the VM tests parse
    /// it by key).
    pub fn line(&self) -> String {
        let (s, p, m, w, g) = (
            &self.scheduling,
            &self.prediction,
            &self.models,
            &self.workload,
            &self.signals,
        );
        let class_s = SystemClass::ALL
            .iter()
            .map(|c| {
                let secs = w.class_seconds.get(c.name()).copied().unwrap_or(0.0);
                format!("{}:{secs:.0}", c.name())
            })
            .collect::<Vec<_>>()
            .join(",");
        let mut out = String::with_capacity(1600);
        let _ = write!(
            out,
            "stats: running={}/{} queued={} pending={} user_dispatches={} idle_cpu={} cpu_searches={} \
             kernel_dispatches={} migration_disabled={} congested={} cancels={} bounces={} failed={} rounds={} empty_rounds={} max_batch={} \
             max_round_us={} wake_preempts={} wake_idle={} rt_preempts={} hog_preempts={} hog_timers={} hog_irq_wakes={} hog_resume_preempts={} hog_timer_rearms={} lock_waits={} holders_queued={} holders_run={} \
             d_wakeups={} d_wake_preempts={} d_sleeps={} kpreempted_run={} slice_timers={} slice_timer_ends={} tasks={} task_evictions={} page_faults={} worker={} workers={}",
            s.running, s.cpus, s.queued, s.pending, s.user_dispatches, s.idle_cpu_dispatches,
            s.cpu_searches, s.kernel_dispatches, s.migration_disabled, s.congested, s.cancels, s.bounces, s.failed,
            s.rounds, s.empty_rounds, s.max_batch, s.max_round_us, s.wake_preempts, s.wake_idle, s.rt_preempts,
            s.hog_preempts, s.hog_timers, s.hog_irq_wakes, s.hog_resume_preempts, s.hog_timer_rearms, s.lock_waits, s.holders_queued, s.holders_run, s.d_wakeups, s.d_wake_preempts, s.d_sleeps, s.kpreempted_run, s.slice_timers, s.slice_timer_ends, s.tasks, s.task_evictions, s.page_faults, self.worker_pid,
            self.workers,
        );
        let _ = write!(
            out,
            " exits={} exits_lost={} proc={} proc_lost={} proc_stale={} ident_exec={} ident_proc={} \
             ident_fork={} exited_exec={} exited_proc={} exited_fork={} exited_never={} exec_first_fn={}/{} exec_preempted={} \
             exec_kept={} exec_ended={} exec_timer_ends={} exec_lost={} exec_truncated={} exec_unread={} pred_fn={} pred_exe={} pred_general={} pred_none={} \
             decided=interactive:{},io:{},faas:{},batch:{} boosted={}",
            p.exits, p.exits_lost, p.proc_replies, p.proc_lost, p.proc_stale, p.ident_exec,
            p.ident_proc, p.ident_fork, p.exited_exec, p.exited_proc, p.exited_fork, p.exited_never, p.exec_first_fn,
            p.exec_first, p.exec_preempted, p.exec_kept, p.exec_ended, p.exec_timer_ends, p.exec_lost, p.exec_truncated, p.exec_unread, p.pred_fn, p.pred_exe, p.pred_general, p.pred_none,
            p.decided_interactive, p.decided_io, p.decided_faas, p.decided_batch, p.boosted,
        );
        let _ = write!(
            out,
            " samples={} samples_lost={} trained={} model_gen={} refits={} fn_models={} model_file={} \
             reloads={} rejected_reloads={} record_lost={} decisions_lost={}",
            m.samples,
            m.samples_lost,
            m.trained,
            m.generation,
            m.refits,
            m.fn_models,
            m.model_file,
            m.reloads,
            m.rejected_reloads,
            m.record_lost,
            m.decisions_lost,
        );
        let _ =
            write!(
            out,
            " class={} seen={} classifier={} mode={} mode_switches={} mode_since_ms={} windows={} windows_lost={} \
             config_file={} classifier_file={} config_reloads={} config_rejected={} class_s={class_s}",
            w.class, w.seen, w.classifier, w.mode, w.mode_switches, w.mode_since_ms, w.windows, w.windows_lost,
            w.config_file, w.classifier_file, w.config_reloads, w.config_rejected,
        );
        let _ =
            write!(
            out,
            " busy={:.2} iowait={:.2} runnable={:.2} switches_s={:.0} sleeps_s={:.0} blk_s={:.0} \
             pages_s={:.0} net_s={:.0} new_s={:.1}",
            g.busy, g.iowait, g.runnable, g.switches_s, g.sleeps_s, g.blk_s, g.pages_s, g.net_s,
            g.new_s,
        );
        out
    }

    /// The grouped, multi-line layout: counters as deltas since `prev` when it is a snapshot
    /// of the same worker, else since attach.
    pub fn grouped(&self, prev: Option<&SchedStats>) -> String {
        let prev = prev.filter(|p| p.worker_pid == self.worker_pid && p.worker_pid != 0);
        let zero = SchedStats::default();
        let base = prev.unwrap_or(&zero);
        // `+N` over the interval (a counter going back means a new worker: shown whole).
        let d = |now: u64, before: u64| format!("+{}", now.checked_sub(before).unwrap_or(now));
        let (s, b) = (&self.scheduling, &base.scheduling);
        let (p, q) = (&self.prediction, &base.prediction);
        let (m, n) = (&self.models, &base.models);
        let (w, v) = (&self.workload, &base.workload);
        let g = &self.signals;
        let since = if prev.is_some() {
            "over the interval"
        } else {
            "since attach"
        };
        let mut out = String::with_capacity(1600);
        let _ = writeln!(
            out,
            "scx_foresight worker {} (workers started: {}), counters {since}",
            self.worker_pid, self.workers
        );
        let _ = writeln!(
            out,
            "  scheduling  tasks {} (evicted {}) running {}/{} queued {} pending {} | dispatches {} (idle CPU {}, kernel {}) \
             migration-disabled {} cpu searches {} rounds {} (empty {}) | max batch {} max round {} us | congested {} cancels {} bounces {} failed {} | wakeups preempting {} finding an idle CPU {} | long runners a real-time wakeup ended {} | hogs a wakeup preempted {} (timers for tasks about to be hogs {}, wakeups from interrupts {}, on resume {}, timers armed again {}) | lock waits {} (owner queued {}, run first {}) | woken from D {} (slices ended for them {}) | slept in D {} (preempted in the kernel run first {}) | slices timed {} (ended by the timer {}) | page faults {}",
            s.tasks, d(s.task_evictions, b.task_evictions), s.running, s.cpus, s.queued, s.pending,
            d(s.user_dispatches, b.user_dispatches), d(s.idle_cpu_dispatches, b.idle_cpu_dispatches),
            d(s.kernel_dispatches, b.kernel_dispatches),
            d(s.migration_disabled, b.migration_disabled), d(s.cpu_searches, b.cpu_searches),
            d(s.rounds, b.rounds), d(s.empty_rounds, b.empty_rounds), s.max_batch, s.max_round_us, d(s.congested, b.congested),
            d(s.cancels, b.cancels), d(s.bounces, b.bounces), d(s.failed, b.failed),
            d(s.wake_preempts, b.wake_preempts), d(s.wake_idle, b.wake_idle),
            d(s.rt_preempts, b.rt_preempts), d(s.hog_preempts, b.hog_preempts),
            d(s.hog_timers, b.hog_timers),
            d(s.hog_irq_wakes, b.hog_irq_wakes),
            d(s.hog_resume_preempts, b.hog_resume_preempts),
            d(s.hog_timer_rearms, b.hog_timer_rearms),
            d(s.lock_waits, b.lock_waits),
            d(s.holders_queued, b.holders_queued), d(s.holders_run, b.holders_run),
            d(s.d_wakeups, b.d_wakeups), d(s.d_wake_preempts, b.d_wake_preempts),
            d(s.d_sleeps, b.d_sleeps),
            d(s.kpreempted_run, b.kpreempted_run), d(s.slice_timers, b.slice_timers),
            d(s.slice_timer_ends, b.slice_timer_ends), s.page_faults,
        );
        let _ = writeln!(
            out,
            "  prediction  identified at exec {} by /proc {} (lost {} stale {}) from the parent {} | exited exec {} /proc {} fork {} never {} | \
             first decision with fn model {}/{} (slice ended at exec {}, kept to finish {}, kept nothing {}, ended on time by the timer {}) | \
             exec records lost {} truncated {} unread {} | predicted by fn {} exe {} general {} none {} | \
             decided interactive {} io {} faas {} batch {} boosted {}",
            d(p.ident_exec, q.ident_exec), d(p.ident_proc, q.ident_proc),
            d(p.proc_lost, q.proc_lost), d(p.proc_stale, q.proc_stale),
            d(p.ident_fork, q.ident_fork),
            d(p.exited_exec, q.exited_exec), d(p.exited_proc, q.exited_proc),
            d(p.exited_fork, q.exited_fork),
            d(p.exited_never, q.exited_never), d(p.exec_first_fn, q.exec_first_fn),
            d(p.exec_first, q.exec_first), d(p.exec_preempted, q.exec_preempted),
            d(p.exec_kept, q.exec_kept), d(p.exec_ended, q.exec_ended),
            d(p.exec_timer_ends, q.exec_timer_ends),
            d(p.exec_lost, q.exec_lost), d(p.exec_truncated, q.exec_truncated),
            d(p.exec_unread, q.exec_unread),
            d(p.pred_fn, q.pred_fn), d(p.pred_exe, q.pred_exe),
            d(p.pred_general, q.pred_general), d(p.pred_none, q.pred_none),
            d(p.decided_interactive, q.decided_interactive), d(p.decided_io, q.decided_io),
            d(p.decided_faas, q.decided_faas), d(p.decided_batch, q.decided_batch),
            d(p.boosted, q.boosted),
        );
        let _ = writeln!(
            out,
            "  models      samples {} (lost {}) trained {} | generation {} (refits {}) with {} function models | \
             file {} reloads {} rejected {} | record lost {} decisions lost {}",
            d(m.samples, n.samples), d(m.samples_lost, n.samples_lost), d(m.trained, n.trained),
            m.generation, d(m.refits, n.refits), m.fn_models, m.model_file, d(m.reloads, n.reloads),
            d(m.rejected_reloads, n.rejected_reloads), d(m.record_lost, n.record_lost),
            d(m.decisions_lost, n.decisions_lost),
        );
        let _ = writeln!(
            out,
            "  workload    class {} (last window: {}, {} classifier) | mode {} | switches {} windows {} (lost {}) | \
             config {} (reloads {} rejected {}) classifier {}",
            w.class, w.seen, w.classifier, w.mode, d(w.mode_switches, v.mode_switches),
            d(w.windows, v.windows), d(w.windows_lost, v.windows_lost), w.config_file,
            d(w.config_reloads, v.config_reloads), d(w.config_rejected, v.config_rejected),
            w.classifier_file,
        );
        let _ = writeln!(
            out,
            "  signals     busy {:.2} iowait {:.2} runnable/CPU {:.2} | per CPU per s: switches {:.0} sleeps {:.0} pages {:.0} | \
             per s: block requests {:.0} packets {:.0} new tasks {:.1}",
            g.busy, g.iowait, g.runnable, g.switches_s, g.sleeps_s, g.pages_s, g.blk_s, g.net_s,
            g.new_s,
        );
        out
    }
}

/// `slice:200%,min:100%,short_first:16,short_ms:100,batch:100%,cpu:locality`.
fn mode_text(mode: &ModeParams) -> String {
    format!(
        "slice:{}%,min:{}%,short_first:{},short_ms:{},batch:{}%,cpu:{}",
        mode.slice_pct,
        mode.slice_min_pct,
        mode.short_first,
        mode.short_task_ms,
        mode.batch_slice_pct,
        match mode.cpu_choice {
            CpuChoice::Locality => "locality",
            CpuChoice::Spread => "spread",
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::procinfo::ExecCounts;
    use crate::live::stats::{
        HogPreemptCounts, LockHolderCounts, SliceTimerCounts, WakePreemptCounts,
    };

    #[test]
    fn line_has_every_required_counter() {
        let m = Metrics {
            nr_page_faults: 3,
            nr_user_dispatches: 7,
            nr_migration_disabled: 19,
            model_file_hash: 0xabc,
            lock_holders: LockHolderCounts {
                waits: 9,
                queued: 5,
                run: 4,
                d_sleeps: 8,
                kernel_preempted_run: 2,
            },
            slice_timers: SliceTimerCounts {
                armed: 11,
                ended: 10,
            },
            exec_tracer: ExecCounts {
                ended: 12,
                timer_ends: 13,
                ..Default::default()
            },
            nr_uninterruptible_wakeups: 6,
            wake_preempt: WakePreemptCounts {
                d_wake_preempts: 7,
                ..Default::default()
            },
            hog_preempt: HogPreemptCounts {
                preempts: 14,
                timers: 15,
                irq_wakes: 16,
                on_resume: 17,
                rearms: 18,
            },
            ..Default::default()
        };
        let line = SchedStats::from_metrics(&m, 42).line();
        for key in [
            "stats: running=0/0 ",
            " queued=",
            " user_dispatches=7 ",
            " kernel_dispatches=",
            " migration_disabled=19 ",
            " congested=",
            " cancels=",
            " bounces=",
            " page_faults=3 ",
            " lock_waits=9 holders_queued=5 holders_run=4 d_wakeups=6 d_wake_preempts=7 d_sleeps=8 kpreempted_run=2 slice_timers=11 slice_timer_ends=10 ",
            " worker=42 ",
            " hog_preempts=14 hog_timers=15 hog_irq_wakes=16 hog_resume_preempts=17 hog_timer_rearms=18 ",
            " exec_ended=12 exec_timer_ends=13 ",
            " model_file=0000000000000abc ",
            " class=mixed ",
            " mode_switches=",
            " class_s=idle:0,cpu-bound:0,interactive:0,io-heavy:0,network-heavy:0,faas-burst:0,mixed:0 ",
            " mode=slice:",
            " new_s=0.0",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
        assert!(!line.contains('\n'));
    }

    #[test]
    fn grouped_shows_deltas_only_against_the_same_worker() {
        let at = |dispatches, pid| {
            SchedStats::from_metrics(
                &Metrics {
                    nr_user_dispatches: dispatches,
                    ..Default::default()
                },
                pid,
            )
        };
        let (before, now) = (at(100, 7), at(130, 7));
        let text = now.grouped(Some(&before));
        assert!(text.contains("dispatches +30 "), "{text}");
        assert!(text.contains("over the interval"), "{text}");
        // A new worker (restart): its counters are shown whole, since its attach.
        let text = at(5, 8).grouped(Some(&before));
        assert!(text.contains("dispatches +5 "), "{text}");
        assert!(text.contains("since attach"), "{text}");
        for group in ["scheduling", "prediction", "models", "workload", "signals"] {
            assert!(
                text.contains(&format!("  {group} ")),
                "{group} missing in {text}"
            );
        }
    }

    /// The worker sends one JSON snapshot per line through a pipe: a line within PIPE_BUF
    /// (4096 bytes) is written atomically, so the supervisor never reads half of one.
    #[test]
    fn a_full_snapshot_fits_one_atomic_pipe_write() {
        let m = Metrics {
            nr_user_dispatches: u64::MAX,
            nr_rounds: u64::MAX,
            nr_empty_rounds: u64::MAX,
            nr_migration_disabled: u64::MAX,
            nr_exits: u64::MAX,
            nr_samples: u64::MAX,
            model_file_hash: u64::MAX,
            classifier: "thresholds",
            ..Default::default()
        };
        let mut s = SchedStats::from_metrics(&m, u32::MAX);
        s.workers = u64::MAX;
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.len() < 4096 - 1, "{} bytes", json.len());
        let back: SchedStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn every_field_is_described() {
        for meta in SchedStats::metas() {
            for (name, field) in &meta.fields {
                assert!(field.attrs.desc.is_some(), "{}.{name}", meta.name);
            }
        }
    }
}
