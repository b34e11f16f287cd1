// SPDX-License-Identifier: GPL-2.0-only
//! The /proc worker: reads a new task's command line, executable and cgroup off the hot path
//! and sends the parsed features back. The dispatch loop only ever does a non-blocking send of
//! a request and a non-blocking receive of replies; a task without a reply yet is scheduled
//! with the defaults.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use procfs::process::Process;

use crate::features::Invocation;
use crate::model::Interner;
use crate::modes::{boost_pct, SharedBoosts};
use crate::tasks::ProcFeatures;

/// Requests that may wait for the worker; more are dropped (the task keeps the defaults).
pub const REQUEST_QUEUE: usize = 1024;
/// Distinct cgroups given an id.
pub const MAX_CGROUPS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub pid: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub pid: i32,
    /// Start of the task that answered (ns since boot), to detect a reused pid.
    pub start_ns: u64,
    /// None when the task vanished before it could be read.
    pub features: Option<ProcFeatures>,
}

/// The kernel's flag for kernel threads in /proc/<pid>/stat.
const PF_KTHREAD: u32 = 0x0020_0000;
/// Reads of an empty command line (a task in the middle of exec) before giving up on it.
const CMDLINE_RETRIES: u32 = 5;

/// What /proc says about `pid`; None when it is gone (or unreadable).
pub fn read_invocation(pid: i32) -> Option<(Invocation, String, u64)> {
    let p = Process::new(pid).ok()?;
    let stat = p.stat().ok()?;
    let kernel_thread = stat.flags & PF_KTHREAD != 0;
    let mut cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    // Caught mid-exec: the new command line appears a moment later (this is the worker thread,
    // waiting here costs the dispatch loop nothing).
    for _ in 0..CMDLINE_RETRIES {
        if kernel_thread || !cmdline.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    }
    let exe = p.exe().ok().map(|e| e.display().to_string());
    let cgroup = p
        .cgroups()
        .ok()
        .and_then(|c| c.0.into_iter().next().map(|g| g.pathname))
        .unwrap_or_default();
    let ticks = procfs::ticks_per_second().max(1);
    let start_ns = stat.starttime.saturating_mul(1_000_000_000 / ticks);
    Some((
        Invocation::from_cmdline(&cmdline, exe.as_deref(), &stat.comm, kernel_thread),
        cgroup,
        start_ns,
    ))
}

/// Function identities, shared by the /proc worker, the model loader and the recorder.
pub type SharedNames = Arc<Mutex<Interner>>;

/// Resolves invocations into features, interning function identities and cgroups, and
/// giving each task the boost of its cgroup.
#[derive(Debug, Default)]
pub struct Resolver {
    pub functions: SharedNames,
    boosts: SharedBoosts,
    cgroups: HashMap<String, u32>,
}

impl Resolver {
    pub fn new(functions: SharedNames, boosts: SharedBoosts) -> Self {
        Self {
            functions,
            boosts,
            cgroups: HashMap::new(),
        }
    }

    pub fn features(&mut self, inv: &Invocation, cgroup_path: &str) -> ProcFeatures {
        let cgroup = cgroup_path;
        let boost = boost_pct(&self.boosts.load(), cgroup_path);
        let next = self.cgroups.len() as u32;
        let cgroup = match self.cgroups.get(cgroup) {
            Some(id) => Some(*id),
            None if self.cgroups.len() < MAX_CGROUPS => {
                self.cgroups.insert(cgroup.to_string(), next);
                Some(next)
            }
            None => None,
        };
        let max = inv.numeric[..inv.n_numeric]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        ProcFeatures {
            func: if inv.kernel_thread {
                None
            } else {
                self.functions
                    .lock()
                    .ok()
                    .and_then(|mut names| names.intern(&inv.identity))
            },
            cgroup,
            fx: inv.function_features(),
            max_numeric_ln1p: max.ln_1p(),
            n_numeric: inv.n_numeric as f64,
            kernel_thread: inv.kernel_thread,
            boost_pct: boost,
        }
    }
}

