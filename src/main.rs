// SPDX-License-Identifier: GPL-2.0-only
//! scx_foresight: a sched_ext scheduler whose decisions are made in Rust, in userspace.
mod bpf_skel;
pub use bpf_skel::*;
pub mod bpf_intf;
#[rustfmt::skip]
#[allow(clippy::all)]
mod bpf;
mod commands;
mod execs;
mod exits;
mod report;
mod scheduler;
mod signals;
mod stats_service;
mod supervisor;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use log::{debug, error, info, warn};

use scheduler::{BpfObjects, Helpers, LoopConfig, Scheduler};
use scx_foresight::adapt::{self, ClassifierSource};
use scx_foresight::helper_thread;
use scx_foresight::last_good::LastGood;
use scx_foresight::learner;
use scx_foresight::model::ModelSet;
use scx_foresight::modes::CgroupBoost;
use scx_foresight::policy::{SliceConfig, SLICE_NS_DEFAULT, SLICE_NS_MIN_DEFAULT};
use scx_foresight::preflight::{self, SCHED_EXT_SYSFS};
use scx_foresight::procinfo::{ProcWorker, SharedNames};
use scx_foresight::recorder::Recorder;
use scx_foresight::reload;
use scx_foresight::stats::{own_page_faults, Metrics, SchedStats, StatsFormat};
use scx_utils::libbpf_clap_opts::LibbpfOpts;
use supervisor::{install_sighup, EXIT_KERNEL_ERROR, EXIT_RESTART, WORKER_ENV};

/// scx_foresight: a sched_ext CPU scheduler for machines running short serverless (FaaS)
/// functions beside long jobs.
///
/// Every task is queued to this process; it predicts how much CPU each task still needs
/// (linear models over its command line and behaviour, learnt online and from --models) and
/// runs the shortest predicted first, short function invocations to completion, with an aging
/// bound so that no task starves. It classifies the workload every window (idle, cpu-bound,
/// interactive, io-heavy, network-heavy, faas-burst, mixed) and switches the policy's mode
/// after the class held for a dwell (--config); --boost-cgroup gives containers a larger
/// share.
///
/// Needs root and a kernel with sched_ext (Linux >= 6.12, CONFIG_SCHED_CLASS_EXT=y). Stop it
/// with Ctrl-C or SIGTERM: the kernel's default scheduler takes over again.
#[derive(Debug, Parser)]
#[command(
    name = "scx_foresight",
    version = version_text(),
    about,
    long_about,
    after_long_help = FILES_HELP
)]
struct Opts {
    /// Maximum time slice in microseconds (what a task gets when nothing else waits).
    #[arg(short = 's', long, default_value_t = SLICE_NS_DEFAULT / 1000)]
    slice_us: u64,

    /// Minimum time slice in microseconds (the floor however many tasks wait).
    #[arg(short = 'S', long, default_value_t = SLICE_NS_MIN_DEFAULT / 1000)]
    slice_us_min: u64,

    /// Only schedule tasks that set SCHED_EXT with sched_setscheduler(2); others keep the
    /// kernel's default scheduler.
    #[arg(short = 'p', long)]
    partial: bool,

    /// Verbose output: debug logs, libbpf details, BPF events in the trace pipe.
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Length of the kernel's debug dump printed when the scheduler is evicted (0 = default).
    #[arg(long, default_value_t = 0)]
    exit_dump_len: u32,

    /// Print statistics every SECS seconds while scheduling (scheduling, prediction, models,
    /// workload class, signals; see --help-stats). They are also served to scx tools
    /// (scxtop, scx_stats clients) on /var/run/scx/root/stats, with or without this flag.
    #[arg(long, value_name = "SECS")]
    stats: Option<f64>,

    /// How --stats and --monitor print: `grouped` (a few lines per interval, counters as
    /// deltas over it) or `line` (one `stats: key=value ...` line of cumulative counters, for
    /// scripts).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = StatsFormat::Grouped)]
    stats_format: StatsFormat,

    /// List every statistic with its description, then exit.
    #[arg(long)]
    help_stats: bool,

