// SPDX-License-Identifier: GPL-2.0-only
//! A discrete-event simulator of `cpus` CPUs running a trace of invocations under a policy.
//!
//! `foresight` runs the live policy ([`crate::core::policy::Policy`]) and the live model code
//! ([`crate::core::trainer::Trainer`], [`crate::core::model::ModelSet`]), learning online from every
//! completed invocation, exactly as the scheduler does. Like the live scheduler (which cannot
//! preempt through the BPF layer), it decides at enqueue time and a task keeps its CPU until
//! its slice ends; a fresh invocation's first run ends at its exec (`exec_run_ns`: the process
//! start), where the live exec tracer ends the slice and the new image is decided again with
//! its identity. `fifo` runs each invocation to completion in arrival order; `fair` is
//! time-sliced and weight-fair like the kernel's default (smallest vruntime first, EEVDF's
//! base slice); `oracle` is preemptive shortest-remaining-time with the true demand: the limit.
//!
//! Deterministic: no clock, no threads, no hashing order in the results.

use serde::Serialize;

use crate::core::features::{
    general_features, Behaviour, Invocation, CATEGORY_BUCKETS, FUNCTION_FEATURES, GENERAL_FEATURES,
};
use crate::core::model::{FunctionId, Interner, ModelSet, Sample};
use crate::core::policy::{exec_slice_ns, Policy, SliceConfig, TaskView, WEIGHT_DEFAULT};
use crate::core::trainer::Trainer;
use crate::formats::trace::Row;

mod engine;
use engine::sliced;

/// Default threshold between short and long invocations (µs of CPU).
pub const SHORT_US_DEFAULT: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Fifo,
    Fair,
    Foresight,
    Oracle,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [Self::Fifo, Self::Fair, Self::Foresight, Self::Oracle];

    pub fn name(self) -> &'static str {
        match self {
            Self::Fifo => "fifo",
            Self::Fair => "fair",
            Self::Foresight => "foresight",
            Self::Oracle => "oracle",
        }
    }
}

/// One invocation as the simulator sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub arrival_ns: u64,
    pub cpu_ns: u64,
    pub func: Option<FunctionId>,
    pub exe: Option<FunctionId>,
    pub fx: [f64; FUNCTION_FEATURES],
    pub cx: [f64; CATEGORY_BUCKETS],
    pub gx: [f64; GENERAL_FEATURES],
}

impl Job {
    /// A job known only by its arrival and demand (no identity, no features).
    pub fn anonymous(arrival_ns: u64, cpu_ns: u64) -> Self {
        Self {
            arrival_ns,
            cpu_ns,
            func: None,
            exe: None,
            fx: [0.0; FUNCTION_FEATURES],
            cx: [0.0; CATEGORY_BUCKETS],
            gx: [0.0; GENERAL_FEATURES],
        }
    }
}

/// Jobs from trace rows, with function identities interned the way the live scheduler does.
pub fn jobs_from_trace(rows: &[Row]) -> (Vec<Job>, Interner) {
    let mut names = Interner::default();
    let jobs = rows
        .iter()
        .map(|r| {
            let inv = Invocation::from_args(&r.function, r.args.split_whitespace());
            let behaviour = Behaviour {
                weight: WEIGHT_DEFAULT,
                ..Behaviour::default()
            };
            Job {
                arrival_ns: r.arrival_us * 1000,
                cpu_ns: r.cpu_us * 1000,
                func: names.intern(&inv.identity),
                exe: names.intern(&inv.executable_identity()),
                fx: inv.function_features(),
                cx: inv.category_features(),
                gx: general_features(Some(&inv), &behaviour),
            }
        })
        .collect();
    (jobs, names)
}

/// When each job first ran and finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobTimes {
    pub first_run_ns: u64,
    pub finish_ns: u64,
}

