// SPDX-License-Identifier: GPL-2.0-only
//! The live scheduling loop: each round applies what the helper threads sent (parsed /proc
//! features, exit records), drains every queued task, decides the batch with the shared
//! policy, dispatches it in deadline order, and tells the kernel how many are still pending.
//!
//! The loop never blocks: /proc is read by the procinfo thread, models are fitted by the
//! learner thread and read through an atomic swap, statistics leave through a non-blocking
//! channel, and every buffer is preallocated.

use scx_utils::libbpf_clap_opts::LibbpfOpts;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering;
use std::sync::mpsc::TrySendError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use libbpf_rs::OpenObject;
use log::{debug, warn};
use scx_utils::UserExitInfo;

use crate::bpf::{BpfScheduler, DispatchedTask, QueuedTask, RL_CPU_ANY};
use crate::sched::exits::{ExitRecord, ExitTracker, MAX_PENDING_EXITS};
use crate::sched::signals::SignalCounters;
use crate::sched::wakeups::WakePreempt;
use scx_foresight::core::cpus::{CpuInfo, CpuLayout};
use scx_foresight::core::model::{Sample, Source};
use scx_foresight::core::policy::CpuChoice;
use scx_foresight::core::policy::{
    Decision, Policy, SliceConfig, UninterruptibleWake, BOOST_PCT_NONE,
};
use scx_foresight::core::tasks::{clean_comm, IdentitySource, TaskTable, MAX_TASKS};
use scx_foresight::live::adapt::{Adapt, WindowMsg};
use scx_foresight::live::handoff::SyncSender;
use scx_foresight::live::learner::{Msg, Shared};
use scx_foresight::live::procinfo::ProcWorker;
use scx_foresight::live::recorder::DecisionRow;
use scx_foresight::live::stats::{
    HogPreemptCounts, LockHolderCounts, Metrics, SliceTimerCounts, WakePreemptCounts,
};
use scx_foresight::monotonic_ns;

/// Tasks decided in one round at most; the rest wait for the next round (keeps rounds short).
pub const MAX_BATCH: usize = 4096;
/// Stats snapshot period without --stats (they feed `--monitor`).
const STATS_EVERY: Duration = Duration::from_secs(1);
/// CPUs this loop occupies while it dispatches (none of them idle).
const LOOP_CPUS: u64 = 1;
/// Stack below the loop's entry touched before attaching: a page first touched later is a
/// fault that waits for the process's mmap lock, which another thread (or khugepaged) may hold
/// (the stall-guard case caught the loop blocked in such a fault, in `run_worker`'s frame).
const LOOP_STACK_PREFAULT_BYTES: usize = 512 * 1024;
const PAGE_BYTES: usize = 4096;
/// The kernel's enqueue flag for a task that woke up (it slept before this run).
const SCX_ENQ_WAKEUP: u64 = 1;
/// Our dispatcher's mark on a wakeup from an uninterruptible sleep (build.rs's
/// flag_uninterruptible_wakeups), in a bit the kernel's enqueue flags leave free; cleared before
/// the task goes back to the kernel.
const ENQ_WOKE_UNINTERRUPTIBLE: u64 = 1 << 62;
/// Our mark on a dispatched task whose slice is to end on time (bpf/slicetimer.bpf.h's
/// ENQ_END_ON_TIME), in a bit the kernel's enqueue flags leave free; the dispatcher clears it.
const ENQ_END_ON_TIME: u64 = 1 << 61;

