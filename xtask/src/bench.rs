// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask bench`: one VM boot runs every workload under the kernel's default scheduler,
//! the peers and scx_foresight (guest/bench.sh), then this side turns the guest's lines into
//! a table (Markdown and JSON), the targets' verdicts and completion-time CDF plots (PNG).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::{cmd, initramfs, peers, stats, tasks, vm, BenchArgs};

/// The schedulers, in the order of the table's columns; "default" is the kernel's own.
pub const SCHEDULERS: &[&str] = &["default", "scx_rustland", "scx_bpfland", "scx_foresight"];
/// The scheduler every ratio is taken against, and ours.
const BASE: &str = "default";
const US: &str = "scx_foresight";
/// Seconds the run may take beyond the workloads themselves (boot, calibration, attaches).
const BENCH_SLACK_S: u64 = 15 * 60;
/// The font the plots' labels are drawn with (package fonts-dejavu-core).
const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// The Azure Functions 2019 workload, beside the repository (`../shared/data`), unless
/// FORESIGHT_AZURE_WORKLOAD names it.
const AZURE_WORKLOAD: &str = "../shared/data/azure2019-fib-workload.txt";

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

    fn params(&self, schedulers: &[String]) -> Vec<String> {
        let list = |v: &[String]| v.join(",");
        vec![
            format!("fs_scheds={}", list(schedulers)),
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
        ]
    }

    /// Generous: with hogs beside, a replay at high load runs well past its trace.
    fn timeout(&self, n_scheds: usize) -> Duration {
        let replays = (self.traces.len() * self.loads.len() * self.hogs.len()) as u64;
        let per_replay_s = 30 + u64::from(self.replay_n) / 2;
        let per_run_s = replays * per_replay_s + 6 * u64::from(self.stress_s) + 180;
        Duration::from_secs(BENCH_SLACK_S + per_run_s * u64::from(self.reps) * n_scheds as u64)
    }
}

/// The Azure workload file, if there is one.
fn azure_workload() -> Option<PathBuf> {
    let path = std::env::var_os("FORESIGHT_AZURE_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join(AZURE_WORKLOAD));
    path.is_file().then_some(path)
}

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
    pub ok: bool,
}

impl Invocation {
    fn completion_ms(&self) -> f64 {
        self.finish_us.saturating_sub(self.arrival_us) as f64 / 1000.0
    }
}

/// Everything the guest reported.
#[derive(Debug, Default)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    pub invocations: Vec<Invocation>,
    pub errors: Vec<String>,
    pub info: Vec<String>,
    /// The classes scx_foresight had in force during each replay (by stats lines):
    /// `(rep, workload) → "faas-burst:12,idle:3"`, most first.
    pub modes: BTreeMap<(u32, String), String>,
    pub done: bool,
}

/// The replay summary's figures kept as metrics: (JSON path, metric name, scale).
const REPLAY_FIGURES: &[(&[&str], &str, f64)] = &[
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
    for line in lines {
        if let Some(rest) = line.strip_prefix("@@BENCH ") {
            parse_bench(rest, &mut p);
        } else if let Some(rest) = line.strip_prefix("@@INV ") {
            match parse_inv(rest) {
                Some(inv) => p.invocations.push(inv),
                None => p.errors.push(format!("unreadable invocation line: {rest}")),
            }
        } else if let Some(rest) = line.strip_prefix("@@BENCHERR ") {
            p.errors.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@@INFO ") {
            p.info.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("@@MODE ") {
            let w: Vec<&str> = rest.splitn(4, ' ').collect();
            if let [_, rep, workload, classes] = w.as_slice() {
                if let Ok(rep) = rep.parse() {
                    p.modes
                        .insert((rep, workload.to_string()), classes.trim().to_string());
                }
            }
        } else if line.starts_with("@@BENCH-DONE") {
            p.done = true;
        }
    }
    p
}

fn parse_bench(rest: &str, p: &mut Parsed) {
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

fn parse_inv(rest: &str) -> Option<Invocation> {
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
        ok: num(7)? == 1,
    })
}

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
const METRICS: &[(&str, &str, Better)] = &[
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
    fn values(&self, sched: &str) -> Option<&[f64]> {
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

fn find<'a>(rows: &'a [Row], workload: &str, metric: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.workload == workload && r.metric == metric)
}

