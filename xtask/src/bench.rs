// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask bench`: one VM boot runs every workload under the kernel's default scheduler,
//! the peers and scx_foresight (guest/bench.sh), then this side turns the guest's lines into
//! a table (Markdown and JSON), the targets' verdicts and completion-time CDF plots (PNG).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::{peers, tasks, vm, BenchArgs};

/// The schedulers, in the order of the table's columns; "default" is the kernel's own.
pub const SCHEDULERS: &[&str] = &["default", "scx_rustland", "scx_bpfland", "scx_foresight"];
/// Seconds the run may take beyond the workloads themselves (boot, calibration, attaches).
const BENCH_SLACK_S: u64 = 15 * 60;
/// The font the plots' labels are drawn with (package fonts-dejavu-core).
const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// How long each workload runs and how often.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    pub reps: u32,
    /// Length of each replayed FaaS trace.
    pub replay_s: u32,
    /// Length of the stress-ng mix.
    pub mix_s: u32,
    /// hackbench messages per sender (4 groups of 40 processes).
    pub hackbench_loops: u32,
}

impl Plan {
    pub fn new(args: &BenchArgs) -> Plan {
        let base = if args.quick {
            Plan {
                reps: 2,
                replay_s: 15,
                mix_s: 8,
                hackbench_loops: 50,
            }
        } else {
            Plan {
                reps: 3,
                replay_s: 30,
                mix_s: 15,
                hackbench_loops: 200,
            }
        };
        Plan {
            reps: args.reps.unwrap_or(base.reps),
            ..base
        }
    }

    fn params(&self, schedulers: &[String]) -> Vec<String> {
        vec![
            format!("fs_scheds={}", schedulers.join(",")),
            format!("fs_reps={}", self.reps),
            format!("fs_replay_s={}", self.replay_s),
            format!("fs_mix_s={}", self.mix_s),
            format!("fs_hack_loops={}", self.hackbench_loops),
        ]
    }

    /// Generous: under TCG a replay overruns its trace by the last invocations' run time and
    /// hackbench takes tens of seconds.
    fn timeout(&self, n_scheds: usize) -> Duration {
        let per_run_s = 2 * (u64::from(self.replay_s) + 60) + u64::from(self.mix_s) + 120;
        Duration::from_secs(BENCH_SLACK_S + per_run_s * u64::from(self.reps) * n_scheds as u64)
    }
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
    pub workload: String,
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
    pub done: bool,
}

