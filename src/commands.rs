// SPDX-License-Identifier: GPL-2.0-only
//! The offline subcommands: `simulate` and `trace gen`. They need no kernel and no root.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use scx_foresight::model::ModelSet;
use scx_foresight::policy::SliceConfig;
use scx_foresight::sim::{self, PolicyKind, SimConfig, SHORT_US_DEFAULT};
use scx_foresight::trace::{self, GenConfig};

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
}

#[derive(Debug, Subcommand)]
pub enum TraceCmd {
    /// Generate a synthetic FaaS trace shaped after the Azure Functions 2019 trace.
    Gen(GenArgs),
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// CPUs the load is computed for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus: u32,
    /// Average offered load per CPU (0 < L <= 4).
    #[arg(long, default_value_t = 0.8)]
    pub load: f64,
    /// Trace length in seconds.
    #[arg(long, default_value_t = 600.0)]
    pub duration_s: f64,
    /// Random seed (same seed, same trace).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn simulate(a: &SimulateArgs) -> Result<()> {
    let rows = trace::read(&a.trace)?;
    let (jobs, _) = sim::jobs_from_trace(&rows);
    let policies: Vec<PolicyKind> = match a.policy {
        PolicyArg::Fifo => vec![PolicyKind::Fifo],
        PolicyArg::Fair => vec![PolicyKind::Fair],
        PolicyArg::Foresight => vec![PolicyKind::Foresight],
        PolicyArg::Oracle => vec![PolicyKind::Oracle],
        PolicyArg::All => PolicyKind::ALL.to_vec(),
    };
    let reports: Vec<sim::Report> = policies
        .into_iter()
        .map(|policy| {
            let cfg = SimConfig {
                cpus: a.cpus,
                policy,
                slices: SliceConfig::defaults(u64::from(a.cpus)),
                prior: ModelSet::default(),
            };
            let (times, _) = sim::simulate(&jobs, &cfg);
            sim::report(&jobs, &times, &cfg, a.short_us)
        })
        .collect();
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
    writeln!(
        out,
        "{} invocations on {} CPUs ({}), short = cpu <= {} us",
        jobs.len(),
        a.cpus,
        a.trace.display(),
        a.short_us
    )?;
    writeln!(
        out,
        "| policy | short n | short mean | short p50 | short p99 | short max | long n | long mean | long p99 | long max | all mean | all mean response ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in &reports {
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
    Ok(())
}

pub fn trace(cmd: &TraceCmd) -> Result<()> {
    match cmd {
        TraceCmd::Gen(g) => {
            if !(g.load > 0.0 && g.load <= 4.0) {
                bail!("--load {}: must be in (0, 4]", g.load);
            }
            if !(g.duration_s > 0.0 && g.duration_s <= 86_400.0) {
                bail!("--duration-s {}: must be in (0, 86400]", g.duration_s);
            }
            let rows = trace::generate(&GenConfig {
                cpus: g.cpus,
                load: g.load,
                duration_s: g.duration_s,
                seed: g.seed,
            });
            let csv = trace::to_csv(&rows);
            match &g.out {
                Some(path) => std::fs::write(path, csv)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::stdout().lock().write_all(csv.as_bytes())?,
            }
            Ok(())
        }
    }
}