    /// Load models from this file, or every *.json in this directory, as the prior; reloaded
    /// when it changes or on SIGHUP (an invalid file is reported and the models in use stay).
    #[arg(long, value_name = "PATH")]
    models: Option<PathBuf>,

    /// Append one CSV row per completed task (function, numeric args, features, CPU demand)
    /// to FILE, for `scx_foresight train`. A missing or empty FILE gets the header; an existing
    /// one must start with the samples header and end with a whole line, else it is refused
    /// before attaching, untouched.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,

    /// Modes config (JSON): the policy parameters of each workload class, the window, the
    /// dwell, boosted cgroups. Reloaded when it changes or on SIGHUP (an invalid file is
    /// reported and the one in use stays). Default: the shipped models/modes.json, built in.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Workload classifier: `builtin` (models/classifier.json, fitted on windows recorded in
    /// the test VM), `thresholds` (fixed thresholds), or a file from `train --windows`
    /// (reloaded when it changes or on SIGHUP).
    #[arg(
        long,
        value_name = "builtin|thresholds|FILE",
        default_value = "builtin"
    )]
    classifier: ClassifierSource,

    /// Give the tasks of a cgroup (and its descendants) FACTOR times their share, 1..=8,
    /// default 2. PATH as under /sys/fs/cgroup or relative to it. Repeatable; adds to the
    /// config's boost_cgroups.
    #[arg(long, value_name = "PATH[:FACTOR]", value_parser = CgroupBoost::parse)]
    boost_cgroup: Vec<CgroupBoost>,

    /// Append one CSV row per classification window (signals and class) to FILE; label the
    /// rows, then fit a classifier with `scx_foresight train --windows`. Only a missing, empty
    /// or windows-header file is written to.
    #[arg(long, value_name = "FILE")]
    record_signals: Option<PathBuf>,

    /// After the kernel ends the scheduler with an error (a watchdog eviction, a BPF error) or
    /// its worker process dies of a signal, attach again, after a back-off (0.25 s, doubling to
    /// 8 s), at most N times in any minute; each time the kernel's reason is logged. 0 (the
    /// default): exit with an error instead (e.g. for systemd's Restart=on-failure).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=60))]
    restart_on_error: u32,

    /// Do not attach: print the statistics of the running scx_foresight every SECS seconds
    /// (read from its scx_stats socket), until Ctrl-C; while none runs (or during a restart)
    /// it says so and waits for one.
    #[arg(long, value_name = "SECS")]
    monitor: Option<f64>,

    /// libbpf's object options, as every scx scheduler takes them.
    #[command(flatten, next_help_heading = "Libbpf options")]
    libbpf: LibbpfOpts,

    #[command(subcommand)]
    command: Option<Cmd>,
}

/// Where the Debian package puts things (`--help` and the man page).
const FILES_HELP: &str = "Files (Debian package):
  /usr/share/scx_foresight/models   shipped CPU-demand models, classifier and modes (--models)
  /etc/scx_foresight/modes.json     the modes config the service uses (--config)
  /etc/default/scx_foresight        the service's flags (SCX_FORESIGHT_FLAGS)
  scx_foresight.service             systemctl start|stop|reload scx_foresight
With the scx package's scx.service instead: SCX_SCHEDULER=scx_foresight in /etc/default/scx.";

/// `-V`: our version with the scx build id (git commit, target), and the core's version.
fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} - scx_rustland_core {}",
            scx_utils::build_id::full_version(env!("CARGO_PKG_VERSION")),
            scx_rustland_core::VERSION
        )
    })
}

