// SPDX-License-Identifier: GPL-2.0-only
//! `scx_foresight simulate`: run a trace through the policy (the same code as the live loop)
//! on simulated CPUs, and compare policies.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use scx_foresight::core::classify::SystemClass;
use scx_foresight::core::model::{Interner, ModelSet, Sample};
use scx_foresight::core::modes::ModeConfig;
use scx_foresight::core::policy::SliceConfig;
use scx_foresight::core::policy::{
    ModeParams, EXEC_FINISH_NS_DEFAULT, EXEC_GRACE_NS_DEFAULT, RT_PREEMPT_MIN_CPU_NS,
    SLICE_TIMER_MAX_NS_DEFAULT, WAKE_PREEMPT_MIN_RUN_NS,
};
use scx_foresight::formats::csv::open_csv_for_append;
use scx_foresight::formats::modelfile::ModelFile;
use scx_foresight::formats::samples::{self, Recorded};
use scx_foresight::formats::trace;
use scx_foresight::offline::sim::{self, PolicyKind, SimConfig, SHORT_US_DEFAULT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Run to completion in arrival order.
    Fifo,
    /// Time-sliced, weight-fair (like the kernel's default scheduler).
    Fair,
    /// scx_foresight's live policy and models, learning online.
    Foresight,
    /// Preemptive shortest-remaining-time with the true demand (the limit).
    Oracle,
    /// All four, one row each.
    All,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Trace CSV: `arrival_us,function,args,cpu_us` (see `trace gen`).
    #[arg(long, value_name = "FILE")]
    pub trace: PathBuf,
    /// Number of CPUs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus: u32,
    /// Scheduling policy to simulate.
    #[arg(long, value_enum, default_value_t = PolicyArg::All)]
    pub policy: PolicyArg,
    /// Invocations needing at most this much CPU (µs) count as short.
    #[arg(long, default_value_t = SHORT_US_DEFAULT)]
    pub short_us: u64,
    /// Print JSON (one object; an array with `--policy all`).
    #[arg(long)]
    pub json: bool,
    /// foresight predicts an invocation from this enqueue on; before, only the general model
    /// (behaviour alone) can. 2 is the live scheduler today (identity at exec, in the first run
    /// after the fork's enqueue); 3 was its /proc-only path; 1 is identity known at arrival.
    #[arg(long, default_value_t = sim::IDENTIFY_FROM_ENQUEUE_LIVE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub identify_from_enqueue: u32,
    /// foresight: an arrival while every CPU is busy preempts a task that has run at least
    /// this many µs, as the live scheduler's `--wake-preempt-us` does; 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = WAKE_PREEMPT_MIN_RUN_NS / 1000)]
    pub wake_preempt_us: u64,
    /// foresight: an arrival while every CPU is busy also preempts a task that has used at
    /// least this many µs of CPU in all, as the live scheduler's `--rt-preempt-cpu-us` does
    /// (the replayer's real-time launcher); 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = RT_PREEMPT_MIN_CPU_NS / 1000)]
    pub rt_preempt_cpu_us: u64,
    /// foresight: CPU (µs) a new invocation uses before its exec, where the live scheduler
    /// ends its first slice and queues the new image again; 0 gives the first run an
    /// ordinary slice. The default is the instruction-count VM's measured process start.
    #[arg(long, value_name = "US", default_value_t = sim::EXEC_RUN_US_DEFAULT)]
    pub exec_run_us: u64,
    /// foresight: what is left of that first slice after the exec (µs), as the live
    /// scheduler's `--exec-grace-us`: an invocation done within it is not queued again.
    #[arg(long, value_name = "US", default_value_t = EXEC_GRACE_NS_DEFAULT / 1000)]
    pub exec_grace_us: u64,
    /// foresight: an invocation whose function (or executable) model predicts at most this
    /// many µs of CPU keeps the CPU after its exec until done, as the live scheduler's
    /// `--exec-finish-us`; others get the grace; 0 turns the rule off.
    #[arg(long, value_name = "US", default_value_t = EXEC_FINISH_NS_DEFAULT / 1000)]
    pub exec_finish_us: u64,
    /// foresight: an invocation whose model predicts more than `--exec-finish-us` keeps
    /// nothing after its exec and is queued again, as the live scheduler's `--exec-end-long`.
    #[arg(long)]
    pub exec_end_long: bool,
    /// foresight: the kernel's scheduler tick (µs). Live, a slice ends only at the first tick
    /// after it ran out (4000 at the VM's HZ=250); 0 (the default): every slice ends on time.
    #[arg(long, value_name = "US", default_value_t = 0)]
    pub tick_us: u64,
    /// foresight, with `--tick-us`: slices shorter than this many µs that hold a task back for
    /// others (a long task's share) end on time, as the live scheduler's `--slice-timer-us`
    /// makes them, and so does what the exec rule leaves at exec; 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = SLICE_TIMER_MAX_NS_DEFAULT / 1000)]
    pub slice_timer_us: u64,
    /// foresight, with `--slice-timer-us`: every short slice ends on time, not only those
    /// that hold a task back for others, as the live scheduler's `--time-every-slice`.
    #[arg(long)]
    pub time_every_slice: bool,
    /// Run foresight in the mode the live scheduler uses for this workload class (the shipped
    /// modes config: idle, cpu-bound, interactive, io-heavy, network-heavy, faas-burst, mixed).
    /// Default: the base parameters, as before any class is known.
    #[arg(long, value_name = "CLASS")]
    pub mode: Option<SystemClass>,
    /// foresight: switch mode during the run, as the live classifier did in a replay: from
    /// MS milliseconds of the trace's clock on, CLASS's mode (comma separated, e.g.
    /// `0:mixed,2500:faas-burst`; `cargo xtask bench` passes the one its stats lines showed).
    #[arg(long, value_name = "MS:CLASS", value_delimiter = ',')]
    pub mode_timeline: Vec<ModeChange>,
    /// The modes config (JSON, the live scheduler's `--config`) that `--mode` and
    /// `--mode-timeline` read the classes' parameters from; default: the shipped one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write each invocation's times per policy into this directory (`POLICY.csv`:
    /// arrival_us,cpu_us,first_run_us,finish_us), to set beside a replay's own.
    #[arg(long, value_name = "DIR")]
    pub times_dir: Option<PathBuf>,
    /// Start foresight from this model file (the prior); online learning continues from it.
    #[arg(long, value_name = "FILE")]
    pub models: Option<PathBuf>,
    /// Append every completed invocation as a training sample (the `--record` format; a file
    /// that exists must be a whole samples file, else it is refused untouched).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// One `--mode-timeline` entry: from `at_ms` on, `class`'s mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeChange {
    pub at_ms: u64,
    pub class: SystemClass,
}

