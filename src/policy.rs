// SPDX-License-Identifier: GPL-2.0-only
//! The scheduling policy: for each queued task, its deadline (dispatch order) and its slice,
//! from a prediction of the CPU it still needs.
//!
//! Free of BPF types: the live loop and the simulator both build a [`TaskView`] and call
//! [`Policy::decide`], so the simulator's numbers describe the live scheduler.
//!
//! - Order: shortest predicted remaining CPU first. deadline = now + min(stretch × remaining
//!   × 100/weight, `AGING_CAP_NS`): a task enqueued at t has a deadline ≤ t + cap, every later
//!   arrival a deadline ≥ its own arrival, so no task waits behind newcomers for more than the
//!   cap (aging) — nothing starves.
//! - Remaining: predicted total − CPU used so far; a task that outran its prediction (or has
//!   none) is expected to need as much again as it already used (attained-service rule), and
//!   an unknown new task gets `UNKNOWN_NEW_NS`, so fresh short invocations go first.
//! - Interactive tasks (mostly sleeping, short bursts) are judged by their burst: low latency.
//! - Slice: a task predicted short gets prediction + margin (capped), to finish in one go;
//!   long tasks share by weight with the base slice, shorter when many wait.

/// Nanoseconds in a microsecond (CLI values are in µs).
pub const NSEC_PER_USEC: u64 = 1_000;
/// The kernel's weight for nice 0.
pub const WEIGHT_DEFAULT: u64 = 100;
/// Default base slice for tasks that are not predicted short.
pub const SLICE_NS_DEFAULT: u64 = 5_000_000;
/// Default minimum slice.
pub const SLICE_NS_MIN_DEFAULT: u64 = 500_000;
/// Largest weight factor applied to a slice.
pub const SLICE_WEIGHT_CAP: u64 = 4;
/// How much one ns of predicted remaining CPU counts against one ns of waiting in the
/// deadline: large, so the order is by size (like SRPT), with waiting time as the tie-breaker.
pub const REMAINING_STRETCH: u64 = 16;
/// The most a task's deadline can lie in the future: the aging bound on how long newcomers
/// can go ahead of it. Well under the kernel's 5 s watchdog (a task runnable that long gets
/// the scheduler evicted), leaving room for the queue ahead of it.
pub const AGING_CAP_NS: u64 = 1_000_000_000;
/// A task predicted to need at most this much more gets a run-to-completion slice.
pub const SHORT_TASK_NS: u64 = 100_000_000;
/// Margin on a short task's slice over its prediction (percent) plus a fixed slack.
pub const SHORT_SLICE_MARGIN_PCT: u64 = 25;
pub const SHORT_SLICE_SLACK_NS: u64 = 2_000_000;
/// Remaining CPU assumed for a new task nothing is known about.
pub const UNKNOWN_NEW_NS: u64 = 1_000_000;
/// Share of enqueues after a sleep above which a task counts as interactive.
pub const INTERACTIVE_SLEEP_RATIO: f64 = 0.5;

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

/// Shortest-predicted-remaining-first with aging, run-to-completion slices for short tasks.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    cfg: SliceConfig,
}

impl Policy {
    pub fn new(cfg: SliceConfig) -> Self {
        Self { cfg }
    }

    /// Decide one task enqueued at `now_ns` while `nr_waiting` tasks wait in total.
    pub fn decide(&self, t: &TaskView, now_ns: u64, nr_waiting: usize) -> Decision {
        let remaining = remaining_ns(t);
        let key = scale_inverse_by_weight(remaining.saturating_mul(REMAINING_STRETCH), t.weight)
            .min(AGING_CAP_NS);
        Decision {
            deadline: now_ns.saturating_add(key),
            slice_ns: self.slice_for(t, remaining, nr_waiting),
            remaining_ns: remaining,
        }
    }

    /// Run-to-completion for trusted short predictions, else a weighted share.
    fn slice_for(&self, t: &TaskView, remaining: u64, nr_waiting: usize) -> u64 {
        let predicted_short = t.predicted_total_ns.is_some() && remaining <= SHORT_TASK_NS;
        if predicted_short {
            return (remaining + remaining * SHORT_SLICE_MARGIN_PCT / 100 + SHORT_SLICE_SLACK_NS)
                .clamp(self.cfg.slice_ns_min, SHORT_TASK_NS * 2);
        }
        let per_cpu_waiting = (nr_waiting as u64).div_ceil(self.cfg.nr_cpus);
        let base = (self.cfg.slice_ns / per_cpu_waiting.max(1)).max(self.cfg.slice_ns_min);
        let factor_pct = (t.weight.max(1) * 100 / WEIGHT_DEFAULT).min(SLICE_WEIGHT_CAP * 100);
        (base * factor_pct / 100).clamp(self.cfg.slice_ns_min, self.cfg.slice_ns * SLICE_WEIGHT_CAP)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(SliceConfig::from_us(5_000, 500, 2).unwrap())
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
        let short = p.decide(&view(0, Some(20)), 1000, 4);
        let long = p.decide(&view(0, Some(5_000)), 1000, 4);
        assert!(short.deadline < long.deadline);
        assert!(
            short.slice_ns >= 20_000_000 && short.slice_ns <= 30_000_000,
            "{short:?}"
        );
        assert!(long.slice_ns <= 5_000_000);
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
    fn bad_slice_flags_are_rejected_with_values() {
        let e = SliceConfig::from_us(1000, 5000, 2).unwrap_err();
        assert!(e.contains("5000") && e.contains("1000"), "{e}");
        assert!(SliceConfig::from_us(0, 0, 2).is_err());
        assert!(SliceConfig::from_us(20_000_000, 1, 2).is_err());
    }
}
