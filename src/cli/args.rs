// SPDX-License-Identifier: GPL-2.0-only
//! The command line: the scheduler's flags (`Opts`) and the offline subcommands (`Cmd`).

use std::path::PathBuf;

use clap::Parser;

use scx_foresight::core::modes::CgroupBoost;
use scx_foresight::core::policy::{
    EXEC_FINISH_NS_DEFAULT, EXEC_GRACE_NS_DEFAULT, HOG_PREEMPT_IRQ_SLEEP_NS_DEFAULT,
    HOG_PREEMPT_MIN_CPU_NS, RT_PREEMPT_MIN_CPU_NS, SLICE_NS_DEFAULT, SLICE_NS_MIN_DEFAULT,
    SLICE_TIMER_MAX_NS_DEFAULT, UNINTERRUPTIBLE_LEAD_NS_DEFAULT, UNINTERRUPTIBLE_SLICE_NS_DEFAULT,
    WAKE_PREEMPT_MIN_RUN_NS,
};
use scx_foresight::live::adapt::ClassifierSource;
use scx_foresight::live::sched_stats::StatsFormat;
use scx_utils::libbpf_clap_opts::LibbpfOpts;

use crate::cli::{model, report, simulate, trace, train};

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
pub struct Opts {
    /// Maximum time slice in microseconds (what a task gets when nothing else waits).
    #[arg(short = 's', long, default_value_t = SLICE_NS_DEFAULT / 1000)]
    pub(crate) slice_us: u64,

    /// Minimum time slice in microseconds (the floor however many tasks wait).
    #[arg(short = 'S', long, default_value_t = SLICE_NS_MIN_DEFAULT / 1000)]
    pub(crate) slice_us_min: u64,

    /// Wakeup preemption: a task that wakes up while every CPU is busy preempts the running
    /// task if that has run at least this many microseconds, so the newcomer is decided (and
    /// a short one run) at once rather than at the end of that task's slice. 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = WAKE_PREEMPT_MIN_RUN_NS / 1000)]
    pub(crate) wake_preempt_us: u64,

    /// A real-time task waking on a CPU (e.g. a launcher about to fork) ends the slice of the
    /// task it interrupts if that task has used at least this many microseconds of CPU in
    /// all: the long runner is decided again beside what the real-time task starts, instead
    /// of resuming ahead of it. Shorter tasks resume. 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = RT_PREEMPT_MIN_CPU_NS / 1000)]
    pub(crate) rt_preempt_cpu_us: u64,

    /// A task that has used at least this many microseconds of CPU in all (a CPU hog) is
    /// preempted when a normal task that slept at least 250 us wakes on its CPU: the wakee is
    /// decided at once instead of at the end of the hog's slice (a periodic task beside a hog
    /// waited up to a slice, milliseconds, without it). A task that has used less is preempted
    /// when it reaches this much, if that comes within its slice. 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = HOG_PREEMPT_MIN_CPU_NS / 1000)]
    pub(crate) hog_preempt_cpu_us: u64,

    /// For that rule, the least sleep (microseconds) of a wakee woken by a timer (inside a
    /// high-resolution timer's callback: nanosleep, a periodic timer) rather than by a task
    /// or, from another CPU, by an IPI. Lower lets a periodic task served late, which sleeps
    /// less than its period before its next wakeup, preempt a hog. When IPI wakeups counted
    /// too, 0 cost the 2-vCPU VM cases (BENCHMARKS.md section 38); now they pass at 0, but its
    /// A/B boots did not agree on the replay's short p99 (section 42).
    #[arg(long, value_name = "US", default_value_t = HOG_PREEMPT_IRQ_SLEEP_NS_DEFAULT / 1000)]
    pub(crate) hog_preempt_irq_sleep_us: u64,

    /// For that rule, also preempt a hog when it resumes after a task of a higher class (a
    /// real-time task, one of our helpers) held the CPU while such a sleeper woke: it would
    /// otherwise resume the rest of its slice before the sleeper is decided. Off by default:
    /// in the bench's traced A/B boot it never came up and cyclictest's p99 read ×1.05 with it
    /// (BENCHMARKS.md section 38).
    #[arg(long)]
    pub(crate) hog_preempt_on_resume: bool,

