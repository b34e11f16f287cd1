// SPDX-License-Identifier: GPL-2.0-only
//! The live scheduling loop: drain every queued task, decide the batch, dispatch the batch,
//! tell the kernel how many are still pending. Decisions come from [`scx_foresight::policy`];
//! this file only converts between the kernel's task records and the policy's.
//!
//! The loop never blocks: no /proc, no file I/O, no allocation after start (buffers are
//! preallocated), statistics leave through a non-blocking channel.

use std::mem::MaybeUninit;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use anyhow::Result;
use libbpf_rs::OpenObject;
use log::warn;
use scx_utils::UserExitInfo;

use crate::bpf::{BpfScheduler, DispatchedTask, QueuedTask, RL_CPU_ANY};
use scx_foresight::policy::{Decision, SliceConfig, TaskSample, VruntimePolicy};
use scx_foresight::stats::Metrics;
use scx_foresight::tasks::{TaskTable, MAX_TASKS};

/// Tasks decided in one round at most; the rest wait for the next round (keeps rounds short).
pub const MAX_BATCH: usize = 4096;

/// How the loop was configured from the command line.
pub struct LoopConfig {
    pub slices: SliceConfig,
    pub exit_dump_len: u32,
    pub partial: bool,
    pub verbose: bool,
    pub stats_interval: Option<Duration>,
}

/// A queued task and, once decided, its verdict.
struct Pending {
    task: QueuedTask,
    decision: Option<Decision>,
}

pub struct Scheduler<'a> {
    bpf: BpfScheduler<'a>,
    policy: VruntimePolicy,
    tasks: TaskTable,
    batch: Vec<Pending>,
    round: u64,
    max_batch: u64,
    nr_dispatched: u64,
    nr_idle_cpu_dispatched: u64,
    stats_tx: Option<SyncSender<Metrics>>,
    stats_interval: Option<Duration>,
    next_stats: Instant,
}

impl<'a> Scheduler<'a> {
    /// Attach to the kernel and preallocate everything the loop needs.
    pub fn init(
        cfg: &LoopConfig,
        stats_tx: Option<SyncSender<Metrics>>,
        open_object: &'a mut MaybeUninit<OpenObject>,
    ) -> Result<Self> {
        let bpf = BpfScheduler::init(
            open_object,
            None,
            cfg.exit_dump_len,
            cfg.partial,
            cfg.verbose,
            false, // builtin_idle off: every task is queued to us
            false, // no NUMA-local idle selection
            cfg.slices.slice_ns,
            scx_foresight::SCHEDULER_NAME,
        )?;
        Ok(Self {
            bpf,
            policy: VruntimePolicy::new(cfg.slices),
            tasks: TaskTable::with_capacity(MAX_TASKS),
            batch: Vec::with_capacity(MAX_BATCH),
            round: 0,
            max_batch: 0,
            nr_dispatched: 0,
            nr_idle_cpu_dispatched: 0,
            stats_tx,
            stats_interval: cfg.stats_interval,
            next_stats: Instant::now(),
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

    /// One round: drain, decide, dispatch, notify.
    fn schedule(&mut self) {
        self.round += 1;
        self.drain_queued();
        self.decide_batch();
        self.dispatch_batch();
        self.bpf.notify_complete(self.batch.len() as u64);
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
        self.max_batch = self.max_batch.max(self.batch.len() as u64);
    }

    /// Decide every new task knowing the batch size, then order the batch by deadline.
    fn decide_batch(&mut self) {
        let nr_waiting = self.batch.len();
        for p in self.batch.iter_mut().filter(|p| p.decision.is_none()) {
            let entry = self.tasks.touch(p.task.pid, p.task.vtime == 0, self.round);
            let decision = self
                .policy
                .decide(&to_sample(&p.task, entry.vruntime), nr_waiting);
            entry.vruntime = decision.vruntime;
            p.decision = Some(decision);
        }
        self.batch
            .sort_unstable_by_key(|p| p.decision.map_or(0, |d| d.deadline));
    }

    /// Dispatch in deadline order; whatever the ring buffer cannot take stays for next round.
    fn dispatch_batch(&mut self) {
        let mut sent = 0;
        for p in &self.batch {
            let Some(decision) = p.decision else { break };
            let mut d = DispatchedTask::new(&p.task);
            d.slice_ns = decision.slice_ns;
            d.vtime = decision.deadline;
            d.cpu = pick_cpu(&mut self.bpf, &p.task);
            if self.bpf.dispatch_task(&d).is_err() {
                break;
            }
            sent += 1;
            self.nr_idle_cpu_dispatched += u64::from(d.cpu != RL_CPU_ANY);
        }
        self.batch.drain(..sent);
        self.nr_dispatched += sent as u64;
    }

    /// Hand a counter snapshot to the reporter thread when an interval has passed.
    fn maybe_publish_stats(&mut self) {
        let Some(interval) = self.stats_interval else {
            return;
        };
        let now = Instant::now();
        if now < self.next_stats {
            return;
        }
        self.next_stats = now + interval;
        let snapshot = self.metrics();
        if let Some(tx) = &self.stats_tx {
            // Full channel: the reporter is behind; skip this one rather than wait.
            let _ = tx.try_send(snapshot);
        }
    }

    fn metrics(&mut self) -> Metrics {
        Metrics {
            nr_cpus: *self.bpf.nr_online_cpus_mut(),
            nr_running: *self.bpf.nr_running_mut(),
            nr_queued: *self.bpf.nr_queued_mut(),
            nr_scheduled: *self.bpf.nr_scheduled_mut(),
            nr_user_dispatches: self.nr_dispatched,
            nr_idle_cpu_dispatches: self.nr_idle_cpu_dispatched,
            nr_kernel_dispatches: *self.bpf.nr_kernel_dispatches_mut(),
            nr_cancel_dispatches: *self.bpf.nr_cancel_dispatches_mut(),
            nr_bounce_dispatches: *self.bpf.nr_bounce_dispatches_mut(),
            nr_failed_dispatches: *self.bpf.nr_failed_dispatches_mut(),
            nr_sched_congested: *self.bpf.nr_sched_congested_mut(),
            nr_rounds: self.round,
            max_batch: self.max_batch,
            nr_page_faults: 0,
        }
    }
}

/// An idle CPU through the core's select_cpu, else the shared queue.
fn pick_cpu(bpf: &mut BpfScheduler, task: &QueuedTask) -> i32 {
    match bpf.select_cpu(task.pid, task.cpu, task.flags) {
        cpu if cpu >= 0 => cpu,
        _ => RL_CPU_ANY,
    }
}

/// The policy's view of a queued task, with the vruntime we keep for it.
fn to_sample(task: &QueuedTask, vruntime: u64) -> TaskSample {
    TaskSample {
        pid: task.pid,
        weight: task.weight,
        vruntime,
        last_run_ns: task.stop_ts.saturating_sub(task.start_ts),
        run_since_sleep_ns: task.exec_runtime,
    }
}