/// Offline tools (no kernel, no root needed). Without a subcommand, scx_foresight schedules.
#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Run a trace through a simulated machine under fifo, fair, foresight or oracle.
    Simulate(commands::SimulateArgs),
    /// Work with invocation traces.
    #[command(subcommand)]
    Trace(commands::TraceCmd),
    /// Fit models offline (k-fold cross-validated): CPU-demand models from recorded samples
    /// (--samples), or the workload classifier from labelled signal windows (--windows).
    Train(commands::TrainArgs),
    /// Inspect a model file or predict with it.
    #[command(subcommand)]
    Model(commands::ModelCmd),
    /// Plot a `--record` samples file and a `--record-signals` windows file as PNGs:
    /// measured CPU per function with its model, the class timeline with mode switches,
    /// windows per class.
    Report(report::ReportArgs),
    /// Print a completion script for SHELL (e.g. `scx_foresight completions bash >
    /// /usr/share/bash-completion/completions/scx_foresight`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), as the Debian package installs it.
    #[command(hide = true)]
    Manpage,
}

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
        Some(Cmd::Simulate(a)) => return commands::simulate(a).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Trace(t)) => return commands::trace(t).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Train(t)) => return commands::train(t).map(|()| ExitCode::SUCCESS),
        Some(Cmd::Model(m)) => return commands::model(m).map(|()| ExitCode::SUCCESS),
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
        partial: opts.partial,
        verbose: opts.verbose,
        stats_interval,
        libbpf: opts.libbpf.clone(),
    };
    if std::env::var_os(WORKER_ENV).is_some() {
        return run_worker(&cfg, opts, nr_cpus);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    preflight::check(Path::new(SCHED_EXT_SYSFS), euid)?;
    supervisor::supervise(
        opts.restart_on_error,
        stats_interval.map(|every| (every, opts.stats_format)),
    )
}

/// Worker: SIGHUP asks the model watcher to reload.
extern "C" fn on_sighup_reload(_: libc::c_int) {
    reload::RELOAD_SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// The worker's nice value: first for the CPU while it starts or tears down.
const WORKER_NICE: i32 = -20;

/// The worker: attach once, schedule until stopped; exit EXIT_RESTART on the kernel's restart
/// request, EXIT_KERNEL_ERROR when the kernel ended us with an error (both told to the
/// supervisor as soon as we have detached).
fn run_worker(cfg: &LoopConfig, opts: &Opts, nr_cpus: u64) -> Result<ExitCode> {
    // Die with the supervisor (e.g. `kill -9`), so the kernel falls back at once.
    // SAFETY: prctl with an integer argument.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if unsafe { libc::getppid() } == 1 {
        bail!("the supervisor is gone; not attaching");
    }
    // Outside sched_ext (starting, or tearing down after an eviction) the worker competes with
    // every task under the kernel's scheduler: measured in the VM beside 2 CPU hogs, a new
    // worker took 7 s to attach at nice 0, 5 s at -20. Attached, sched_ext dispatches the loop
    // itself and nice is unused.
    if let Err(e) = helper_thread::set_own_nice(WORKER_NICE) {
        warn!("cannot raise the worker's priority (nice {WORKER_NICE}): {e}");
    }
    let t_start = std::time::Instant::now();
    // A restarted worker falls back to the files the one before it accepted.
    let last_good = LastGood::from_env();
    // Threads must exist before attaching: the core forbids new mappings (stacks) after.
    let stats = spawn_stats_reporter()?;
    let (adapt, windows) = adapt::spawn(adapt::Setup {
        config: opts.config.clone(),
        classifier: opts.classifier.clone(),
        boosts: opts.boost_cgroup.clone(),
        record: opts.record_signals.clone(),
        nr_cpus,
        last_good: last_good.clone(),
    })
    .context("cannot start workload classification")?;
    let names = SharedNames::default();
    let (procs, execs) = ProcWorker::spawn(
        names.clone(),
        adapt.boosts.clone(),
        Some(execs::ExecTracer::factory()),
    )
    .context("cannot start the /proc worker")?;
    debug!(
        "helpers and exec tracer ready after {} ms",
        t_start.elapsed().as_millis()
    );
    if let Some(Err(why)) = execs {
        warn!("no exec tracer ({why}): invocations are identified from /proc only, after their 2nd enqueue");
    }
    let (learner, samples) =
        learner::spawn(ModelSet::default()).context("cannot start the learner")?;
    if let Some(path) = &opts.models {
        reload::start(
            path.clone(),
            names.clone(),
            samples.clone(),
            learner.clone(),
            last_good.clone(),
        )?;
        install_sighup(on_sighup_reload);
    }
    let recorder = opts
        .record
        .as_deref()
        .map(|p| Recorder::start(p, names.clone()))
        .transpose()?;
    let helpers = Helpers {
        procs,
        learner,
        samples,
        record: recorder.as_ref().map(|r| r.tx.clone()),
        stats: Some(stats),
        adapt,
        windows,
    };
    if std::env::var_os(TEST_ALLOC_STORM_ENV).is_some() {
        start_alloc_storm()?;
    }
    let mut objects = BpfObjects::new();
    debug!("attaching after {} ms", t_start.elapsed().as_millis());
    let mut sched =
        Scheduler::init(cfg, helpers, &mut objects).context("cannot attach scx_foresight")?;
    debug!("attached after {} ms", t_start.elapsed().as_millis());
    // SIGHUP reloads models (ignored without --models). Installed after attaching: the core's
    // Ctrl-C handler also claims SIGHUP as "terminate".
    install_sighup(on_sighup_reload);
    info!(
        "scx_foresight {} attached ({} CPUs, slice {}-{} us)",
        version_text(),
        nr_cpus,
        cfg.slices.slice_ns_min / 1000,
        cfg.slices.slice_ns / 1000
    );
    let exit = sched.run();
    if let Err(why) = &exit {
        error!("the kernel ended scx_foresight: {why:#}");
    }
    let t_detach = std::time::Instant::now();
    drop(sched);
    debug!("detached in {} ms", t_detach.elapsed().as_millis());
    // Rows recorded so far are kept whichever way we ended.
    if let Some(r) = recorder {
        let rows = r.finish()?;
        info!("recorded {rows} completed tasks");
    }
    let code = match exit {
        Err(_) => EXIT_KERNEL_ERROR,
        Ok(exit) if exit.should_restart() => EXIT_RESTART,
        Ok(_) => {
            info!("scx_foresight detached");
            0
        }
    };
    supervisor::notify_detached(code);
    Ok(ExitCode::from(code))
}

