// SPDX-License-Identifier: GPL-2.0-only
//! The /proc worker: reads a new task's command line, executable and cgroup off the hot path
//! and sends the parsed features back. The dispatch loop only ever does a non-blocking send of
//! a request and a non-blocking receive of replies; a task without a reply yet is scheduled
//! with the defaults.

use crate::live::helper_thread;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{TryRecvError, TrySendError};

use crate::live::handoff::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procfs::process::Process;

use crate::core::features::Invocation;
use crate::core::features::ProcFeatures;
use crate::core::model::Interner;
use crate::core::modes::{boost_pct, SharedBoosts};
use crate::core::policy::exec_slice_ns;
use crate::core::tasks::IdentitySource;
use crate::live::exec_record::{CgroupPaths, ExecRecord, ForkRecord, ProgramPaths, Traced};
use crate::live::learner;

/// Requests that may wait for the worker; more are dropped (the task keeps the defaults).
pub const REQUEST_QUEUE: usize = 1024;
/// Where the cgroup v2 hierarchy is mounted (the exec tracer reports cgroup ids).
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// Distinct cgroups given an id.
pub const MAX_CGROUPS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub pid: i32,
    /// The name the loop saw last: an identity passed on at fork answers only while the task
    /// still has the name it had then (a task that renamed itself is read from /proc).
    pub comm: [u8; 16],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub source: IdentitySource,
    pub pid: i32,
    /// Start of the task that answered (ns since boot), to detect a reused pid.
    pub start_ns: u64,
    /// None when the task vanished before it could be read.
    pub features: Option<ProcFeatures>,
    /// The task's name when it was read (NUL-padded like the kernel's): the loop drops a reply
    /// read before an exec that it has seen since.
    pub comm: [u8; 16],
}

