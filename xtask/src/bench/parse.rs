// SPDX-License-Identifier: GPL-2.0-only
//! The guest's lines (`@@BENCH`, `@@INV`, …) into samples and invocations.

use super::*;

/// One measured figure: `@@BENCH sched rep workload metric value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub sched: String,
    pub rep: u32,
    pub workload: String,
    pub metric: String,
    pub value: f64,
}

/// One replayed invocation: `@@INV sched rep workload <loadgen --out CSV line>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub sched: String,
    pub rep: u32,
    pub workload: String,
    pub arg: u32,
    pub demand_us: u64,
    pub arrival_us: u64,
    pub finish_us: u64,
    /// The payload's first instruction in main, on the replay's clock, µs.
    pub start_us: u64,
    /// Launch → the payload's first instruction in main: the process start, µs.
    pub startup_us: u64,
    pub ok: bool,
}

impl Invocation {
    pub fn completion_ms(&self) -> f64 {
        self.finish_us.saturating_sub(self.arrival_us) as f64 / 1000.0
    }

    /// Arrival to finish over the demand, as the replayer's summary computes it.
    pub fn slowdown(&self) -> f64 {
        self.finish_us.saturating_sub(self.arrival_us) as f64 / self.demand_us.max(1) as f64
    }
}

/// The classes of one replay: `@@MODE sched rep workload COUNTS [TIMELINE]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeSeen {
    /// `faas-burst:12,idle:3`, most first.
    pub counts: String,
    /// Each stats line's class from the last before the replay (`-` when none) on.
    pub timeline: Vec<String>,
}

/// Everything the guest reported.
#[derive(Debug, Default)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    pub invocations: Vec<Invocation>,
    pub errors: Vec<String>,
    /// cyclictest's slowest wakeup in each traced run (`--sched-trace`).
    pub slow_wakes: Vec<SlowWake>,
    /// A peer's figures left out: taken after the kernel evicted it (ours go to `errors`).
    pub dropped: Vec<String>,
    pub info: Vec<String>,
    /// The classes scx_foresight had in force during each replay (by stats lines), by
    /// `(rep, workload)`.
    pub modes: BTreeMap<(u32, String), ModeSeen>,
    /// The model file scx_foresight's measured runs started from (fitted in the guest).
    pub models: Option<String>,
    /// The replayer's bound between short and long invocations (its summary's `short_us`).
    pub short_us: Option<u64>,
    pub done: bool,
}

/// The replay summary's figures kept as metrics: (JSON path, metric name, scale).
pub const REPLAY_FIGURES: &[(&[&str], &str, f64)] = &[
    (&["short", "mean_slowdown"], "short_mean_slowdown", 1.0),
    (&["short", "p99_slowdown"], "short_p99_slowdown", 1.0),
    (&["long", "mean_slowdown"], "long_mean_slowdown", 1.0),
    (&["short", "mean_response_us"], "short_response_ms", 0.001),
    (&["long", "mean_response_us"], "long_response_ms", 0.001),
    (&["short_wait_mean_us"], "short_wait_ms", 0.001),
    (&["long_wait_mean_us"], "long_wait_ms", 0.001),
    (
        &["short_own_cpu", "mean_slowdown"],
        "short_own_cpu_slowdown",
        1.0,
    ),
    (
        &["long_own_cpu", "mean_slowdown"],
        "long_own_cpu_slowdown",
        1.0,
    ),
    (&["short", "count"], "short_count", 1.0),
    (&["long", "count"], "long_count", 1.0),
    (&["launch_lag_mean_us"], "launch_lag_ms", 0.001),
    (&["failed"], "failed", 1.0),
];