/// How the loop was configured from the command line.
pub struct LoopConfig {
    pub slices: SliceConfig,
    /// Least run (ns) of a task that a wakeup preempts; 0: no wakeup preemption.
    pub wake_preempt_min_run_ns: u64,
    /// Least CPU (ns) a task must have used for a real-time wakee to end its slice; 0: never.
    pub rt_preempt_min_cpu_ns: u64,
    /// Least CPU (ns) a task must have used for any normal wakee to preempt it; 0: never.
    pub hog_preempt_min_cpu_ns: u64,
    /// Least sleep (ns) of a wakee woken from a hardware interrupt for that preemption.
    pub hog_preempt_irq_sleep_ns: u64,
    /// Preempt a hog when it resumes if such a wakee woke while a higher class held the CPU.
    pub hog_preempt_on_resume: bool,
    /// Arm the rule's timer again when a higher class preempted its young hog.
    pub hog_timer_rearm: bool,
    /// Leave tasks inside a migrate-disabled section to the kernel's rule (its CPU's local
    /// queue, 20 ms), not to the loop.
    pub kernel_migration_disabled: bool,
    /// Run tasks woken from an uninterruptible sleep first.
    pub uninterruptible_first: bool,
    /// Such a task's deadline lead and slice.
    pub uninterruptible: UninterruptibleWake,
    /// Such a task ends the slice of the task running on its CPU.
    pub uninterruptible_preempt: bool,
    /// On a sleep in state D, run first the task preempted inside the kernel longest ago.
    pub kernel_preempted_first: bool,
    /// Slices shorter than this (ns) end on time, by a timer, not at the next tick; 0: off.
    pub slice_timer_max_ns: u64,
    /// Every such slice, not only those the policy marks (`Decision::timed`).
    pub time_every_slice: bool,
    pub exit_dump_len: u32,
    pub partial: bool,
    pub verbose: bool,
    pub stats_interval: Option<Duration>,
    /// libbpf's object options from the command line (scx's common flags).
    pub libbpf: LibbpfOpts,
}

/// Threads and channels started before attaching (no new threads after).
pub struct Helpers {
    pub procs: ProcWorker,
    pub learner: Arc<Shared>,
    pub samples: SyncSender<Msg>,
    /// `--record`: completed tasks also go to the recorder.
    pub record: Option<SyncSender<Sample>>,
    /// `--trace-decisions`: each decision also goes to its writer.
    pub decisions: Option<SyncSender<DecisionRow>>,
    pub stats: Option<SyncSender<Metrics>>,
    /// The adapt thread: window signals go there, the mode in force comes back.
    pub adapt: Arc<Adapt>,
    pub windows: SyncSender<WindowMsg>,
}

/// A queued task and, once decided, its verdict.
struct Pending {
    task: QueuedTask,
    decision: Option<Decision>,
}

pub struct Scheduler<'a> {
    bpf: BpfScheduler<'a>,
    exits: ExitTracker<'a>,
    signals: SignalCounters<'a>,
    /// Wakeup preemption, when on and the kernel lets us.
    wake_preempt: Option<WakePreempt<'a>>,
    /// Slice bounds from the command line; each mode scales them.
    base_slices: SliceConfig,
    /// Tasks woken from an uninterruptible sleep are due first (the flag's default).
    uninterruptible_first: bool,
    /// The mode in force's policy, with the command line's settings no mode changes.
    policy: Policy,
    /// Generation of the mode the policy was built from.
    mode_generation: u64,
    /// When the mode in force was applied (CLOCK_MONOTONIC ns): the bench's simulator
    /// switches mode at the same instant of a replay.
    mode_since_ns: u64,
    window_start: Instant,
    /// Position in the spread order of the last spreading CPU search.
    spread_cursor: usize,
    tasks: TaskTable,
    batch: Vec<Pending>,
    exit_buf: Vec<ExitRecord>,
    /// The CPUs online at attach and their topology (caches, cores) for spreading.
    cpus: CpuLayout,
    helpers: Helpers,
    /// How often a stats snapshot goes to the reporter (--stats, else STATS_EVERY for --monitor).
    stats_interval: Duration,
    next_stats: Instant,
    m: Metrics,
}