/// `--stats` seconds as a Duration, refusing what cannot be an interval.
fn stats_interval(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && (0.01..=3600.0).contains(&secs)) {
        bail!("--stats {secs}: the interval must be between 0.01 and 3600 seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Test hook for the VM case `helper-alloc`: a helper that allocates without pause, the worst
/// case for the allocator mutex every thread shares (see helper_thread.rs).
const TEST_ALLOC_STORM_ENV: &str = "FORESIGHT_TEST_ALLOC_STORM";

fn start_alloc_storm() -> Result<()> {
    log::warn!(
        "{TEST_ALLOC_STORM_ENV} is set: a helper allocates in a loop (a test, not for production)"
    );
    helper_thread::spawn("alloc-storm", helper_thread::LIGHT_BUDGET, || loop {
        let v: Vec<u64> = (0..64).collect();
        std::hint::black_box(v);
    })?;
    Ok(())
}

/// A thread that takes each snapshot the loop sends, adds the process's page faults and sends
/// it to the supervisor, which serves it (and prints it with --stats).
fn spawn_stats_reporter() -> Result<SyncSender<Metrics>> {
    let (tx, rx) = sync_channel::<Metrics>(1);
    let mut pipe = stats_service::supervisor_pipe();
    let pid = std::process::id();
    helper_thread::spawn("stats", helper_thread::LIGHT_BUDGET, move || {
        let mut baseline = None;
        for mut m in rx {
            let faults = own_page_faults().unwrap_or(0);
            m.nr_page_faults = faults - *baseline.get_or_insert(faults);
            if let Some(p) = pipe.as_mut() {
                // The supervisor gone means we are about to be killed too (PDEATHSIG).
                let _ = stats_service::send(p, &SchedStats::from_metrics(&m, pid));
            }
        }
    })
    .context("cannot start the stats thread")?;
    Ok(tx)
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
