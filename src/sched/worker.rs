// SPDX-License-Identifier: GPL-2.0-only
//! The worker process the supervisor starts: its helper threads first (no new threads after
//! attach), then the dispatch loop attached to the kernel, until it is stopped or evicted.

use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use log::{debug, error, info, warn};

use crate::cli::args::{version_text, Opts};
use crate::sched::execs;
use crate::sched::scheduler::{BpfObjects, Helpers, LoopConfig, Scheduler};
use crate::sched::stats_service;
use crate::sched::supervisor::{self, install_sighup, EXIT_KERNEL_ERROR, EXIT_RESTART};
use scx_foresight::core::model::ModelSet;
use scx_foresight::live::adapt;
use scx_foresight::live::handoff::{sync_channel, SyncSender};
use scx_foresight::live::helper_thread;
use scx_foresight::live::last_good::LastGood;
use scx_foresight::live::learner;
use scx_foresight::live::procinfo::{ExecSlices, ProcWorker, SharedNames};
use scx_foresight::live::recorder::{DecisionLog, Recorder};
use scx_foresight::live::sched_stats::SchedStats;
use scx_foresight::live::stats::{own_page_faults, Metrics};
use scx_foresight::live::{reload, watch};

/// Worker: SIGHUP asks the model watcher to reload.
extern "C" fn on_sighup_reload(_: libc::c_int) {
    watch::RELOAD_SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// The worker's nice value: first for the CPU while it starts or tears down.
const WORKER_NICE: i32 = -20;

/// The worker: attach once, schedule until stopped; exit EXIT_RESTART on the kernel's restart
/// request, EXIT_KERNEL_ERROR when the kernel ended us with an error (both told to the
/// supervisor as soon as we have detached). Its helper threads end before it does (see
/// `helper_thread::exit_process`).
pub fn run_worker(cfg: &LoopConfig, opts: &Opts, nr_cpus: u64) -> ! {
    let code = match schedule(cfg, opts, nr_cpus) {
        Ok(code) => code,
        Err(err) => {
            error!("{err:#}");
            1
        }
    };
    helper_thread::exit_process(code.into())
}

fn schedule(cfg: &LoopConfig, opts: &Opts, nr_cpus: u64) -> Result<u8> {
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
        proc_stat: adapt::read_proc_stat,
    })
    .context("cannot start workload classification")?;
    let names = SharedNames::default();
    let (learner, samples) =
        learner::spawn(ModelSet::default()).context("cannot start the learner")?;
    let exec_slices = ExecSlices {
        learner: learner.clone(),
        finish_ns: opts.exec_finish_us.saturating_mul(1000),
        end_long: opts.exec_end_long,
    };
    let (procs, execs) = ProcWorker::spawn(
        names.clone(),
        adapt.boosts.clone(),
        Some((
            execs::ExecTracer::factory(
                opts.exec_grace_us.saturating_mul(1000),
                opts.slice_timer_us.saturating_mul(1000),
            ),
            Some(exec_slices),
        )),
    )
    .context("cannot start the /proc worker")?;
    debug!(
        "helpers and exec tracer ready after {} ms",
        t_start.elapsed().as_millis()
    );
    if let Some(Err(why)) = execs {
        warn!("no exec tracer ({why}): invocations are identified from /proc only, after their 2nd enqueue");
    }
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
    let decision_log = opts
        .trace_decisions
        .as_deref()
        .map(DecisionLog::start)
        .transpose()?;
    let helpers = Helpers {
        procs,
        learner,
        samples,
        record: recorder.as_ref().map(|r| r.tx.clone()),
        decisions: decision_log.as_ref().map(|r| r.tx.clone()),
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
    let unlogged = sched.decisions_unlogged();
    let t_detach = std::time::Instant::now();
    drop(sched);
    debug!("detached in {} ms", t_detach.elapsed().as_millis());
    // Rows recorded so far are kept whichever way we ended.
    if let Some(r) = recorder {
        let rows = r.finish()?;
        info!("recorded {rows} completed tasks");
    }
    if let Some(log) = decision_log {
        let rows = log.finish()?;
        info!("traced {rows} decisions ({unlogged} dropped: the writer was behind)");
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
    Ok(code)
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
    // One snapshot made and thrown away before the budget applies: in the VM under load the
    // first one cost the thread over 0.87 s of CPU (later ones ~60 ms; why, not shown), paid
    // at 5 % of a CPU it reached the supervisor after more than 20 s (BENCHMARKS.md, 39).
    let warm_up = move || {
        let first = SchedStats::from_metrics(&Metrics::default(), pid);
        let _ = std::hint::black_box(serde_json::to_vec(&first));
        let _ = std::hint::black_box(own_page_faults());
    };
    helper_thread::spawn_after_setup("stats", helper_thread::LIGHT_BUDGET, warm_up, move |()| {
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