impl<'a> Scheduler<'a> {
    /// Load our tracers, attach to the kernel, preallocate what the loop needs.
    pub fn init(cfg: &LoopConfig, helpers: Helpers, objects: &'a mut BpfObjects) -> Result<Self> {
        prefault_stack();
        disable_huge_page_collapse();
        let cpus = cpu_layout();
        let exits = ExitTracker::load(&mut objects.exits)?;
        let signals = SignalCounters::load(&mut objects.signals, cpus.online().len())?;
        let wake_preempt = load_wake_preempt(
            &mut objects.wakeups,
            cfg.wake_preempt_min_run_ns,
            cfg.rt_preempt_min_cpu_ns,
            cfg.uninterruptible_first && cfg.uninterruptible_preempt,
        );
        let open_object = &mut objects.sched;
        let compaction = read_compact_unevictable();
        let mut bpf = BpfScheduler::init(
            open_object,
            cfg.libbpf.clone().into_bpf_open_opts(),
            cfg.exit_dump_len,
            cfg.partial,
            cfg.verbose,
            false, // builtin_idle off: every task is queued to us
            false, // no NUMA-local idle selection
            cfg.slices.slice_ns,
            scx_foresight::SCHEDULER_NAME,
        )
        .inspect_err(|_| restore_compact_unevictable(compaction))?;
        set_kernel_preempted_first(&mut bpf, cfg.kernel_preempted_first);
        set_slice_timer_max(&mut bpf, cfg.slice_timer_max_ns);
        set_hog_preempt(&mut bpf, cfg);
        set_kernel_migration_disabled(&mut bpf, cfg.kernel_migration_disabled);
        let mode = helpers.adapt.state.load();
        Ok(Self {
            bpf,
            exits,
            signals,
            wake_preempt,
            base_slices: cfg.slices,
            uninterruptible_first: cfg.uninterruptible_first,
            policy: Policy::with_mode(cfg.slices, &mode.params)
                .with_uninterruptible(cfg.uninterruptible)
                .with_every_slice_timed(cfg.time_every_slice),
            mode_generation: mode.generation,
            mode_since_ns: monotonic_ns(),
            window_start: Instant::now(),
            spread_cursor: 0,
            tasks: TaskTable::with_capacity(MAX_TASKS),
            batch: Vec::with_capacity(MAX_BATCH),
            exit_buf: Vec::with_capacity(MAX_PENDING_EXITS),
            cpus,
            helpers,
            stats_interval: cfg.stats_interval.unwrap_or(STATS_EVERY),
            next_stats: Instant::now(),
            m: Metrics::default(),
        })
    }

    /// Run rounds until the kernel or a signal ends the scheduler; report why.
    pub fn run(&mut self) -> Result<UserExitInfo> {
        while !self.bpf.exited() {
            self.schedule();
            self.maybe_publish_stats();
        }
        self.bpf.shutdown_and_report()
    }

    /// One round: learn what arrived, drain, decide, dispatch (timed), then notify.
    fn schedule(&mut self) {
        self.m.nr_rounds += 1;
        let now = monotonic_ns();
        self.run_round(now);
        // The stall guard: how long one round's work took (a blocking call would show here);
        // the notification below may yield the CPU on purpose, so it is not counted.
        let took_us = monotonic_ns().saturating_sub(now) / 1000;
        self.m.max_round_us = self.m.max_round_us.max(took_us);
        self.bpf.notify_complete(self.batch.len() as u64);
    }

    /// Learn what arrived, drain, decide, dispatch.
    fn run_round(&mut self, now: u64) {
        self.maybe_close_window();
        self.apply_mode(now);
        self.apply_proc_replies();
        self.retire_exited();
        self.drain_queued();
        self.decide_batch(now);
        self.dispatch_batch();
    }

    /// At a window's end, hand its event counts to the adapt thread (never waiting for it).
    fn maybe_close_window(&mut self) {
        let window = Duration::from_millis(self.helpers.adapt.state.load().window_ms);
        let elapsed = self.window_start.elapsed();
        if elapsed < window {
            return;
        }
        self.window_start = Instant::now();
        let msg = WindowMsg {
            events: self.signals.harvest(),
            window_s: elapsed.as_secs_f64(),
        };
        if self.helpers.windows.try_send(msg).is_err() {
            self.m.nr_windows_dropped += 1;
        }
    }

    /// Rebuild the policy when the adapt thread published another mode.
    fn apply_mode(&mut self, now: u64) {
        let mode = self.helpers.adapt.state.load();
        if mode.generation != self.mode_generation {
            self.policy = self.policy.in_mode(self.base_slices, &mode.params);
            self.mode_generation = mode.generation;
            self.mode_since_ns = now;
        }
    }

    /// Attach parsed /proc features to their tasks (if still the same task).
    fn apply_proc_replies(&mut self) {
        while let Ok(reply) = self.helpers.procs.replies.try_recv() {
            self.m.nr_proc_replies += 1;
            let Some(e) = self.tasks.get_same(reply.pid, reply.start_ns) else {
                continue;
            };
            match reply.source {
                // The new image as it started: whatever name the loop saw last is the old one.
                IdentitySource::Exec => {
                    self.m.nr_ident_exec += 1;
                    e.comm = reply.comm;
                    e.proc_requested = true;
                    e.decided_since_exec = false;
                }
                // Read before an exec the loop has seen since (or after one it has not seen
                // yet): not this image's command line; ask again at the next enqueue.
                IdentitySource::Proc | IdentitySource::Fork
                    if reply.features.is_some() && reply.comm != e.comm =>
                {
                    self.m.nr_proc_stale += 1;
                    e.proc_requested = false;
                    continue;
                }
                IdentitySource::Proc | IdentitySource::Fork => {
                    // An exec identity stays: /proc, asked before it arrived, says no more.
                    if e.identified_by == Some(IdentitySource::Exec) {
                        continue;
                    }
                    let known = u64::from(reply.features.is_some());
                    match reply.source {
                        IdentitySource::Fork => self.m.nr_ident_fork += known,
                        _ => self.m.nr_ident_proc += known,
                    }
                }
            }
            e.identified_by = reply.features.map(|_| reply.source);
            e.proc = reply.features;
            e.predicted_ns = None;
        }
    }