    /// For that rule, arm its timer again (or preempt at once, past the bound) when a task of
    /// a higher class preempted the young hog it was armed for: the hog would otherwise resume
    /// the rest of its slice (cyclictest waited 5858 µs so, BENCHMARKS.md section 39). Off by
    /// default: over two A/B boots its effect on cyclictest's max was unclear (×0.20, then
    /// ×7.00) and the replay's short p99 rose (×1.29, ×1.12; section 40).
    #[arg(long)]
    pub(crate) hog_timer_rearm: bool,

    /// Leave a task preempted or woken inside a migrate-disabled section (a BPF program's run,
    /// a per-CPU section) to the kernel's rule, as before: its CPU's local queue, ahead of all
    /// the loop queued, with the kernel's 20 ms default slice. By default such a task goes to
    /// the loop like every other, kept on its CPU (BENCHMARKS.md section 41).
    #[arg(long)]
    pub(crate) kernel_migration_disabled: bool,

    /// At exec, a fresh image keeps at most this many microseconds of its fork's slice: one
    /// done within it finishes without queueing again; a longer one is queued and decided
    /// with its identity (program and arguments) when it runs out. 0 ends the slice at exec.
    #[arg(long, value_name = "US", default_value_t = EXEC_GRACE_NS_DEFAULT / 1000)]
    pub(crate) exec_grace_us: u64,

    /// At exec, a fresh image whose function's model predicts at most this many microseconds
    /// of CPU keeps its CPU until done (its prediction + 25 % + 2 ms) instead of the grace.
    /// The verdict is left by an earlier exec of the same command line, so a command line's
    /// first exec, and one without a trusted model, gets the grace. 0 turns this off.
    #[arg(long, value_name = "US", default_value_t = EXEC_FINISH_NS_DEFAULT / 1000)]
    pub(crate) exec_finish_us: u64,

    /// At exec, a fresh image whose function's model predicts more than --exec-finish-us
    /// keeps nothing of its slice (instead of the grace): it is decided again as itself at
    /// once, behind shorter work that waits. Like --exec-finish-us, the verdict is left by an
    /// earlier exec of the same command line. Off by default: two VM boots disagree on its
    /// sign, and in the second it raised the generated trace's short p99 ×1.3–2.2 in three of
    /// four replays (BENCHMARKS.md sections 29 and 30).
    #[arg(long)]
    pub(crate) exec_end_long: bool,

    /// Do not run first a task woken from an uninterruptible sleep (state D: a lock handed
    /// over, I/O done). By default it is due first (see --uninterruptible-lead-ms), with a
    /// short slice unless it is predicted to finish in one (--uninterruptible-slice-us),
    /// because it may hold what the next sleeper waits for. This turns both off, and
    /// --uninterruptible-preempt with them.
    #[arg(long)]
    pub(crate) no_uninterruptible_first: bool,

