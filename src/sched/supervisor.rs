// SPDX-License-Identifier: GPL-2.0-only
//! The supervisor: runs the attached scheduler in a worker process and starts a fresh worker
//! when the kernel asks for a restart, or (with `--restart-on-error N`) after the kernel ended
//! it with an error (a watchdog eviction) or the worker died of a signal, with back-off and at
//! most N times in any minute.
//!
//! A child is needed because, once attached, the core forbids new memory mappings for the
//! rest of the process (so it cannot load the BPF program a second time).

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use log::{error, info, warn};

use scx_foresight::live::last_good::{LastGoodDir, LAST_GOOD_ENV, RESTARTED_ENV, RUN_DIR};
use scx_foresight::live::preflight::{self, SCHED_EXT_SYSFS};
use scx_foresight::live::sched_stats::StatsFormat;

use crate::sched::stats_service::{self, StatsHub, STATS_FD_ENV};

/// Exit code of a worker whose scheduler the kernel asked to restart.
pub const EXIT_RESTART: u8 = 75;
/// Exit code of a worker whose scheduler the kernel ended with an error (eviction, BPF error);
/// the reason is in the worker's log. The supervisor exits 1 for it unless it restarts.
pub const EXIT_KERNEL_ERROR: u8 = 76;
/// Set in a worker's environment by the supervisor.
pub const WORKER_ENV: &str = "SCX_FORESIGHT_WORKER";
/// How long a detach may take before the next worker attaches.
const DETACH_WAIT: Duration = Duration::from_secs(10);
/// Back-off before the first re-attach after an error; doubled for each further one within
/// the minute, up to BACKOFF_MAX. Short at first: every second detached is a second the
/// machine runs without our policy.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// The window `--restart-on-error N` counts restarts in.
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// The running worker's pid (0: none), for the signal forwarders (a handler reads atomics).
static WORKER_PID: AtomicI32 = AtomicI32::new(0);

/// How a worker ended, as the supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerEnd {
    /// The kernel asked for a restart (e.g. a CPU came online).
    RestartRequested,
    /// The kernel ended it with an error (its reason is in the worker's log).
    KernelError,
    /// Killed by a signal we did not send.
    Killed(i32),
    /// Anything else: its exit code becomes ours.
    Exited(u8),
}

impl WorkerEnd {
    fn from_status(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(c), _) => Self::from_code(u8::try_from(c).unwrap_or(1)),
            (None, Some(sig)) => Self::Killed(sig),
            (None, None) => Self::Exited(1),
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            EXIT_RESTART => Self::RestartRequested,
            EXIT_KERNEL_ERROR => Self::KernelError,
            c => Self::Exited(c),
        }
    }
}

/// Set in a worker's environment: the file descriptor it writes its exit code to (one byte)
/// once it has detached.
pub const DETACHED_FD_ENV: &str = "SCX_FORESIGHT_DETACHED_FD";

/// A pipe to a worker: our read end (close-on-exec) and the write end the worker inherits.
fn worker_pipe() -> Result<(std::fs::File, i32)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) fills two valid fds on success; neither is close-on-exec.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot create the worker's pipe");
    }
    // SAFETY: fds[0] is ours alone from here on; close-on-exec so no worker inherits it.
    unsafe { libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: fds[0] is a valid, owned fd.
    Ok((unsafe { std::fs::File::from_raw_fd(fds[0]) }, fds[1]))
}

