// SPDX-License-Identifier: GPL-2.0-only
//! scx_foresight: a sched_ext scheduler whose decisions are made in Rust, in userspace.
//! This file parses the command line and hands over: to an offline subcommand (`cli/`), to
//! the supervisor, or (in the process the supervisor starts) to the worker (`sched/`).
mod bpf_skel;
pub use bpf_skel::*;
pub mod bpf_intf;
#[rustfmt::skip]
#[allow(clippy::all)]
mod bpf;
mod cli;
mod sched;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use log::{error, warn};

use cli::args::{Cmd, Opts};
use cli::{model, report, simulate, trace, train};
use sched::scheduler::LoopConfig;
use sched::supervisor::{self, WORKER_ENV};
use sched::{stats_service, worker};
use scx_foresight::core::policy::{SliceConfig, UninterruptibleWake};
use scx_foresight::live::preflight::{self, SCHED_EXT_SYSFS};
use scx_foresight::live::sched_stats::StatsFormat;

fn main() -> ExitCode {
    let opts = Opts::parse();
    init_logging(opts.verbose);
    match run(&opts) {
        Ok(code) => code,
        Err(err) => {
            error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: bool) {
    let level = if verbose {
        simplelog::LevelFilter::Debug
    } else {
        simplelog::LevelFilter::Info
    };
    let cfg = simplelog::ConfigBuilder::new()
        .set_time_level(simplelog::LevelFilter::Error)
        .set_target_level(simplelog::LevelFilter::Off)
        .set_thread_level(simplelog::LevelFilter::Off)
        .build();
    // A logger already set is the only failure; nothing to do about it.
    let _ = simplelog::TermLogger::init(
        level,
        cfg,
        simplelog::TerminalMode::Stderr,
        simplelog::ColorChoice::Never,
    );
}

/// Validate flags, check the host, then schedule: as the supervisor, or as its worker.
fn run(opts: &Opts) -> Result<ExitCode> {
    match &opts.command {
        Some(Cmd::Simulate(a)) => return simulate::simulate(a).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Trace(t)) => return trace::trace(t).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Train(t)) => return train::train(t).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Model(m)) => return model::model(m).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Report(r)) => return report::report(r).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Completions { shell }) => {
            let mut cmd = <Opts as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "scx_foresight", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Manpage) => {
            let man = clap_mangen::Man::new(<Opts as clap::CommandFactory>::command()).section("8");
            man.render(&mut std::io::stdout())
                .context("cannot write the man page")?;
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    if opts.help_stats {
        return stats_service::help_stats().map(|()| ExitCode::SUCCESS);
    }
    if let Some(secs) = opts.monitor {
        return monitor(stats_interval(secs)?, opts.stats_format).map(|()| ExitCode::SUCCESS);
    }
    let nr_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let slices = SliceConfig::from_us(opts.slice_us, opts.slice_us_min, nr_cpus)
        .map_err(anyhow::Error::msg)?;
    let stats_interval = opts.stats.map(stats_interval).transpose()?;
    let cfg = LoopConfig {
        slices,
        exit_dump_len: opts.exit_dump_len,
        wake_preempt_min_run_ns: opts.wake_preempt_us.saturating_mul(1000),
        rt_preempt_min_cpu_ns: opts.rt_preempt_cpu_us.saturating_mul(1000),
        hog_preempt_min_cpu_ns: opts.hog_preempt_cpu_us.saturating_mul(1000),
        hog_preempt_irq_sleep_ns: opts.hog_preempt_irq_sleep_us.saturating_mul(1000),
        hog_preempt_on_resume: opts.hog_preempt_on_resume,
        hog_timer_rearm: opts.hog_timer_rearm,
        kernel_migration_disabled: opts.kernel_migration_disabled,
        uninterruptible_first: !opts.no_uninterruptible_first,
        uninterruptible: UninterruptibleWake {
            lead_ns: opts.uninterruptible_lead_ms.saturating_mul(1_000_000),
            slice_ns: opts.uninterruptible_slice_us.saturating_mul(1000),
        },
        uninterruptible_preempt: opts.uninterruptible_preempt,
        kernel_preempted_first: !opts.no_kernel_preempted_first,
        slice_timer_max_ns: opts.slice_timer_us.saturating_mul(1000),
        time_every_slice: opts.time_every_slice,
        partial: opts.partial,
        verbose: opts.verbose,
        stats_interval,
        libbpf: opts.libbpf.clone(),
    };
    if std::env::var_os(WORKER_ENV).is_some() {
        worker::run_worker(&cfg, opts, nr_cpus);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    preflight::check(Path::new(SCHED_EXT_SYSFS), euid)?;
    supervisor::supervise(
        opts.restart_on_error,
        stats_interval.map(|every| (every, opts.stats_format)),
    )
}

/// `--stats` seconds as a Duration, refusing what cannot be an interval.
fn stats_interval(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && (0.01..=3600.0).contains(&secs)) {
        bail!("--stats {secs}: the interval must be between 0.01 and 3600 seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--monitor`: print the running scheduler's statistics every `every`, until Ctrl-C.
fn monitor(every: Duration, format: StatsFormat) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot install the SIGINT/SIGTERM handler")?;
    }
    if !Path::new(stats_service::STATS_SOCKET).exists() {
        warn!(
            "no running scx_foresight (no {}); waiting for one (Ctrl-C to stop)",
            stats_service::STATS_SOCKET
        );
    }
    stats_service::monitor(every, format, true, || stop.load(Ordering::SeqCst))
}
