// SPDX-License-Identifier: GPL-2.0-only
//! The simulator's time-sliced engine (fifo, fair, foresight): one event at a time, as the
//! live loop's round sees it, with the live policy's decisions (`foresight_decide`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;

struct Active {
    job: usize,
    /// Times it was queued (arrival included).
    enqueues: u32,
    used: u64,
    vruntime: u64,
    first_run: Option<u64>,
    /// When it was last decided: its key counts from then when its identity arrives.
    last_decided: Option<u64>,
}

/// EEVDF's default base slice for this many CPUs (0.75 ms × (1 + log2 cpus)).
fn fair_slice_ns(cpus: u32) -> u64 {
    750_000 * (1 + u64::from(cpus.max(1).ilog2()))
}

/// Non-preemptive, slice-based engine for fifo, fair and foresight.
pub(super) fn sliced(jobs: &[Job], cfg: &SimConfig) -> (Vec<JobTimes>, Option<Trainer>) {
    let mut engine = Engine::new(jobs, cfg);
    // Each event, as the live loop's round would see it: a slice ends (the task finishes or
    // is queued again) or a job arrives; a queued task is decided; idle CPUs take the
    // earliest deadlines.
    while let Some(now) = engine.next_instant() {
        engine.follow_mode(now);
        let slot = if engine.slice_ends_at(now) {
            match engine.end_slice(now) {
                SliceEnd::Requeue(slot) => Some(slot),
                SliceEnd::Finished => None,
                SliceEnd::Idle => continue,
            }
        } else {
            let slot = engine.arrive();
            // The newcomer's wakeup preempts a long runner: both are decided now.
            if let Some(preempted) = engine.preempt_for_wakeup(now) {
                engine.enqueue(preempted, now);
            }
            Some(slot)
        };
        let decided = slot.map(|slot| engine.enqueue(slot, now));
        engine.dispatch_idle(now, decided);
    }
    (engine.times, engine.trainer)
}

/// A decided run: its slice, and whether it ends on time (else at the kernel's next tick).
#[derive(Clone, Copy)]
struct Turn {
    slice_ns: u64,
    timed: bool,
}

impl Turn {
    /// Fifo's and fair's runs: the tick model applies to foresight only.
    fn untimed(slice_ns: u64) -> Self {
        Self {
            slice_ns,
            timed: false,
        }
    }
}

/// What the end of a slice left.
enum SliceEnd {
    /// The task needs more CPU: queued again.
    Requeue(usize),
    /// The task is done.
    Finished,
    /// The CPU was idle already (nothing to account).
    Idle,
}

/// The time-sliced machine: jobs in flight, the queue ordered by deadline (or vruntime, or
/// arrival), what each CPU runs and when its slice ends.
struct Engine<'a> {
    jobs: &'a [Job],
    cfg: &'a SimConfig,
    policy: Policy,
    trainer: Option<Trainer>,
    times: Vec<JobTimes>,
    active: Vec<Active>,
    free_slots: Vec<usize>,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    /// Per CPU: the task's slot, when its run started and when its slice ends (an event in
    /// `cpu_events` for another end is stale: the run was preempted).
    running: Vec<Option<(usize, u64, u64)>>,
    cpu_events: BinaryHeap<Reverse<(u64, usize)>>,
    next_arrival: usize,
    seq: u64,
    fair_clock: u64,
    // The live loop sizes slices by the tasks queued in its current round (its batch), not by
    // everything runnable: here, the jobs queued at the same instant.
    batch_at: u64,
    batch_len: usize,
    /// The next entry of `cfg.mode_changes` to apply.
    next_mode: usize,
}

impl<'a> Engine<'a> {
    fn new(jobs: &'a [Job], cfg: &'a SimConfig) -> Self {
        let cpus = cfg.cpus.max(1) as usize;
        Self {
            jobs,
            cfg,
            policy: Policy::with_mode(cfg.slices, &cfg.mode)
                .with_every_slice_timed(cfg.time_every_slice),
            trainer: (cfg.policy == PolicyKind::Foresight).then(|| Trainer::new(cfg.prior.clone())),
            times: vec![JobTimes::default(); jobs.len()],
            active: Vec::new(),
            free_slots: Vec::new(),
            queue: BinaryHeap::new(),
            running: vec![None; cpus],
            cpu_events: BinaryHeap::new(),
            next_arrival: 0,
            seq: 0,
            fair_clock: 0,
            batch_at: u64::MAX,
            batch_len: 0,
            next_mode: 0,
        }
    }

    /// The mode the live classifier switched to by `now`: later decisions use it (tasks
    /// already queued keep their keys, as in the live loop).
    fn follow_mode(&mut self, now: u64) {
        while let Some((at, mode)) = self.cfg.mode_changes.get(self.next_mode) {
            if *at > now {
                break;
            }
            self.policy = self.policy.in_mode(self.cfg.slices, mode);
            self.next_mode += 1;
        }
    }