/// The worker's exit code, sent when it detached; None when it ended without sending one.
fn read_detached(mut pipe: std::fs::File) -> Option<u8> {
    use std::io::Read;
    let mut code = [0u8; 1];
    loop {
        match pipe.read(&mut code) {
            Ok(1) => return Some(code[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => return None,
        }
    }
}

/// Worker: tell the supervisor how we end, now that we have detached.
pub fn notify_detached(code: u8) {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let Some(fd) = std::env::var(DETACHED_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    // SAFETY: the fd the supervisor gave us, used once here and closed with the File.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = pipe.write_all(&[code]);
}

/// `--restart-on-error N`: the error restarts of the last minute, and the back-off.
#[derive(Debug)]
pub struct RestartBudget {
    per_minute: u32,
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            recent: VecDeque::new(),
        }
    }

    /// May we restart after an error at `now`, and after how long? None: budget spent.
    pub fn next_delay(&mut self, now: Instant) -> Option<Duration> {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RESTART_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.per_minute as usize {
            return None;
        }
        let doublings = self.recent.len().min(16) as u32;
        self.recent.push_back(now);
        Some((BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX))
    }
}

/// Run workers until one ends for good; SIGINT/SIGTERM are forwarded to the worker, whose
/// exit code becomes ours. Statistics are served all along, and printed every interval of
/// `print_stats`.
pub fn supervise(
    restart_on_error: u32,
    print_stats: Option<(Duration, StatsFormat)>,
) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find our own executable")?;
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = stopping.clone();
        ctrlc::set_handler(move || {
            stopping.store(true, Ordering::SeqCst);
            let pid = WORKER_PID.load(Ordering::SeqCst);
            if pid > 0 {
                // SAFETY: plain kill(2) to our own child.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
        })
        .context("cannot install the SIGINT/SIGTERM handler")?;
    }
    install_sighup(forward_sighup);
    let hub = StatsHub::default();
    let _server = hub.launch()?;
    if let Some((every, format)) = print_stats {
        let stopping = stopping.clone();
        std::thread::Builder::new()
            .name("stats-print".into())
            .spawn(move || {
                let printed = stats_service::monitor(every, format, false, || {
                    stopping.load(Ordering::SeqCst)
                });
                if let Err(e) = printed {
                    warn!("--stats stopped: {e:#}");
                }
            })
            .context("cannot start the --stats thread")?;
    }
    // Where workers keep the files they accepted, for the worker after them (removed when
    // we return). Without it a restart falls back to the built-in defaults.
    let last_good = LastGoodDir::create(Path::new(RUN_DIR))
        .map_err(|e| warn!("cannot make a folder under {RUN_DIR} for the last accepted input files ({e}); a restarted scheduler whose file is broken falls back to the built-in defaults"))
        .ok();
    let mut budget = RestartBudget::new(restart_on_error);
    let mut restarted = false;
    loop {
        let (detached, detached_tx) = worker_pipe()?;
        let (stats, stats_tx) = worker_pipe()?;
        let mut worker = Command::new(&exe);
        worker
            .args(std::env::args_os().skip(1))
            .env(WORKER_ENV, "1")
            .env(DETACHED_FD_ENV, detached_tx.to_string())
            .env(STATS_FD_ENV, stats_tx.to_string());
        if let Some(dir) = &last_good {
            worker.env(LAST_GOOD_ENV, dir.path());
        }
        if restarted {
            worker.env(RESTARTED_ENV, "1");
        }
        restarted = true;
        let spawned = worker.spawn();
        // SAFETY: our copies of the pipes' write ends, not used again (the worker has its own).
        unsafe {
            libc::close(detached_tx);
            libc::close(stats_tx);
        }
        let mut child = spawned
            .with_context(|| format!("cannot start the scheduler worker {}", exe.display()))?;
        WORKER_PID.store(child.id() as i32, Ordering::SeqCst);
        hub.worker_started(child.id());
        hub.feed_from(child.id(), stats)?;
        // The worker says how it ended as soon as it has detached: its process may take
        // seconds more to go (its helpers, throttled by their budgets, tear it down), and the
        // next worker need not wait for that.
        let early = read_detached(detached);
        let (end, status) = match early {
            Some(code) if !stopping.load(Ordering::SeqCst) => {
                std::thread::spawn(move || child.wait());
                (WorkerEnd::from_code(code), None)
            }
            _ => {
                let status = child.wait().context("waiting for the scheduler worker")?;
                (WorkerEnd::from_status(status), Some(status))
            }
        };
        WORKER_PID.store(0, Ordering::SeqCst);
        hub.worker_ended();
        if stopping.load(Ordering::SeqCst) {
            return Ok(final_code(end));
        }
        let why = match end {
            WorkerEnd::RestartRequested => {
                info!("the kernel asked for a restart; attaching again");
                wait_detached(DETACH_WAIT);
                continue;
            }
            WorkerEnd::KernelError => "the kernel ended the scheduler with an error".to_string(),
            WorkerEnd::Killed(sig) => format!("the scheduler worker was killed by signal {sig}"),
            WorkerEnd::Exited(code) => return Ok(ExitCode::from(code)),
        };
        if restart_on_error == 0 {
            return match (end, status) {
                (WorkerEnd::Killed(_), Some(status)) => bail!("{why} ({status})"),
                _ => Ok(final_code(end)),
            };
        }
        let Some(delay) = budget.next_delay(Instant::now()) else {
            error!("{why}; not attaching again: {restart_on_error} restarts in the last minute (--restart-on-error {restart_on_error})");
            return Ok(ExitCode::FAILURE);
        };
        warn!(
            "{why}; attaching again in {} ms (--restart-on-error {restart_on_error})",
            delay.as_millis()
        );
        std::thread::sleep(delay);
        wait_detached(DETACH_WAIT);
        if stopping.load(Ordering::SeqCst) {
            return Ok(ExitCode::FAILURE);
        }
    }
}

