// SPDX-License-Identifier: GPL-2.0-only
//! The scheduling policy: for each queued task, its deadline (the dispatch order) and its slice.
//!
//! Free of BPF types: the live loop converts the kernel's queued task into a [`TaskSample`],
//! so the same code can be driven by tests and, later, by the simulator.
//!
//! Rule: `deadline = vruntime + min(run since last sleep, cap)`, where vruntime advances by the
//! time actually run scaled by `WEIGHT_DEFAULT / weight`, and a task that slept may lag the
//! global vruntime by at most `SLEEP_CREDIT_NS` (a bounded credit for sleeping). Every task's
//! deadline therefore lies within `[vruntime_now - credit, vruntime_now + cap]`; since
//! `vruntime_now` only grows as tasks run, any waiting task is eventually the earliest: no
//! task starves.

/// Nanoseconds in a microsecond (CLI values are in µs).
pub const NSEC_PER_USEC: u64 = 1_000;
/// The kernel's weight for nice 0.
pub const WEIGHT_DEFAULT: u64 = 100;
/// Default maximum slice: what a task gets when nothing else waits.
pub const SLICE_NS_DEFAULT: u64 = 20_000_000;
/// Default minimum slice: the floor however many tasks wait.
pub const SLICE_NS_MIN_DEFAULT: u64 = 1_000_000;
/// Largest weight factor applied to a slice, so a high-priority task cannot hold a CPU forever.
pub const SLICE_WEIGHT_CAP: u64 = 4;
/// How many maximum slices of run-since-sleep may push a deadline back (bounds CPU hogs' delay).
pub const EXEC_PENALTY_SLICES: u64 = 8;

/// What the policy needs to know about one queued task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSample {
    pub pid: i32,
    /// Scheduling weight, 1..=10000, 100 for nice 0.
    pub weight: u64,
    /// The task's vruntime as last decided by us; 0 for a task we have never seen.
    pub vruntime: u64,
    /// Nanoseconds the task ran in its last stint on a CPU.
    pub last_run_ns: u64,
    /// Nanoseconds run since the task last slept.
    pub run_since_sleep_ns: u64,
}

/// The policy's verdict for one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The task's new vruntime (handed back to the kernel and returned next time).
    pub vruntime: u64,
    /// Dispatch order: lower runs first.
    pub deadline: u64,
    /// Time slice in nanoseconds.
    pub slice_ns: u64,
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
}

/// Weighted-vruntime policy with a bounded sleep credit; keeps the global clock.
#[derive(Debug, Clone)]
pub struct VruntimePolicy {
    cfg: SliceConfig,
    /// Grows by every charged (weighted) run: the clock new and waking tasks are aligned to.
    vruntime_now: u64,
}

impl VruntimePolicy {
    pub fn new(cfg: SliceConfig) -> Self {
        Self {
            cfg,
            vruntime_now: 0,
        }
    }

    pub fn vruntime_now(&self) -> u64 {
        self.vruntime_now
    }

    /// Most a sleeper may lag the clock: one maximum slice.
    pub fn sleep_credit_ns(&self) -> u64 {
        self.cfg.slice_ns
    }

    /// Charge the task's last run and return its deadline and slice; `nr_waiting` is how many
    /// tasks are queued in this round (the slice shrinks when many wait).
    pub fn decide(&mut self, task: &TaskSample, nr_waiting: usize) -> Decision {
        let vruntime = self.charge(task);
        let penalty = task
            .run_since_sleep_ns
            .min(self.cfg.slice_ns.saturating_mul(EXEC_PENALTY_SLICES));
        Decision {
            vruntime,
            deadline: vruntime.saturating_add(penalty),
            slice_ns: self.slice_for(task.weight, nr_waiting),
        }
    }

    /// Align the task to the clock (bounded sleep credit) and add its weighted run.
    fn charge(&mut self, task: &TaskSample) -> u64 {
        let floor = self.vruntime_now.saturating_sub(self.sleep_credit_ns());
        let start = if task.vruntime == 0 {
            self.vruntime_now
        } else {
            task.vruntime.max(floor)
        };
        let weighted = scale_inverse_by_weight(task.last_run_ns, task.weight);
        self.vruntime_now = self.vruntime_now.saturating_add(weighted);
        start.saturating_add(weighted)
    }

    /// Slice shrinks with the number of waiting tasks per CPU, grows with weight (capped).
    pub fn slice_for(&self, weight: u64, nr_waiting: usize) -> u64 {
        let per_cpu_waiting = (nr_waiting as u64).div_ceil(self.cfg.nr_cpus);
        let base = (self.cfg.slice_ns / per_cpu_waiting.max(1)).max(self.cfg.slice_ns_min);
        let factor_pct = (weight.max(1) * 100 / WEIGHT_DEFAULT).min(SLICE_WEIGHT_CAP * 100);
        (base * factor_pct / 100).clamp(self.cfg.slice_ns_min, self.cfg.slice_ns * SLICE_WEIGHT_CAP)
    }
}