    /// The slice, in microseconds, of a task woken from an uninterruptible sleep that is not
    /// predicted to finish in one: enough to leave what it was handed, then it is decided
    /// again. 0: the slice it would get anyway.
    #[arg(
        long,
        value_name = "US",
        default_value_t = UNINTERRUPTIBLE_SLICE_NS_DEFAULT / 1000,
        value_parser = clap::value_parser!(u64).range(0..=1_000_000)
    )]
    pub(crate) uninterruptible_slice_us: u64,

    /// A task woken from an uninterruptible sleep ends the slice of the task running on its
    /// CPU (at the next tick) instead of waiting for it. Off by default: in the VM it cost
    /// short invocations 8-16 % of their mean slowdown on both FaaS traces, and 17-28 % more
    /// scheduler CPU per decision (BENCHMARKS.md section 27).
    #[arg(long)]
    pub(crate) uninterruptible_preempt: bool,

    /// How many milliseconds before now a task woken from an uninterruptible sleep is due: it
    /// goes ahead of every queued task that has waited less. 0: due now, behind the tasks
    /// already overdue. At most 1000 (the aging bound), so that no task waits behind such
    /// wakees long enough for the kernel's watchdog.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = UNINTERRUPTIBLE_LEAD_NS_DEFAULT / 1_000_000,
        value_parser = clap::value_parser!(u64).range(0..=1000)
    )]
    pub(crate) uninterruptible_lead_ms: u64,

    /// Do not run first, when a task goes to sleep in state D, the queued task that was
    /// preempted inside the kernel longest ago and has not run since. By default it runs
    /// next with a 1 ms slice: the likeliest holder of a lock the kernel names no owner for,
    /// such as a folio's lock taken in a page fault.
    #[arg(long)]
    pub(crate) no_kernel_preempted_first: bool,

    /// Slices shorter than this many microseconds that hold a task back for others (a hog's
    /// share while shorter work waits, the cut of a task woken from state D) end on time: a
    /// timer on the task's CPU preempts it when its slice runs out, so it goes back to be
    /// decided again. Without it the kernel ends a slice only at its next scheduler tick (every
    /// 4 ms at HZ=250), and a task cut to 0.5 ms ran up to 4 ms more. The exec tracer does the
    /// same for the grace it leaves at exec. In the VM it lowered the generated FaaS trace's
    /// short mean slowdown and tail (BENCHMARKS.md section 31). 0 turns it off.
    #[arg(long, value_name = "US", default_value_t = SLICE_TIMER_MAX_NS_DEFAULT / 1000)]
    pub(crate) slice_timer_us: u64,

    /// With --slice-timer-us, end every short slice on time, also the shares of a crowd of
    /// equal tasks (many sleepers, short or unknown work): finer turns, at the price of a round
    /// trip to the scheduler each. In the VM hackbench took ×1.13-1.26 as long with it
    /// (BENCHMARKS.md sections 31 and 33).
    #[arg(long)]
    pub(crate) time_every_slice: bool,

    /// Only schedule tasks that set SCHED_EXT with sched_setscheduler(2); others keep the
    /// kernel's default scheduler.
    #[arg(short = 'p', long)]
    pub(crate) partial: bool,

    /// Verbose output: debug logs, libbpf details, BPF events in the trace pipe.
    #[arg(short = 'v', long)]
    pub(crate) verbose: bool,

    /// Length of the kernel's debug dump printed when the scheduler is evicted (0 = default).
    #[arg(long, default_value_t = 0)]
    pub(crate) exit_dump_len: u32,

    /// Print statistics every SECS seconds while scheduling (scheduling, prediction, models,
    /// workload class, signals; see --help-stats). They are also served to scx tools
    /// (scxtop, scx_stats clients) on /var/run/scx/root/stats, with or without this flag.
    #[arg(long, value_name = "SECS")]
    pub(crate) stats: Option<f64>,

    /// How --stats and --monitor print: `grouped` (a few lines per interval, counters as
    /// deltas over it) or `line` (one `stats: key=value ...` line of cumulative counters, for
    /// scripts).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = StatsFormat::Grouped)]
    pub(crate) stats_format: StatsFormat,

    /// List every statistic with its description, then exit.
    #[arg(long)]
    pub(crate) help_stats: bool,

    /// Load models from this file, or every *.json in this directory, as the prior; reloaded
    /// when it changes or on SIGHUP (an invalid file is reported and the models in use stay).
    #[arg(long, value_name = "PATH")]
    pub(crate) models: Option<PathBuf>,

    /// Append one CSV row per completed task (function, numeric args, features, CPU demand)
    /// to FILE, for `scx_foresight train`. A missing or empty FILE gets the header; an existing
    /// one must start with the samples header and end with a whole line, else it is refused
    /// before attaching, untouched.
    #[arg(long, value_name = "FILE")]
    pub(crate) record: Option<PathBuf>,

    /// Append one CSV row per scheduling decision to FILE: the round's time (CLOCK_MONOTONIC
    /// ns), the task, what the policy saw (CPU so far, prediction, burst, sleep ratio) and
    /// what it decided (class, deadline, slice). For finding why a task waited: match it with
    /// a `sched_switch` trace. Rows the writer cannot keep up with are dropped and counted,
    /// never waited for. The writer thread's own runs delay wakeups: for finding causes, not
    /// for figures. An existing FILE must start with the same header.
    #[arg(long, value_name = "FILE")]
    pub(crate) trace_decisions: Option<PathBuf>,

    /// Modes config (JSON): the policy parameters of each workload class, the window, the
    /// dwell, boosted cgroups. Reloaded when it changes or on SIGHUP (an invalid file is
    /// reported and the one in use stays). Default: the shipped models/modes.json, built in.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Workload classifier: `builtin` (models/classifier.json, fitted on windows recorded in
    /// the test VM), `thresholds` (fixed thresholds), or a file from `train --windows`
    /// (reloaded when it changes or on SIGHUP).
    #[arg(
        long,
        value_name = "builtin|thresholds|FILE",
        default_value = "builtin"
    )]
    pub(crate) classifier: ClassifierSource,

    /// Give the tasks of a cgroup (and its descendants) FACTOR times their share, 1..=8,
    /// default 2. PATH as under /sys/fs/cgroup or relative to it. Repeatable; adds to the
    /// config's boost_cgroups.
    #[arg(long, value_name = "PATH[:FACTOR]", value_parser = CgroupBoost::parse)]
    pub(crate) boost_cgroup: Vec<CgroupBoost>,

    /// Append one CSV row per classification window (signals and class) to FILE; label the
    /// rows, then fit a classifier with `scx_foresight train --windows`. Only a missing, empty
    /// or windows-header file is written to.
    #[arg(long, value_name = "FILE")]
    pub(crate) record_signals: Option<PathBuf>,

    /// After the kernel ends the scheduler with an error (a watchdog eviction, a BPF error) or
    /// its worker process dies of a signal, attach again, after a back-off (0.25 s, doubling to
    /// 8 s), at most N times in any minute; each time the kernel's reason is logged. 0 (the
    /// default): exit with an error instead (e.g. for systemd's Restart=on-failure).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=60))]
    pub(crate) restart_on_error: u32,

    /// Do not attach: print the statistics of the running scx_foresight every SECS seconds
    /// (read from its scx_stats socket), until Ctrl-C; while none runs (or during a restart)
    /// it says so and waits for one.
    #[arg(long, value_name = "SECS")]
    pub(crate) monitor: Option<f64>,

    /// libbpf's object options, as every scx scheduler takes them.
    #[command(flatten, next_help_heading = "Libbpf options")]
    pub(crate) libbpf: LibbpfOpts,

    #[command(subcommand)]
    pub(crate) command: Option<Cmd>,
}

/// Where the Debian package puts things (`--help` and the man page).
const FILES_HELP: &str = "Files (Debian package):
  /usr/share/scx_foresight/models   shipped CPU-demand models, classifier and modes (--models)
  /etc/scx_foresight/modes.json     the modes config the service uses (--config)
  /etc/default/scx_foresight        the service's flags (SCX_FORESIGHT_FLAGS)
  scx_foresight.service             systemctl start|stop|reload scx_foresight
With the scx package's scx.service instead: SCX_SCHEDULER=scx_foresight in /etc/default/scx.";

/// `-V`: our version with the scx build id (git commit, target), and the core's version.
pub fn version_text() -> &'static str {
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
pub enum Cmd {
    /// Run a trace through a simulated machine under fifo, fair, foresight or oracle.
    Simulate(simulate::SimulateArgs),
    /// Work with invocation traces.
    #[command(subcommand)]
    Trace(trace::TraceCmd),
    /// Fit models offline (k-fold cross-validated): CPU-demand models from recorded samples
    /// (--samples), or the workload classifier from labelled signal windows (--windows).
    Train(train::TrainArgs),
    /// Inspect a model file or predict with it.
    #[command(subcommand)]
    Model(model::ModelCmd),
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