/// `num`'s figure over `den`'s (inverted for throughput given as a time).
fn ratio(rows: &[Row], workload: &str, metric: &str, num: &str, den: &str) -> Option<stats::Ratio> {
    let row = find(rows, workload, metric)?;
    stats::ratio_interval(row.values(num)?, row.values(den)?)
}

fn target(name: String, ratio: Option<stats::Ratio>, goal: stats::Goal) -> Target {
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
fn load_of(workload: &str) -> Option<f64> {
    workload.split('-').nth(2)?.parse().ok()
}

fn fmt_num(x: f64) -> String {
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.0}"),
        a if a >= 100.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

fn fmt_ratio(r: &stats::Ratio) -> String {
    format!("×{:.2} ({:.2}–{:.2})", r.value, r.lo, r.hi)
}

/// The Markdown report: table (median, range, ratio to default with its interval), targets.
pub fn markdown(rows: &[Row], targets: &[Target], plan: &Plan, info: &[String]) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Median over {} repetitions [min–max]; ×: the ratio of medians to the default \
         scheduler's, with its bootstrap 95 % interval in brackets.\n\n",
        plan.reps
    ));
    md.push_str("| workload: metric | better |");
    for s in SCHEDULERS {
        md.push_str(&format!(" {s} |"));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(SCHEDULERS.len()));
    md.push('\n');
    for row in rows {
        let better = match row.better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        md.push_str(&format!("| {} | {better} |", row.label));
        for s in SCHEDULERS {
            let cell = match row.by_sched.get(*s) {
                None => "–".to_string(),
                Some(c) => format!(
                    "{} [{}–{}]{}",
                    fmt_num(c.spread.median),
                    fmt_num(c.spread.min),
                    fmt_num(c.spread.max),
                    c.ratio
                        .as_ref()
                        .map_or(String::new(), |r| format!(" {}", fmt_ratio(r)))
                ),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    md.push_str(
        "\nTargets (scx_foresight): met only when the whole 95 % interval is on the goal's side, \
         unclear when it straddles the goal.\n\n| target | goal | measured | verdict |\n|---|---|---|---|\n",
    );
    for t in targets {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.name,
            t.goal.text(),
            match (&t.ratio, t.name.ends_with("(% of one CPU)")) {
                (None, _) => "–".into(),
                // An absolute figure: the median and its interval, not a ratio.
                (Some(r), true) => format!("{:.2} % ({:.2}–{:.2})", r.value, r.lo, r.hi),
                (Some(r), false) => fmt_ratio(r),
            },
            t.verdict.word()
        ));
    }
    if !info.is_empty() {
        md.push_str("\nGuest:\n\n");
        for i in info {
            md.push_str(&format!("- {i}\n"));
        }
    }
    md
}