    /// Evict exited tasks; a parsed one becomes a training sample with its exact CPU time.
    fn retire_exited(&mut self) {
        self.exits.drain(&mut self.exit_buf);
        for rec in self.exit_buf.drain(..) {
            self.m.nr_exits += 1;
            let Some(e) = self.tasks.remove_same(rec.pid, rec.start_ns) else {
                continue;
            };
            match e.identified_by {
                Some(IdentitySource::Exec) => self.m.nr_exit_ident_exec += 1,
                Some(IdentitySource::Proc) => self.m.nr_exit_ident_proc += 1,
                Some(IdentitySource::Fork) => self.m.nr_exit_ident_fork += 1,
                None => self.m.nr_exit_ident_never += 1,
            }
            // A task that exec'd after its command line was read would teach the wrong function.
            let Some(p) = e.proc.filter(|p| !p.kernel_thread && e.comm == rec.comm) else {
                continue;
            };
            let sample = Sample {
                func: p.func,
                exe: p.exe,
                fx: p.fx,
                cx: p.cx,
                gx: e.general_features(),
                cpu_ns: rec.cpu_ns,
            };
            match self.helpers.samples.try_send(Msg::Sample(sample)) {
                Ok(()) => self.m.nr_samples += 1,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.m.nr_samples_dropped += 1
                }
            }
            if let Some(rec) = &self.helpers.record {
                if rec.try_send(sample).is_err() {
                    self.m.nr_record_dropped += 1;
                }
            }
        }
    }

    /// Move every queued task (up to MAX_BATCH) from the ring buffer into the batch.
    fn drain_queued(&mut self) {
        while self.batch.len() < MAX_BATCH {
            match self.bpf.dequeue_task() {
                Ok(Some(task)) => self.batch.push(Pending {
                    task,
                    decision: None,
                }),
                Ok(None) => break,
                Err(err) => {
                    warn!("dequeue failed: {err}");
                    break;
                }
            }
        }
        self.m.max_batch = self.m.max_batch.max(self.batch.len() as u64);
        // Woken with nothing to decide: the cost of a round without its use.
        self.m.nr_empty_rounds += u64::from(self.batch.is_empty());
    }

    /// Update each new task's entry, predict, decide; then order the batch by deadline.
    fn decide_batch(&mut self, now: u64) {
        let nr_waiting = self.batch.len();
        let models = self.helpers.learner.models.load();
        let round = self.m.nr_rounds;
        for p in self.batch.iter_mut().filter(|p| p.decision.is_none()) {
            let t = &p.task;
            let e = self.tasks.touch(t.pid, t.vtime == 0, now, round);
            e.observe(
                t.stop_ts.saturating_sub(t.start_ts),
                t.flags & SCX_ENQ_WAKEUP != 0,
                t.weight,
            );
            e.note_comm(&comm_of(t));
            // Ask once the task has run (a fork execs in its first run), once per program; a
            // full queue leaves the task on the defaults.
            if !e.proc_requested && e.enqueues >= 2 {
                e.proc_requested = self.helpers.procs.request(t.pid, e.comm);
            }
            e.refresh_prediction(&models);
            let source = e.predicted_ns.map(|(_, s)| s);
            match source {
                Some(Source::Function) => self.m.nr_pred_function += 1,
                Some(Source::Executable) => self.m.nr_pred_executable += 1,
                Some(Source::General) => self.m.nr_pred_general += 1,
                None => self.m.nr_pred_none += 1,
            }
            let mut view = e.view();
            // The new image's first decision: with its function's prediction, or not.
            if e.identified_by == Some(IdentitySource::Exec) && !e.decided_since_exec {
                e.decided_since_exec = true;
                self.m.nr_exec_first_decisions += 1;
                self.m.nr_exec_first_fn += u64::from(source == Some(Source::Function));
                // Queued again because its exec ended the slice, not after a sleep.
                if t.flags & SCX_ENQ_WAKEUP == 0 && e.last_decided_ns > 0 {
                    view.held_since = Some(e.last_decided_ns);
                }
            }
            view.woke_uninterruptible =
                self.uninterruptible_first && t.flags & ENQ_WOKE_UNINTERRUPTIBLE != 0;
            self.m.nr_uninterruptible_wakeups += u64::from(view.woke_uninterruptible);
            let d = self.policy.decide(&view, now, nr_waiting);
            e.last_decided_ns = now;
            if let Some(log) = &self.helpers.decisions {
                let row = DecisionRow {
                    now_ns: now,
                    round,
                    pid: t.pid,
                    comm: e.comm,
                    wakeup: t.flags & SCX_ENQ_WAKEUP != 0,
                    nr_waiting,
                    view,
                    decision: d,
                };
                self.m.nr_decisions_unlogged += u64::from(log.try_send(row).is_err());
            }
            self.m.decisions_by_class[d.class.index()] += 1;
            self.m.nr_boosted_decisions += u64::from(view.boost_pct > BOOST_PCT_NONE);
            p.decision = Some(d);
        }
        self.batch
            .sort_unstable_by_key(|p| p.decision.map_or(0, |d| d.deadline));
    }

    /// Dispatch in deadline order; whatever the ring buffer cannot take stays for next round.
    fn dispatch_batch(&mut self) {
        let mut sent = 0;
        let spread = self.policy.cpu_choice() == CpuChoice::Spread;
        let mut idle_cpus =
            idle_cpu_searches(*self.bpf.nr_online_cpus_mut(), *self.bpf.nr_running_mut());
        for p in &self.batch {
            let Some(decision) = p.decision else { break };
            let mut d = DispatchedTask::new(&p.task);
            // Our mark is no flag of the kernel's: it does not go back.
            d.flags &= !ENQ_WOKE_UNINTERRUPTIBLE;
            d.slice_ns = decision.slice_ns;
            d.vtime = decision.deadline;
            // Its timer, if the slice is short, ends it on time rather than at the tick.
            if decision.timed {
                d.flags |= ENQ_END_ON_TIME;
            }
            // A task pinned to one CPU keeps its own: a hint elsewhere would only bounce.
            let hint = if spread && p.task.nr_cpus_allowed > 1 {
                self.cpus.next_spread(&mut self.spread_cursor) as i32
            } else {
                p.task.cpu
            };
            d.cpu = if idle_cpus > 0 {
                self.m.nr_cpu_searches += 1;
                pick_cpu(&mut self.bpf, self.cpus.online(), &p.task, hint)
            } else {
                shared_queue_cpu(self.cpus.online(), &p.task)
            };
            idle_cpus -= u64::from(d.cpu != RL_CPU_ANY && idle_cpus > 0);
            if self.bpf.dispatch_task(&d).is_err() {
                break;
            }
            sent += 1;
            self.m.nr_idle_cpu_dispatches += u64::from(d.cpu != RL_CPU_ANY);
        }
        self.batch.drain(..sent);
        self.m.nr_user_dispatches += sent as u64;
    }

    /// Hand a counter snapshot to the reporter thread when an interval has passed.
    fn maybe_publish_stats(&mut self) {
        let interval = self.stats_interval;
        let now = Instant::now();
        if now < self.next_stats {
            return;
        }
        self.next_stats = now + interval;
        let snapshot = self.metrics();
        if let Some(tx) = &self.helpers.stats {
            // Full channel: the reporter is behind; skip this one rather than wait.
            let _ = tx.try_send(snapshot);
        }
    }

    /// The dispatcher's lock-holder counters (bpf/holders.bpf.h), read from its data section.
    fn lock_holder_counts(&self) -> LockHolderCounts {
        self.bpf
            .skel
            .maps
            .bss_data
            .as_ref()
            .map_or(LockHolderCounts::default(), |b| LockHolderCounts {
                waits: b.nr_lock_waits,
                queued: b.nr_holders_queued,
                run: b.nr_holders_run,
                d_sleeps: b.nr_d_sleeps,
                kernel_preempted_run: b.nr_kernel_preempted_run,
            })
    }

    /// The dispatcher's slice-timer counters (bpf/slicetimer.bpf.h).
    fn slice_timer_counts(&self) -> SliceTimerCounts {
        self.bpf
            .skel
            .maps
            .bss_data
            .as_ref()
            .map_or(SliceTimerCounts::default(), |b| SliceTimerCounts {
                armed: b.nr_slice_timers,
                ended: b.nr_slice_timer_ends,
            })
    }

    /// The dispatcher's hog-rule counters (bpf/hogpreempt.bpf.h, its timer's ends counted by
    /// bpf/slicetimer.bpf.h).
    fn hog_preempt_counts(&self) -> HogPreemptCounts {
        self.bpf
            .skel
            .maps
            .bss_data
            .as_ref()
            .map_or(HogPreemptCounts::default(), |b| HogPreemptCounts {
                preempts: b.nr_hog_preempts + b.nr_hog_timer_ends + b.nr_hog_resume_preempts,
                timers: b.nr_hog_timers,
                irq_wakes: b.nr_hog_irq_wakes,
                on_resume: b.nr_hog_resume_preempts,
                rearms: b.nr_hog_timer_rearms,
            })
    }

    /// Tasks the dispatcher saw enqueued inside a migrate-disabled section (bpf/pinned.bpf.h).
    fn migration_disabled_count(&self) -> u64 {
        self.bpf
            .skel
            .maps
            .bss_data
            .as_ref()
            .map_or(0, |b| b.nr_migration_disabled)
    }

    /// `--trace-decisions` rows dropped so far because the writer was behind.
    pub fn decisions_unlogged(&self) -> u64 {
        self.m.nr_decisions_unlogged
    }

    fn metrics(&mut self) -> Metrics {
        let models = self.helpers.learner.models.load();
        let mode = self.helpers.adapt.state.load();
        Metrics {
            class: mode.class,
            last_seen: mode.last_seen,
            mode: mode.params,
            nr_mode_switches: mode.switches,
            mode_since_ms: self.mode_since_ns / 1_000_000,
            class_seconds: mode.seconds,
            nr_windows: self.helpers.adapt.windows.load(Ordering::Relaxed),
            signals: mode.last_signals,
            classifier: mode.classifier,
            config_hash: mode.config_hash,
            classifier_hash: mode.classifier_hash,
            nr_config_reloads: mode.reloads,
            nr_config_rejected: mode.rejected_reloads,
            nr_cpus: *self.bpf.nr_online_cpus_mut(),
            nr_running: *self.bpf.nr_running_mut(),
            nr_queued: *self.bpf.nr_queued_mut(),
            nr_scheduled: *self.bpf.nr_scheduled_mut(),
            nr_kernel_dispatches: *self.bpf.nr_kernel_dispatches_mut(),
            nr_migration_disabled: self.migration_disabled_count(),
            nr_cancel_dispatches: *self.bpf.nr_cancel_dispatches_mut(),
            nr_bounce_dispatches: *self.bpf.nr_bounce_dispatches_mut(),
            nr_failed_dispatches: *self.bpf.nr_failed_dispatches_mut(),
            lock_holders: self.lock_holder_counts(),
            slice_timers: self.slice_timer_counts(),
            nr_sched_congested: *self.bpf.nr_sched_congested_mut(),
            nr_tasks: self.tasks.len() as u64,
            nr_task_evictions: self.tasks.evictions(),
            nr_exits_dropped: self.exits.dropped(),
            nr_proc_dropped: self.helpers.procs.dropped,
            exec_tracer: self.helpers.procs.exec_counts.load(),
            wake_preempt: self
                .wake_preempt
                .as_ref()
                .map_or(WakePreemptCounts::default(), WakePreempt::counts),
            hog_preempt: self.hog_preempt_counts(),
            model_generation: models.generation,
            nr_model_refits: self.helpers.learner.refits.load(Ordering::Relaxed),
            nr_function_models: models
                .functions
                .iter()
                .filter(|m| m.as_ref().is_some_and(|m| m.trusted()))
                .count() as u64,
            nr_trained: self.helpers.learner.samples_seen.load(Ordering::Relaxed),
            model_file_hash: self.helpers.learner.model_file_hash.load(Ordering::Relaxed),
            nr_reloads: self.helpers.learner.reloads.load(Ordering::Relaxed),
            nr_rejected_reloads: self
                .helpers
                .learner
                .rejected_reloads
                .load(Ordering::Relaxed),
            ..self.m
        }
    }
}

