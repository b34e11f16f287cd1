// SPDX-License-Identifier: GPL-2.0-only
//! cyclictest's slowest wakeup in each run, from its sched trace (`--sched-trace`): from the
//! `sched_wakeup` of its measuring thread to the `sched_switch` that runs it, and what ran on
//! the CPU in between, task by task. A rare tail (one repetition's p99 at 91 µs where the others
//! read 7) is only explained by what held the CPU then. Every cyclictest thread is followed and
//! the measuring one reported: it wakes each period, the main thread seldom. Following whichever
//! woke first reported the main thread's 11 ms wait (SCHED_OTHER) as `cyclictest-rt`'s slowest,
//! where the real-time thread the histogram measures waited at most 12 µs (BENCHMARKS.md
//! section 37).

use std::collections::BTreeMap;

use serde::Serialize;

use super::locks::{field, stamp_before, trc_parts};

/// The workloads whose wakeups are followed (bench.sh's cyclic_run: `cyclictest`, its measuring
/// thread scheduled by the scheduler under test, and `cyclictest-rt`, a real-time one).
const CYCLIC_WORKLOAD_PREFIX: &str = "cyclictest";
/// The program followed (its comm).
const CYCLIC_COMM: &str = "cyclictest";
/// Tasks listed per slow wakeup at most (the longest runs of the wait).
const MAX_HOLDERS: usize = 6;

/// One wakeup: how long it waited and who ran meanwhile (`comm-pid`, µs), longest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowWake {
    pub sched: String,
    pub rep: u32,
    pub workload: String,
    pub wait_us: f64,
    /// Wakeups of the run followed, to say how rare the slowest is.
    pub wakeups: usize,
    pub held_by: Vec<(String, f64)>,
}

/// Per run `(sched, rep, workload)`: the wakeup being waited out and the slowest so far.
#[derive(Debug, Default)]
pub struct SlowWakes {
    runs: BTreeMap<(String, u32, String), Run>,
}

#[derive(Debug, Default)]
struct Run {
    threads: BTreeMap<u32, Thread>,
}

/// One cyclictest thread: its wakeup being waited out, how many, the slowest so far.
#[derive(Debug, Default)]
struct Thread {
    pending: Option<Waiting>,
    wakeups: usize,
    worst: Option<(f64, Vec<(String, f64)>)>,
}

/// A woken cyclictest thread not yet run: since when, the last switch since, who ran (µs).
#[derive(Debug)]
struct Waiting {
    woke: f64,
    last: f64,
    held: Vec<(String, f64)>,
}

impl SlowWakes {
    /// One `@@TRC` line's body: `sched rep workload EVENT`.
    pub fn observe(&mut self, rest: &str) {
        let Some((sched, rep, workload, event)) = trc_parts(rest) else {
            return;
        };
        if !workload.starts_with(CYCLIC_WORKLOAD_PREFIX) {
            return;
        }
        let run = self
            .runs
            .entry((sched.to_string(), rep, workload.to_string()))
            .or_default();
        if let Some(ts) = stamp_before(event, ": sched_wakeup:") {
            let woken = field(event, " comm=").zip(field(event, " pid="));
            let Some((CYCLIC_COMM, pid)) = woken else {
                return;
            };
            let Ok(pid) = pid.parse() else { return };
            let thread = run.threads.entry(pid).or_default();
            if thread.pending.is_none() {
                thread.pending = Some(Waiting {
                    woke: ts,
                    last: ts,
                    held: Vec::new(),
                });
                thread.wakeups += 1;
            }
        } else if let Some(ts) = stamp_before(event, ": sched_switch:") {
            // Most switches come while no cyclictest thread waits: nothing to count.
            if run.threads.values().all(|t| t.pending.is_none()) {
                return;
            }
            let prev = format!(
                "{}-{}",
                field(event, " prev_comm=").unwrap_or("?"),
                field(event, " prev_pid=").unwrap_or("?")
            );
            let next: Option<u32> = field(event, " next_pid=").and_then(|p| p.parse().ok());
            for (pid, thread) in run.threads.iter_mut() {
                thread.switched(ts, &prev, next == Some(*pid));
            }
        }
    }

    /// Each run's slowest wakeup of its measuring thread (the one woken most), the tasks that
    /// held the CPU longest during it first.
    pub fn slowest(&self) -> Vec<SlowWake> {
        self.runs
            .iter()
            .filter_map(|((sched, rep, workload), run)| {
                let measuring = run.threads.values().max_by_key(|t| t.wakeups)?;
                let (wait_us, held) = measuring.worst.as_ref()?;
                let mut by_task: Vec<(String, f64)> = Vec::new();
                for (task, us) in held {
                    match by_task.iter_mut().find(|(t, _)| t == task) {
                        Some((_, total)) => *total += us,
                        None => by_task.push((task.clone(), *us)),
                    }
                }
                by_task.sort_by(|a, b| b.1.total_cmp(&a.1));
                by_task.truncate(MAX_HOLDERS);
                Some(SlowWake {
                    sched: sched.clone(),
                    rep: *rep,
                    workload: workload.clone(),
                    wait_us: *wait_us,
                    wakeups: measuring.wakeups,
                    held_by: by_task,
                })
            })
            .collect()
    }
}