/// Completion-time CDF (arrival to finish, all invocations of all repetitions) per scheduler.
pub fn plot_cdf(invs: &[Invocation], workload: &str, title: &str, out: &Path) -> Result<()> {
    use plotters::prelude::*;
    let series: Vec<(&str, Vec<f64>)> = SCHEDULERS
        .iter()
        .map(|s| {
            let mut v: Vec<f64> = invs
                .iter()
                .filter(|i| i.ok && i.sched == *s && i.workload == workload)
                .map(Invocation::completion_ms)
                .filter(|ms| *ms > 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            (*s, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let all = series.iter().flat_map(|(_, v)| v.iter().copied());
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if series.is_empty() {
        bail!("no completed invocations of {workload} to plot");
    }
    let root = BitMapBackend::new(out, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("completion time, arrival to finish (ms, log scale)")
        .y_desc("fraction of invocations")
        .draw()?;
    let colors = [BLACK, BLUE, GREEN, RED];
    for (i, (name, v)) in series.iter().enumerate() {
        let color = colors[SCHEDULERS.iter().position(|s| s == name).unwrap_or(i) % colors.len()];
        let n = v.len() as f64;
        let points = v.iter().enumerate().map(|(k, x)| (*x, (k + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{name} (n={})", v.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn register_font() -> Result<()> {
    let bytes = fs::read(FONT_PATH).with_context(|| {
        format!("cannot read the plots' font {FONT_PATH} (package fonts-dejavu-core)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        plotters::style::FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{FONT_PATH} is not a usable font"))
}

#[derive(Serialize)]
struct JsonReport<'a> {
    kernel: String,
    accel: String,
    host_cpus: usize,
    guest_cpus: u32,
    machine: vm::Machine,
    plan: &'a Plan,
    peers: Vec<String>,
    rows: &'a [Row],
    targets: &'a [Target],
    simulator: &'a [SimCheck],
    errors: &'a [String],
    info: &'a [String],
    complete: bool,
}

/// The schedulers asked for (all by default), each checked against `SCHEDULERS`.
fn chosen(asked: &[String]) -> Result<Vec<String>> {
    if let Some(bad) = asked.iter().find(|s| !SCHEDULERS.contains(&s.as_str())) {
        bail!(
            "--schedulers: unknown `{bad}` (known: {})",
            SCHEDULERS.join(", ")
        );
    }
    Ok(match asked.is_empty() {
        true => SCHEDULERS.iter().map(|s| s.to_string()).collect(),
        false => asked.to_vec(),
    })
}

/// The guest's data files: the Azure workload and the extra trace, when the plan uses them.
fn guest_files(plan: &mut Plan, extra: Option<&Path>) -> Result<Vec<initramfs::GuestFile>> {
    let mut files = Vec::new();
    if let Some(t) = extra {
        if !t.is_file() {
            bail!("--trace {}: no such file", t.display());
        }
        files.push((t.to_path_buf(), "extra-trace.csv".to_string()));
    }
    match azure_workload() {
        Some(a) => files.push((a, "azure.txt".to_string())),
        None => {
            eprintln!(
                "xtask: no Azure workload at {AZURE_WORKLOAD} (or FORESIGHT_AZURE_WORKLOAD): \
                 the bench replays the other traces only"
            );
            plan.traces.retain(|t| t != "azure");
        }
    }
    Ok(files)
}

/// The simulator on the trace the VM replayed, beside the VM's figures: each policy's
/// predicted short/long mean slowdown against the scheduler it stands for.
#[derive(Debug, Clone, Serialize)]
pub struct SimCheck {
    pub workload: String,
    pub policy: String,
    pub vm_sched: String,
    pub class: String,
    pub simulated: f64,
    pub measured: f64,
    /// simulated / measured − 1.
    pub error: f64,
}

/// Pairs of (simulator policy, the VM scheduler it models).
const SIM_PAIRS: &[(&str, &str)] = &[("fair", BASE), ("foresight", US)];
/// The simulator's error goal on both classes.
const SIM_ERROR_GOAL: f64 = 0.25;

/// Run `scx_foresight simulate` on each hog-free replay's trace (the default scheduler's
/// first repetition: the arrivals and demands every scheduler got) with the guest's CPUs.
fn sim_checks(parsed: &Parsed, rows: &[Row], cpus: u32, dir: &Path) -> Result<Vec<SimCheck>> {
    let sim = tasks::target_dir().join("release").join("scx_foresight");
    let mut out = Vec::new();
    let workloads: Vec<&str> = rows
        .iter()
        .filter(|r| r.metric == "short_mean_slowdown" && !r.workload.ends_with("-hogs"))
        .map(|r| r.workload.as_str())
        .collect();
    for w in workloads {
        let mut trace = String::from("arrival_us,function,args,cpu_us\n");
        let mut invs: Vec<&Invocation> = parsed
            .invocations
            .iter()
            .filter(|i| i.sched == BASE && i.rep == 1 && i.workload == w)
            .collect();
        invs.sort_by_key(|i| i.arrival_us);
        for i in &invs {
            trace.push_str(&format!(
                "{},foresight_payload,{},{}\n",
                i.arrival_us, i.arg, i.demand_us
            ));
        }
        if invs.is_empty() {
            continue;
        }
        let path = dir.join(format!("trace-{w}.csv"));
        fs::write(&path, trace)?;
        // The class scx_foresight had in force most of its first repetition of this replay:
        // the simulator runs that class's mode.
        let mode = parsed
            .modes
            .get(&(1, w.to_string()))
            .and_then(|c| c.split(':').next())
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        for (policy, sched) in SIM_PAIRS {
            let mut c = std::process::Command::new(&sim);
            c.args(["simulate", "--json", "--policy", policy, "--cpus"])
                .arg(cpus.to_string())
                .arg("--trace")
                .arg(&path);
            let mode = mode.as_deref().filter(|_| *policy == "foresight");
            if let Some(m) = mode {
                c.args(["--mode", m]);
            }
            let rep: serde_json::Value = serde_json::from_str(&cmd::output(&mut c)?)
                .with_context(|| format!("simulate --json on {}", path.display()))?;
            for class in ["short", "long"] {
                let simulated = rep[class]["mean_slowdown"].as_f64();
                let measured = find(rows, w, &format!("{class}_mean_slowdown"))
                    .and_then(|r| r.values(sched))
                    .and_then(stats::median);
                if let (Some(simulated), Some(measured)) = (simulated, measured) {
                    out.push(SimCheck {
                        workload: w.to_string(),
                        policy: match mode {
                            Some(m) => format!("{policy} (mode {m})"),
                            None => policy.to_string(),
                        },
                        vm_sched: sched.to_string(),
                        class: class.to_string(),
                        simulated,
                        measured,
                        error: simulated / measured - 1.0,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn sim_markdown(checks: &[SimCheck]) -> String {
    let mut md = format!(
        "\nSimulator against the VM (the VM's trace, calibration and CPUs; goal: error within \
         ±{:.0} %):\n\n| workload | class | simulator policy | simulated mean slowdown | VM scheduler | \
         measured (median) | error |\n|---|---|---|---|---|---|---|\n",
        SIM_ERROR_GOAL * 100.0
    );
    for c in checks {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:+.0} %{} |\n",
            c.workload,
            c.class,
            c.policy,
            fmt_num(c.simulated),
            c.vm_sched,
            fmt_num(c.measured),
            c.error * 100.0,
            if c.error.abs() <= SIM_ERROR_GOAL {
                ""
            } else {
                " (off)"
            }
        ));
    }
    md
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let mut plan = Plan::new(args);
    let schedulers = chosen(&args.schedulers)?;
    let files = guest_files(&mut plan, args.trace.as_deref())?;
    let peer_bins = peers::ensure()?;
    let machine = args.vm.machine(vm::MEASURE_MACHINE)?;
    let (kernel, initrd, results) = tasks::prepare(&args.vm, "bench", &peer_bins, &files)?;
    let out_dir = match &args.out {
        Some(d) => d.clone(),
        None => results.clone(),
    };
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    eprintln!(
        "xtask: bench {:?} on {machine:?}, up to {} min",
        plan,
        plan.timeout(schedulers.len()).as_secs() / 60
    );
    let out = vm::boot(&vm::Spec {
        kernel: &kernel,
        machine,
        initrd: &initrd,
        script: "bench.sh",
        params: plan.params(&schedulers),
        timeout: plan.timeout(schedulers.len()),
        log: results.join("console.log"),
        echo: |l| {
            l.starts_with("@@INFO") || l.starts_with("@@BENCH ") || l.starts_with("@@BENCHERR")
        },
    })?;
    tasks::save_kmsg(&out.lines, &results)?;
    let parsed = parse(&out.lines);
    let rows = rows(&parsed.samples);
    let targets = targets(&rows);
    let checks = sim_checks(&parsed, &rows, machine.cpus, &out_dir).unwrap_or_else(|e| {
        eprintln!("xtask: simulator comparison failed: {e:#}");
        Vec::new()
    });
    register_font()?;
    let mut md = format!(
        "Kernel {} in QEMU ({}); run took {:.0} s.\n\n",
        kernel.version,
        machine.describe(out.accel),
        out.wall.as_secs_f64()
    );
    md.push_str(&markdown(&rows, &targets, &plan, &parsed.info));
    md.push_str(&sim_markdown(&checks));
    let faas: Vec<&str> = rows
        .iter()
        .filter(|r| r.metric == "short_mean_slowdown")
        .map(|r| r.workload.as_str())
        .collect();
    for workload in faas {
        let title = format!("{workload}: completion time CDF");
        let png = out_dir.join(format!("cdf-{workload}.png"));
        match plot_cdf(&parsed.invocations, workload, &title, &png) {
            Ok(()) => md.push_str(&format!("\n![{title}](cdf-{workload}.png)\n")),
            Err(e) => md.push_str(&format!("\n(no plot for {workload}: {e:#})\n")),
        }
    }
    if !parsed.errors.is_empty() {
        md.push_str("\nErrors reported by the guest:\n\n");
        for e in &parsed.errors {
            md.push_str(&format!("- {e}\n"));
        }
    }
    let json = JsonReport {
        kernel: kernel.version.clone(),
        accel: format!("{:?}", out.accel),
        host_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        guest_cpus: machine.cpus,
        machine,
        plan: &plan,
        peers: peers::PEERS
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect(),
        rows: &rows,
        targets: &targets,
        simulator: &checks,
        errors: &parsed.errors,
        info: &parsed.info,
        complete: parsed.done,
    };
    fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    fs::write(out_dir.join("results.md"), &md)?;
    println!("\n{md}");
    println!(
        "xtask: bench results in {} (results.md, results.json, cdf-*.png; console {})",
        out_dir.display(),
        results.join("console.log").display()
    );
    if !parsed.done || out.timed_out {
        bail!("the bench run did not complete (see {})", results.display());
    }
    if !parsed.errors.is_empty() {
        bail!(
            "{} workload run(s) failed (listed above)",
            parsed.errors.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn guest_lines_become_samples_and_invocations() {
        let p = parse(&lines(
            "@@BENCH default 1 hackbench time_s 12.5\n\
             @@BENCH scx_foresight 2 faas-gen-0.7 summary {\"short\":{\"mean_slowdown\":3.5,\"p99_slowdown\":9.0,\"count\":80},\"long\":{\"mean_slowdown\":2.0},\"short_wait_mean_us\":1500.0,\"failed\":0}\n\
             @@BENCH scx_foresight 2 all still_attached yes\n\
             @@INV default 1 faas-gen-0.7 24,50000,1000,1100,2000,61000,49000,1\n\
             @@INV default 1 faas-gen-0.7 24,50000,oops\n\
             @@BENCH default 1 stress-cpu ops_s NaN\n\
             @@BENCHERR scx_bpfland 1 never attached\n\
             @@MODE scx_foresight 1 faas-gen-0.7 faas-burst:12,idle:2\n\
             @@BENCH-DONE",
        ));
        assert!(p.done);
        assert_eq!(
            p.modes
                .get(&(1, "faas-gen-0.7".to_string()))
                .map(String::as_str),
            Some("faas-burst:12,idle:2")
        );
        assert_eq!(p.samples.len(), 8, "{:?}", p.samples);
        let get = |m: &str| p.samples.iter().find(|s| s.metric == m).map(|s| s.value);
        assert_eq!(get("time_s"), Some(12.5));
        assert_eq!(get("short_mean_slowdown"), Some(3.5));
        assert_eq!(get("short_wait_ms"), Some(1.5));
        assert_eq!(get("short_count"), Some(80.0));
        assert_eq!(get("still_attached"), Some(1.0));
        assert_eq!(p.invocations.len(), 1);
        assert_eq!((p.invocations[0].arg, p.invocations[0].rep), (24, 1));
        assert_eq!(p.invocations[0].completion_ms(), 60.0);
        // The bad invocation, the NaN and the guest's own error.
        assert_eq!(p.errors.len(), 3, "{:?}", p.errors);
    }

    #[test]
    fn spread_takes_median_and_range() {
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(spread(&[4.0, 1.0]).unwrap().median, 2.5);
        assert!(spread(&[]).is_none());
        assert_eq!(load_of("faas-azure-0.9-hogs"), Some(0.9));
        assert_eq!(load_of("hackbench"), None);
    }

    fn sample(sched: &str, rep: u32, workload: &str, metric: &str, value: f64) -> Sample {
        Sample {
            sched: sched.into(),
            rep,
            workload: workload.into(),
            metric: metric.into(),
            value,
        }
    }

    /// The same value in three repetitions.
    fn three(sched: &str, workload: &str, metric: &str, value: f64) -> Vec<Sample> {
        (1..=3)
            .map(|r| sample(sched, r, workload, metric, value))
            .collect()
    }

    #[test]
    fn targets_judge_intervals_in_the_right_direction() {
        let w = "faas-gen-0.7";
        let mut s = Vec::new();
        s.extend(three("default", w, "short_mean_slowdown", 10.0));
        s.extend(three("scx_rustland", w, "short_mean_slowdown", 6.0));
        s.extend(three("scx_foresight", w, "short_mean_slowdown", 4.0));
        s.extend(three("default", w, "long_mean_slowdown", 2.0));
        s.extend(three("scx_foresight", w, "long_mean_slowdown", 2.4));
        s.extend(three("default", "hackbench", "time_s", 10.0));
        s.extend(three("scx_foresight", "hackbench", "time_s", 10.5));
        s.extend(three("default", "stress-cpu", "ops_s", 100.0));
        // Straddles 0.95: 0.9, 1.0, 1.1 of the default's.
        for (r, v) in [(1, 90.0), (2, 100.0), (3, 110.0)] {
            s.push(sample("scx_foresight", r, "stress-cpu", "ops_s", v));
        }
        s.extend(three("scx_foresight", "all", "sched_cpu_pct", 3.0));
        // A load below 0.7 has no targets.
        s.extend(three("default", "faas-gen-0.5", "short_mean_slowdown", 1.0));
        let rows = rows(&s);
        let t = targets(&rows);
        let find = |prefix: &str| {
            t.iter()
                .find(|t| t.name.starts_with(prefix))
                .unwrap_or_else(|| panic!("no target {prefix}"))
        };
        let short = find("faas-gen-0.7: short mean slowdown / default");
        assert_eq!(short.verdict, stats::Verdict::Met);
        assert_eq!(short.ratio.unwrap().value, 0.4);
        assert_eq!(
            find("faas-gen-0.7: short mean slowdown / scx_rustland").verdict,
            stats::Verdict::Met
        );
        // No bpfland data: not measured, never met.
        assert_eq!(
            find("faas-gen-0.7: short mean slowdown / scx_bpfland").verdict,
            stats::Verdict::Unmeasured
        );
        assert_eq!(find("faas-gen-0.7: long").verdict, stats::Verdict::Missed);
        let hb = find("hackbench");
        assert_eq!(hb.verdict, stats::Verdict::Met);
        assert!((hb.ratio.unwrap().value - 10.0 / 10.5).abs() < 1e-9);
        assert_eq!(find("stress-cpu").verdict, stats::Verdict::Unclear);
        assert_eq!(find("scheduler's own CPU").verdict, stats::Verdict::Met);
        assert!(!t.iter().any(|t| t.name.starts_with("faas-gen-0.5")));
        let plan = Plan::new(&crate::BenchArgs {
            vm: crate::VmArgs {
                kernel: crate::KernelArgs { kernel: None },
                results: None,
                clock: None,
                tcg: None,
                cpus: None,
            },
            quick: true,
            reps: Some(3),
            schedulers: Vec::new(),
            traces: Vec::new(),
            loads: Vec::new(),
            hogs: Vec::new(),
            replay_n: None,
            trace: None,
            out: None,
        });
        let md = markdown(&rows, &t, &plan, &[]);
        assert!(
            md.contains("| faas-gen-0.7: short: mean slowdown | lower | 10.00 [10.00–10.00] |"),
            "{md}"
        );
        assert!(md.contains("4.00 [4.00–4.00] ×0.40 (0.40–0.40)"), "{md}");
        assert!(
            md.contains("**missed**") && md.contains("| unclear |"),
            "{md}"
        );
    }

    #[test]
    fn cdf_plot_is_written() {
        register_font().unwrap();
        let inv = |sched: &str, finish| Invocation {
            sched: sched.into(),
            rep: 1,
            workload: "replay-low".into(),
            arg: 20,
            demand_us: 1000,
            arrival_us: 0,
            finish_us: finish,
            ok: true,
        };
        let invs: Vec<Invocation> = (1..50)
            .map(|k| inv("default", k * 3000))
            .chain((1..50).map(|k| inv("scx_foresight", k * 1000)))
            .collect();
        let dir = std::env::temp_dir().join(format!("xtask-cdf-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let png = dir.join("cdf.png");
        plot_cdf(&invs, "replay-low", "test", &png).unwrap();
        let bytes = fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(plot_cdf(&invs, "replay-high", "none", &dir.join("x.png")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