impl std::str::FromStr for ModeChange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ms, class) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not MS:CLASS (e.g. 2500:faas-burst)"))?;
        let at_ms = ms
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{ms}` is not a whole number of milliseconds"))?;
        let class = class.trim().parse().map_err(|e| format!("`{s}`: {e}"))?;
        Ok(Self { at_ms, class })
    }
}

pub fn simulate(a: &SimulateArgs) -> Result<()> {
    let rows = trace::read(&a.trace)?;
    if let Some(dir) = &a.times_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--times-dir {}: cannot create it", dir.display()))?;
    }
    let (jobs, mut names) = sim::jobs_from_trace(&rows);
    let prior = match &a.models {
        Some(path) => {
            let (file, _) = ModelFile::load(path)?;
            file.to_model_set(|id| names.intern(id), 1)
        }
        None => ModelSet::default(),
    };
    let modes = match &a.config {
        Some(path) => ModeConfig::load(path)?,
        None => ModeConfig::builtin(),
    };
    let mode = match a.mode {
        Some(class) => modes.mode(class),
        None => ModeParams::default(),
    };
    let mut mode_changes: Vec<(u64, ModeParams)> = a
        .mode_timeline
        .iter()
        .map(|c| (c.at_ms.saturating_mul(1_000_000), modes.mode(c.class)))
        .collect();
    mode_changes.sort_by_key(|(at, _)| *at);
    let reports: Vec<sim::Report> = policies(a.policy)
        .into_iter()
        .map(|policy| {
            let cfg = SimConfig {
                cpus: a.cpus,
                policy,
                slices: SliceConfig::defaults(u64::from(a.cpus)),
                prior: prior.clone(),
                identify_from_enqueue: a.identify_from_enqueue,
                mode,
                mode_changes: mode_changes.clone(),
                wake_preempt_min_run_ns: a.wake_preempt_us.saturating_mul(1000),
                rt_preempt_min_cpu_ns: a.rt_preempt_cpu_us.saturating_mul(1000),
                exec_run_ns: a.exec_run_us.saturating_mul(1000),
                exec_grace_ns: a.exec_grace_us.saturating_mul(1000),
                exec_finish_ns: a.exec_finish_us.saturating_mul(1000),
                exec_end_long: a.exec_end_long,
                tick_ns: a.tick_us.saturating_mul(1000),
                slice_timer_max_ns: a.slice_timer_us.saturating_mul(1000),
                time_every_slice: a.time_every_slice,
            };
            let (times, _) = sim::simulate(&jobs, &cfg);
            if let Some(dir) = &a.times_dir {
                write_times(&dir.join(format!("{}.csv", policy.name())), &jobs, &times);
            }
            sim::report(&jobs, &times, &cfg, a.short_us)
        })
        .collect();
    if let Some(path) = &a.record {
        record_samples(path, &jobs, &names)?;
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        if let [one] = reports.as_slice() {
            serde_json::to_writer(&mut out, one)?;
        } else {
            serde_json::to_writer(&mut out, &reports)?;
        }
        writeln!(out)?;
        return Ok(());
    }
    print_table(&mut out, a, jobs.len(), &reports)
}

/// The policies `--policy` names.
fn policies(arg: PolicyArg) -> Vec<PolicyKind> {
    match arg {
        PolicyArg::Fifo => vec![PolicyKind::Fifo],
        PolicyArg::Fair => vec![PolicyKind::Fair],
        PolicyArg::Foresight => vec![PolicyKind::Foresight],
        PolicyArg::Oracle => vec![PolicyKind::Oracle],
        PolicyArg::All => PolicyKind::ALL.to_vec(),
    }
}

/// `--times-dir`: each invocation's arrival, demand, first run and finish under one policy.
fn write_times(path: &std::path::Path, jobs: &[sim::Job], times: &[sim::JobTimes]) {
    let mut text = String::from("arrival_us,cpu_us,first_run_us,finish_us\n");
    for (j, t) in jobs.iter().zip(times) {
        text.push_str(&format!(
            "{},{},{},{}\n",
            j.arrival_ns / 1000,
            j.cpu_ns / 1000,
            t.first_run_ns / 1000,
            t.finish_ns / 1000
        ));
    }
    if let Err(e) = std::fs::write(path, text) {
        log::error!("cannot write {}: {e}", path.display());
    }
}

/// `--record`: every invocation completes in every policy, so record them once, in arrival
/// order, as training samples.
fn record_samples(path: &std::path::Path, jobs: &[sim::Job], names: &Interner) -> Result<()> {
    let mut out = open_csv_for_append(path, &samples::header())?;
    let mut text = String::new();
    for j in jobs {
        let identity = j
            .func
            .and_then(|f| names.name(f))
            .unwrap_or("[unknown]")
            .to_string();
        let s = Sample {
            func: j.func,
            exe: j.exe,
            fx: j.fx,
            cx: j.cx,
            gx: j.gx,
            cpu_ns: j.cpu_ns,
        };
        text.push_str(&Recorded::from_sample(identity, &s).to_line());
        text.push('\n');
    }
    out.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("recorded {} samples to {}", jobs.len(), path.display());
    Ok(())
}

/// The Markdown table, one row per policy, and each policy's start (first invocations).
fn print_table(
    out: &mut impl Write,
    a: &SimulateArgs,
    nr_jobs: usize,
    reports: &[sim::Report],
) -> Result<()> {
    writeln!(
        out,
        "{} invocations on {} CPUs ({}), short = cpu <= {} us",
        nr_jobs,
        a.cpus,
        a.trace.display(),
        a.short_us
    )?;
    writeln!(
        out,
        "| policy | short n | short mean | short p50 | short p99 | short max | long n | long mean | long p99 | long max | all mean | all mean response ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in reports {
        writeln!(
            out,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {:.1} |",
            r.policy,
            r.short.count,
            r.short.mean_slowdown,
            r.short.p50_slowdown,
            r.short.p99_slowdown,
            r.short.max_slowdown,
            r.long.count,
            r.long.mean_slowdown,
            r.long.p99_slowdown,
            r.long.max_slowdown,
            r.all.mean_slowdown,
            r.all.mean_response_us / 1000.0
        )?;
    }
    for r in reports {
        writeln!(
            out,
            "{}: first {} invocations, short mean slowdown {:.2} ({} short)",
            r.policy,
            sim::FIRST_N,
            r.first_100_short.mean_slowdown,
            r.first_100_short.count
        )?;
    }
    Ok(())
}
