// SPDX-License-Identifier: GPL-2.0-only
//! The task table: what the scheduler knows about each task between two enqueues, with a hard
//! bound on its size.
//!
//! A task is identified by its pid plus its start: a queued task whose kernel-side vtime is 0
//! is new (fresh fork, or a reused pid), so its entry starts over with a new `born_ns`; a /proc
//! reply or an exit record whose start time is later than `born_ns` belongs to another task
//! and is ignored. Entries leave when their task exits; when the table is full, the half seen
//! least recently goes, so memory never grows with the number of tasks that ever existed.

use std::collections::HashMap;

use crate::core::features::{Behaviour, ProcFeatures, GENERAL_FEATURES};
use crate::core::model::{ModelSet, Source};
use crate::core::policy::{TaskView, BOOST_PCT_NONE};

/// Hard bound on tracked tasks.
pub const MAX_TASKS: usize = 16_384;
/// Weight of the newest burst in the burst EWMA (1/BURST_EWMA_DIV).
const BURST_EWMA_DIV: u64 = 4;
/// Slack when comparing our first-seen time with the kernel's start time (clock ticks).
pub const START_SLACK_NS: u64 = 50_000_000;

/// A task's comm as the kernel holds it: the bytes after the first NUL zeroed. BPF reads it
/// with a string copy into ring-buffer memory, which leaves whatever was there after the NUL;
/// compared raw, the same name would differ.
pub fn clean_comm(raw: &[u8; 16]) -> [u8; 16] {
    let mut comm = [0u8; 16];
    let len = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    comm[..len].copy_from_slice(&raw[..len]);
    comm
}

/// Where a task's identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// The exec tracer: the new image, read as it started.
    Exec,
    /// A /proc read the loop asked for.
    Proc,
    /// Asked like /proc, answered with its parent's identity (the exec tracer saw its fork and
    /// no exec since): the image it runs is its parent's.
    Fork,
}

/// What we remember about one task.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TaskEntry {
    /// Where its identity came from (None: not identified yet).
    pub identified_by: Option<IdentitySource>,
    /// Decided at least once since its exec identity arrived.
    pub decided_since_exec: bool,
    /// When we first saw it (ns, monotonic clock): with the pid, the task's identity.
    pub born_ns: u64,
    /// CPU time observed so far.
    pub cpu_ns: u64,
    /// Run since the last sleep, the last completed burst, and the average of completed bursts.
    pub cur_burst_ns: u64,
    pub last_burst_ns: u64,
    pub burst_ewma_ns: u64,
    pub enqueues: u32,
    pub wakeups: u32,
    pub weight: u64,
    pub last_seen_round: u64,
    /// /proc features, once the worker replied.
    pub proc: Option<ProcFeatures>,
    /// /proc already asked for.
    pub proc_requested: bool,
    /// The task's comm when /proc was asked: a change means it exec'd another program.
    pub comm: [u8; 16],
    /// Predicted total CPU demand and the model generation it came from.
    pub predicted_ns: Option<(u64, Source)>,
    pub predicted_gen: u64,
    /// When it was last decided (0: never): an exec re-decision is keyed from then.
    pub last_decided_ns: u64,
}

impl TaskEntry {
    /// Account one enqueue: the stint just run, and whether the task had slept before it.
    pub fn observe(&mut self, last_run_ns: u64, woke_up: bool, weight: u64) {
        self.cpu_ns = self.cpu_ns.saturating_add(last_run_ns);
        self.cur_burst_ns = self.cur_burst_ns.saturating_add(last_run_ns);
        self.enqueues = self.enqueues.saturating_add(1);
        self.weight = weight;
        if woke_up {
            self.wakeups = self.wakeups.saturating_add(1);
            self.last_burst_ns = self.cur_burst_ns;
            self.burst_ewma_ns = if self.burst_ewma_ns == 0 {
                self.cur_burst_ns
            } else {
                (self.burst_ewma_ns * (BURST_EWMA_DIV - 1) + self.cur_burst_ns) / BURST_EWMA_DIV
            };
            self.cur_burst_ns = 0;
        }
    }

    /// Forget the parsed command line when the task exec'd (its comm changed): a fork is
    /// queued, and its /proc read, before it execs the function it will run.
    pub fn note_comm(&mut self, comm: &[u8; 16]) {
        if self.proc_requested && &self.comm != comm {
            self.proc = None;
            self.proc_requested = false;
            self.predicted_ns = None;
            self.identified_by = None;
        }
        self.comm = *comm;
    }