/// The replay summary's figures kept as metrics: (JSON path, metric name, scale).
const REPLAY_FIGURES: &[(&[&str], &str, f64)] = &[
    (&["short", "mean_slowdown"], "short_mean_slowdown", 1.0),
    (&["short", "p99_slowdown"], "short_p99_slowdown", 1.0),
    (&["long", "mean_slowdown"], "long_mean_slowdown", 1.0),
    (&["all", "p99_slowdown"], "all_p99_slowdown", 1.0),
    (&["startup_mean_us"], "startup_mean_ms", 0.001),
    (&["launch_lag_mean_us"], "launch_lag_mean_ms", 0.001),
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
    let (sched, _rep, workload, csv) = (w.next()?, w.next()?, w.next()?, w.next()?);
    // arg,demand_us,arrival_us,launch_us,start_us,finish_us,cpu_us,ok
    let f: Vec<&str> = csv.split(',').collect();
    if f.len() != 8 {
        return None;
    }
    let num = |i: usize| f[i].trim().parse::<u64>().ok();
    Some(Invocation {
        sched: sched.into(),
        workload: workload.into(),
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
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = match n {
        0 => return None,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// The replay loads: (workload, label).
const LOADS: &[(&str, &str)] = &[
    ("replay-low", "FaaS low load"),
    ("replay-high", "FaaS high load"),
];
/// Rows of each replay load: (metric, label, which way is better).
const REPLAY_ROWS: &[(&str, &str, Better)] = &[
    ("short_mean_slowdown", "short mean slowdown", Better::Lower),
    ("short_p99_slowdown", "short p99 slowdown", Better::Lower),
    ("long_mean_slowdown", "long mean slowdown", Better::Lower),
    (
        "startup_mean_ms",
        "startup latency mean (ms)",
        Better::Lower,
    ),
    (
        "launch_lag_mean_ms",
        "replayer's launch lag mean (ms)",
        Better::Lower,
    ),
];
/// The other rows: (workload, metric, label, which way is better).
const OTHER_ROWS: &[(&str, &str, &str, Better)] = &[
    ("hackbench", "time_s", "hackbench time (s)", Better::Lower),
    (
        "stress-ng",
        "cpu",
        "stress-ng cpu (bogo ops/s)",
        Better::Higher,
    ),
    (
        "stress-ng",
        "switch",
        "stress-ng switch (bogo ops/s)",
        Better::Higher,
    ),
    (
        "stress-ng",
        "pipe",
        "stress-ng pipe (bogo ops/s)",
        Better::Higher,
    ),
    (
        "stress-ng",
        "matrix",
        "stress-ng matrix (bogo ops/s)",
        Better::Higher,
    ),
    (
        "stress-ng",
        "vm",
        "stress-ng vm (bogo ops/s)",
        Better::Higher,
    ),
    (
        "all",
        "sched_cpu_pct",
        "scheduler's own CPU (% of one CPU)",
        Better::Lower,
    ),
    ("all", "evictions", "watchdog evictions", Better::Lower),
];

/// The table's rows in order: (workload, metric, label, which way is better).
fn row_specs() -> Vec<(&'static str, &'static str, String, Better)> {
    let replay = LOADS.iter().flat_map(|(w, load)| {
        REPLAY_ROWS
            .iter()
            .map(move |(m, label, b)| (*w, *m, format!("{load}: {label}"), *b))
    });
    let other = OTHER_ROWS
        .iter()
        .map(|(w, m, label, b)| (*w, *m, label.to_string(), *b));
    replay.chain(other).collect()
}

/// One row of the results table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    pub metric: String,
    pub label: String,
    pub better: Better,
    /// Per scheduler: the repetitions' values and their spread.
    pub by_sched: BTreeMap<String, (Vec<f64>, Spread)>,
}

impl Row {
    fn median(&self, sched: &str) -> Option<f64> {
        self.by_sched.get(sched).map(|(_, s)| s.median)
    }
}

pub fn rows(samples: &[Sample]) -> Vec<Row> {
    row_specs()
        .into_iter()
        .filter_map(|(workload, metric, label, better)| {
            let mut by_sched = BTreeMap::new();
            for sched in SCHEDULERS {
                let values: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.sched == *sched && s.workload == workload && s.metric == metric)
                    .map(|s| s.value)
                    .collect();
                if let Some(sp) = spread(&values) {
                    by_sched.insert(sched.to_string(), (values, sp));
                }
            }
            (!by_sched.is_empty()).then(|| Row {
                workload: workload.to_string(),
                metric: metric.to_string(),
                label,
                better,
                by_sched,
            })
        })
        .collect()
}

/// One of the targets for scx_foresight, judged on medians.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    /// The measured ratio (see `goal` for which way).
    pub ratio: Option<f64>,
    pub goal: String,
    pub met: bool,
}

fn target(name: String, ratio: Option<f64>, goal: &str, ok: impl Fn(f64) -> bool) -> Target {
    Target {
        met: ratio.is_some_and(ok),
        name,
        ratio,
        goal: goal.into(),
    }
}

fn ratio_of(rows: &[Row], workload: &str, metric: &str, num: &str, den: &str) -> Option<f64> {
    let row = rows
        .iter()
        .find(|r| r.workload == workload && r.metric == metric)?;
    let (a, b) = (row.median(num)?, row.median(den)?);
    (b > 0.0).then_some(a / b)
}

pub fn targets(rows: &[Row]) -> Vec<Target> {
    const US: &str = "scx_foresight";
    let mut t = Vec::new();
    for (load, _) in LOADS {
        let short = |den| ratio_of(rows, load, "short_mean_slowdown", US, den);
        t.push(target(
            format!("{load}: short mean slowdown, scx_foresight / default"),
            short("default"),
            "<= 0.50",
            |r| r <= 0.5,
        ));
        t.push(target(
            format!("{load}: short mean slowdown, scx_foresight / scx_rustland"),
            short("scx_rustland"),
            "< 1.00",
            |r| r < 1.0,
        ));
        t.push(target(
            format!("{load}: long mean slowdown, scx_foresight / default"),
            ratio_of(rows, load, "long_mean_slowdown", US, "default"),
            "<= 1.10",
            |r| r <= 1.10,
        ));
    }
    // Throughput is the inverse of hackbench's time.
    t.push(target(
        "hackbench throughput, scx_foresight / default".into(),
        ratio_of(rows, "hackbench", "time_s", "default", US),
        ">= 0.90",
        |r| r >= 0.9,
    ));
    let mix: Vec<f64> = rows
        .iter()
        .filter(|r| r.workload == "stress-ng")
        .filter_map(|r| ratio_of(rows, "stress-ng", &r.metric, US, "default"))
        .collect();
    let geomean = (!mix.is_empty())
        .then(|| (mix.iter().map(|r| r.ln()).sum::<f64>() / mix.len() as f64).exp());
    t.push(target(
        format!(
            "stress-ng mix throughput (geometric mean of {} stressors), scx_foresight / default",
            mix.len()
        ),
        geomean,
        ">= 0.90",
        |r| r >= 0.9,
    ));
    t
}

fn fmt_num(x: f64) -> String {
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.0}"),
        a if a >= 100.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

/// The Markdown report: table (median, range, ratio to default), targets, errors.
pub fn markdown(rows: &[Row], targets: &[Target], plan: &Plan, info: &[String]) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Median over {} repetitions (min–max in brackets); ×: the median's ratio to the default \
         scheduler's.\n\n",
        plan.reps
    ));
    md.push_str("| workload / metric | better |");
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
        let base = row.median("default");
        for s in SCHEDULERS {
            let cell = match row.by_sched.get(*s) {
                None => "–".to_string(),
                Some((_, sp)) => {
                    let ratio = match base {
                        Some(b) if *s != "default" && b > 0.0 => {
                            format!(" ×{:.2}", sp.median / b)
                        }
                        _ => String::new(),
                    };
                    format!(
                        "{} [{}–{}]{ratio}",
                        fmt_num(sp.median),
                        fmt_num(sp.min),
                        fmt_num(sp.max)
                    )
                }
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    md.push_str("\nTargets (scx_foresight, on medians):\n\n| target | goal | measured | verdict |\n|---|---|---|---|\n");
    for t in targets {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.name,
            t.goal,
            t.ratio.map_or("–".into(), |r| format!("{r:.2}")),
            if t.met { "met" } else { "**missed**" }
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
    plan: &'a Plan,
    peers: Vec<String>,
    rows: &'a [Row],
    targets: &'a [Target],
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

pub fn bench(args: &BenchArgs) -> Result<()> {
    let plan = Plan::new(args);
    let schedulers = chosen(&args.schedulers)?;
    let peer_bins = peers::ensure()?;
    let (kernel, initrd, results) = tasks::prepare(&args.vm, "bench", &peer_bins)?;
    let out_dir = match &args.out {
        Some(d) => d.clone(),
        None => results.clone(),
    };
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    eprintln!(
        "xtask: bench {:?}, up to {} min",
        plan,
        plan.timeout(schedulers.len()).as_secs() / 60
    );
    let out = vm::boot(&vm::Spec {
        kernel: &kernel,
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
    register_font()?;
    let mut md = format!(
        "Kernel {} in QEMU ({:?}), {} vCPUs; run took {:.0} s.\n\n",
        kernel.version,
        out.accel,
        vm::GUEST_CPUS,
        out.wall.as_secs_f64()
    );
    md.push_str(&markdown(&rows, &targets, &plan, &parsed.info));
    for (workload, load) in LOADS {
        let title = format!("{load}, 2 CPU hogs beside: completion time CDF");
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
        guest_cpus: vm::GUEST_CPUS,
        plan: &plan,
        peers: peers::PEERS
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect(),
        rows: &rows,
        targets: &targets,
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
             @@BENCH scx_foresight 2 replay-low summary {\"short\":{\"mean_slowdown\":3.5,\"p99_slowdown\":9.0},\"long\":{\"mean_slowdown\":2.0},\"all\":{\"p99_slowdown\":8.0},\"startup_mean_us\":1500.0,\"failed\":0}\n\
             @@BENCH scx_foresight 2 all still_attached yes\n\
             @@INV default 1 replay-low 24,50000,1000,1100,2000,61000,49000,1\n\
             @@INV default 1 replay-low 24,50000,oops\n\
             @@BENCH default 1 stress-ng cpu NaN\n\
             @@BENCHERR scx_bpfland 1 never attached\n\
             @@BENCH-DONE",
        ));
        assert!(p.done);
        assert_eq!(p.samples.len(), 8);
        let get = |m: &str| p.samples.iter().find(|s| s.metric == m).map(|s| s.value);
        assert_eq!(get("time_s"), Some(12.5));
        assert_eq!(get("short_mean_slowdown"), Some(3.5));
        assert_eq!(get("startup_mean_ms"), Some(1.5));
        assert_eq!(get("still_attached"), Some(1.0));
        assert_eq!(p.invocations.len(), 1);
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
    }

    fn sample(sched: &str, workload: &str, metric: &str, value: f64) -> Sample {
        Sample {
            sched: sched.into(),
            rep: 1,
            workload: workload.into(),
            metric: metric.into(),
            value,
        }
    }

    #[test]
    fn targets_judge_medians_in_the_right_direction() {
        let s = vec![
            sample("default", "replay-low", "short_mean_slowdown", 10.0),
            sample("scx_rustland", "replay-low", "short_mean_slowdown", 6.0),
            sample("scx_foresight", "replay-low", "short_mean_slowdown", 4.0),
            sample("default", "replay-low", "long_mean_slowdown", 2.0),
            sample("scx_foresight", "replay-low", "long_mean_slowdown", 2.4),
            sample("default", "hackbench", "time_s", 10.0),
            sample("scx_foresight", "hackbench", "time_s", 10.5),
            sample("default", "stress-ng", "cpu", 100.0),
            sample("scx_foresight", "stress-ng", "cpu", 50.0),
            sample("default", "stress-ng", "pipe", 100.0),
            sample("scx_foresight", "stress-ng", "pipe", 200.0),
        ];
        let t = targets(&rows(&s));
        let find = |prefix: &str| t.iter().find(|t| t.name.starts_with(prefix)).unwrap();
        let short = find("replay-low: short mean slowdown, scx_foresight / default");
        assert_eq!((short.ratio, short.met), (Some(0.4), true));
        assert!(find("replay-low: short mean slowdown, scx_foresight / scx_rustland").met);
        let long = find("replay-low: long");
        assert!(!long.met && (long.ratio.unwrap() - 1.2).abs() < 1e-9);
        let hb = find("hackbench");
        assert!(hb.met && (hb.ratio.unwrap() - 10.0 / 10.5).abs() < 1e-9);
        // sqrt(0.5 * 2) = 1.
        let mix = find("stress-ng");
        assert!(mix.met && (mix.ratio.unwrap() - 1.0).abs() < 1e-9);
        // No high-load data: not met, no ratio.
        assert!(find("replay-high: short").ratio.is_none());
        let md = markdown(
            &rows(&s),
            &t,
            &Plan {
                reps: 1,
                replay_s: 1,
                mix_s: 1,
                hackbench_loops: 1,
            },
            &[],
        );
        assert!(md.contains("| FaaS low load: short mean slowdown | lower | 10.00 [10.00–10.00] |"));
        assert!(md.contains("4.00 [4.00–4.00] ×0.40"));
        assert!(md.contains("**missed**"));
    }

    #[test]
    fn cdf_plot_is_written() {
        register_font().unwrap();
        let inv = |sched: &str, finish| Invocation {
            sched: sched.into(),
            workload: "replay-low".into(),
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