/// Our exit code for a worker that ended for good.
fn final_code(end: WorkerEnd) -> ExitCode {
    match end {
        WorkerEnd::Exited(code) => ExitCode::from(code),
        WorkerEnd::RestartRequested => ExitCode::SUCCESS,
        WorkerEnd::KernelError | WorkerEnd::Killed(_) => ExitCode::FAILURE,
    }
}

/// Supervisor: pass SIGHUP (reload models) on to the worker.
extern "C" fn forward_sighup(_: libc::c_int) {
    let pid = WORKER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, libc::SIGHUP) };
    }
}

pub fn install_sighup(handler: extern "C" fn(libc::c_int)) {
    // SAFETY: installing a handler that only touches atomics (and kill, async-signal-safe).
    unsafe { libc::signal(libc::SIGHUP, handler as libc::sighandler_t) };
}

/// Wait until sched_ext reports `disabled` (the previous worker is fully detached).
fn wait_detached(limit: Duration) {
    let state = Path::new(SCHED_EXT_SYSFS).join("state");
    let start = Instant::now();
    while preflight::read_trimmed(&state) != "disabled" && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_stop_at_the_budget() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = RestartBudget::new(3);
        assert_eq!(b.next_delay(t0), Some(BACKOFF_FIRST));
        assert_eq!(b.next_delay(t0 + s(1)), Some(BACKOFF_FIRST * 2));
        assert_eq!(b.next_delay(t0 + s(2)), Some(BACKOFF_FIRST * 4));
        // A fourth within the minute: refused.
        assert_eq!(b.next_delay(t0 + s(3)), None);
        // A minute after the first, one slot is free again (two remain in the window).
        assert_eq!(b.next_delay(t0 + s(60)), Some(BACKOFF_FIRST * 4));
        // Long after: back to the first back-off.
        assert_eq!(b.next_delay(t0 + s(300)), Some(BACKOFF_FIRST));
        // The back-off never exceeds its maximum.
        let mut many = RestartBudget::new(100);
        let last = (0..100)
            .filter_map(|i| many.next_delay(t0 + s(i) / 10))
            .last();
        assert_eq!(last, Some(BACKOFF_MAX));
        // 0: never.
        assert_eq!(RestartBudget::new(0).next_delay(t0), None);
    }

    #[test]
    fn worker_ends_are_told_apart() {
        use std::os::unix::process::ExitStatusExt;
        let code = |c: i32| ExitStatus::from_raw(c << 8);
        assert_eq!(
            WorkerEnd::from_status(code(75)),
            WorkerEnd::RestartRequested
        );
        assert_eq!(WorkerEnd::from_status(code(76)), WorkerEnd::KernelError);
        assert_eq!(WorkerEnd::from_status(code(2)), WorkerEnd::Exited(2));
        assert_eq!(
            WorkerEnd::from_status(ExitStatus::from_raw(9)),
            WorkerEnd::Killed(9)
        );
    }
}