    pub fn behaviour(&self) -> Behaviour {
        Behaviour {
            weight: self.weight,
            burst_ewma_ns: self.burst_ewma_ns,
            sleep_ratio: if self.enqueues == 0 {
                0.0
            } else {
                f64::from(self.wakeups) / f64::from(self.enqueues)
            },
        }
    }

    /// General model input from /proc features (if any) and observed behaviour.
    pub fn general_features(&self) -> [f64; GENERAL_FEATURES] {
        let b = self.behaviour();
        let (max_arg, n, kthread) = self.proc.map_or((0.0, 0.0, 0.0), |p| {
            (
                p.max_numeric_ln1p,
                p.n_numeric,
                f64::from(u8::from(p.kernel_thread)),
            )
        });
        [
            max_arg,
            n,
            (b.weight.max(1) as f64 / 100.0).ln(),
            kthread,
            (b.burst_ewma_ns as f64 / 1000.0).ln_1p(),
            b.sleep_ratio,
        ]
    }

    /// What the policy sees of this task.
    pub fn view(&self) -> TaskView {
        TaskView {
            weight: self.weight,
            cpu_so_far_ns: self.cpu_ns,
            predicted_total_ns: self.predicted_ns.map(|(ns, _)| ns),
            burst_ewma_ns: self.burst_ewma_ns,
            sleep_ratio: self.behaviour().sleep_ratio,
            boost_pct: self.proc.map_or(BOOST_PCT_NONE, |p| p.boost_pct),
            held_since: None,
            woke_uninterruptible: false,
        }
    }

    /// Refresh the cached prediction when the models changed (a dot product). A task never
    /// identified (a fork before its exec, an exiting task queued again) gets none: it is no
    /// invocation the models learnt from, and the general model's answer for it was the mean
    /// invocation (measured in the VM: forks keyed at tens of ms waited up to 480 ms behind
    /// every shorter image, exits 300 ms); the attained-service rule decides it instead.
    pub fn refresh_prediction(&mut self, models: &ModelSet) {
        if self.predicted_gen == models.generation && self.predicted_ns.is_some() {
            return;
        }
        self.predicted_ns = self.proc.and_then(|p| {
            let gx = self.general_features();
            models.predict_total_ns(p.func, p.exe, &p.fx, &p.cx, &gx)
        });
        self.predicted_gen = models.generation;
    }
}

/// pid → [`TaskEntry`], preallocated so the dispatch loop does not allocate.
#[derive(Debug)]
pub struct TaskTable {
    entries: HashMap<i32, TaskEntry>,
    capacity: usize,
    /// Scratch space for eviction (preallocated, reused).
    scratch: Vec<u64>,
    evictions: u64,
}

impl TaskTable {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            entries: HashMap::with_capacity(capacity),
            capacity,
            scratch: Vec::with_capacity(capacity),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The entry for `pid`, started over when the kernel says the task is new.
    pub fn touch(&mut self, pid: i32, is_new: bool, now_ns: u64, round: u64) -> &mut TaskEntry {
        if !self.entries.contains_key(&pid) && self.entries.len() >= self.capacity {
            self.evict_oldest_half();
        }
        let entry = self.entries.entry(pid).or_insert_with(|| TaskEntry {
            born_ns: now_ns,
            ..TaskEntry::default()
        });
        if is_new {
            *entry = TaskEntry {
                born_ns: now_ns,
                ..TaskEntry::default()
            };
        }
        entry.last_seen_round = round;
        entry
    }

    /// The entry of `pid` if it is the task that started at `start_ns` (not a reused pid).
    pub fn get_same(&mut self, pid: i32, start_ns: u64) -> Option<&mut TaskEntry> {
        self.entries
            .get_mut(&pid)
            .filter(|e| start_ns <= e.born_ns.saturating_add(START_SLACK_NS))
    }

    /// Forget an exited task; returns its entry when it was the same task.
    pub fn remove_same(&mut self, pid: i32, start_ns: u64) -> Option<TaskEntry> {
        self.get_same(pid, start_ns)?;
        self.entries.remove(&pid)
    }

