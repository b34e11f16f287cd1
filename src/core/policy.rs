// SPDX-License-Identifier: GPL-2.0-only
//! The scheduling policy: for each queued task, its deadline (dispatch order) and its slice,
//! from a prediction of the CPU it still needs.
//!
//! Free of BPF types: the live loop and the simulator both build a [`TaskView`] and call
//! [`Policy::decide`], so the simulator's numbers describe the live scheduler.
//!
//! - Order: shortest predicted remaining CPU first. deadline = now + key, key = stretch ×
//!   remaining × 100/weight, in two bands: below `SHORT_BAND_NS` for every task that is not a
//!   long CPU hog, between it and `AGING_CAP_NS` for hogs. A short invocation thus goes before
//!   any hog enqueued at the same time whatever the scale of the demands (under emulation a
//!   "short" function takes 50–100 ms, and stretch × that reached the cap); a task enqueued at
//!   t has a deadline ≤ t + cap, every later arrival a deadline ≥ its own arrival, so no task
//!   waits behind newcomers for more than the cap (aging) — nothing starves.
//! - Remaining: predicted total − CPU used so far; a task that outran its prediction (or has
//!   none) is expected to need as much again as it already used (attained-service rule), and
//!   an unknown new task gets `UNKNOWN_NEW_NS`, so fresh short invocations go first.
//! - Interactive tasks (mostly sleeping, short bursts) are judged by their burst: low latency.
//! - Slice: a task predicted short gets prediction + margin (capped), to finish in one go;
//!   long tasks share by weight with the base slice, shorter when many wait.
//! - Mode: the system class in force picks [`ModeParams`] (slice bounds, how strongly short
//!   tasks go first, the run-to-completion bound, batch slices, CPU choice).
//! - Per-task class ([`TaskClass`]): interactive and I/O-bound tasks are judged by their
//!   burst; batch CPU tasks get the mode's batch slice; short FaaS tasks run to completion.
//! - cgroup boost: a boosted task counts as heavier (capped at `BOOST_FACTOR_MAX`); the aging
//!   bound is unchanged, so nobody else waits longer than it.
//! - Exec: the BPF layer ends a task's slice when it execs, so the new image is decided with
//!   its own identity, keyed from the time its fork was queued ([`TaskView::held_since`]) as if
//!   its prediction had been known then, unless the new image is a hog. Measured: keyed from
//!   the exec, each invocation went behind every fork queued since (short mean ~10 % worse);
//!   keeping the fork's deadline instead let every arrival of a burst run its first 10 ms in
//!   arrival order, whatever its prediction (simulated on the VM's quick trace with a fitted
//!   model: short mean 14.66 keeping the fork's deadline, 10.26 keyed from the fork).
//! - Uninterruptible wakeups: a task woken from an uninterruptible sleep may hold what it slept
//!   on (a folio's lock passes to the waiter it wakes) while the next waiter sleeps behind it:
//!   it is due ahead of the tasks already overdue (by `UNINTERRUPTIBLE_LEAD_NS_DEFAULT`), and
//!   one that is not run to completion gets a short slice ([`UninterruptibleWake`]). Such
//!   wakees can go ahead of a task for at most the cap plus the lead (2 s by default, under
//!   the kernel's 5 s watchdog).