    /// The next event's time: an arrival or a slice's end, whichever comes first.
    fn next_instant(&self) -> Option<u64> {
        let t_arr = self.jobs.get(self.next_arrival).map(|j| j.arrival_ns);
        let t_cpu = self.cpu_events.peek().map(|Reverse((t, _))| *t);
        match (t_arr, t_cpu) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        }
    }

    fn slice_ends_at(&self, now: u64) -> bool {
        self.cpu_events.peek().map(|Reverse((t, _))| *t) == Some(now)
    }

    /// Account the slice that ends now; a finished task becomes a training sample.
    fn end_slice(&mut self, now: u64) -> SliceEnd {
        let Some(Reverse((_, cpu))) = self.cpu_events.pop() else {
            return SliceEnd::Idle;
        };
        let Some((slot, started, ends)) = self.running[cpu] else {
            return SliceEnd::Idle;
        };
        if ends != now {
            return SliceEnd::Idle;
        }
        self.running[cpu] = None;
        let a = &mut self.active[slot];
        a.used += now - started;
        a.vruntime += now - started;
        let job = &self.jobs[a.job];
        if a.used < job.cpu_ns {
            return SliceEnd::Requeue(slot);
        }
        self.times[a.job].finish_ns = now;
        // Like the live scheduler, only an identified task becomes a training sample
        // (identified during this run when the next enqueue would have been predicted).
        let identified = a.enqueues + 1 >= self.cfg.identify_from_enqueue;
        if let Some(tr) = self.trainer.as_mut().filter(|_| identified) {
            if tr.add(Sample {
                func: job.func,
                exe: job.exe,
                fx: job.fx,
                cx: job.cx,
                gx: job.gx,
                cpu_ns: job.cpu_ns,
            }) {
                tr.refit();
            }
        }
        self.free_slots.push(slot);
        SliceEnd::Finished
    }

    /// With every CPU busy, end the run of the task that has run longest since it started,
    /// if at least the wakeup preemption's bound or, in all, the real-time launcher's
    /// (foresight only, as bpf/wakeups.bpf.c does live); returns its slot, to be queued again.
    fn preempt_for_wakeup(&mut self, now: u64) -> Option<usize> {
        let (min_run, rt_min_cpu) = (
            self.cfg.wake_preempt_min_run_ns,
            self.cfg.rt_preempt_min_cpu_ns,
        );
        if self.cfg.policy != PolicyKind::Foresight || (min_run == 0 && rt_min_cpu == 0) {
            return None;
        }
        if self.running.iter().any(Option::is_none) {
            return None;
        }
        let (cpu, (slot, started, _)) = self
            .running
            .iter()
            .enumerate()
            .filter_map(|(cpu, r)| r.map(|r| (cpu, r)))
            .min_by_key(|(_, (_, started, _))| *started)?;
        let ran = now - started;
        let kicked = min_run > 0 && ran >= min_run;
        let long_runner = rt_min_cpu > 0 && self.active[slot].used + ran >= rt_min_cpu;
        if !kicked && !long_runner {
            return None;
        }
        self.running[cpu] = None;
        let a = &mut self.active[slot];
        a.used += now - started;
        a.vruntime += now - started;
        Some(slot)
    }

    /// The next job arrives; its slot in the active set.
    fn arrive(&mut self) -> usize {
        let a = Active {
            job: self.next_arrival,
            enqueues: 0,
            used: 0,
            vruntime: self.fair_clock,
            first_run: None,
            last_decided: None,
        };
        self.next_arrival += 1;
        match self.free_slots.pop() {
            Some(s) => {
                self.active[s] = a;
                s
            }
            None => {
                self.active.push(a);
                self.active.len() - 1
            }
        }
    }

    /// Queue the task in `slot` with the policy's key; returns its slot and decided turn.
    fn enqueue(&mut self, slot: usize, now: u64) -> (usize, Turn) {
        if self.batch_at != now {
            (self.batch_at, self.batch_len) = (now, 0);
        }
        self.batch_len += 1;
        let a = &mut self.active[slot];
        a.enqueues += 1;
        let identified = a.enqueues >= self.cfg.identify_from_enqueue;
        // The live loop decides again at exec, keyed from the fork's time (the policy's rule).
        let held = a
            .last_decided
            .filter(|_| a.enqueues == self.cfg.identify_from_enqueue);
        let job = &self.jobs[a.job];
        let (key, turn) = match self.cfg.policy {
            PolicyKind::Fifo => (job.arrival_ns, Turn::untimed(u64::MAX)),
            PolicyKind::Fair => (a.vruntime, Turn::untimed(fair_slice_ns(self.cfg.cpus))),
            _ => {
                let view = foresight_view(self.trainer.as_ref(), job, identified, a.used, held);
                let d = self.policy.decide(&view, now, self.batch_len);
                a.last_decided = Some(now);
                let turn = Turn {
                    slice_ns: d.slice_ns,
                    timed: d.timed,
                };
                (d.deadline, turn)
            }
        };
        self.seq += 1;
        self.queue.push(Reverse((key, self.seq, slot)));
        (slot, turn)
    }

    /// Idle CPUs take the earliest deadlines (`decided`: the task queued at this instant and
    /// its turn).
    fn dispatch_idle(&mut self, now: u64, decided: Option<(usize, Turn)>) {
        for cpu in 0..self.running.len() {
            if self.running[cpu].is_some() {
                continue;
            }
            let Some(Reverse((_, _, slot))) = self.queue.pop() else {
                break;
            };
            let a = &mut self.active[slot];
            let job = &self.jobs[a.job];
            if a.first_run.is_none() {
                a.first_run = Some(now);
                self.times[a.job].first_run_ns = now;
            }
            self.fair_clock = self.fair_clock.max(a.vruntime);
            let turn = match (self.cfg.policy, decided) {
                (PolicyKind::Fifo, _) => Turn::untimed(u64::MAX),
                (PolicyKind::Fair, _) => Turn::untimed(fair_slice_ns(self.cfg.cpus)),
                (_, Some((s, turn))) if s == slot => turn,
                // Decided earlier: decide again now (only the batch size changed), as the live
                // loop would on its next round.
                _ => {
                    let identified = a.enqueues >= self.cfg.identify_from_enqueue;
                    let n = if self.batch_at == now {
                        self.batch_len
                    } else {
                        1
                    };
                    let view = foresight_view(self.trainer.as_ref(), job, identified, a.used, None);
                    let d = self.policy.decide(&view, now, n);
                    Turn {
                        slice_ns: d.slice_ns,
                        timed: d.timed,
                    }
                }
            };
            // Live, the slice of a fresh invocation ends at its exec: the image is queued again,
            // unless its function is predicted to finish within the exec rule's bound; and a
            // slice ends at the kernel's tick unless timed.
            let slice = match self.cfg.policy {
                PolicyKind::Foresight => {
                    let run =
                        run_to_exec_ns(self.cfg, self.trainer.as_ref(), job, a.used, turn.slice_ns);
                    // What the exec tracer leaves at exec, its own timer ends on time.
                    let timed = turn.timed || reaches_exec(self.cfg, a.used, turn.slice_ns);
                    tick_bound_ns(self.cfg, now, run, timed)
                }
                _ => turn.slice_ns,
            };
            let run = slice.min(job.cpu_ns - a.used).max(1);
            self.running[cpu] = Some((slot, now, now + run));
            self.cpu_events.push(Reverse((now + run, cpu)));
        }
    }
}