/// The loop's side of the worker.
pub struct ProcWorker {
    requests: SyncSender<Request>,
    pub replies: Receiver<Reply>,
    pub dropped: u64,
}

impl ProcWorker {
    /// Start the worker thread (before attaching: no new threads after).
    pub fn spawn(names: SharedNames, boosts: SharedBoosts) -> std::io::Result<Self> {
        let (req_tx, req_rx) = sync_channel::<Request>(REQUEST_QUEUE);
        let (rep_tx, rep_rx) = sync_channel::<Reply>(REQUEST_QUEUE);
        std::thread::Builder::new()
            .name("procinfo".into())
            .spawn(move || {
                let mut resolver = Resolver::new(names, boosts);
                for req in req_rx {
                    let reply = match read_invocation(req.pid) {
                        Some((inv, cgroup, start_ns)) => Reply {
                            pid: req.pid,
                            start_ns,
                            features: Some(resolver.features(&inv, &cgroup)),
                        },
                        None => Reply {
                            pid: req.pid,
                            start_ns: 0,
                            features: None,
                        },
                    };
                    if rep_tx.send(reply).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            requests: req_tx,
            replies: rep_rx,
            dropped: 0,
        })
    }

    /// Ask for `pid` without waiting; false (and counted) when the worker is behind.
    pub fn request(&mut self, pid: i32) -> bool {
        match self.requests.try_send(Request { pid }) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    #[test]
    fn reads_a_real_process_and_survives_a_vanished_one() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        // Right after fork the child still shows our command line until it execs `sleep`
        // (the scheduler re-reads when the comm changes); once the comm changed, the command
        // line may still be empty for a moment, which read_invocation waits out.
        let start = std::time::Instant::now();
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            != "sleep"
        {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "child never exec'd sleep"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let (inv, _cgroup, start_ns) = read_invocation(pid).expect("child readable");
        assert!(inv.identity.ends_with("sleep"), "{}", inv.identity);
        assert_eq!(inv.n_numeric, 1);
        assert_eq!(inv.numeric[0], 30.0);
        assert!(start_ns > 0);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(read_invocation(pid).is_none());

        let mut w = ProcWorker::spawn(SharedNames::default(), SharedBoosts::default()).unwrap();
        assert!(w.request(pid));
        let reply = w.replies.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(reply.pid, pid);
        assert!(reply.features.is_none());
    }

    #[test]
    fn identities_are_interned_once() {
        let mut r = Resolver::default();
        let a = r.features(&Invocation::from_args("/bin/f", ["3"]), "/a");
        let b = r.features(&Invocation::from_args("/bin/f", ["9"]), "/b");
        let k = r.features(&Invocation::from_cmdline(b"", None, "kworker", true), "/");
        assert_eq!(a.func, b.func);
        assert_ne!(a.cgroup, b.cgroup);
        assert_eq!(k.func, None);
        assert!(k.kernel_thread);
        assert_eq!(a.boost_pct, 100);
    }

    #[test]
    fn boosted_cgroups_resolve_to_their_factor() {
        let boosts = SharedBoosts::default();
        boosts.store(std::sync::Arc::new(vec![crate::modes::CgroupBoost::parse(
            "/prio:4",
        )
        .unwrap()]));
        let mut r = Resolver::new(SharedNames::default(), boosts.clone());
        let inv = Invocation::from_args("/bin/hog", []);
        assert_eq!(r.features(&inv, "/prio/job").boost_pct, 400);
        assert_eq!(r.features(&inv, "/batch").boost_pct, 100);
        // A reloaded config applies to tasks read after it.
        boosts.store(std::sync::Arc::new(vec![]));
        assert_eq!(r.features(&inv, "/prio/job").boost_pct, 100);
    }
}