/// Turn on the dispatcher's kernel-preempted-first rule (bpf/holders.bpf.h); it loads off.
fn set_kernel_preempted_first(bpf: &mut BpfScheduler, on: bool) {
    if let Some(bss) = bpf.skel.maps.bss_data.as_mut() {
        bss.kernel_preempted_first = on;
    } else if on {
        warn!(
            "the dispatcher's data section is not mapped: kernel-preempted tasks are not run first"
        );
    }
}

/// Arm the dispatcher's slice timers (bpf/slicetimer.bpf.h) for slices under `max_ns`; they
/// load off.
fn set_slice_timer_max(bpf: &mut BpfScheduler, max_ns: u64) {
    if let Some(bss) = bpf.skel.maps.bss_data.as_mut() {
        bss.slice_timer_max_ns = max_ns;
    } else if max_ns > 0 {
        warn!("the dispatcher's data section is not mapped: short slices end at the next tick");
    }
}

/// Leave tasks inside a migrate-disabled section to the kernel's rule (bpf/pinned.bpf.h); they
/// load going to the loop.
fn set_kernel_migration_disabled(bpf: &mut BpfScheduler, on: bool) {
    if let Some(bss) = bpf.skel.maps.bss_data.as_mut() {
        bss.migration_disabled_local = on;
    } else if on {
        warn!("the dispatcher's data section is not mapped: migrate-disabled tasks go to the loop");
    }
}