/// How long a run given `slice` at `now` lasts at most: live, the kernel ends a slice only at
/// its first tick after the slice ran out, unless it is `timed` and short enough for the
/// dispatcher's timer to end it on time.
pub(super) fn tick_bound_ns(cfg: &SimConfig, now: u64, slice: u64, timed: bool) -> u64 {
    if cfg.tick_ns == 0 || (timed && slice < cfg.slice_timer_max_ns) || slice == u64::MAX {
        return slice;
    }
    let end = now.saturating_add(slice);
    end.div_ceil(cfg.tick_ns).saturating_mul(cfg.tick_ns) - now
}

/// Whether a run of `slice` from `used` reaches the invocation's exec.
fn reaches_exec(cfg: &SimConfig, used: u64, slice: u64) -> bool {
    let to_exec = cfg.exec_run_ns.saturating_sub(used);
    to_exec > 0 && slice > to_exec
}

/// A run of `slice` from `used`: one that reaches the invocation's exec (after
/// `exec_run_ns` of CPU) ends there plus what the exec tracer leaves: the exec rule's slice
/// for its function's prediction, else what is left of the run, at most the grace.
pub(super) fn run_to_exec_ns(
    cfg: &SimConfig,
    trainer: Option<&Trainer>,
    job: &Job,
    used: u64,
    slice: u64,
) -> u64 {
    if !reaches_exec(cfg, used, slice) {
        return slice;
    }
    let to_exec = cfg.exec_run_ns - used;
    let predicted = trainer.and_then(|t| {
        t.models()
            .predict_identity_ns(job.func, job.exe, &job.fx, &job.cx)
    });
    let after = exec_slice_ns(predicted, cfg.exec_finish_ns, cfg.exec_end_long)
        .unwrap_or_else(|| (slice - to_exec).min(cfg.exec_grace_ns));
    to_exec + after
}

/// The live policy's view of a job that has run `used` ns, with the models learnt so far;
/// before it is `identified` nothing predicts it, as live (`TaskEntry::refresh_prediction`).
fn foresight_view(
    trainer: Option<&Trainer>,
    job: &Job,
    identified: bool,
    used: u64,
    held_since: Option<u64>,
) -> TaskView {
    let predicted = trainer
        .filter(|_| identified)
        .and_then(|t| {
            t.models()
                .predict_total_ns(job.func, job.exe, &job.fx, &job.cx, &job.gx)
        })
        .map(|(ns, _)| ns);
    TaskView {
        weight: WEIGHT_DEFAULT,
        cpu_so_far_ns: used,
        predicted_total_ns: predicted,
        // Trace invocations never sleep: one burst, no interactivity.
        burst_ewma_ns: used,
        sleep_ratio: 0.0,
        boost_pct: crate::core::policy::BOOST_PCT_NONE,
        held_since,
        // Nor do they take locks.
        woke_uninterruptible: false,
    }
}