/// A task name as the kernel keeps it: at most 15 bytes, NUL-padded.
pub fn comm_bytes(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = name.len().min(15);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

/// The kernel's flag for kernel threads in /proc/<pid>/stat.
const PF_KTHREAD: u32 = 0x0020_0000;
/// Reads of an empty command line (a task in the middle of exec) before giving up on it.
const CMDLINE_RETRIES: u32 = 5;

/// What /proc says about `pid`; None when it is gone (or unreadable).
pub fn read_invocation(pid: i32) -> Option<(Invocation, String, u64, [u8; 16])> {
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
        comm_bytes(&stat.comm),
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
        let (func, exe) = if inv.kernel_thread {
            (None, None)
        } else {
            self.functions
                .lock()
                .ok()
                .map_or((None, None), |mut names| {
                    (
                        names.intern(&inv.identity),
                        names.intern(&inv.executable_identity()),
                    )
                })
        };
        ProcFeatures {
            func,
            exe,
            cgroup,
            fx: inv.function_features(),
            cx: inv.category_features(),
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
    /// The exec tracer's counters, published by the worker thread.
    pub exec_counts: Arc<SharedExecCounts>,
}

/// The exec tracer's own counters since it was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecCounts {
    /// Exec'ing tasks whose slice was ended (so the new image is decided as itself).
    pub preempted: u64,
    /// Of those, the ones that kept their CPU to finish, by their function's prediction.
    pub kept: u64,
    /// Of those, the ones that kept nothing, predicted long (`--exec-end-long`).
    pub ended: u64,
    /// Records lost because the ring buffer was full.
    pub dropped: u64,
    /// Records whose arguments were cut at the tracer's bound.
    pub truncated: u64,
    /// Records whose arguments could not be read at all.
    pub unread: u64,
    /// Slices of exec'd images ended on time by the tracer's timer (`--slice-timer-us`).
    pub timer_ends: u64,
}

/// [`ExecCounts`] stored by the worker thread and loaded by the loop, without a lock.
#[derive(Debug, Default)]
pub struct SharedExecCounts {
    preempted: AtomicU64,
    kept: AtomicU64,
    ended: AtomicU64,
    dropped: AtomicU64,
    truncated: AtomicU64,
    unread: AtomicU64,
    timer_ends: AtomicU64,
}

impl SharedExecCounts {
    fn store(&self, c: ExecCounts) {
        self.preempted.store(c.preempted, Ordering::Relaxed);
        self.kept.store(c.kept, Ordering::Relaxed);
        self.ended.store(c.ended, Ordering::Relaxed);
        self.dropped.store(c.dropped, Ordering::Relaxed);
        self.truncated.store(c.truncated, Ordering::Relaxed);
        self.unread.store(c.unread, Ordering::Relaxed);
        self.timer_ends.store(c.timer_ends, Ordering::Relaxed);
    }

    pub fn load(&self) -> ExecCounts {
        ExecCounts {
            preempted: self.preempted.load(Ordering::Relaxed),
            kept: self.kept.load(Ordering::Relaxed),
            ended: self.ended.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
            unread: self.unread.load(Ordering::Relaxed),
            timer_ends: self.timer_ends.load(Ordering::Relaxed),
        }
    }
}

/// Where exec records come from: the BPF tracer in the live scheduler. Built inside the worker
/// thread (its ring buffer belongs to that thread), before the scheduler attaches.
pub trait ExecSource {
    /// Wait up to `timeout` for records and append them to `out`, in the kernel's order.
    fn poll(&mut self, timeout: Duration, out: &mut Vec<Traced>);

    /// What the next image of command line `cmd_hash` keeps of its slice at exec (None: the
    /// grace); an error is the source's to report, the image then gets the grace.
    fn set_exec_slice(&mut self, _cmd_hash: u64, _slice_ns: Option<u64>) {}

    /// The source's own counters (none for a source without any).
    fn counts(&self) -> ExecCounts {
        ExecCounts::default()
    }
}

/// Builds the exec source in the worker thread; an error leaves the worker on /proc alone.
pub type ExecSourceFactory = Box<dyn FnOnce() -> anyhow::Result<Box<dyn ExecSource>> + Send>;

/// With an exec source, how long the worker waits for records before serving /proc requests.
pub const EXEC_POLL: Duration = Duration::from_millis(10);

/// What the worker needs to leave each command line its slice at exec: the models in use
/// and the exec rule's bound (`--exec-finish-us`).
pub struct ExecSlices {
    pub learner: Arc<learner::Shared>,
    pub finish_ns: u64,
    /// Images predicted longer than `finish_ns` keep nothing (`--exec-end-long`).
    pub end_long: bool,
}

/// Command lines whose slice at exec was handed to the source, and what: it is handed again
/// only when the verdict changes (one map update per change, not per exec).
#[derive(Debug, Default)]
struct SlicesLeft {
    given: HashMap<u64, u64>,
}

impl SlicesLeft {
    /// Hand `slice` for `cmd_hash` to `source` if it differs from what it has.
    fn give(&mut self, source: &mut dyn ExecSource, cmd_hash: u64, slice: Option<u64>) {
        if self.given.get(&cmd_hash).copied() == slice {
            return;
        }
        if self.given.len() >= EXEC_SLICES_MAX && slice.is_some() {
            // The tracer's map is an LRU of the same size: start over rather than grow.
            self.given.clear();
        }
        source.set_exec_slice(cmd_hash, slice);
        match slice {
            Some(ns) => self.given.insert(cmd_hash, ns),
            None => self.given.remove(&cmd_hash),
        };
    }
}

/// Tasks the worker knows the identity of; beyond that it starts over.
pub const MAX_KNOWN_TASKS: usize = 8192;

/// What the worker knows of one task from the exec tracer.
#[derive(Debug, Clone, Copy)]
struct Known {
    start_ns: u64,
    features: ProcFeatures,
    comm: [u8; 16],
    /// From its parent at fork, not from its own exec.
    inherited: bool,
}

impl Known {
    /// The loop's answer about `pid` from what is known.
    fn reply(&self, source: IdentitySource, pid: i32) -> Reply {
        Reply {
            source,
            pid,
            start_ns: self.start_ns,
            features: Some(self.features),
            comm: self.comm,
        }
    }
}

/// Identities from exec records, by pid, passed on to each fork's child: until it execs, a
/// child runs its parent's image, so a /proc read would only say the same, slowly. Every task
/// after attach comes from a fork the tracer saw, so an entry is that of the task now holding
/// the pid, unless fork records were lost (then it starts over). Start times are the kernel's,
/// exact: /proc's (in clock ticks) are not kept.
#[derive(Debug)]
struct KnownTasks {
    by_pid: HashMap<i32, Known>,
}

impl KnownTasks {
    fn new() -> Self {
        Self {
            by_pid: HashMap::with_capacity(MAX_KNOWN_TASKS),
        }
    }

    fn insert(&mut self, pid: i32, known: Known) {
        if self.by_pid.len() >= MAX_KNOWN_TASKS && !self.by_pid.contains_key(&pid) {
            self.by_pid.clear();
        }
        self.by_pid.insert(pid, known);
    }

    /// The child of a known parent (the same task: same start) runs the parent's image.
    fn fork(&mut self, f: &ForkRecord) {
        match self.by_pid.get(&f.parent_pid) {
            Some(p) if p.start_ns == f.parent_start_ns => {
                let child = Known {
                    start_ns: f.start_ns,
                    inherited: true,
                    ..*p
                };
                self.insert(f.pid, child);
            }
            // An unknown parent: a stale entry under the child's pid must not answer for it.
            _ => {
                self.by_pid.remove(&f.pid);
            }
        }
    }

    /// A task that has run its parent's image since its fork.
    fn inherited(&self, pid: i32) -> Option<&Known> {
        self.by_pid.get(&pid).filter(|k| k.inherited)
    }

    fn clear(&mut self) {
        self.by_pid.clear();
    }
}

/// Command lines the exec tracer keeps a slice for (bpf/execs.h EXEC_SLICES_MAX).
pub const EXEC_SLICES_MAX: usize = 4096;

/// The worker's state: resolves /proc reads and exec records into replies.
struct Worker {
    resolver: Resolver,
    programs: ProgramPaths,
    cgroups: CgroupPaths,
    replies: SyncSender<Reply>,
    exec_counts: Arc<SharedExecCounts>,
    exec_slices: Option<ExecSlices>,
    slices_left: SlicesLeft,
    known: KnownTasks,
}

impl Worker {
    /// Answer a /proc request; false when the loop is gone.
    fn serve_request(&mut self, req: Request) -> bool {
        if let Some(k) = self.known.inherited(req.pid).filter(|k| k.comm == req.comm) {
            let reply = k.reply(IdentitySource::Fork, req.pid);
            return self.replies.send(reply).is_ok();
        }
        let reply = match read_invocation(req.pid) {
            Some((inv, cgroup, start_ns, comm)) => Reply {
                source: IdentitySource::Proc,
                pid: req.pid,
                start_ns,
                features: Some(self.resolver.features(&inv, &cgroup)),
                comm,
            },
            None => Reply {
                source: IdentitySource::Proc,
                pid: req.pid,
                start_ns: 0,
                features: None,
                comm: [0; 16],
            },
        };
        self.replies.send(reply).is_ok()
    }

    /// Turn an exec record into the task's identity; None when the loop is gone.
    fn serve_exec(&mut self, rec: &ExecRecord) -> Option<ProcFeatures> {
        let program = self.programs.resolve(&rec.path());
        let cgroup = self.cgroups.path(rec.cgroup_id);
        let features = self.resolver.features(&rec.invocation(&program), &cgroup);
        let known = Known {
            start_ns: rec.start_ns,
            features,
            comm: rec.comm,
            inherited: false,
        };
        let reply = known.reply(IdentitySource::Exec, rec.pid);
        self.known.insert(rec.pid, known);
        self.replies.send(reply).ok().map(|_| features)
    }

    /// Leave the next exec of this command line the policy's slice for its prediction now.
    fn leave_exec_slice(&mut self, source: &mut dyn ExecSource, cmd_hash: u64, f: &ProcFeatures) {
        let Some(rule) = &self.exec_slices else {
            return;
        };
        let predicted = rule
            .learner
            .models
            .load()
            .predict_identity_ns(f.func, f.exe, &f.fx, &f.cx);
        let slice = exec_slice_ns(predicted, rule.finish_ns, rule.end_long);
        self.slices_left.give(source, cmd_hash, slice);
    }

    /// /proc requests only: block on them.
    fn run_requests(mut self, requests: Receiver<Request>) {
        for req in requests {
            if !self.serve_request(req) {
                break;
            }
        }
    }

    /// Exec records as they come, one /proc request between two polls: a /proc read is slow
    /// (files, retries mid-exec), and a backlog of them must not hold back the identities of
    /// new invocations, which their next enqueue needs.
    fn run_with_execs(mut self, mut source: Box<dyn ExecSource>, requests: Receiver<Request>) {
        let mut records = Vec::with_capacity(256);
        let mut backlog = false;
        let mut lost = 0;
        loop {
            source.poll(
                if backlog { Duration::ZERO } else { EXEC_POLL },
                &mut records,
            );
            let counts = source.counts();
            self.exec_counts.store(counts);
            // A lost fork record could leave a reused pid with another task's identity.
            if counts.dropped != lost {
                lost = counts.dropped;
                self.known.clear();
            }
            for rec in records.drain(..) {
                let rec = match rec {
                    Traced::Exec(rec) => rec,
                    Traced::Fork(f) => {
                        self.known.fork(&f);
                        continue;
                    }
                };
                let Some(features) = self.serve_exec(&rec) else {
                    return;
                };
                self.leave_exec_slice(source.as_mut(), rec.cmd_hash, &features);
            }
            backlog = match requests.try_recv() {
                Ok(req) if self.serve_request(req) => true,
                Ok(_) | Err(TryRecvError::Disconnected) => return,
                Err(TryRecvError::Empty) => false,
            };
        }
    }
}

impl ProcWorker {
    /// Start the worker thread (before attaching: no new threads after). With `execs`, the
    /// thread first builds the exec source and reports here whether it could (Err: the reason;
    /// the worker then serves /proc requests alone).
    pub fn spawn(
        names: SharedNames,
        boosts: SharedBoosts,
        execs: Option<(ExecSourceFactory, Option<ExecSlices>)>,
    ) -> std::io::Result<(Self, Option<Result<(), String>>)> {
        let (req_tx, req_rx) = sync_channel::<Request>(REQUEST_QUEUE);
        let (rep_tx, rep_rx) = sync_channel::<Reply>(REQUEST_QUEUE);
        let (ready_tx, ready_rx) = sync_channel::<Result<(), String>>(1);
        let with_execs = execs.is_some();
        let exec_counts = Arc::new(SharedExecCounts::default());
        let published = exec_counts.clone();
        // The tracer is loaded and attached before the budget applies (see spawn_after_setup).
        let (execs, exec_slices) = match execs {
            Some((build, slices)) => (Some(build), slices),
            None => (None, None),
        };
        let setup = move || execs.map(|build| build());
        helper_thread::spawn_after_setup(
            "procinfo",
            helper_thread::PROC_BUDGET,
            setup,
            move |built| {
                let worker = Worker {
                    resolver: Resolver::new(names, boosts),
                    programs: ProgramPaths::default(),
                    cgroups: CgroupPaths::new(CGROUP_ROOT),
                    replies: rep_tx,
                    exec_counts: published,
                    exec_slices,
                    slices_left: SlicesLeft::default(),
                    known: KnownTasks::new(),
                };
                match built {
                    Some(Ok(source)) => {
                        let _ = ready_tx.send(Ok(()));
                        worker.run_with_execs(source, req_rx)
                    }
                    Some(Err(err)) => {
                        let _ = ready_tx.send(Err(format!("{err:#}")));
                        worker.run_requests(req_rx)
                    }
                    None => worker.run_requests(req_rx),
                }
            },
        )?;
        let execs_ready = with_execs.then(|| {
            ready_rx
                .recv()
                .unwrap_or_else(|_| Err("the /proc worker ended while starting".into()))
        });
        Ok((
            Self {
                requests: req_tx,
                replies: rep_rx,
                dropped: 0,
                exec_counts,
            },
            execs_ready,
        ))
    }

    /// Ask for `pid`, last seen named `comm`, without waiting; false (and counted) when the
    /// worker is behind.
    pub fn request(&mut self, pid: i32, comm: [u8; 16]) -> bool {
        match self.requests.try_send(Request { pid, comm }) {
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

    /// Records what it is handed, as the tracer's map would hold it.
    #[derive(Default)]
    struct MapOfSlices {
        map: HashMap<u64, u64>,
        calls: usize,
    }

    impl ExecSource for MapOfSlices {
        fn poll(&mut self, _: Duration, _: &mut Vec<Traced>) {}

        fn set_exec_slice(&mut self, cmd_hash: u64, slice_ns: Option<u64>) {
            self.calls += 1;
            match slice_ns {
                Some(ns) => self.map.insert(cmd_hash, ns),
                None => self.map.remove(&cmd_hash),
            };
        }
    }

    /// A command line's slice is handed over when its verdict changes, not on every exec;
    /// a verdict withdrawn (no trusted model any more) is removed.
    #[test]
    fn exec_slices_are_handed_over_when_they_change() {
        let (mut left, mut map) = (SlicesLeft::default(), MapOfSlices::default());
        left.give(&mut map, 7, Some(2_000_000));
        left.give(&mut map, 7, Some(2_000_000));
        assert_eq!((map.calls, map.map.get(&7)), (1, Some(&2_000_000)));
        left.give(&mut map, 7, Some(0));
        assert_eq!((map.calls, map.map.get(&7)), (2, Some(&0)));
        left.give(&mut map, 7, None);
        left.give(&mut map, 7, None);
        assert_eq!((map.calls, map.map.get(&7)), (3, None));
        // Full: it starts over rather than grow past the tracer's map.
        for key in 0..=EXEC_SLICES_MAX as u64 {
            left.give(&mut map, 100 + key, Some(1));
        }
        assert!(left.given.len() <= EXEC_SLICES_MAX);
    }

    fn known(start_ns: u64, func: u32) -> Known {
        Known {
            start_ns,
            features: ProcFeatures {
                func: Some(func),
                ..Resolver::default().features(&Invocation::from_args("/bin/f", []), "/")
            },
            comm: comm_bytes("fn"),
            inherited: false,
        }
    }

    fn fork(pid: i32, start_ns: u64, parent_pid: i32, parent_start_ns: u64) -> ForkRecord {
        ForkRecord {
            pid,
            parent_pid,
            start_ns,
            parent_start_ns,
        }
    }

    /// A child (and its child) runs the exec'd parent's image: it answers with the parent's
    /// identity and its own start. Not the parent itself (exec'd: read as before), not a
    /// child of another task that held the parent's pid, not after its own exec.
    #[test]
    fn children_answer_with_their_parents_identity_until_they_exec() {
        let mut k = KnownTasks::new();
        k.insert(10, known(100, 7));
        assert!(k.inherited(10).is_none());
        k.fork(&fork(11, 150, 10, 100));
        k.fork(&fork(12, 160, 11, 150));
        for (pid, start) in [(11, 150), (12, 160)] {
            let c = k.inherited(pid).expect("inherited");
            assert_eq!((c.start_ns, c.features.func), (start, Some(7)));
        }
        // Another task under the parent's pid (its start differs): nothing passed on, and an
        // older entry under the child's pid is dropped.
        k.insert(
            13,
            Known {
                inherited: true,
                ..known(5, 1)
            },
        );
        k.fork(&fork(13, 170, 10, 99));
        assert!(k.inherited(13).is_none());
        // The child exec'd: its own identity, no longer an inherited one.
        k.insert(11, known(150, 8));
        assert!(k.inherited(11).is_none());
        // Bounded: full, it starts over.
        for pid in 0..MAX_KNOWN_TASKS as i32 + 5 {
            k.insert(1000 + pid, known(1, 1));
        }
        assert!(k.by_pid.len() <= MAX_KNOWN_TASKS);
    }

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
        let (inv, _cgroup, start_ns, _comm) = read_invocation(pid).expect("child readable");
        assert!(inv.identity.ends_with("sleep"), "{}", inv.identity);
        assert_eq!(inv.n_numeric, 1);
        assert_eq!(inv.numeric[0], 30.0);
        assert!(start_ns > 0);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(read_invocation(pid).is_none());

        let (mut w, execs) =
            ProcWorker::spawn(SharedNames::default(), SharedBoosts::default(), None).unwrap();
        assert!(execs.is_none());
        assert!(w.request(pid, [0; 16]));
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
        boosts.store(std::sync::Arc::new(vec![
            crate::core::modes::CgroupBoost::parse("/prio:4").unwrap(),
        ]));
        let mut r = Resolver::new(SharedNames::default(), boosts.clone());
        let inv = Invocation::from_args("/bin/hog", []);
        assert_eq!(r.features(&inv, "/prio/job").boost_pct, 400);
        assert_eq!(r.features(&inv, "/batch").boost_pct, 100);
        // A reloaded config applies to tasks read after it.
        boosts.store(std::sync::Arc::new(vec![]));
        assert_eq!(r.features(&inv, "/prio/job").boost_pct, 100);
    }
}