/// Nanoseconds in a microsecond (CLI values are in µs).
pub const NSEC_PER_USEC: u64 = 1_000;
/// The kernel's weight for nice 0.
pub const WEIGHT_DEFAULT: u64 = 100;
/// Default base slice for tasks that are not predicted short.
pub const SLICE_NS_DEFAULT: u64 = 5_000_000;
/// Default minimum slice.
pub const SLICE_NS_MIN_DEFAULT: u64 = 500_000;
/// Slices shorter than this end on time, by the dispatcher's timer, rather than at the
/// kernel's next tick (4 ms apart at HZ=250): in two VM boots it lowered the generated trace's
/// short mean 8-27 %, and cost hackbench time (BENCHMARKS.md section 31).
pub const SLICE_TIMER_MAX_NS_DEFAULT: u64 = 4_000_000;
/// Largest weight factor applied to a slice.
pub const SLICE_WEIGHT_CAP: u64 = 4;
/// How much one ns of predicted remaining CPU counts against one ns of waiting in the
/// deadline: large, so the order is by size (like SRPT), with waiting time as the tie-breaker.
pub const REMAINING_STRETCH: u64 = 16;
/// The most a task's deadline can lie in the future: the aging bound on how long newcomers
/// can go ahead of it. Well under the kernel's 5 s watchdog (a task runnable that long gets
/// the scheduler evicted), leaving room for the queue ahead of it.
pub const AGING_CAP_NS: u64 = 1_000_000_000;
/// Order keys of tasks that are not long CPU hogs stay below this; hogs' keys start here.
pub const SHORT_BAND_NS: u64 = AGING_CAP_NS / 2;
/// A task predicted to need at most this much more gets a run-to-completion slice.
pub const SHORT_TASK_NS: u64 = 100_000_000;
/// Margin on a short task's slice over its prediction (percent) plus a fixed slack.
pub const SHORT_SLICE_MARGIN_PCT: u64 = 25;
pub const SHORT_SLICE_SLACK_NS: u64 = 2_000_000;
/// The longest run-to-completion slice. On a busy machine the loop itself runs only when a
/// slice ends, so a long task predicted short (the faas-burst mode called up to 200 ms short then)
/// held the CPU for up to 400 ms while new invocations waited: in the VM, shorts waited 4-6x
/// the default's before their first run. Simulated on the VM's own replays (1 CPU, the modes
/// the live scheduler was in), capping at 10 ms took the short mean slowdown from 7.14 to 2.85
/// (Azure 0.7) and 29.96 to 16.80 (generated 0.9) at a cost of 8.87 to 12.45 on long ones.
pub const RUN_TO_COMPLETION_MAX_NS: u64 = 10_000_000;
/// A task woken while every CPU is busy preempts a running task that has run at least this
/// long since it was switched in (bpf/wakeups.bpf.c): the loop runs only when a slice ends,
/// so a short invocation otherwise waited a whole slice before it was even decided. Tasks that
/// run less (ping-pong pairs, the waker itself about to sleep) are left alone.
pub const WAKE_PREEMPT_MIN_RUN_NS: u64 = 1_000_000;
/// A real-time task that wakes on a CPU (the replayer's launcher, about to fork an invocation)
/// ends the slice of the task it interrupts if that task has used at least this much CPU in
/// all (bpf/wakeups.bpf.c): otherwise the kernel resumes it, with the rest of its slice, as
/// soon as the launcher sleeps, and the child waits behind it. Forks and short invocations,
/// which use less, resume: decided again, they went behind others (tried: every interrupted
/// task decided again, BENCHMARKS.md section 18). Measured in the VM's Azure replay at load
/// 0.7: short mean slowdown ×0.56 of the default's without the rule, ×0.45 with it (section 19).
pub const RT_PREEMPT_MIN_CPU_NS: u64 = 10_000_000;
/// A normal task that wakes on a CPU after a sleep of at least 250 us preempts the task running
/// there if that has used at least this much CPU in all (bpf/hogpreempt.bpf.h): the loop
/// otherwise decides the wakee only at the end of the hog's slice (cyclictest's SCHED_OTHER
/// thread beside a CPU hog: p99 5.5-5.8 ms without the rule, 76-77 us with it, the default's
/// 65-178 us; BENCHMARKS.md section 35). A task below it that will pass it within its slice is
/// preempted when it does, by the slice timer: a hog started beside the periodic task had kept
/// its whole first slice (cyclictest's max 4.9-5.5 ms; 1.4-3.0 ms with the timer, section 36).
/// At 500 us that max fell to 80-553 us, but hackbench took x1.17 (1.09-1.30) as long: its
/// senders and receivers preempted one another through the loop (section 36).
pub const HOG_PREEMPT_MIN_CPU_NS: u64 = 2_000_000;
/// Least sleep of a wakee woken by a timer for the hog rule: the same 250 us as a wakee woken
/// by a running task (a pipe's reader woken by each write would otherwise preempt its writer
/// each time, bpf/hogpreempt.bpf.h). Lower lets a periodic task served late, which sleeps less
/// than its period (cyclictest beside a new hog: 204 us, then 7.9 ms behind it), preempt; at 0,
/// two A/B boots read the replay's short p99 better, then worse (BENCHMARKS.md sections 38, 42).
pub const HOG_PREEMPT_IRQ_SLEEP_NS_DEFAULT: u64 = 250_000;
/// What the exec tracer leaves of a fresh image's slice (bpf/execs.bpf.c), at most: an
/// invocation done within it finishes where it stands; a longer one queues again and is
/// decided with its identity. 0 ends the slice at exec.
pub const EXEC_GRACE_NS_DEFAULT: u64 = 500_000;
/// An exec'd image whose function is predicted to need at most this much CPU in all keeps
/// the CPU it exec'd on until done, with a short task's margin (bpf/execs.bpf.c, from a
/// verdict the exec worker leaves for the next exec of the same command line): queued again,
/// it would wait behind every fork of its burst for a run shorter than the wait. Simulated on
/// the VM's Azure replay (1 CPU, its models and modes): short mean 5.16 with the grace alone,
/// 3.58 at 2 ms, 3.32 at 3 ms, 2.92 at 4 ms; the generated trace's short mean, 8.8 up to
/// 4 ms, went to 13.7 at 6 ms in two of four boots' replays (invocations predicted short but
/// longer kept the CPU while short ones waited).
pub const EXEC_FINISH_NS_DEFAULT: u64 = 3_000_000;
/// The slice of a task woken from an uninterruptible sleep that is not run to completion:
/// enough to leave what it was handed (a page fault's folio lock), then it is decided again.
pub const UNINTERRUPTIBLE_SLICE_NS_DEFAULT: u64 = 1_000_000;
/// How far before now a task woken from an uninterruptible sleep is due: due "now" still
/// went behind every task already overdue (in the VM's generated replay such wakees waited a
/// median 8-16 ms per replay at load 0.7, BENCHMARKS.md section 25); the aging cap puts it
/// ahead of everything that has waited less than the cap.
pub const UNINTERRUPTIBLE_LEAD_NS_DEFAULT: u64 = AGING_CAP_NS;
/// What a task woken from an uninterruptible sleep gets (`woke_uninterruptible`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UninterruptibleWake {
    /// How far before now it is due (0: due now, behind tasks already overdue).
    pub lead_ns: u64,
    /// Its slice unless it is run to completion (0: the slice it would get anyway).
    pub slice_ns: u64,
}