/// Simulation parameters.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub cpus: u32,
    pub policy: PolicyKind,
    pub slices: SliceConfig,
    /// Models to start from (foresight only); online learning continues from them.
    pub prior: ModelSet,
    /// Foresight predicts a job from this enqueue on (1: from its arrival); the identity is
    /// known during the run before it, so a job that ends then is still a training sample. The
    /// live scheduler learns the identity at exec, in the first run after the fork's enqueue,
    /// and predicts from the 2nd enqueue ([`IDENTIFY_FROM_ENQUEUE_LIVE`]); before the exec
    /// tracer, /proc was asked at the 2nd enqueue and answered for the 3rd.
    pub identify_from_enqueue: u32,
    /// The live scheduler's mode parameters in force (foresight only): a workload class's
    /// mode changes slices and the short-first stretch.
    pub mode: crate::core::policy::ModeParams,
    /// Foresight only: later mode changes, sorted by time (ns on the trace's clock): from
    /// each on, decisions use its parameters, as the live classifier switches during a replay.
    pub mode_changes: Vec<(u64, crate::core::policy::ModeParams)>,
    /// Foresight only: an arrival while every CPU is busy preempts a task that has run at
    /// least this long since it started (the live scheduler's `--wake-preempt-us`); 0: never.
    pub wake_preempt_min_run_ns: u64,
    /// Foresight only: an arrival while every CPU is busy also preempts a task that has used
    /// at least this much CPU in all (the live `--rt-preempt-cpu-us`: the replayer's real-time
    /// launcher ends the slice of a long runner it interrupts); 0: never.
    pub rt_preempt_min_cpu_ns: u64,
    /// Foresight only: a new invocation's first run ends after this much CPU, where the live
    /// exec tracer (`bpf/execs.bpf.c`) ends the slice of the image that just exec'd, and it is
    /// queued again — the process start before its own code; 0: an ordinary first slice.
    pub exec_run_ns: u64,
    /// Foresight only: what the exec tracer leaves of that first slice after the exec (the
    /// live `--exec-grace-us`): an invocation done within it is not queued again.
    pub exec_grace_ns: u64,
    /// Foresight only: an invocation whose function or executable model predicts at most this
    /// much CPU keeps the CPU after its exec until done (the live `--exec-finish-us`); others
    /// get the grace.
    pub exec_finish_ns: u64,
    /// Foresight only: an invocation predicted to need more than that keeps nothing after its
    /// exec and is queued again (the live `--exec-end-long`).
    pub exec_end_long: bool,
    /// Foresight only: the kernel's scheduler tick (ns). Live, a slice ends only at the first
    /// tick after it ran out (4 ms apart at the VM's HZ=250); 0: every slice ends on time.
    pub tick_ns: u64,
    /// Foresight only: slices shorter than this end on time even with a tick, as the live
    /// `--slice-timer-us` makes them (the dispatcher's timer); 0: none.
    pub slice_timer_max_ns: u64,
    /// Foresight only: every such slice, not only those the policy marks (the live
    /// `--time-every-slice`).
    pub time_every_slice: bool,
}

/// The live scheduler's first enqueue with a prediction (the first after exec).
pub const IDENTIFY_FROM_ENQUEUE_LIVE: u32 = 2;

/// CPU a replayed invocation uses before its exec'd image is decided again (µs): the fastest
/// launch → `main` the instruction-count VM measured under the default scheduler (1499 µs).
pub const EXEC_RUN_US_DEFAULT: u64 = 1500;

/// Run the jobs (sorted by arrival) and return each one's times, plus the trainer (foresight).
pub fn simulate(jobs: &[Job], cfg: &SimConfig) -> (Vec<JobTimes>, Option<Trainer>) {
    match cfg.policy {
        PolicyKind::Oracle => (srpt(jobs, cfg.cpus.max(1) as usize), None),
        _ => sliced(jobs, cfg),
    }
}

