// SPDX-License-Identifier: GPL-2.0-only
//! foresight_loadgen: launches FaaS-like invocations of foresight_payload as real processes
//! and times them.
//!
//! - `series`: one argument, C runs one after the other (what a caller waits, launch to exit).
//! - `calibrate`: the payload's CPU time per argument on this machine (`arg,cpu_us`).
//! - `replay`: a trace (the simulator's CSV format) in real time: each invocation launched at
//!   its arrival, with the payload argument the calibration maps its CPU demand to; per
//!   invocation arrival, launch, start (the payload's first instruction), finish and CPU time
//!   (from the kernel), and the simulator's summary (short/long/all slowdowns, p50/p99) plus
//!   startup latency.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use scx_foresight::formats::trace;
use scx_foresight::offline::replay::{self, Calibration, Measured, MEASURED_HEADER};
use scx_foresight::offline::sim::SHORT_US_DEFAULT;

#[derive(Debug, Parser)]
#[command(name = "foresight_loadgen", version, about)]
struct Opts {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run `foresight_payload ARG` COUNT times in a row; one line per run and a summary.
    Series {
        #[arg(long)]
        arg: u32,
        #[arg(long)]
        count: u32,
        /// Pause between runs (ms).
        #[arg(long, default_value_t = 0)]
        gap_ms: u64,
    },
    /// Measure the payload's CPU time per argument (median of REPS runs, alone) and write
    /// `arg,cpu_us`.
    Calibrate {
        /// Arguments to measure, e.g. 20,22,24.
        #[arg(long, value_delimiter = ',', required = true)]
        args: Vec<u32>,
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
        reps: u32,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Create COUNT short-lived processes (fork, exit at once, reaped), PARALLEL at a time:
    /// the churn drill. Prints the rate.
    Churn {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
        parallel: u32,
    },
    /// Replay a trace in real time and measure every invocation.
    Replay(ReplayArgs),
}

fn main() -> ExitCode {
    let opts = Opts::parse();
    let result = match opts.cmd {
        Cmd::Series { arg, count, gap_ms } => series(arg, count, gap_ms),
        Cmd::Calibrate { args, reps, out } => calibrate(&args, reps, out.as_deref()),
        Cmd::Churn { count, parallel } => churn(count, parallel),
        Cmd::Replay(a) => replay_trace(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foresight_loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn payload_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(replay::PAYLOAD)))
        .unwrap_or_else(|| PathBuf::from(replay::PAYLOAD))
}

fn series(arg: u32, count: u32, gap_ms: u64) -> Result<()> {
    let payload = payload_path();
    let mut times_ms = Vec::new();
    for i in 0..count {
        let start = Instant::now();
        let status = Command::new(&payload)
            .arg(arg.to_string())
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", payload.display()))?;
        if !status.success() {
            bail!("{} {arg} failed: {status}", payload.display());
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        println!("invocation {i} arg={arg} ms={ms:.2}");
        times_ms.push(ms);
        std::thread::sleep(Duration::from_millis(gap_ms));
    }
    times_ms.sort_by(f64::total_cmp);
    let n = times_ms.len().max(1);
    let mean = times_ms.iter().sum::<f64>() / n as f64;
    println!(
        "series arg={arg} count={count} mean_ms={mean:.2} p50_ms={:.2} max_ms={:.2}",
        times_ms.get(n / 2).copied().unwrap_or(0.0),
        times_ms.last().copied().unwrap_or(0.0)
    );
    Ok(())
}

/// wait4 on `pid` (-1: any child): (the pid reaped, exited 0, CPU µs from the kernel).
fn wait4_cpu(pid: i32) -> std::io::Result<(i32, bool, u64)> {
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child(ren) with valid out pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((r, ok, us(ru.ru_utime) + us(ru.ru_stime)))
}

/// CPU time of this process (every thread; children not included), µs.
fn self_cpu_us() -> u64 {
    // SAFETY: rusage is plain data the kernel fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid out pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// Wait for `pid`, returning its exit success and CPU time (µs) from the kernel.
fn wait_cpu(pid: i32) -> Result<(bool, u64)> {
    match wait4_cpu(pid) {
        Ok((r, ok, cpu)) if r == pid => Ok((ok, cpu)),
        Ok((r, ..)) => bail!("wait4({pid}): reaped {r}"),
        Err(e) => bail!("wait4({pid}): {e}"),
    }
}

fn calibrate(args: &[u32], reps: u32, out: Option<&Path>) -> Result<()> {
    let payload = payload_path();
    let mut points = Vec::new();
    for &arg in args {
        if arg > replay::PAYLOAD_ARG_MAX {
            bail!(
                "--args {arg}: the payload takes 0..={}",
                replay::PAYLOAD_ARG_MAX
            );
        }
        let mut cpu = Vec::new();
        for _ in 0..reps {
            let child = Command::new(&payload)
                .arg(arg.to_string())
                .stdout(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot run {}", payload.display()))?;
            let (ok, us) = wait_cpu(child.id() as i32)?;
            if !ok {
                bail!("{} {arg} failed", payload.display());
            }
            cpu.push(us.max(1));
        }
        cpu.sort_unstable();
        points.push((arg, cpu[cpu.len() / 2]));
        eprintln!(
            "calibrate: arg {arg}: {} us (median of {reps})",
            cpu[cpu.len() / 2]
        );
    }
    let csv = Calibration::new(points)
        .map_err(anyhow::Error::msg)?
        .to_csv();
    match out {
        Some(p) => std::fs::write(p, csv).with_context(|| format!("cannot write {}", p.display())),
        None => {
            print!("{csv}");
            Ok(())
        }
    }
}

fn churn(count: u64, parallel: u32) -> Result<()> {
    let start = Instant::now();
    let per = count.div_ceil(u64::from(parallel));
    let workers: Vec<_> = (0..parallel)
        .map(|_| std::thread::spawn(move || fork_exit_loop(per)))
        .collect();
    let mut done = 0;
    for w in workers {
        done += w
            .join()
            .map_err(|_| anyhow::anyhow!("a churn thread panicked"))??;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "churn processes={done} secs={secs:.1} per_s={:.0}",
        done as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// fork `n` children that exit at once, reaping each.
fn fork_exit_loop(n: u64) -> Result<u64> {
    for i in 0..n {
        // SAFETY: the child only calls _exit (async-signal-safe) and touches nothing else.
        let pid = unsafe { libc::fork() };
        match pid {
            0 => unsafe { libc::_exit(0) },
            p if p < 0 => bail!("fork failed after {i}: {}", std::io::Error::last_os_error()),
            p => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(p, &mut status, 0) };
            }
        }
    }
    Ok(n)
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Trace CSV (`arrival_us,function,args,cpu_us`, see `scx_foresight trace`).
    #[arg(long, value_name = "FILE")]
    trace: PathBuf,
    /// `arg,cpu_us` from `calibrate` on this machine.
    #[arg(long, value_name = "FILE")]
    calibration: PathBuf,
    /// Invocations needing at most this much CPU (µs, as measured) count as short.
    #[arg(long, default_value_t = SHORT_US_DEFAULT)]
    short_us: u64,
    /// Replay only the first N invocations.
    #[arg(long)]
    limit: Option<usize>,
    /// Arrival times divided by this (2 = twice the load).
    #[arg(long, default_value_t = 1.0, conflicts_with = "load")]
    speed: f64,
    /// Scale arrival times so that the invocations, at their calibrated demands, offer this
    /// load per CPU (0 < L <= 4) on --cpus CPUs: the trace's shape, this machine's costs.
    #[arg(long)]
    load: Option<f64>,
    /// Shift every invocation's payload argument down by the same number of steps so that the
    /// largest is at most this: each demand shrinks by the same factor (φ per step), keeping
    /// the trace's shape at a cost this machine can replay.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
    max_arg: Option<u32>,
    /// CPUs --load is computed for (default: the CPUs this process may run on).
    #[arg(long, requires = "load", value_parser = clap::value_parser!(u32).range(1..=4096))]
    cpus: Option<u32>,
    /// Per-invocation CSV.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Summary as JSON (also printed as one `replay` line).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run the replayer's own threads SCHED_FIFO at this priority (1-99; needs root) so that
    /// launches and completion times are taken on time whatever the scheduler under test
    /// does; the invocations themselves are reset to normal scheduling at fork.
    #[arg(long, value_name = "PRIO", value_parser = clap::value_parser!(i32).range(1..=99))]
    rt_prio: Option<i32>,
}

/// Make the calling thread SCHED_FIFO at `prio`; what it forks (processes and threads)
/// starts back at normal scheduling.
fn set_rt(prio: Option<i32>) -> Result<()> {
    let Some(prio) = prio else { return Ok(()) };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: pid 0 is the calling thread; param is a valid sched_param.
    let r = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if r != 0 {
        bail!(
            "--rt-prio {prio}: cannot switch to SCHED_FIFO: {} (needs root or CAP_SYS_NICE)",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Launcher threads. A launch returns only once the child has exec'd, and fork and exec run
/// at the child's (normal) priority under the scheduler being measured: with one launcher,
/// one slow start would delay every later arrival.
const LAUNCHERS: usize = 16;

/// An invocation a launcher started.
struct Launched {
    index: usize,
    pid: i32,
    launch_ns: u64,
    stdout: Option<std::process::ChildStdout>,
}

/// An invocation the reaper saw exit: (finish on CLOCK_MONOTONIC, exited 0, CPU µs).
type Reaped = (u64, bool, u64);

/// wait4(-1): the next child of ours to exit, or None when none is running.
fn reap_any() -> Result<Option<(i32, Reaped)>> {
    match wait4_cpu(-1) {
        Ok((pid, ok, cpu)) => Ok(Some((pid, (scx_foresight::monotonic_ns(), ok, cpu)))),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => reap_any(),
        Err(e) => Err(anyhow::anyhow!("wait4: {e}")),
    }
}

/// The reaper: times every exit at once (one thread, SCHED_FIFO with --rt-prio) until the
/// launchers are gone (`spawned` disconnected) and every invocation they started is reaped.
/// Each launch sends one message on `spawned`; with no child running the reaper sleeps on it
/// (a 1 ms polling nap here cost the replayer ~0.8 % of the guest's CPU).
fn reap_all(rt: Option<i32>, spawned: mpsc::Receiver<()>) -> Result<HashMap<i32, Reaped>> {
    set_rt(rt)?;
    let mut reaped = HashMap::new();
    let (mut started, mut launching) = (0usize, true);
    loop {
        loop {
            match spawned.try_recv() {
                Ok(()) => started += 1,
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    launching = false;
                    break;
                }
            }
        }
        match reap_any()? {
            Some((pid, r)) => {
                reaped.insert(pid, r);
            }
            None if !launching && reaped.len() >= started => return Ok(reaped),
            None => match spawned.recv() {
                Ok(()) => started += 1,
                Err(_) => launching = false,
            },
        }
    }
}

fn replay_trace(a: &ReplayArgs) -> Result<()> {
    if !(a.speed.is_finite() && a.speed > 0.0 && a.speed <= 1000.0) {
        bail!("--speed {}: must be in (0, 1000]", a.speed);
    }
    let cal = Calibration::read(&a.calibration)?;
    let mut rows = trace::read(&a.trace)?;
    if let Some(n) = a.limit {
        rows.truncate(n);
    }
    let mut args: Vec<u32> = rows.iter().map(|r| replay::launch_arg(r, &cal)).collect();
    replay::shift_to_max(&mut args, a.max_arg);
    let speed = replay_speed(a, &rows, &args, &cal)?;
    set_rt(a.rt_prio)?;
    let (spawned_tx, spawned_rx) = mpsc::channel::<()>();
    let pool = Launchers::start(payload_path(), a.rt_prio, spawned_tx);
    let rt = a.rt_prio;
    let reaper = std::thread::spawn(move || reap_all(rt, spawned_rx));
    pool.ready.wait();
    let t0_ns = scx_foresight::monotonic_ns();
    let mut measured = pace(&rows, &args, speed, &cal, &pool.jobs)?;
    let launched = pool.finish();
    let reaped = reaper
        .join()
        .map_err(|_| anyhow::anyhow!("the reaper thread panicked"))??;
    merge(&mut measured, launched, &reaped, t0_ns)?;
    let mut report = replay::report(&measured, a.short_us);
    report.replayer_cpu_us = self_cpu_us();
    println!("replay {}", serde_json::to_string(&report)?);
    write_outputs(a, &measured, &report)?;
    if report.failed > 0 {
        bail!(
            "{} of {} invocations failed",
            report.failed,
            report.invocations
        );
    }
    Ok(())
}

/// How much faster than the trace to replay: `--speed`, or the one that offers `--load`.
fn replay_speed(
    a: &ReplayArgs,
    rows: &[trace::Row],
    args: &[u32],
    cal: &Calibration,
) -> Result<f64> {
    let Some(load) = a.load else {
        return Ok(a.speed);
    };
    if !(load.is_finite() && load > 0.0 && load <= 4.0) {
        bail!("--load {load}: must be in (0, 4]");
    }
    let cpus = a
        .cpus
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let demands: Vec<(u64, u64)> = rows
        .iter()
        .zip(args)
        .map(|(r, &arg)| (r.arrival_us, cal.cpu_us(arg)))
        .collect();
    let speed = replay::speed_for_load(&demands, load, cpus)
        .with_context(|| format!("--load {load}: the trace has no span or no demand to scale"))?;
    eprintln!("replay: arrival times / {speed:.4} for load {load} on {cpus} CPU(s)");
    Ok(speed)
}

/// The launcher threads: each takes (index, arg) jobs, starts the payload and reports it.
struct Launchers {
    jobs: mpsc::Sender<(usize, u32)>,
    done: mpsc::Receiver<Result<Launched>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Every launcher is up (and real-time) before the first arrival.
    ready: Arc<Barrier>,
}

impl Launchers {
    fn start(payload: PathBuf, rt: Option<i32>, spawned_tx: mpsc::Sender<()>) -> Self {
        let (job_tx, job_rx) = mpsc::channel::<(usize, u32)>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Result<Launched>>();
        let ready = Arc::new(Barrier::new(LAUNCHERS + 1));
        let threads = (0..LAUNCHERS)
            .map(|_| {
                let (job_rx, done_tx, ready) = (job_rx.clone(), done_tx.clone(), ready.clone());
                let (payload, spawned) = (payload.clone(), spawned_tx.clone());
                std::thread::spawn(move || {
                    // Already checked by the main thread; a failure here only costs timing.
                    let _ = set_rt(rt);
                    ready.wait();
                    launch_until_closed(&payload, &job_rx, &done_tx, &spawned);
                })
            })
            .collect();
        Self {
            jobs: job_tx,
            done: done_rx,
            threads,
            ready,
        }
    }

    /// No more jobs: wait for the launchers, collect what they launched.
    fn finish(self) -> Vec<Result<Launched>> {
        drop(self.jobs);
        for t in self.threads {
            let _ = t.join();
        }
        self.done.into_iter().collect()
    }
}

/// One launcher's loop: start the payload for each job until the job channel closes.
fn launch_until_closed(
    payload: &Path,
    jobs: &Mutex<mpsc::Receiver<(usize, u32)>>,
    done: &mpsc::Sender<Result<Launched>>,
    spawned: &mpsc::Sender<()>,
) {
    loop {
        let job = jobs
            .lock()
            .map_err(|_| ())
            .and_then(|rx| rx.recv().map_err(|_| ()));
        let Ok((index, arg)) = job else { break };
        let launch_ns = scx_foresight::monotonic_ns();
        let res = Command::new(payload)
            .arg(arg.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", payload.display()))
            .map(|mut child| {
                let _ = spawned.send(());
                Launched {
                    index,
                    pid: child.id() as i32,
                    launch_ns,
                    stdout: child.stdout.take(),
                }
            });
        if done.send(res).is_err() {
            break;
        }
    }
}

/// Hand each invocation to the launchers at its (scaled) arrival time.
fn pace(
    rows: &[trace::Row],
    args: &[u32],
    speed: f64,
    cal: &Calibration,
    jobs: &mpsc::Sender<(usize, u32)>,
) -> Result<Vec<Measured>> {
    let t0 = Instant::now();
    let mut measured: Vec<Measured> = Vec::with_capacity(rows.len());
    for (i, (row, &arg)) in rows.iter().zip(args).enumerate() {
        let arrival = Duration::from_micros((row.arrival_us as f64 / speed) as u64);
        if let Some(wait) = arrival.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        measured.push(Measured {
            arg,
            demand_us: cal.cpu_us(arg),
            arrival_us: arrival.as_micros() as u64,
            launch_us: 0,
            start_us: 0,
            finish_us: 0,
            cpu_us: 0,
            ok: false,
        });
        jobs.send((i, arg))
            .context("the launcher threads are gone")?;
    }
    Ok(measured)
}

/// Fill each invocation's launch, start (the payload's own report), finish and CPU time.
fn merge(
    measured: &mut [Measured],
    launched: Vec<Result<Launched>>,
    reaped: &HashMap<i32, Reaped>,
    t0_ns: u64,
) -> Result<()> {
    let rel_us = |ns: u64| ns.saturating_sub(t0_ns) / 1000;
    for l in launched {
        let mut l = l?;
        let m = &mut measured[l.index];
        m.launch_us = rel_us(l.launch_ns);
        let mut out = String::new();
        if let Some(s) = l.stdout.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        let started = out
            .lines()
            .find_map(|l| l.strip_prefix("started_ns "))
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(&(finish_ns, ok, cpu)) = reaped.get(&l.pid) {
            m.finish_us = rel_us(finish_ns);
            m.cpu_us = cpu;
            m.ok = ok && started.is_some();
            m.start_us = started.map_or(m.launch_us, rel_us);
        }
    }
    Ok(())
}

/// `--out` (one line per invocation) and `--json` (the report).
fn write_outputs(
    a: &ReplayArgs,
    measured: &[Measured],
    report: &replay::ReplayReport,
) -> Result<()> {
    if let Some(p) = &a.out {
        let mut text = format!("{MEASURED_HEADER}\n");
        for m in measured {
            text.push_str(&m.to_line());
            text.push('\n');
        }
        std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(report)? + "\n")
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}