/// Let a wakeup preempt a task that has used `hog_preempt_min_cpu_ns` of CPU in all
/// (bpf/hogpreempt.bpf.h), by the rule's settings in `cfg`; it loads off.
fn set_hog_preempt(bpf: &mut BpfScheduler, cfg: &LoopConfig) {
    if let Some(bss) = bpf.skel.maps.bss_data.as_mut() {
        bss.hog_preempt_cpu_ns = cfg.hog_preempt_min_cpu_ns;
        bss.hog_preempt_irq_sleep_ns = cfg.hog_preempt_irq_sleep_ns;
        bss.hog_preempt_on_resume = cfg.hog_preempt_on_resume;
        bss.hog_timer_rearm = cfg.hog_timer_rearm;
    } else if cfg.hog_preempt_min_cpu_ns > 0 {
        warn!("the dispatcher's data section is not mapped: a wakee waits for a hog's slice end");
    }
}

/// The task's comm as bytes, cleaned (see clean_comm).
fn comm_of(t: &QueuedTask) -> [u8; 16] {
    // SAFETY: c_char and u8 have the same size and alignment, and comm is TASK_COMM_LEN long.
    clean_comm(unsafe { &*(t.comm.as_ptr() as *const [u8; 16]) })
}

/// Touch the stack the loop will use, one write per page, while a fault costs nothing.
#[inline(never)]
fn prefault_stack() {
    let mut stack = [0u8; LOOP_STACK_PREFAULT_BYTES];
    for byte in stack.iter_mut().step_by(PAGE_BYTES) {
        *byte = 1;
    }
    std::hint::black_box(&mut stack);
}