/// Time scaled by `WEIGHT_DEFAULT / weight`: heavier tasks age slower.
pub fn scale_inverse_by_weight(ns: u64, weight: u64) -> u64 {
    ns.saturating_mul(WEIGHT_DEFAULT) / weight.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SliceConfig {
        SliceConfig::from_us(20_000, 1_000, 2).unwrap()
    }

    fn sample(pid: i32, vruntime: u64, last_run_ns: u64, run_since_sleep_ns: u64) -> TaskSample {
        TaskSample {
            pid,
            weight: WEIGHT_DEFAULT,
            vruntime,
            last_run_ns,
            run_since_sleep_ns,
        }
    }

    #[test]
    fn heavier_weight_ages_slower() {
        let mut p = VruntimePolicy::new(cfg());
        let light = p.decide(
            &TaskSample {
                weight: 50,
                ..sample(1, 1, 1_000_000, 0)
            },
            1,
        );
        let heavy = p.decide(
            &TaskSample {
                weight: 200,
                ..sample(2, 1, 1_000_000, 0)
            },
            1,
        );
        assert!(heavy.vruntime < light.vruntime, "{heavy:?} vs {light:?}");
    }

    #[test]
    fn sleep_credit_is_bounded() {
        let mut p = VruntimePolicy::new(cfg());
        // Advance the clock far beyond one slice.
        let mut v = 1;
        for _ in 0..100 {
            v = p.decide(&sample(1, v, 10_000_000, 10_000_000), 1).vruntime;
        }
        // A task that slept for ages comes back at most one slice behind the clock.
        let sleeper = p.decide(&sample(2, 1, 0, 0), 1);
        assert_eq!(sleeper.vruntime, p.vruntime_now() - p.sleep_credit_ns());
    }

    #[test]
    fn sleeper_goes_before_hog() {
        let mut p = VruntimePolicy::new(cfg());
        let mut hog = 1;
        for _ in 0..10 {
            hog = p
                .decide(&sample(1, hog, 20_000_000, 200_000_000), 1)
                .vruntime;
        }
        let hog_d = p.decide(&sample(1, hog, 20_000_000, 220_000_000), 2);
        let sleeper_d = p.decide(&sample(2, hog, 100_000, 100_000), 2);
        assert!(sleeper_d.deadline < hog_d.deadline);
    }

    #[test]
    fn slice_shrinks_with_waiting_tasks_and_respects_bounds() {
        let p = VruntimePolicy::new(cfg());
        assert_eq!(p.slice_for(WEIGHT_DEFAULT, 0), 20_000_000);
        assert_eq!(p.slice_for(WEIGHT_DEFAULT, 4), 10_000_000);
        assert_eq!(p.slice_for(WEIGHT_DEFAULT, 10_000), 1_000_000);
        assert_eq!(p.slice_for(10_000, 0), 80_000_000);
        assert_eq!(p.slice_for(1, 10_000), 1_000_000);
    }

    /// A CPU hog competing with a stream of fresh short tasks on one CPU is served within a
    /// bounded number of rounds: no starvation.
    #[test]
    fn hog_is_not_starved_by_a_stream_of_newcomers() {
        let mut p = VruntimePolicy::new(SliceConfig::from_us(20_000, 1_000, 1).unwrap());
        let mut hog = p.decide(&sample(1, 0, 0, 0), 1);
        let mut hog_waited = 0;
        let mut max_wait = 0;
        for round in 0..10_000 {
            // One newcomer per round, running 1 ms each.
            let newcomer = p.decide(&sample(1000 + round, 0, 0, 0), 2);
            if newcomer.deadline < hog.deadline {
                // The newcomer runs; charge it.
                p.decide(
                    &sample(1000 + round, newcomer.vruntime, 1_000_000, 1_000_000),
                    1,
                );
                hog_waited += 1;
                max_wait = max_wait.max(hog_waited);
            } else {
                hog = p.decide(&sample(1, hog.vruntime, hog.slice_ns, 1_000_000_000), 2);
                hog_waited = 0;
            }
        }
        assert!(max_wait > 0, "newcomers should sometimes go first");
        assert!(max_wait < 400, "hog waited {max_wait} rounds");
    }

    #[test]
    fn bad_slice_flags_are_rejected_with_values() {
        let e = SliceConfig::from_us(1000, 5000, 2).unwrap_err();
        assert!(e.contains("5000") && e.contains("1000"), "{e}");
        assert!(SliceConfig::from_us(0, 0, 2).is_err());
        assert!(SliceConfig::from_us(20_000_000, 1, 2).is_err());
    }
}