/// Preemptive shortest-remaining-processing-time on `cpus` CPUs with the true demands.
fn srpt(jobs: &[Job], cpus: usize) -> Vec<JobTimes> {
    let mut times = vec![JobTimes::default(); jobs.len()];
    let mut started = vec![false; jobs.len()];
    // (remaining, job)
    let mut active: Vec<(u64, usize)> = Vec::new();
    let mut next = 0;
    let mut now = 0u64;
    while next < jobs.len() || !active.is_empty() {
        if active.is_empty() {
            now = now.max(jobs[next].arrival_ns);
        }
        while next < jobs.len() && jobs[next].arrival_ns <= now {
            active.push((jobs[next].cpu_ns, next));
            next += 1;
        }
        active.sort_unstable();
        let k = cpus.min(active.len());
        for &(_, j) in &active[..k] {
            if !started[j] {
                started[j] = true;
                times[j].first_run_ns = now;
            }
        }
        let to_finish = active[..k].iter().map(|a| a.0).min().unwrap_or(u64::MAX);
        let to_arrival = jobs.get(next).map_or(u64::MAX, |j| j.arrival_ns - now);
        let dt = to_finish.min(to_arrival);
        now += dt;
        for a in &mut active[..k] {
            a.0 -= dt;
            if a.0 == 0 {
                times[a.1].finish_ns = now;
            }
        }
        active.retain(|a| a.0 > 0);
    }
    times
}

/// Slowdown statistics of one class of invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean_slowdown: f64,
    pub p50_slowdown: f64,
    pub p99_slowdown: f64,
    pub max_slowdown: f64,
    pub mean_response_us: f64,
}

/// The `--json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub policy: String,
    pub cpus: u32,
    pub invocations: usize,
    pub short: Summary,
    pub long: Summary,
    pub all: Summary,
    /// Short invocations among the first FIRST_N: how fast a policy is good (cold start).
    pub first_100_short: Summary,
}

/// Invocations counted as the start of a run in `first_100_short`.
pub const FIRST_N: usize = 100;

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Slowdown = (finish − arrival) / cpu; response = finish − arrival.
pub fn summarize<'a>(items: impl Iterator<Item = (&'a Job, &'a JobTimes)>) -> Summary {
    let mut slow = Vec::new();
    let mut response_sum = 0.0;
    for (job, t) in items {
        let response = t.finish_ns.saturating_sub(job.arrival_ns) as f64;
        response_sum += response;
        slow.push(response / job.cpu_ns.max(1) as f64);
    }
    if slow.is_empty() {
        return Summary::default();
    }
    slow.sort_by(f64::total_cmp);
    let n = slow.len();
    Summary {
        count: n,
        mean_slowdown: slow.iter().sum::<f64>() / n as f64,
        p50_slowdown: percentile(&slow, 50.0),
        p99_slowdown: percentile(&slow, 99.0),
        max_slowdown: slow[n - 1],
        mean_response_us: response_sum / n as f64 / 1000.0,
    }
}