/// No transparent huge pages for this process: khugepaged collapses pages holding the
/// process's mmap lock for writing, and a loop that touches a page being collapsed faults and
/// waits for it (the stall-guard case caught the loop blocked on that lock twice in CI, once
/// on the stack, once on libbpf's ring-buffer state). Our memory is locked and small.
fn disable_huge_page_collapse() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        warn!(
            "cannot disable transparent huge pages ({}); the loop may wait on khugepaged",
            std::io::Error::last_os_error()
        );
    }
}

/// The sysctl the core sets to 0 while attached (no compaction of our locked pages).
const COMPACT_UNEVICTABLE_PATH: &str = "/proc/sys/vm/compact_unevictable_allowed";

fn read_compact_unevictable() -> Option<String> {
    std::fs::read_to_string(COMPACT_UNEVICTABLE_PATH).ok()
}

/// A failed attach leaves no scheduler whose drop restores the sysctl: the core set it before
/// attaching (build.rs moved the attach last), so put back the value seen before.
fn restore_compact_unevictable(before: Option<String>) {
    let Some(before) = before else { return };
    if read_compact_unevictable().as_deref() == Some(before.as_str()) {
        return;
    }
    if let Err(e) = std::fs::write(COMPACT_UNEVICTABLE_PATH, before.trim()) {
        warn!(
            "cannot restore {COMPACT_UNEVICTABLE_PATH} to {} ({e})",
            before.trim()
        );
    }
}

