// SPDX-License-Identifier: GPL-2.0-only
//! Statistics over the samples: the table's rows (median, range, ratio to the default with
//! its interval) and the targets' verdicts.

use super::*;

/// Median and range of one metric under one scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

pub fn spread(values: &[f64]) -> Option<Spread> {
    let median = stats::median(values)?;
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    Some(Spread {
        median,
        min,
        max,
        n: values.len(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// Every metric's label and which way is better; rows follow this order.
pub const METRICS: &[(&str, &str, Better)] = &[
    ("short_mean_slowdown", "short: mean slowdown", Better::Lower),
    ("short_p99_slowdown", "short: p99 slowdown", Better::Lower),
    ("long_mean_slowdown", "long: mean slowdown", Better::Lower),
    (
        "short_response_ms",
        "short: mean response (ms)",
        Better::Lower,
    ),
    (
        "long_response_ms",
        "long: mean response (ms)",
        Better::Lower,
    ),
    (
        "short_wait_ms",
        "short: wait before first run (ms)",
        Better::Lower,
    ),
    (
        "long_wait_ms",
        "long: wait before first run (ms)",
        Better::Lower,
    ),
    (
        "short_own_cpu_slowdown",
        "short: slowdown on own CPU time",
        Better::Lower,
    ),
    (
        "long_own_cpu_slowdown",
        "long: slowdown on own CPU time",
        Better::Lower,
    ),
    ("short_count", "short invocations", Better::Higher),
    ("long_count", "long invocations", Better::Higher),
    ("launch_lag_ms", "replayer's launch lag (ms)", Better::Lower),
    (
        "lock_sleep_ms",
        "sleep on contended kernel locks, all waiters (ms, --sched-trace)",
        Better::Lower,
    ),
    (
        "exec_run_us",
        "payload images' run from exec to first runnable switch-out (µs median, --sched-trace)",
        Better::Lower,
    ),
    ("ops_s", "bogo ops/s", Better::Higher),
    ("time_s", "time (s)", Better::Lower),
    ("p50_us", "wakeup latency p50 (µs)", Better::Lower),
    ("p99_us", "wakeup latency p99 (µs)", Better::Lower),
    ("max_us", "wakeup latency max (µs)", Better::Lower),
    (
        "sched_cpu_pct",
        "scheduler's own CPU (% of one CPU)",
        Better::Lower,
    ),
    (
        "sched_us_per_decision",
        "scheduler's CPU per decision (µs, scx_foresight)",
        Better::Lower,
    ),
    ("evictions", "watchdog evictions", Better::Lower),
];

/// One row of the results table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    pub metric: String,
    pub label: String,
    pub better: Better,
    /// Per scheduler: the repetitions' values, their spread and (not for the base) the ratio
    /// of medians to the base scheduler's with its bootstrap 95 % interval.
    pub by_sched: BTreeMap<String, Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub values: Vec<f64>,
    pub spread: Spread,
    pub ratio: Option<stats::Ratio>,
}

impl Row {
    pub fn values(&self, sched: &str) -> Option<&[f64]> {
        self.by_sched.get(sched).map(|c| c.values.as_slice())
    }
}

/// Rows for every (workload, metric) measured, workloads in the order first seen, metrics in
/// METRICS' order; `failed`, `wall_s` and `still_attached` are checked, not tabled.
pub fn rows(samples: &[Sample]) -> Vec<Row> {
    let mut workloads: Vec<&str> = Vec::new();
    for s in samples {
        if !workloads.contains(&s.workload.as_str()) {
            workloads.push(&s.workload);
        }
    }
    let mut out = Vec::new();
    for workload in workloads {
        for (metric, label, better) in METRICS {
            let mut by_sched = BTreeMap::new();
            for sched in SCHEDULERS {
                let values: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.sched == *sched && s.workload == workload && s.metric == *metric)
                    .map(|s| s.value)
                    .collect();
                if let Some(spread) = spread(&values) {
                    by_sched.insert(
                        sched.to_string(),
                        Cell {
                            values,
                            spread,
                            ratio: None,
                        },
                    );
                }
            }
            let base = by_sched.get(BASE).map(|c| c.values.clone());
            if let Some(base) = base {
                for (sched, cell) in by_sched.iter_mut() {
                    if sched != BASE {
                        cell.ratio = stats::ratio_interval(&cell.values, &base);
                    }
                }
            }
            if !by_sched.is_empty() {
                out.push(Row {
                    workload: workload.to_string(),
                    metric: metric.to_string(),
                    label: format!("{workload}: {label}"),
                    better: *better,
                    by_sched,
                });
            }
        }
    }
    out
}

/// One of the targets for scx_foresight, judged on the bootstrap interval of a ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub ratio: Option<stats::Ratio>,
    pub goal: stats::Goal,
    pub verdict: stats::Verdict,
}

pub fn find<'a>(rows: &'a [Row], workload: &str, metric: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.workload == workload && r.metric == metric)
}