/// Report for a finished simulation; `short_us` splits short from long invocations.
pub fn report(jobs: &[Job], times: &[JobTimes], cfg: &SimConfig, short_us: u64) -> Report {
    let short_ns = short_us * 1000;
    let both = || jobs.iter().zip(times);
    Report {
        policy: cfg.policy.name().to_string(),
        cpus: cfg.cpus,
        invocations: jobs.len(),
        short: summarize(both().filter(|(j, _)| j.cpu_ns <= short_ns)),
        long: summarize(both().filter(|(j, _)| j.cpu_ns > short_ns)),
        all: summarize(both()),
        first_100_short: summarize(both().take(FIRST_N).filter(|(j, _)| j.cpu_ns <= short_ns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::SLICE_NS_DEFAULT;
    use crate::offline::tracegen::{generate, GenConfig};

    fn cfg(policy: PolicyKind, cpus: u32) -> SimConfig {
        SimConfig {
            cpus,
            policy,
            slices: SliceConfig::defaults(u64::from(cpus)),
            prior: ModelSet::default(),
            identify_from_enqueue: 1,
            mode: Default::default(),
            mode_changes: Vec::new(),
            wake_preempt_min_run_ns: 0,
            rt_preempt_min_cpu_ns: 0,
            exec_run_ns: 0,
            exec_grace_ns: 0,
            exec_finish_ns: 0,
            exec_end_long: false,
            tick_ns: 0,
            slice_timer_max_ns: 0,
            time_every_slice: false,
        }
    }

    fn job(arrival_ms: u64, cpu_ms: u64) -> Job {
        Job::anonymous(arrival_ms * 1_000_000, cpu_ms * 1_000_000)
    }

    #[test]
    fn single_job_runs_alone_under_every_policy() {
        for p in PolicyKind::ALL {
            let jobs = [job(5, 40)];
            let (t, _) = simulate(&jobs, &cfg(p, 2));
            assert_eq!(
                t[0],
                JobTimes {
                    first_run_ns: 5_000_000,
                    finish_ns: 45_000_000
                },
                "{p:?}"
            );
        }
    }

    /// An arrival preempts a task that has run past the bound, and only then; the preempted
    /// task loses no CPU time.
    #[test]
    fn wakeup_preemption_starts_the_newcomer_at_once() {
        let jobs = [job(0, 100), job(2, 1)];
        let run = |min_run_ns| {
            let cfg = SimConfig {
                wake_preempt_min_run_ns: min_run_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0
        };
        let off = run(0);
        let on = run(1_000_000);
        let too_soon = run(3_000_000);
        // Without: the newcomer waits for the running task's slice (the base 5 ms).
        assert_eq!(off[1].first_run_ns, SLICE_NS_DEFAULT);
        assert_eq!(on[1].first_run_ns, 2_000_000);
        assert_eq!(on[1].finish_ns, 3_000_000);
        assert_eq!(too_soon[1].first_run_ns, SLICE_NS_DEFAULT);
        // Work conserving either way: the long job ends when all the CPU time is used.
        assert_eq!(on[0].finish_ns, 101_000_000);
        assert_eq!(off[0].finish_ns, 101_000_000);
    }

    /// With a tick, a slice cut at exec runs on to the next tick, as live; the slice timer ends
    /// it on time again; no CPU time is lost either way.
    #[test]
    fn a_tick_stretches_short_slices_unless_timed() {
        let jobs = [job(0, 3), job(0, 3)];
        let run = |tick_ns, slice_timer_max_ns| {
            let cfg = SimConfig {
                exec_run_ns: 1_000_000,
                tick_ns,
                slice_timer_max_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0
        };
        let exact = run(0, 0);
        let ticked = run(4_000_000, 0);
        let timed = run(4_000_000, 4_000_000);
        assert_eq!(exact[1].first_run_ns, 1_000_000, "{exact:?}");
        // The first job runs to its end (3 ms) before the tick at 4 ms.
        assert_eq!(ticked[1].first_run_ns, 3_000_000, "{ticked:?}");
        assert_eq!(timed[1].first_run_ns, 1_000_000, "{timed:?}");
        for t in [&exact, &ticked, &timed] {
            assert_eq!(t.iter().map(|t| t.finish_ns).max(), Some(6_000_000));
        }
        let bound = |now, slice, max, timed| {
            let cfg = SimConfig {
                tick_ns: 4_000_000,
                slice_timer_max_ns: max,
                ..cfg(PolicyKind::Foresight, 1)
            };
            engine::tick_bound_ns(&cfg, now, slice, timed)
        };
        assert_eq!(bound(1_000_000, 500_000, 0, true), 3_000_000);
        assert_eq!(bound(1_000_000, 500_000, 4_000_000, true), 500_000);
        // The policy did not ask for it to end on time: the tick ends it.
        assert_eq!(bound(1_000_000, 500_000, 4_000_000, false), 3_000_000);
        assert_eq!(bound(1_000_000, 5_000_000, 4_000_000, true), 7_000_000);
        assert_eq!(bound(4_000_000, 4_000_000, 0, true), 4_000_000);
    }

    /// An arrival ends the run of a task that has used the real-time bound in all, however
    /// briefly it has run since it started; one that used less keeps its slice.
    #[test]
    fn a_launcher_preempts_a_long_runner_only() {
        // The second slice of the long job starts at 5 ms; the arrival comes 1 ms into it.
        let jobs = [job(0, 100), job(6, 1)];
        let run = |rt_min_cpu_ns| {
            let cfg = SimConfig {
                rt_preempt_min_cpu_ns: rt_min_cpu_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0
        };
        let long_runner = run(5_000_000);
        let short_runner = run(7_000_000);
        assert_eq!(long_runner[1].first_run_ns, 6_000_000);
        assert_eq!(long_runner[0].finish_ns, 101_000_000);
        assert_eq!(short_runner[1].first_run_ns, 2 * SLICE_NS_DEFAULT);
    }

    /// The first run of a fresh invocation ends at its exec (plus the grace): the next
    /// arrival's first run follows it at once, and no CPU time is lost.
    #[test]
    fn first_run_ends_at_exec() {
        let jobs = [job(0, 3), job(0, 3)];
        let run = |exec_run_ns| {
            let cfg = SimConfig {
                exec_run_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0
        };
        let off = run(0);
        let on = run(1_000_000);
        assert!(off[1].first_run_ns >= 3_000_000, "{off:?}");
        assert_eq!(on[1].first_run_ns, 1_000_000, "{on:?}");
        let last = |t: &[JobTimes]| t.iter().map(|t| t.finish_ns).max();
        assert_eq!(last(&on), Some(6_000_000));
        assert_eq!(last(&off), Some(6_000_000));
        // Fair (the kernel's default) has no such end of slice.
        let fair = SimConfig {
            exec_run_ns: 1_000_000,
            ..cfg(PolicyKind::Fair, 1)
        };
        assert_eq!(simulate(&jobs, &fair).0[1].first_run_ns, 750_000);
        // A grace after the exec: the first run goes on that much longer; one that needs no
        // more than run + grace is done in it.
        let graced = |exec_grace_ns| {
            let cfg = SimConfig {
                exec_run_ns: 1_000_000,
                exec_grace_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0
        };
        assert_eq!(graced(500_000)[1].first_run_ns, 1_500_000);
        let done = graced(2_000_000);
        assert_eq!(done[0].finish_ns, 3_000_000, "{done:?}");
        assert_eq!(done[1].first_run_ns, 3_000_000, "{done:?}");
    }

    /// The exec rule: an invocation whose function is predicted within the bound keeps the CPU
    /// after its exec for its prediction + margin; one predicted longer, one without a
    /// function model, or any with the rule off, gets the grace (one predicted longer gets
    /// nothing with `exec_end_long`).
    #[test]
    fn exec_rule_sets_the_run_after_exec() {
        let mut trainer = Trainer::new(ModelSet::default());
        let known = Job {
            func: Some(0),
            ..job(0, 0)
        };
        let known = Job {
            cpu_ns: 2_000_000,
            ..known
        };
        for _ in 0..40 {
            trainer.add(Sample {
                func: known.func,
                exe: known.exe,
                fx: known.fx,
                cx: known.cx,
                gx: known.gx,
                cpu_ns: known.cpu_ns,
            });
        }
        trainer.refit_all();
        let first_run = |job: &Job, exec_finish_ns, exec_grace_ns| {
            let cfg = SimConfig {
                exec_run_ns: 1_000_000,
                exec_finish_ns,
                exec_grace_ns,
                ..cfg(PolicyKind::Foresight, 1)
            };
            engine::run_to_exec_ns(&cfg, Some(&trainer), job, 0, 5_000_000)
        };
        // 2 ms predicted: 2.5 ms + 2 ms after the 1 ms before the exec.
        let kept = first_run(&known, 3_000_000, 500_000);
        assert!((5_400_000..=5_600_000).contains(&kept), "{kept}");
        assert_eq!(first_run(&known, 1_500_000, 500_000), 1_500_000);
        assert_eq!(first_run(&known, 0, 500_000), 1_500_000);
        let unknown = Job {
            func: Some(1),
            ..known
        };
        assert_eq!(first_run(&unknown, 3_000_000, 500_000), 1_500_000);
        // Predicted past the bound, with end_long: nothing after the exec; unpredicted: the grace.
        let ended = SimConfig {
            exec_run_ns: 1_000_000,
            exec_finish_ns: 1_500_000,
            exec_grace_ns: 500_000,
            exec_end_long: true,
            ..cfg(PolicyKind::Foresight, 1)
        };
        let run_ended =
            |job: &Job| engine::run_to_exec_ns(&ended, Some(&trainer), job, 0, 5_000_000);
        assert_eq!(run_ended(&known), 1_000_000);
        assert_eq!(run_ended(&unknown), 1_500_000);
        // A fork whose slice ends before its exec runs it out; its next run reaches the exec.
        let cfg = SimConfig {
            exec_run_ns: 1_000_000,
            exec_finish_ns: 3_000_000,
            ..cfg(PolicyKind::Foresight, 1)
        };
        let run = |used, slice| engine::run_to_exec_ns(&cfg, Some(&trainer), &known, used, slice);
        assert_eq!(run(0, 600_000), 600_000);
        let second = run(600_000, 600_000);
        assert!((4_800_000..=5_000_000).contains(&second), "{second}");
        // Past its exec, a run is its slice.
        assert_eq!(run(1_000_000, 600_000), 600_000);
    }

    /// A mode change applies to decisions from its time on: quarter slices from 0 let the
    /// second arrival run sooner; the same change after the first slice was decided does not.
    #[test]
    fn mode_changes_apply_from_their_time() {
        let jobs = [job(0, 100), job(1, 5)];
        let quarter = crate::core::policy::ModeParams {
            slice_pct: 25,
            slice_min_pct: 25,
            ..Default::default()
        };
        let second_starts = |mode_changes| {
            let cfg = SimConfig {
                mode_changes,
                ..cfg(PolicyKind::Foresight, 1)
            };
            simulate(&jobs, &cfg).0[1].first_run_ns
        };
        let base = second_starts(vec![]);
        let from_0 = second_starts(vec![(0, quarter)]);
        let from_1s = second_starts(vec![(1_000_000_000, quarter)]);
        assert!(from_0 < base, "from 0: {from_0} ns, base {base} ns");
        assert_eq!(from_1s, base);
    }

    #[test]
    fn fifo_blocks_and_oracle_preempts_for_the_short_job() {
        let jobs = [job(0, 1000), job(10, 10)];
        let (fifo, _) = simulate(&jobs, &cfg(PolicyKind::Fifo, 1));
        assert_eq!(fifo[1].finish_ns, 1_010_000_000);
        let (oracle, _) = simulate(&jobs, &cfg(PolicyKind::Oracle, 1));
        assert_eq!(oracle[1].finish_ns, 20_000_000);
        assert_eq!(oracle[0].finish_ns, 1_010_000_000);
        let (fair, _) = simulate(&jobs, &cfg(PolicyKind::Fair, 1));
        assert!(
            fair[1].finish_ns < 40_000_000 && fair[1].finish_ns > 20_000_000,
            "{fair:?}"
        );
        // Foresight knows nothing about these jobs, yet the fresh one goes first at the next
        // slice end (attained-service rule).
        let (fs, _) = simulate(&jobs, &cfg(PolicyKind::Foresight, 1));
        assert!(fs[1].finish_ns <= 30_000_000, "{fs:?}");
    }

    #[test]
    fn work_is_conserved_and_deterministic() {
        let rows = generate(&GenConfig {
            cpus: 2,
            load: 0.8,
            duration_s: 200.0,
            seed: 5,
        });
        let (jobs, _) = jobs_from_trace(&rows);
        for p in PolicyKind::ALL {
            let c = cfg(p, 2);
            let (a, _) = simulate(&jobs, &c);
            let (b, _) = simulate(&jobs, &c);
            assert_eq!(a, b, "{p:?} not deterministic");
            for (j, t) in jobs.iter().zip(&a) {
                assert!(
                    t.finish_ns >= j.arrival_ns + j.cpu_ns,
                    "{p:?}: finished too early"
                );
                assert!(t.first_run_ns >= j.arrival_ns && t.first_run_ns <= t.finish_ns);
            }
        }
    }

    #[test]
    fn percentiles_and_summary() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        let jobs = [job(0, 10), job(0, 10)];
        let times = [
            JobTimes {
                first_run_ns: 0,
                finish_ns: 10_000_000,
            },
            JobTimes {
                first_run_ns: 0,
                finish_ns: 30_000_000,
            },
        ];
        let s = summarize(jobs.iter().zip(&times));
        assert_eq!(
            (s.count, s.mean_slowdown, s.max_slowdown, s.mean_response_us),
            (2, 2.0, 3.0, 20_000.0)
        );
    }
}