impl Default for UninterruptibleWake {
    fn default() -> Self {
        Self {
            lead_ns: UNINTERRUPTIBLE_LEAD_NS_DEFAULT,
            slice_ns: UNINTERRUPTIBLE_SLICE_NS_DEFAULT,
        }
    }
}

/// Remaining CPU assumed for a new task nothing is known about.
pub const UNKNOWN_NEW_NS: u64 = 1_000_000;
/// Share of enqueues after a sleep above which a task counts as interactive (or I/O-bound).
pub const INTERACTIVE_SLEEP_RATIO: f64 = 0.5;
/// Sleeping tasks whose bursts are at most this long are interactive; longer: I/O-bound.
pub const INTERACTIVE_BURST_NS: u64 = 2_000_000;
/// The largest scheduling weight the kernel gives (nice -20 is 8876 on this scale).
pub const WEIGHT_MAX: u64 = 10_000;
/// A task's boost when its cgroup has none (percent).
pub const BOOST_PCT_NONE: u64 = 100;

use serde::{Deserialize, Serialize};

/// What a task looks like from its behaviour and prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskClass {
    /// Sleeps often, short bursts: latency matters.
    Interactive,
    /// Sleeps often, longer bursts between waits.
    IoBound,
    /// Predicted (or so far) short: a function invocation to run to completion.
    ShortFaas,
    /// Runs without sleeping and is long: throughput matters.
    BatchCpu,
}

pub const NR_TASK_CLASSES: usize = 4;

impl TaskClass {
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name in traces and stats.
    pub fn name(self) -> &'static str {
        match self {
            TaskClass::Interactive => "interactive",
            TaskClass::IoBound => "io",
            TaskClass::ShortFaas => "faas",
            TaskClass::BatchCpu => "batch",
        }
    }

    /// Classify from behaviour first (sleepers), then by what the task still needs.
    pub fn of(t: &TaskView, remaining_ns: u64, short_task_ns: u64) -> Self {
        if t.sleep_ratio >= INTERACTIVE_SLEEP_RATIO && t.burst_ewma_ns > 0 {
            if t.burst_ewma_ns <= INTERACTIVE_BURST_NS {
                TaskClass::Interactive
            } else {
                TaskClass::IoBound
            }
        } else if remaining_ns <= short_task_ns && t.cpu_so_far_ns <= short_task_ns {
            TaskClass::ShortFaas
        } else {
            TaskClass::BatchCpu
        }
    }
}

/// What the policy needs to know about one queued task.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TaskView {
    /// Scheduling weight, 1..=10000, 100 for nice 0.
    pub weight: u64,
    /// CPU used so far by this task.
    pub cpu_so_far_ns: u64,
    /// Its total CPU demand as predicted by a trusted model, if any.
    pub predicted_total_ns: Option<u64>,
    /// Average run between two sleeps.
    pub burst_ewma_ns: u64,
    /// Share of enqueues that followed a sleep (0..=1).
    pub sleep_ratio: f64,
    /// cgroup boost in percent (100 or 0: none).
    pub boost_pct: u64,
    /// When it was queued before its slice was ended for it to be decided again as a new
    /// image (exec): unless it is now a hog, its new key counts from then, not from now.
    pub held_since: Option<u64>,
    /// Woken from an uninterruptible sleep (a lock handed over, I/O done): due first.
    pub woke_uninterruptible: bool,
}

impl TaskView {
    /// The weight the policy uses: the kernel's, times the cgroup boost (both capped).
    pub fn effective_weight(&self) -> u64 {
        let boost = match self.boost_pct {
            0 => BOOST_PCT_NONE,
            b => b.min((BOOST_FACTOR_MAX * 100.0) as u64),
        };
        (self.weight.max(1) * boost / 100).clamp(1, WEIGHT_MAX)
    }
}

/// The policy's verdict for one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Dispatch order: lower runs first (ns on the caller's clock).
    pub deadline: u64,
    /// Time slice in nanoseconds.
    pub slice_ns: u64,
    /// What the policy expects the task still needs.
    pub remaining_ns: u64,
    pub class: TaskClass,
    /// The slice holds this task back for others (a hog's share, a D wakee's cut): end it on
    /// time, not at the kernel's next tick. A crowd of equals' shares run to the tick: ending
    /// each on time only added round trips (hackbench, BENCHMARKS.md sections 31 and 33).
    pub timed: bool,
}

/// Slice bounds, from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceConfig {
    pub slice_ns: u64,
    pub slice_ns_min: u64,
    pub nr_cpus: u64,
}

impl SliceConfig {
    /// Slice bounds in µs as typed on the command line; rejects nonsense with the value named.
    pub fn from_us(slice_us: u64, slice_us_min: u64, nr_cpus: u64) -> Result<Self, String> {
        if slice_us == 0 || slice_us_min == 0 {
            return Err(format!(
                "slices must be positive (got --slice-us {slice_us}, --slice-us-min {slice_us_min})"
            ));
        }
        if slice_us_min > slice_us {
            return Err(format!(
                "--slice-us-min {slice_us_min} is larger than --slice-us {slice_us}"
            ));
        }
        if slice_us > 10_000_000 {
            return Err(format!("--slice-us {slice_us} exceeds 10 s"));
        }
        Ok(Self {
            slice_ns: slice_us * NSEC_PER_USEC,
            slice_ns_min: slice_us_min * NSEC_PER_USEC,
            nr_cpus: nr_cpus.max(1),
        })
    }