impl Thread {
    /// A switch on the CPU: who ran since the last one counts against the wait; the wait ends
    /// when this thread is switched in.
    fn switched(&mut self, ts: f64, prev: &str, runs_this: bool) {
        let Some(mut w) = self.pending.take() else {
            return;
        };
        w.held
            .push((prev.to_string(), (ts - w.last).max(0.0) * 1e6));
        w.last = ts;
        if !runs_this {
            self.pending = Some(w);
            return;
        }
        let wait_us = (ts - w.woke).max(0.0) * 1e6;
        if self
            .worst
            .as_ref()
            .is_none_or(|(worst, _)| wait_us > *worst)
        {
            self.worst = Some((wait_us, w.held));
        }
    }
}

/// The results' section: one line per run.
pub fn markdown(slow: &[SlowWake]) -> String {
    if slow.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\ncyclictest's slowest wakeup per run (sched trace: from `sched_wakeup` to the switch \
         that runs it; the tasks that ran meanwhile, µs each):\n\n\
         | run | scheduler | rep | wakeups | slowest (µs) | ran meanwhile |\n|---|---|---|---|---|---|\n",
    );
    for s in slow {
        let held: Vec<String> = s
            .held_by
            .iter()
            .map(|(t, us)| format!("{t} {us:.0}"))
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {} |\n",
            s.workload,
            s.sched,
            s.rep,
            s.wakeups,
            s.wait_us,
            held.join(", ")
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    const SW: &str = "sched_switch:";

    fn switch(ts: f64, prev: &str, next: &str) -> String {
        let (pc, pp) = prev.rsplit_once('-').unwrap();
        let (nc, np) = next.rsplit_once('-').unwrap();
        format!(
            "x 1 cyclictest {prev} [000] d..2. {ts:.6}: {SW} prev_comm={pc} prev_pid={pp} prev_prio=120 prev_state=S ==> next_comm={nc} next_pid={np} next_prio=120"
        )
    }

    fn wakeup(ts: f64, pid: u32) -> String {
        format!("x 1 cyclictest stress-ng-cpu-5 [000] d.h.. {ts:.6}: sched_wakeup: comm=cyclictest pid={pid} prio=120 target_cpu=000")
    }

    /// Known answer: two wakeups of cyclictest's thread 7 beside a hog (pid 5) and our loop
    /// (pid 3): the first waits 6 µs (the hog 2, the loop 4), the second 90 µs (the hog 10, a
    /// helper of ours 76, the loop 4). Another workload's lines and another program's wakeup
    /// count for nothing; cyclictest's main thread (6), woken once, first, and run 3 ms later,
    /// is not the thread measured.
    #[test]
    fn the_slowest_wakeup_and_who_ran_meanwhile() {
        let lines = [
            wakeup(0.997000, 6),
            switch(1.000000, "stress-ng-cpu-5", "cyclictest-6"),
            wakeup(1.000000, 7),
            switch(1.000002, "stress-ng-cpu-5", "scx_foresight-3"),
            switch(1.000006, "scx_foresight-3", "cyclictest-7"),
            switch(1.000010, "cyclictest-7", "stress-ng-cpu-5"),
            "x 1 hackbench hackbench-9 [000] d.h.. 1.000500: sched_wakeup: comm=cyclictest pid=7 prio=120 target_cpu=000".to_string(),
            wakeup(1.001000, 8).replace("comm=cyclictest", "comm=other"),
            wakeup(1.002000, 7),
            switch(1.002010, "stress-ng-cpu-5", "procinfo-4"),
            switch(1.002086, "procinfo-4", "scx_foresight-3"),
            switch(1.002090, "scx_foresight-3", "cyclictest-7"),
        ];
        let mut s = SlowWakes::default();
        for l in &lines {
            s.observe(l);
        }
        let slow = s.slowest();
        assert_eq!(slow.len(), 1);
        assert_eq!((slow[0].sched.as_str(), slow[0].rep), ("x", 1));
        assert_eq!(slow[0].wakeups, 2);
        assert!((slow[0].wait_us - 90.0).abs() < 0.01, "{slow:?}");
        let held: Vec<(&str, i64)> = slow[0]
            .held_by
            .iter()
            .map(|(t, us)| (t.as_str(), us.round() as i64))
            .collect();
        assert_eq!(
            held,
            vec![
                ("procinfo-4", 76),
                ("stress-ng-cpu-5", 10),
                ("scx_foresight-3", 4)
            ]
        );
        assert!(markdown(&slow)
            .contains("| cyclictest | x | 1 | 2 | 90 | procinfo-4 76, stress-ng-cpu-5 10"));
    }
}
