// SPDX-License-Identifier: GPL-2.0-only
//! What a bench run does: the workloads, schedulers and repetitions, from the flags.

use super::*;

/// What runs and how often.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub reps: u32,
    /// FaaS traces: `azure`, `gen`, `extra` (--trace FILE).
    pub traces: Vec<String>,
    /// Offered FaaS loads per CPU (arrival times scaled to them).
    pub loads: Vec<f64>,
    /// Replays without (0) and with (1) one CPU hog per CPU beside.
    pub hogs: Vec<u8>,
    /// Invocations per replay.
    pub replay_n: u32,
    /// The largest payload argument a replay launches (every argument shifted to fit), per
    /// trace: azure, gen, extra. Chosen so that both short and long invocations occur and a
    /// replay lasts tens of seconds of guest time.
    pub max_arg: [u32; 3],
    /// Seconds per stressor.
    pub stress_s: u32,
    /// hackbench messages per sender (4 groups of 40 processes).
    pub hackbench_loops: u32,
    /// cyclictest wakeups (1 ms period).
    pub cyclic_loops: u32,
    /// Calibration up to fib(cal_max).
    pub cal_max: u32,
    /// scx_foresight first replays a held-out trace with --record and its measured runs start
    /// from the models fitted on it (false: `--cold`, online learning only).
    pub train: bool,
    /// Record the kernel's scheduling events during every replay (`--sched-trace`).
    pub sched_trace: bool,
    /// With it, scx_foresight's decisions too (`--trace-decisions`).
    pub trace_decisions: bool,
}

impl Plan {
    pub fn new(args: &BenchArgs) -> Plan {
        let mut plan = if args.quick {
            Plan {
                reps: 2,
                traces: vec!["azure".into(), "gen".into()],
                loads: vec![0.7],
                hogs: vec![0, 1],
                replay_n: 50,
                max_arg: [36, 34, 34],
                stress_s: 1,
                hackbench_loops: 20,
                cyclic_loops: 500,
                cal_max: 36,
                train: !args.cold,
                sched_trace: args.sched_trace,
                trace_decisions: args.trace_decisions,
            }
        } else {
            Plan {
                reps: 3,
                traces: vec!["azure".into(), "gen".into()],
                loads: vec![0.5, 0.7, 0.9],
                hogs: vec![0, 1],
                replay_n: 400,
                max_arg: [38, 36, 36],
                stress_s: 10,
                hackbench_loops: 200,
                cyclic_loops: 5000,
                cal_max: 40,
                train: !args.cold,
                sched_trace: args.sched_trace,
                trace_decisions: args.trace_decisions,
            }
        };
        if let Some(r) = args.reps {
            plan.reps = r;
        }
        if !args.traces.is_empty() {
            plan.traces = args.traces.clone();
        }
        if !args.loads.is_empty() {
            plan.loads = args.loads.clone();
        }
        if !args.hogs.is_empty() {
            plan.hogs = args.hogs.clone();
        }
        if let Some(n) = args.replay_n {
            plan.replay_n = n;
        }
        if args.trace.is_some() {
            plan.traces.push("extra".into());
        }
        plan
    }

    /// The guest's settings, as kernel command-line words (no spaces: the variant's flags go
    /// comma separated).
    pub fn params(&self, schedulers: &[String], variant: &[String]) -> Vec<String> {
        let list = |v: &[String]| v.join(",");
        vec![
            format!("fs_scheds={}", list(schedulers)),
            format!("fs_variant_args={}", list(variant)),
            format!("fs_reps={}", self.reps),
            format!("fs_traces={}", list(&self.traces)),
            format!(
                "fs_loads={}",
                list(&self.loads.iter().map(|l| l.to_string()).collect::<Vec<_>>())
            ),
            format!(
                "fs_hogs={}",
                list(&self.hogs.iter().map(|h| h.to_string()).collect::<Vec<_>>())
            ),
            format!("fs_replay_n={}", self.replay_n),
            format!("fs_max_arg_azure={}", self.max_arg[0]),
            format!("fs_max_arg_gen={}", self.max_arg[1]),
            format!("fs_max_arg_extra={}", self.max_arg[2]),
            format!("fs_stress_s={}", self.stress_s),
            format!("fs_hack_loops={}", self.hackbench_loops),
            format!("fs_cyclic_loops={}", self.cyclic_loops),
            format!("fs_cal_max={}", self.cal_max),
            format!("fs_train={}", u8::from(self.train)),
            format!("fs_sched_trace={}", u8::from(self.sched_trace)),
            format!("fs_trace_decisions={}", u8::from(self.trace_decisions)),
        ]
    }

    /// Generous: with hogs beside, a replay at high load runs well past its trace.
    pub fn timeout(&self, n_scheds: usize) -> Duration {
        let replays = (self.traces.len() * self.loads.len() * self.hogs.len()) as u64;
        let per_replay_s = 30 + u64::from(self.replay_n) / 2;
        let per_run_s = replays * per_replay_s + 6 * u64::from(self.stress_s) + 180;
        let train_s = if self.train { per_replay_s + 60 } else { 0 };
        Duration::from_secs(
            BENCH_SLACK_S + train_s + per_run_s * u64::from(self.reps) * n_scheds as u64,
        )
    }
}

/// The Azure workload file, if there is one.
pub fn azure_workload() -> Option<PathBuf> {
    let path = std::env::var_os("FORESIGHT_AZURE_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join(AZURE_WORKLOAD));
    path.is_file().then_some(path)
}