    pub fn defaults(nr_cpus: u64) -> Self {
        Self {
            slice_ns: SLICE_NS_DEFAULT,
            slice_ns_min: SLICE_NS_MIN_DEFAULT,
            nr_cpus: nr_cpus.max(1),
        }
    }
}

/// Shortest-predicted-remaining-first with aging, run-to-completion slices for short tasks,
/// tuned by the mode in force.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Slice bounds of this mode (the command line's, scaled by the mode).
    cfg: SliceConfig,
    stretch: u64,
    short_task_ns: u64,
    batch_slice_pct: u64,
    cpu_choice: CpuChoice,
    /// Deadline and slice of a task woken from an uninterruptible sleep.
    uninterruptible: UninterruptibleWake,
    /// Mark every slice timed, not only those that hold a task back (`--time-every-slice`).
    time_every_slice: bool,
}

impl Policy {
    /// The policy with the default mode.
    pub fn new(cfg: SliceConfig) -> Self {
        Self::with_mode(cfg, &ModeParams::default())
    }

    /// The policy for `mode`, with slice bounds relative to the command line's `base`.
    pub fn with_mode(base: SliceConfig, mode: &ModeParams) -> Self {
        let slice_ns = (base.slice_ns * mode.slice_pct / 100).max(1);
        let slice_ns_min = (base.slice_ns_min * mode.slice_min_pct / 100).clamp(1, slice_ns);
        Self {
            cfg: SliceConfig {
                slice_ns,
                slice_ns_min,
                nr_cpus: base.nr_cpus,
            },
            stretch: mode.short_first.max(1),
            short_task_ns: mode.short_task_ms * 1_000_000,
            batch_slice_pct: mode.batch_slice_pct,
            cpu_choice: mode.cpu_choice,
            uninterruptible: UninterruptibleWake::default(),
            time_every_slice: false,
        }
    }

    /// The same policy with tasks woken from an uninterruptible sleep decided by `wake`.
    pub fn with_uninterruptible(self, wake: UninterruptibleWake) -> Self {
        Self {
            uninterruptible: wake,
            ..self
        }
    }

    /// This policy's command-line settings (the D wakee's rule, the timing rule) under the
    /// slice bounds and rules of another mode: what a mode switch rebuilds.
    pub fn in_mode(self, base: SliceConfig, mode: &ModeParams) -> Self {
        Self {
            uninterruptible: self.uninterruptible,
            time_every_slice: self.time_every_slice,
            ..Self::with_mode(base, mode)
        }
    }

    /// The same policy, marking every slice timed when `on` (section 31's rule).
    pub fn with_every_slice_timed(self, on: bool) -> Self {
        Self {
            time_every_slice: on,
            ..self
        }
    }

    pub fn cpu_choice(&self) -> CpuChoice {
        self.cpu_choice
    }

    /// Decide one task enqueued at `now_ns` while `nr_waiting` tasks wait in total.
    pub fn decide(&self, t: &TaskView, now_ns: u64, nr_waiting: usize) -> Decision {
        let remaining = remaining_ns(t);
        let class = TaskClass::of(t, remaining, self.short_task_ns);
        let raw =
            scale_inverse_by_weight(remaining.saturating_mul(self.stretch), t.effective_weight());
        // Hogs after everything else enqueued at the same time, never beyond the aging cap.
        let key = match class {
            TaskClass::BatchCpu => raw.clamp(SHORT_BAND_NS, AGING_CAP_NS),
            _ => raw.min(SHORT_BAND_NS),
        };
        // Re-decided at exec, not by its own doing: keyed as if known when its fork was queued.
        let since = match class {
            TaskClass::BatchCpu => now_ns,
            _ => t.held_since.map_or(now_ns, |since| since.min(now_ns)),
        };
        let mut deadline = since.saturating_add(key);
        let mut slice_ns = self.slice_for(t, class, remaining, nr_waiting);
        let mut timed = self.time_every_slice || class == TaskClass::BatchCpu;
        // Whoever sleeps behind what it was handed wakes only when it has run: due first.
        if t.woke_uninterruptible {
            let wake = self.uninterruptible;
            deadline = deadline.min(now_ns.saturating_sub(wake.lead_ns));
            if wake.slice_ns > 0 && !self.runs_to_completion(t, remaining) {
                slice_ns = slice_ns.min(wake.slice_ns);
                // Cut so that the next waiter of what it was handed runs soon.
                timed = true;
            }
        }
        Decision {
            deadline,
            slice_ns,
            remaining_ns: remaining,
            class,
            timed,
        }
    }

    /// A trusted prediction short enough to run in one slice.
    fn runs_to_completion(&self, t: &TaskView, remaining: u64) -> bool {
        t.predicted_total_ns.is_some() && remaining <= self.short_task_ns
    }

    /// Run-to-completion for trusted short predictions, else a weighted share.
    fn slice_for(&self, t: &TaskView, class: TaskClass, remaining: u64, nr_waiting: usize) -> u64 {
        if self.runs_to_completion(t, remaining) {
            let cap = (self.short_task_ns * 2).min(RUN_TO_COMPLETION_MAX_NS);
            return (remaining + remaining * SHORT_SLICE_MARGIN_PCT / 100 + SHORT_SLICE_SLACK_NS)
                .clamp(self.cfg.slice_ns_min, cap.max(self.cfg.slice_ns_min));
        }
        let per_cpu_waiting = (nr_waiting as u64).div_ceil(self.cfg.nr_cpus);
        let mut base = (self.cfg.slice_ns / per_cpu_waiting.max(1)).max(self.cfg.slice_ns_min);
        if class == TaskClass::BatchCpu {
            base = base * self.batch_slice_pct / 100;
        }
        let factor_pct = (t.effective_weight() * 100 / WEIGHT_DEFAULT).min(SLICE_WEIGHT_CAP * 100);
        (base * factor_pct / 100).clamp(self.cfg.slice_ns_min, self.cfg.slice_ns * SLICE_WEIGHT_CAP)
    }
}

