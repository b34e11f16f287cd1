// SPDX-License-Identifier: GPL-2.0-only
//! Statistics through `scx_stats`, as every scx scheduler serves them: the supervisor serves
//! the attached worker's latest snapshot on the standard socket (`/var/run/scx/root/stats`);
//! `--stats` and `--monitor` read it with the scx client, which waits through restarts.
//!
//! Why the supervisor and not the worker: the server starts a thread per client connection,
//! whenever a client comes. In the worker, such a thread would be born after attach (the core
//! forbids the new stack mapping) and would allocate from the core's heap, whose single lock
//! the dispatch loop takes too (a thread holding it while we cannot schedule it stalls the
//! loop: see helper_thread.rs). The supervisor has its own heap and outlives restarts, so the
//! socket stays up while a new worker attaches. The worker's stats thread sends each snapshot
//! to it as one JSON line through a pipe.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use log::{info, warn};
use scx_stats::prelude::*;

use scx_foresight::live::sched_stats::{SchedStats, StatsFormat};

/// Set in a worker's environment: the pipe it writes its snapshots to, one JSON line each.
pub const STATS_FD_ENV: &str = "SCX_FORESIGHT_STATS_FD";

/// Where every scx scheduler serves its statistics (scx_stats' default path).
pub const STATS_SOCKET: &str = "/var/run/scx/root/stats";

/// The server, up until dropped; then its socket goes, so clients wait for the next one.
pub struct Serving(#[allow(dead_code)] StatsServer<(), ()>);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(STATS_SOCKET);
    }
}

/// What the supervisor knows: the worker now running and its latest snapshot.
#[derive(Debug, Default)]
struct Served {
    /// Pid of the worker now running (0: none).
    current: u32,
    /// Workers started so far.
    workers: u64,
    latest: Option<SchedStats>,
}

/// The supervisor's side: the latest snapshot of the current worker, served on the socket.
#[derive(Debug, Clone, Default)]
pub struct StatsHub(Arc<Mutex<Served>>);

impl StatsHub {
    fn served(&self) -> std::sync::MutexGuard<'_, Served> {
        // A panicked reader thread leaves plain data behind: still usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a client gets: the latest snapshot, or an empty one (worker_pid 0) while no worker
    /// has attached yet (starting, or restarting).
    pub fn snapshot(&self) -> SchedStats {
        let served = self.served();
        let mut stats = served.latest.clone().unwrap_or_default();
        stats.workers = served.workers;
        stats
    }

    /// Serve on the standard socket, before any worker attaches, until the result is dropped.
    pub fn launch(&self) -> Result<Serving> {
        let hub = self.clone();
        let read: Box<dyn StatsReaderSend<(), ()>> = Box::new(move |_args, _chan| {
            // The request comes on its own thread: a lock held only to clone.
            hub.snapshot().to_json()
        });
        let server = StatsServer::new(described().add_stats("top", read))
            .set_path(STATS_SOCKET)
            .launch()
            .with_context(|| format!("cannot serve statistics on {STATS_SOCKET}"))?;
        Ok(Serving(server))
    }

    /// A new worker `pid` starts: nothing is served for it until its first snapshot.
    pub fn worker_started(&self, pid: u32) {
        let mut served = self.served();
        served.current = pid;
        served.workers += 1;
        served.latest = None;
    }

    /// The current worker ended (it may still be tearing down): nothing is attached.
    pub fn worker_ended(&self) {
        let mut served = self.served();
        served.current = 0;
        served.latest = None;
    }

    /// Read worker `pid`'s snapshots from `pipe` until it closes; only the current worker's
    /// are kept (one tearing down beside its successor is not).
    pub fn feed_from(&self, pid: u32, pipe: std::fs::File) -> Result<()> {
        let hub = self.clone();
        std::thread::Builder::new()
            .name("stats-feed".into())
            .spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str::<SchedStats>(&line) {
                        Ok(stats) => {
                            let mut served = hub.served();
                            if served.current == pid {
                                served.latest = Some(stats);
                            }
                        }
                        Err(e) => warn!("worker {pid} sent a stats line we cannot read: {e}"),
                    }
                }
            })
            .context("cannot start the stats feed thread")?;
        Ok(())
    }
}

/// Worker: the pipe to the supervisor's [`StatsHub`], if it gave us one.
pub fn supervisor_pipe() -> Option<std::fs::File> {
    let fd = std::env::var(STATS_FD_ENV).ok()?.parse::<i32>().ok()?;
    // SAFETY: the fd the supervisor made for us, owned by this File from here on.
    Some(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Worker: send one snapshot, as one write of one line (below PIPE_BUF, so atomic).
pub fn send(pipe: &mut std::fs::File, stats: &SchedStats) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(stats).map_err(std::io::Error::other)?;
    line.push(b'\n');
    pipe.write_all(&line)
}

/// `--stats` and `--monitor`: print the running scheduler's statistics every `every`, until
/// `should_exit`; while none is attached, say so once (when `say_waiting`) and wait.
pub fn monitor(
    every: Duration,
    format: StatsFormat,
    say_waiting: bool,
    should_exit: impl FnMut() -> bool,
) -> Result<()> {
    let mut prev: Option<SchedStats> = None;
    let mut waiting = false;
    scx_utils::monitor_stats::<SchedStats>(&[], every, should_exit, |now| {
        if now.worker_pid == 0 {
            if say_waiting && !waiting {
                info!("scx_foresight is not attached (starting or restarting); waiting for it");
            }
            waiting = true;
            prev = None;
            return Ok(());
        }
        waiting = false;
        // The worker sends every second (or every --stats): a repeat is no new interval.
        if prev.as_ref() == Some(&now) {
            return Ok(());
        }
        let text = match format {
            StatsFormat::Line => format!("{}\n", now.line()),
            StatsFormat::Grouped => now.grouped(prev.as_ref()),
        };
        // One write per snapshot: a reader of our output never sees half of one.
        std::io::stdout().lock().write_all(text.as_bytes())?;
        prev = Some(now);
        Ok(())
    })
}

/// `--help-stats`: every statistic with its description, as the server describes them.
pub fn help_stats() -> Result<()> {
    // Named one by one: the describer follows nested structs only inside arrays and maps.
    let names: Vec<String> = SchedStats::metas().into_iter().map(|m| m.name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    described().describe_meta(&mut std::io::stdout(), Some(&names))
}

/// The server's data with every statistic described, no reader yet.
fn described() -> StatsServerData<(), ()> {
    SchedStats::metas()
        .into_iter()
        .fold(StatsServerData::new(), |data, meta| data.add_meta(meta))
}