    /// Drop the half of the table seen least recently (amortised O(1) per insert).
    fn evict_oldest_half(&mut self) {
        self.scratch.clear();
        self.scratch
            .extend(self.entries.values().map(|e| e.last_seen_round));
        let mid = self.scratch.len() / 2;
        let (_, cutoff, _) = self.scratch.select_nth_unstable(mid);
        let cutoff = *cutoff;
        let before = self.entries.len();
        self.entries.retain(|_, e| e.last_seen_round > cutoff);
        self.evictions += (before - self.entries.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_task_resets_reused_pid() {
        let mut t = TaskTable::with_capacity(8);
        t.touch(7, true, 100, 1).cpu_ns = 500;
        assert_eq!(t.touch(7, false, 200, 2).cpu_ns, 500);
        assert_eq!(t.touch(7, true, 300, 3).cpu_ns, 0);
        assert_eq!(t.touch(7, false, 400, 4).born_ns, 300);
    }

    #[test]
    fn records_of_a_later_task_with_the_same_pid_are_ignored() {
        let mut t = TaskTable::with_capacity(8);
        t.touch(7, true, 1_000_000_000, 1);
        assert!(t.get_same(7, 990_000_000).is_some());
        assert!(t.remove_same(7, 5_000_000_000).is_none());
        assert!(t.remove_same(7, 1_000_000_000).is_some());
        assert!(t.is_empty());
    }

    #[test]
    fn size_is_bounded_and_oldest_go_first() {
        let mut t = TaskTable::with_capacity(100);
        for pid in 0..100_000 {
            t.touch(pid, true, 0, pid as u64);
            assert!(t.len() <= 100);
        }
        assert!(t.entries.contains_key(&99_999));
        assert!(!t.entries.contains_key(&0));
        assert!(t.evictions() >= 99_900);
    }

    #[test]
    fn exec_forgets_the_parent_command_line() {
        let mut e = TaskEntry::default();
        e.note_comm(b"loadgen\0\0\0\0\0\0\0\0\0");
        e.proc_requested = true;
        e.note_comm(b"loadgen\0\0\0\0\0\0\0\0\0");
        assert!(e.proc_requested);
        e.note_comm(b"payload\0\0\0\0\0\0\0\0\0");
        assert!(!e.proc_requested && e.proc.is_none());
    }

    #[test]
    fn only_identified_tasks_are_predicted() {
        use crate::core::features::{CATEGORY_BUCKETS, FUNCTION_FEATURES};
        use crate::core::model::LinearModel;
        // A trusted general model that says 30 ms for anything.
        let models = ModelSet {
            general: Some(LinearModel {
                coef: vec![0.0; GENERAL_FEATURES],
                intercept: 30_000f64.ln(),
                n_samples: 100,
                mean_abs_ln_error: 0.1,
                ln_min: 0.0,
                ln_max: 20.0,
                x_min: vec![],
                x_max: vec![],
            }),
            generation: 1,
            ..ModelSet::default()
        };
        // A fork before its exec: the attained-service rule, not the mean invocation.
        let mut fork = TaskEntry::default();
        fork.refresh_prediction(&models);
        assert_eq!(fork.predicted_ns, None);
        // Identified, with no trusted model of its own: the general level answers.
        let mut known = TaskEntry {
            proc: Some(ProcFeatures {
                func: None,
                exe: None,
                cgroup: None,
                fx: [0.0; FUNCTION_FEATURES],
                cx: [0.0; CATEGORY_BUCKETS],
                max_numeric_ln1p: 0.0,
                n_numeric: 0.0,
                kernel_thread: false,
                boost_pct: BOOST_PCT_NONE,
            }),
            ..TaskEntry::default()
        };
        known.refresh_prediction(&models);
        let (ns, source) = known.predicted_ns.expect("general prediction");
        assert_eq!(source, Source::General);
        assert!((29_000_000..31_000_000).contains(&ns), "{ns}");
    }

    #[test]
    fn bytes_after_the_nul_do_not_make_another_comm() {
        let a = clean_comm(b"payload\0garbage!");
        assert_eq!(&a, b"payload\0\0\0\0\0\0\0\0\0");
        assert_eq!(a, clean_comm(b"payload\0\0\0\0\0\0\0\0\0"));
        assert_eq!(&clean_comm(b"sixteen_bytes_xx"), b"sixteen_bytes_xx");
    }

    #[test]
    fn bursts_and_sleep_ratio() {
        let mut e = TaskEntry::default();
        e.observe(1_000, false, 100);
        e.observe(1_000, true, 100); // burst of 2 µs ended by a sleep
        e.observe(4_000, true, 100); // then one of 4 µs
        assert_eq!(e.cpu_ns, 6_000);
        assert_eq!(e.burst_ewma_ns, (2_000 * 3 + 4_000) / 4);
        assert_eq!(e.last_burst_ns, 4_000);
        assert!((e.behaviour().sleep_ratio - 2.0 / 3.0).abs() < 1e-9);
    }
}