/// What an exec'd image keeps of its slice, by its function's total CPU as predicted
/// (`predicted_total_ns`, from a trusted function or executable model):
/// - at most `finish_ns`: enough to finish, with a short task's margin (the models, fitted on
///   the CPU a task had at its exit, predict the VM's tiny invocations at 0.5-2 ms);
/// - more, with `end_long`: nothing, so it is decided again as itself at once, behind the
///   shorter work waiting, instead of running the grace first (in the VM's generated replay,
///   long images of a burst ran 3-7 ms each after their exec while an image known to be short
///   waited 100 ms, BENCHMARKS.md section 28; the A/B of section 29 left it unclear).
///
/// None otherwise (nothing trusted predicts it, or `finish_ns` 0 without `end_long`): the
/// tracer's grace applies.
pub fn exec_slice_ns(
    predicted_total_ns: Option<u64>,
    finish_ns: u64,
    end_long: bool,
) -> Option<u64> {
    let total = predicted_total_ns?;
    if total <= finish_ns {
        Some(total + total * SHORT_SLICE_MARGIN_PCT / 100 + SHORT_SLICE_SLACK_NS)
    } else if end_long {
        Some(0)
    } else {
        None
    }
}

/// The CPU a task is expected to still need.
pub fn remaining_ns(t: &TaskView) -> u64 {
    let by_demand = match t.predicted_total_ns {
        Some(total) if total > t.cpu_so_far_ns => total - t.cpu_so_far_ns,
        // Outran its prediction, or never predicted: as much again as it already used.
        _ => t.cpu_so_far_ns.max(UNKNOWN_NEW_NS),
    };
    if t.sleep_ratio >= INTERACTIVE_SLEEP_RATIO && t.burst_ewma_ns > 0 {
        by_demand.min(t.burst_ewma_ns)
    } else {
        by_demand
    }
}

/// Time scaled by `WEIGHT_DEFAULT / weight`: heavier tasks look shorter.
pub fn scale_inverse_by_weight(ns: u64, weight: u64) -> u64 {
    ns.saturating_mul(WEIGHT_DEFAULT) / weight.max(1)
}

/// Largest share multiplier a cgroup can get: a boosted hog must not crowd out the rest.
pub const BOOST_FACTOR_MAX: f64 = 8.0;

/// How a task's CPU is chosen when it is dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CpuChoice {
    /// An idle CPU near the one the task last ran on (warm caches).
    #[default]
    Locality,
    /// Any idle CPU, starting from a rotating one (spreads load; caches matter less).
    Spread,
}

/// The policy parameters of one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeParams {
    /// Base slice, percent of `--slice-us` (10..=400).
    pub slice_pct: u64,
    /// Minimum slice, percent of `--slice-us-min` (10..=400).
    pub slice_min_pct: u64,
    /// How much predicted remaining CPU counts against waiting time in the dispatch order
    /// (1..=64): higher puts short predicted tasks further ahead.
    pub short_first: u64,
    /// Tasks predicted to need at most this much more run to completion (1..=1000 ms).
    pub short_task_ms: u64,
    /// Slice of batch CPU tasks, percent of the base slice (25..=400).
    pub batch_slice_pct: u64,
    pub cpu_choice: CpuChoice,
}

impl Default for ModeParams {
    /// The mode the scheduler used before modes existed.
    fn default() -> Self {
        Self {
            slice_pct: 100,
            slice_min_pct: 100,
            short_first: REMAINING_STRETCH,
            short_task_ms: SHORT_TASK_NS / 1_000_000,
            batch_slice_pct: 100,
            cpu_choice: CpuChoice::Locality,
        }
    }
}