/// `num`'s figure over `den`'s (inverted for throughput given as a time).
pub fn ratio(
    rows: &[Row],
    workload: &str,
    metric: &str,
    num: &str,
    den: &str,
) -> Option<stats::Ratio> {
    let row = find(rows, workload, metric)?;
    stats::ratio_interval(row.values(num)?, row.values(den)?)
}

pub fn target(name: String, ratio: Option<stats::Ratio>, goal: stats::Goal) -> Target {
    Target {
        name,
        verdict: goal.judge(ratio),
        ratio,
        goal,
    }
}

/// The targets: FaaS at loads >= 0.7 (short mean <= 0.5x the default's, short p99 <= the
/// default's, long mean <= 1.1x, short mean below each peer's); throughput >= 0.95x the
/// default's; wakeup p99 <= 1.5x; scheduler's own CPU <= 5 % of one CPU.
pub fn targets(rows: &[Row]) -> Vec<Target> {
    use stats::Goal::{AtLeast, AtMost, Below};
    let mut t = Vec::new();
    let faas: Vec<&str> = rows
        .iter()
        .filter(|r| r.metric == "short_mean_slowdown")
        .map(|r| r.workload.as_str())
        .filter(|w| load_of(w).is_some_and(|l| l >= 0.7))
        .collect();
    for w in faas {
        let r = |metric, den| ratio(rows, w, metric, US, den);
        t.push(target(
            format!("{w}: short mean slowdown / default"),
            r("short_mean_slowdown", BASE),
            AtMost(0.5),
        ));
        t.push(target(
            format!("{w}: short p99 slowdown / default"),
            r("short_p99_slowdown", BASE),
            AtMost(1.0),
        ));
        t.push(target(
            format!("{w}: long mean slowdown / default"),
            r("long_mean_slowdown", BASE),
            AtMost(1.1),
        ));
        for peer in ["scx_rustland", "scx_bpfland"] {
            t.push(target(
                format!("{w}: short mean slowdown / {peer}"),
                r("short_mean_slowdown", peer),
                Below(1.0),
            ));
        }
    }
    for row in rows.iter().filter(|r| r.metric == "ops_s") {
        t.push(target(
            format!("{}: throughput / default", row.workload),
            ratio(rows, &row.workload, "ops_s", US, BASE),
            AtLeast(0.95),
        ));
    }
    for w in ["hackbench", "jobs"] {
        // Throughput is the inverse of the time: default's time over ours.
        t.push(target(
            format!("{w}: throughput / default"),
            ratio(rows, w, "time_s", BASE, US),
            AtLeast(0.95),
        ));
    }
    t.push(target(
        "cyclictest: wakeup p99 / default".into(),
        ratio(rows, "cyclictest", "p99_us", US, BASE),
        AtMost(1.5),
    ));
    // An absolute figure: the interval of our own values (ratio to 1).
    let own = find(rows, "all", "sched_cpu_pct")
        .and_then(|r| r.values(US))
        .and_then(|v| stats::ratio_interval(v, &[1.0]));
    t.push(target(
        "scheduler's own CPU (% of one CPU)".into(),
        own,
        AtMost(5.0),
    ));
    t
}

/// `faas-azure-0.7-hogs` → 0.7.
pub fn load_of(workload: &str) -> Option<f64> {
    workload.split('-').nth(2)?.parse().ok()
}