/// Wakeup preemption if asked for; a kernel that refuses it leaves the scheduler without it.
fn load_wake_preempt(
    storage: &mut MaybeUninit<OpenObject>,
    min_run_ns: u64,
    rt_min_cpu_ns: u64,
    d_wake: bool,
) -> Option<WakePreempt<'_>> {
    if min_run_ns == 0 && rt_min_cpu_ns == 0 && !d_wake {
        return None;
    }
    WakePreempt::load(storage, min_run_ns, rt_min_cpu_ns, d_wake)
        .map_err(|e| warn!("wakeup preemption off: {e:#}"))
        .ok()
}

/// The BPF objects the scheduler loads, kept alive by the caller for the scheduler's life.
pub struct BpfObjects {
    exits: MaybeUninit<OpenObject>,
    signals: MaybeUninit<OpenObject>,
    wakeups: MaybeUninit<OpenObject>,
    sched: MaybeUninit<OpenObject>,
}

impl BpfObjects {
    pub fn new() -> Self {
        Self {
            exits: MaybeUninit::uninit(),
            signals: MaybeUninit::uninit(),
            wakeups: MaybeUninit::uninit(),
            sched: MaybeUninit::uninit(),
        }
    }
}

/// How many idle-CPU searches a round may make. A search costs a syscall per task (the core
/// runs its select_cpu program) and can only succeed on a CPU running nothing: not the one this
/// loop runs on, which the BPF side's count of running tasks leaves out. Measured on 1 vCPU
/// before it was counted: every dispatch searched, and failed (cpu_searches = user_dispatches,
/// 11.7 us per decision; 8.95 us without the searches).
fn idle_cpu_searches(nr_online: u64, nr_running: u64) -> u64 {
    nr_online
        .saturating_sub(nr_running)
        .saturating_sub(LOOP_CPUS)
}

/// An idle CPU through the core's select_cpu (searching from `hint`: the task's previous CPU
/// for locality, a rotating one to spread), else the shared queue. A task last seen on a CPU
/// that is offline goes to an online one instead: the core wakes the task's previous CPU for
/// shared-queue dispatches, which would leave it waiting while the online CPUs idle.
fn pick_cpu(bpf: &mut BpfScheduler, online: &[bool], task: &QueuedTask, hint: i32) -> i32 {
    match bpf.select_cpu(task.pid, hint, task.flags) {
        cpu if cpu >= 0 => cpu,
        _ => shared_queue_cpu(online, task),
    }
}

/// No idle CPU: the shared queue, unless the task's previous CPU went offline (see pick_cpu).
fn shared_queue_cpu(online: &[bool], task: &QueuedTask) -> i32 {
    let prev_online = usize::try_from(task.cpu)
        .ok()
        .and_then(|c| online.get(c).copied())
        .unwrap_or(true);
    match online.iter().position(|&o| o) {
        Some(cpu) if !prev_online && task.nr_cpus_allowed > 1 => cpu as i32,
        _ => RL_CPU_ANY,
    }
}

/// The online CPUs with their cores and caches from `scx_utils::Topology`; without it (an
/// unreadable sysfs) the online list alone, each CPU its own core under one cache.
fn cpu_layout() -> CpuLayout {
    match scx_utils::Topology::new() {
        Ok(topo) => {
            let cpus: Vec<CpuInfo> = topo
                .all_cpus
                .values()
                .map(|c| CpuInfo {
                    id: c.id,
                    core: c.core_id,
                    llc: c.llc_id,
                    node: c.node_id,
                })
                .collect();
            let layout = CpuLayout::new(&cpus);
            debug!("CPU spread order: {:?}", layout.spread_order());
            layout
        }
        Err(e) => {
            warn!("no CPU topology ({e:#}); spreading over the online CPUs in id order");
            CpuLayout::flat(&scx_foresight::live::preflight::online_cpus())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop's own CPU is never searched: none on one CPU, one per CPU running nothing.
    #[test]
    fn idle_cpu_searches_leave_out_the_loops_cpu() {
        assert_eq!(idle_cpu_searches(1, 0), 0);
        assert_eq!(idle_cpu_searches(2, 0), 1);
        assert_eq!(idle_cpu_searches(4, 1), 2);
        assert_eq!(idle_cpu_searches(4, 4), 0);
    }
}