impl ModeParams {
    /// Each parameter within its documented range; the error names the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} {v} is outside {lo}..={hi}"))
            }
        };
        check("slice_pct", self.slice_pct, 10, 400)?;
        check("slice_min_pct", self.slice_min_pct, 10, 400)?;
        check("short_first", self.short_first, 1, 64)?;
        check("short_task_ms", self.short_task_ms, 1, 1000)?;
        check("batch_slice_pct", self.batch_slice_pct, 25, 400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(SliceConfig::from_us(5_000, 500, 2).unwrap())
    }

    /// `t` woken from an uninterruptible sleep.
    fn woken(t: TaskView) -> TaskView {
        TaskView {
            woke_uninterruptible: true,
            ..t
        }
    }

    fn view(cpu_so_far_ms: u64, predicted_ms: Option<u64>) -> TaskView {
        TaskView {
            weight: WEIGHT_DEFAULT,
            cpu_so_far_ns: cpu_so_far_ms * 1_000_000,
            predicted_total_ns: predicted_ms.map(|p| p * 1_000_000),
            ..TaskView::default()
        }
    }

    #[test]
    fn predicted_short_goes_first_and_gets_a_completion_slice() {
        let p = policy();
        let tiny = p.decide(&view(0, Some(4)), 1000, 4);
        let short = p.decide(&view(0, Some(20)), 1000, 4);
        let long = p.decide(&view(0, Some(5_000)), 1000, 4);
        assert!(short.deadline < long.deadline);
        // 4 ms + 25 % + 2 ms: the whole run in one slice.
        assert_eq!(tiny.slice_ns, 7_000_000);
        // 20 ms would need 27 ms: capped, it comes back after 10 ms (shorts may be waiting).
        assert_eq!(short.slice_ns, RUN_TO_COMPLETION_MAX_NS, "{short:?}");
        assert!(long.slice_ns <= 5_000_000);
    }

    #[test]
    fn exec_slice_finishes_predicted_short_images_and_leaves_the_rest_the_grace() {
        let finish = EXEC_FINISH_NS_DEFAULT;
        // 1 ms predicted: 1.25 ms + 2 ms, done where it stands.
        assert_eq!(
            exec_slice_ns(Some(1_000_000), finish, false),
            Some(3_250_000)
        );
        assert_eq!(exec_slice_ns(Some(finish + 1), finish, false), None);
        assert_eq!(exec_slice_ns(None, finish, false), None);
        // 0 turns the rule off.
        assert_eq!(exec_slice_ns(Some(1), 0, false), None);
    }

    /// With `end_long`, an image predicted past the bound keeps nothing of its slice; one
    /// predicted short still finishes, and one nothing predicts still gets the grace.
    #[test]
    fn exec_slice_ends_predicted_long_images_when_asked() {
        let finish = EXEC_FINISH_NS_DEFAULT;
        assert_eq!(exec_slice_ns(Some(finish + 1), finish, true), Some(0));
        assert_eq!(
            exec_slice_ns(Some(1_000_000), finish, true),
            Some(3_250_000)
        );
        assert_eq!(exec_slice_ns(None, finish, true), None);
        assert_eq!(exec_slice_ns(Some(1), 0, true), Some(0));
    }

    #[test]
    fn overrun_and_unknown_use_attained_service() {
        assert_eq!(remaining_ns(&view(50, Some(10))), 50_000_000);
        assert_eq!(remaining_ns(&view(0, None)), UNKNOWN_NEW_NS);
        assert_eq!(remaining_ns(&view(300, None)), 300_000_000);
    }

    #[test]
    fn interactive_tasks_are_judged_by_their_burst() {
        let t = TaskView {
            sleep_ratio: 0.9,
            burst_ewma_ns: 200_000,
            ..view(60_000, None)
        };
        assert_eq!(remaining_ns(&t), 200_000);
    }

    #[test]
    fn heavier_weight_goes_earlier_and_gets_longer_slices() {
        let p = policy();
        let light = p.decide(&view(100, None), 0, 1);
        let heavy = p.decide(
            &TaskView {
                weight: 400,
                ..view(100, None)
            },
            0,
            1,
        );
        assert!(heavy.deadline < light.deadline);
        assert!(heavy.slice_ns > light.slice_ns);
    }

    /// Woken from an uninterruptible sleep, with no lead: due now, ahead of a short task queued
    /// earlier; a hog gets a short slice, a task run to completion keeps its own.
    #[test]
    fn uninterruptible_wakeups_are_due_now() {
        let p = policy().with_uninterruptible(UninterruptibleWake {
            lead_ns: 0,
            ..UninterruptibleWake::default()
        });
        let short_queued = p.decide(&view(0, Some(2)), 1_000, 8);
        let hog = p.decide(&woken(view(300, Some(2_000))), 2_000, 8);
        assert_eq!(hog.class, TaskClass::BatchCpu);
        assert_eq!(hog.deadline, 2_000);
        assert!(hog.deadline < short_queued.deadline);
        assert_eq!(hog.slice_ns, UNINTERRUPTIBLE_SLICE_NS_DEFAULT);
        let plain_hog = p.decide(&view(300, Some(2_000)), 2_000, 8);
        assert!(plain_hog.deadline >= 2_000 + SHORT_BAND_NS);
        let short = p.decide(&woken(view(0, Some(4))), 2_000, 8);
        assert_eq!(short.deadline, 2_000);
        assert_eq!(
            short.slice_ns,
            p.decide(&view(0, Some(4)), 2_000, 8).slice_ns
        );
        assert!(short.slice_ns > UNINTERRUPTIBLE_SLICE_NS_DEFAULT);
        // Overdue already: stays as early as it was.
        let early = p.decide(
            &TaskView {
                held_since: Some(0),
                ..woken(view(0, Some(4)))
            },
            2_000_000_000,
            8,
        );
        assert!(early.deadline <= 2_000_000_000);
    }

    /// Only slices that hold a task back for others end on time: a hog's share and a D wakee's
    /// cut; a crowd of sleepers, short work and the unknown run to the tick.
    #[test]
    fn only_slices_that_hold_a_task_back_are_timed() {
        let p = policy();
        let sleeper = TaskView {
            sleep_ratio: 0.9,
            burst_ewma_ns: 100_000,
            ..view(0, None)
        };
        let interactive = p.decide(&sleeper, 1_000, 40);
        assert_eq!(interactive.class, TaskClass::Interactive);
        assert!(!interactive.timed);
        assert!(!p.decide(&view(0, Some(4)), 1_000, 40).timed);
        assert!(!p.decide(&view(0, None), 1_000, 40).timed);
        let hog = p.decide(&view(300, Some(2_000)), 1_000, 40);
        assert_eq!(hog.class, TaskClass::BatchCpu);
        assert!(hog.timed);
        // Woken from D: cut (and timed) unless it runs to completion.
        let cut = p.decide(&woken(view(0, None)), 1_000, 1);
        assert_eq!(cut.slice_ns, UNINTERRUPTIBLE_SLICE_NS_DEFAULT);
        assert!(cut.timed);
        assert!(!p.decide(&woken(view(0, Some(4))), 1_000, 1).timed);
        // `--time-every-slice`: the same decisions, each one timed, and so after a mode switch.
        let every = p.with_every_slice_timed(true);
        let switched = every.in_mode(SliceConfig::defaults(1), &ModeParams::default());
        assert!(switched.decide(&sleeper, 1_000, 40).timed);
        let all = [
            sleeper,
            view(0, Some(4)),
            view(0, None),
            woken(view(0, Some(4))),
        ];
        for t in &all {
            let (marked, timed) = (p.decide(t, 1_000, 40), every.decide(t, 1_000, 40));
            assert!(timed.timed);
            assert_eq!(
                (timed.slice_ns, timed.deadline),
                (marked.slice_ns, marked.deadline)
            );
        }
    }

    /// With no slice cap, a hog woken from an uninterruptible sleep is still due first but
    /// keeps the slice it would get anyway.
    #[test]
    fn uninterruptible_slice_cap_can_be_turned_off() {
        let p = policy().with_uninterruptible(UninterruptibleWake {
            slice_ns: 0,
            ..UninterruptibleWake::default()
        });
        let plain = p.decide(&view(300, Some(2_000)), 2_000, 8);
        let d_wakee = p.decide(&woken(view(300, Some(2_000))), 2_000, 8);
        assert_eq!(d_wakee.slice_ns, plain.slice_ns);
        assert!(d_wakee.slice_ns > UNINTERRUPTIBLE_SLICE_NS_DEFAULT);
        assert!(d_wakee.deadline < plain.deadline);
    }

    /// With the default lead, a task woken from an uninterruptible sleep goes ahead of a task
    /// already overdue that has waited less than the lead; one that waited longer stays first.
    #[test]
    fn uninterruptible_wakeups_go_ahead_of_overdue_tasks() {
        let p = policy();
        let now = 3 * AGING_CAP_NS;
        let overdue = p.decide(&view(0, Some(2)), now - AGING_CAP_NS / 2, 8);
        assert!(overdue.deadline < now);
        let d_wakee = p.decide(&woken(view(300, Some(2_000))), now, 8);
        assert_eq!(d_wakee.deadline, now - UNINTERRUPTIBLE_LEAD_NS_DEFAULT);
        assert!(d_wakee.deadline < overdue.deadline);
        let waited_longer = p.decide(&view(0, Some(2)), now - 2 * AGING_CAP_NS, 8);
        assert!(waited_longer.deadline < d_wakee.deadline);
        // Early in the clock's life the lead stops at 0 rather than wrapping.
        let at_boot = p.decide(&woken(view(0, Some(4))), 1_000, 8);
        assert_eq!(at_boot.deadline, 0);
    }

    /// An image re-decided at exec is keyed from its fork's time with its own prediction: not
    /// behind forks queued since for having exec'd, not ahead of them for a longer demand;
    /// a hog goes to the hogs' band from now.
    #[test]
    fn exec_redecision_counts_from_the_fork_unless_a_hog() {
        let p = policy();
        let fork_ns = 1_000_000;
        let later_fork = p.decide(&view(0, None), 2_000_000, 1);
        let short_view = TaskView {
            held_since: Some(fork_ns),
            ..view(1, Some(20))
        };
        let short = p.decide(&short_view, 5_000_000, 1);
        let keyed_now = p.decide(&view(1, Some(20)), 5_000_000, 1);
        assert_eq!(short.deadline, keyed_now.deadline - (5_000_000 - fork_ns));
        // 19 ms still to run: after a fork queued later, whose guess is 1 ms.
        assert!(
            short.deadline > later_fork.deadline,
            "{short:?} {later_fork:?}"
        );
        // A tiny new image goes before that fork.
        let tiny = p.decide(
            &TaskView {
                held_since: Some(fork_ns),
                predicted_total_ns: Some(300_000),
                ..view(0, None)
            },
            2_100_000,
            1,
        );
        assert!(
            tiny.deadline < later_fork.deadline,
            "{tiny:?} {later_fork:?}"
        );
        let hog = p.decide(
            &TaskView {
                held_since: Some(fork_ns),
                ..view(1, Some(5_000))
            },
            5_000_000,
            1,
        );
        assert!(hog.deadline >= 5_000_000 + SHORT_BAND_NS, "{hog:?}");
    }

    /// Whatever the scale of demands, a short task goes before a hog enqueued at the same
    /// time, and among short tasks the shorter first.
    #[test]
    fn short_band_is_ahead_of_every_hog() {
        let p = policy();
        let hog = p.decide(&view(3_600_000, None), 0, 1);
        let slow_short = p.decide(&view(0, Some(95)), 0, 1);
        let fast_short = p.decide(&view(0, Some(20)), 0, 1);
        assert!(fast_short.deadline < slow_short.deadline);
        assert!(slow_short.deadline < hog.deadline, "{slow_short:?} {hog:?}");
        assert_eq!(slow_short.deadline, SHORT_BAND_NS);
        assert_eq!(hog.deadline, AGING_CAP_NS);
        // A hog enqueued half a cap earlier is ahead of a new short task.
        let late_short = p.decide(&view(0, Some(95)), SHORT_BAND_NS + 1, 1);
        assert!(hog.deadline < late_short.deadline);
    }

    /// Aging: a long task enqueued at t0 is ahead of every task enqueued after t0 + cap,
    /// however short those are.
    #[test]
    fn no_starvation_beyond_the_aging_cap() {
        let p = policy();
        let hog = p.decide(&view(3_600_000, None), 0, 1);
        let newcomer = p.decide(&view(0, Some(1)), AGING_CAP_NS + 1, 1);
        assert!(hog.deadline < newcomer.deadline, "{hog:?} {newcomer:?}");
        let nice19 = p.decide(
            &TaskView {
                weight: 1,
                ..view(3_600_000, None)
            },
            0,
            1,
        );
        assert!(nice19.deadline <= AGING_CAP_NS);
    }

    #[test]
    fn slices_respect_bounds() {
        let p = policy();
        assert_eq!(p.decide(&view(500, None), 0, 0).slice_ns, 5_000_000);
        assert_eq!(p.decide(&view(500, None), 0, 1000).slice_ns, 500_000);
        assert_eq!(
            p.decide(
                &TaskView {
                    weight: 10_000,
                    ..view(500, None)
                },
                0,
                0
            )
            .slice_ns,
            20_000_000
        );
    }

    #[test]
    fn task_classes() {
        let p = policy();
        let sleeper = |burst_ns| TaskView {
            sleep_ratio: 0.9,
            burst_ewma_ns: burst_ns,
            ..view(500, None)
        };
        assert_eq!(
            p.decide(&sleeper(100_000), 0, 1).class,
            TaskClass::Interactive
        );
        assert_eq!(
            p.decide(&sleeper(10_000_000), 0, 1).class,
            TaskClass::IoBound
        );
        assert_eq!(
            p.decide(&view(0, Some(30)), 0, 1).class,
            TaskClass::ShortFaas
        );
        assert_eq!(p.decide(&view(0, None), 0, 1).class, TaskClass::ShortFaas);
        assert_eq!(p.decide(&view(900, None), 0, 1).class, TaskClass::BatchCpu);
        assert_eq!(
            p.decide(&view(0, Some(5_000)), 0, 1).class,
            TaskClass::BatchCpu
        );
    }

    #[test]
    fn modes_change_slices_order_strength_and_cpu_choice() {
        let base = SliceConfig::from_us(5_000, 500, 2).unwrap();
        let throughput = ModeParams {
            slice_pct: 200,
            batch_slice_pct: 200,
            ..ModeParams::default()
        };
        let latency = ModeParams {
            slice_pct: 50,
            slice_min_pct: 50,
            short_first: 32,
            cpu_choice: CpuChoice::Spread,
            ..ModeParams::default()
        };
        let hog = view(900, None);
        let t = Policy::with_mode(base, &throughput).decide(&hog, 0, 1);
        let l = Policy::with_mode(base, &latency).decide(&hog, 0, 1);
        assert_eq!(t.slice_ns, 20_000_000);
        assert_eq!(l.slice_ns, 2_500_000);
        let short = view(0, Some(10));
        let d_default = policy().decide(&short, 0, 1).deadline;
        let d_latency = Policy::with_mode(base, &latency)
            .decide(&short, 0, 1)
            .deadline;
        assert_eq!(d_latency, 2 * d_default);
        assert_eq!(
            Policy::with_mode(base, &latency).cpu_choice(),
            CpuChoice::Spread
        );
        assert_eq!(policy().cpu_choice(), CpuChoice::Locality);
    }

    /// A boosted hog gets longer slices and an earlier place than an equal unboosted one,
    /// the boost is capped, and the aging bound still holds for everyone.
    #[test]
    fn cgroup_boost_is_capped_and_keeps_the_aging_bound() {
        let p = policy();
        let plain = view(900, None);
        let boosted = TaskView {
            boost_pct: 400,
            ..plain
        };
        let huge = TaskView {
            boost_pct: 100_000,
            ..plain
        };
        let (a, b) = (p.decide(&plain, 0, 4), p.decide(&boosted, 0, 4));
        assert!(b.slice_ns > a.slice_ns, "{a:?} {b:?}");
        assert!(b.deadline <= a.deadline);
        assert_eq!(
            huge.effective_weight(),
            (WEIGHT_DEFAULT as f64 * BOOST_FACTOR_MAX) as u64
        );
        let long_plain = p.decide(&view(3_600_000, None), 0, 1);
        assert!(long_plain.deadline <= AGING_CAP_NS);
        let newcomer = p.decide(
            &TaskView {
                boost_pct: 800,
                ..view(0, Some(1))
            },
            AGING_CAP_NS + 1,
            1,
        );
        assert!(long_plain.deadline < newcomer.deadline);
    }

    #[test]
    fn bad_slice_flags_are_rejected_with_values() {
        let e = SliceConfig::from_us(1000, 5000, 2).unwrap_err();
        assert!(e.contains("5000") && e.contains("1000"), "{e}");
        assert!(SliceConfig::from_us(0, 0, 2).is_err());
        assert!(SliceConfig::from_us(20_000_000, 1, 2).is_err());
    }
}