pub fn parse(lines: &[String]) -> Parsed {
    let mut p = Parsed::default();
    let mut lock_sleep = locks::LockSleep::default();
    let mut exec_runs = execruns::ExecRuns::default();
    let mut slow_wakes = SlowWakes::default();
    for line in lines {
        if let Some(rest) = protocol::body(line, protocol::TRC) {
            lock_sleep.observe(rest);
            exec_runs.observe(rest);
            slow_wakes.observe(rest);
        } else if let Some(rest) = protocol::body(line, protocol::BENCH) {
            parse_bench(rest, &mut p);
        } else if let Some(rest) = protocol::body(line, protocol::INV) {
            match parse_inv(rest) {
                Some(inv) => p.invocations.push(inv),
                None => p.errors.push(format!("unreadable invocation line: {rest}")),
            }
        } else if let Some(rest) = protocol::body(line, protocol::BENCHERR) {
            p.errors.push(rest.to_string());
        } else if let Some(rest) = protocol::body(line, protocol::DROPPED) {
            // Our eviction is a failure of ours; a peer's is its figure, told apart.
            match rest.split(' ').next() {
                Some(super::US | super::VARIANT) => p.errors.push(rest.to_string()),
                _ => p.dropped.push(rest.to_string()),
            }
        } else if let Some(rest) = protocol::body(line, protocol::INFO) {
            p.info.push(rest.to_string());
        } else if let Some(rest) = protocol::body(line, protocol::MODELS) {
            p.models = Some(rest.to_string());
        } else if let Some(rest) = protocol::body(line, protocol::MODE) {
            let w: Vec<&str> = rest.split_whitespace().collect();
            // Ours only: the simulator replays its modes (not the variant's).
            if let [sched, rep, workload, counts, timeline @ ..] = w.as_slice() {
                if let (true, Ok(rep)) = (*sched == super::US, rep.parse()) {
                    let seen = ModeSeen {
                        counts: counts.to_string(),
                        timeline: timeline
                            .iter()
                            .flat_map(|t| t.split(','))
                            .map(str::to_string)
                            .collect(),
                    };
                    p.modes.insert((rep, workload.to_string()), seen);
                }
            }
        } else if protocol::is(line, protocol::BENCH_DONE) {
            p.done = true;
        }
    }
    p.slow_wakes = slow_wakes.slowest();
    for (sched, rep, workload, ms) in lock_sleep.totals() {
        p.samples.push(Sample {
            sched: sched.into(),
            rep,
            workload: workload.into(),
            metric: locks::LOCK_SLEEP_METRIC.into(),
            value: ms,
        });
    }
    for (sched, rep, workload, us) in exec_runs.medians() {
        p.samples.push(Sample {
            sched: sched.into(),
            rep,
            workload: workload.into(),
            metric: execruns::EXEC_RUN_METRIC.into(),
            value: us,
        });
    }
    p
}

pub fn parse_bench(rest: &str, p: &mut Parsed) {
    let mut w = rest.splitn(5, ' ');
    let (Some(sched), Some(rep), Some(workload), Some(metric), Some(value)) =
        (w.next(), w.next(), w.next(), w.next(), w.next())
    else {
        p.errors.push(format!("unreadable bench line: {rest}"));
        return;
    };
    let Ok(rep) = rep.parse::<u32>() else {
        p.errors.push(format!("bad repetition in: {rest}"));
        return;
    };
    let mut push = |metric: &str, value: f64| {
        p.samples.push(Sample {
            sched: sched.into(),
            rep,
            workload: workload.into(),
            metric: metric.into(),
            value,
        })
    };
    match (metric, value) {
        ("summary", json) => match serde_json::from_str::<serde_json::Value>(json) {
            Ok(v) => {
                if let Some(us) = v.get("short_us").and_then(serde_json::Value::as_u64) {
                    p.short_us = Some(us);
                }
                for (path, name, scale) in REPLAY_FIGURES {
                    let figure = path.iter().try_fold(&v, |v, key| v.get(key));
                    if let Some(x) = figure.and_then(serde_json::Value::as_f64) {
                        push(name, x * scale);
                    }
                }
            }
            Err(e) => p
                .errors
                .push(format!("{sched} {workload}: bad summary ({e})")),
        },
        (_, "yes") => push(metric, 1.0),
        (_, "no") => push(metric, 0.0),
        (_, v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() => push(metric, x),
            _ => p
                .errors
                .push(format!("{sched} {workload} {metric}: `{v}` is no number")),
        },
    }
}

pub fn parse_inv(rest: &str) -> Option<Invocation> {
    let mut w = rest.splitn(4, ' ');
    let (sched, rep, workload, csv) = (w.next()?, w.next()?, w.next()?, w.next()?);
    // arg,demand_us,arrival_us,launch_us,start_us,finish_us,cpu_us,ok
    let f: Vec<&str> = csv.split(',').collect();
    if f.len() != 8 {
        return None;
    }
    let num = |i: usize| f[i].trim().parse::<u64>().ok();
    Some(Invocation {
        sched: sched.into(),
        rep: rep.parse().ok()?,
        workload: workload.into(),
        arg: u32::try_from(num(0)?).ok()?,
        demand_us: num(1)?,
        arrival_us: num(2)?,
        finish_us: num(5)?,
        start_us: num(4)?,
        startup_us: num(4)?.saturating_sub(num(3)?),
        ok: num(7)? == 1,
    })
}
