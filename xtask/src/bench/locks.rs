// SPDX-License-Identifier: GPL-2.0-only
//! The time each replay's tasks slept on contended kernel locks, from its sched trace
//! (`--sched-trace`: `@@TRC sched rep workload EVENT`, ftrace's text): from a waiter's
//! `lock:contention_begin` to its next `sched_wakeup`, summed over waiters (a waiter that got
//! the lock by spinning, its `contention_end` before any wakeup, slept 0). A task the policy
//! defers while it holds a lock that others need shows here as a chain of long sleeps
//! (BENCHMARKS.md, section 21).

use std::collections::{BTreeMap, HashMap};

/// The metric's name in the results.
pub const LOCK_SLEEP_METRIC: &str = "lock_sleep_ms";

/// Per replay `(sched, rep, workload)`: the lock sleep so far and who is waiting since when.
#[derive(Debug, Default)]
pub struct LockSleep {
    replays: BTreeMap<(String, u32, String), Replay>,
}

#[derive(Debug, Default)]
struct Replay {
    slept_s: f64,
    /// pid → when its contention began (trace seconds).
    waiting: HashMap<u32, f64>,
}

impl LockSleep {
    /// One `@@TRC` line's body: `sched rep workload EVENT`. Lines that are not a contention's
    /// start or a wakeup only register the replay (a replay without contention reads 0).
    pub fn observe(&mut self, rest: &str) {
        let Some((sched, rep, workload, event)) = trc_parts(rest) else {
            return;
        };
        let replay = self
            .replays
            .entry((sched.to_string(), rep, workload.to_string()))
            .or_default();
        if let Some(ts) = stamp_before(event, ": contention_begin:") {
            if let Some(pid) = current_pid(event) {
                replay.waiting.entry(pid).or_insert(ts);
            }
        } else if event.contains(": contention_end:") {
            // Still waiting at its own end: it got the lock spinning, without a sleep.
            if let Some(pid) = current_pid(event) {
                replay.waiting.remove(&pid);
            }
        } else if let Some(ts) = stamp_before(event, ": sched_wakeup:") {
            let wakee = field(event, " pid=").and_then(|p| p.parse::<u32>().ok());
            if let Some(since) = wakee.and_then(|pid| replay.waiting.remove(&pid)) {
                replay.slept_s += (ts - since).max(0.0);
            }
        }
    }

    /// Each replay's lock sleep in ms: `(sched, rep, workload, ms)`.
    pub fn totals(&self) -> impl Iterator<Item = (&str, u32, &str, f64)> {
        self.replays
            .iter()
            .map(|((s, r, w), v)| (s.as_str(), *r, w.as_str(), v.slept_s * 1000.0))
    }
}

/// A `@@TRC` line's body split into its replay (`sched rep workload`) and the ftrace event.
pub(super) fn trc_parts(rest: &str) -> Option<(&str, u32, &str, &str)> {
    let mut w = rest.splitn(4, ' ');
    let (sched, rep, workload, event) = (w.next()?, w.next()?, w.next()?, w.next()?);
    Some((sched, rep.parse().ok()?, workload, event))
}

/// The value after `key` in an event, up to the next space.
pub(super) fn field<'a>(event: &'a str, key: &str) -> Option<&'a str> {
    event.split_once(key)?.1.split_whitespace().next()
}

/// The event's timestamp (seconds), the word before `marker`.
pub(super) fn stamp_before(event: &str, marker: &str) -> Option<f64> {
    let (head, _) = event.split_once(marker)?;
    head.split_whitespace().last()?.parse().ok()
}

/// The running task's pid: ftrace's `comm-pid` before the ` [cpu]` field.
fn current_pid(event: &str) -> Option<u32> {
    let (task, _) = event.split_once(" [")?;
    task.trim().rsplit_once('-')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trc(lines: &[&str]) -> LockSleep {
        let mut l = LockSleep::default();
        for line in lines {
            l.observe(line);
        }
        l
    }

    /// Known answer: two waiters (10 ms and 30 ms), a wakeup of a task that waited on no lock,
    /// a second wakeup of the same waiter (counted once), one that got its lock spinning (0),
    /// a replay with no contention (0), and a comm with a dash and a space.
    #[test]
    fn sums_each_waiters_sleep_from_contention_to_wakeup() {
        let l = trc(&[
            "x 1 w foresight_paylo-4476    [000] d..2.   271.370000: contention_begin: 00000000afa752f5 (flags=WRITE)",
            "x 1 w kworker/0:1 a-b-4477    [000] d..2.   271.380000: contention_begin: 00000000afa752f5 (flags=WRITE)",
            "x 1 w foresight_paylo-9    [000] d..4.   271.385000: sched_wakeup: comm=other pid=12 prio=120 target_cpu=000",
            "x 1 w foresight_paylo-4475    [000] d..4.   271.380000: sched_wakeup: comm=foresight_paylo pid=4476 prio=120 target_cpu=000",
            "x 1 w foresight_paylo-4476    [000] d..4.   271.410000: sched_wakeup: comm=kworker/0:1 a-b pid=4477 prio=120 target_cpu=000",
            "x 1 w foresight_paylo-4476    [000] d..4.   271.500000: sched_wakeup: comm=foresight_paylo pid=4476 prio=120 target_cpu=000",
            "x 1 w foresight_paylo-4476    [000] d..4.   271.500000: sched_wakeup_new: comm=foresight_loadg pid=4477 prio=120 target_cpu=000",
            "x 1 w procinfo-4140    [000] ...1.   271.600000: contention_begin: 00000000dd163016 (flags=READ)",
            "x 1 w procinfo-4140    [000] ...1.   271.600100: contention_end: 00000000dd163016 (ret=0)",
            "x 1 w foresight_paylo-4476    [000] d..4.   272.000000: sched_wakeup: comm=procinfo pid=4140 prio=-1 target_cpu=000",
            "x 2 w foresight_paylo-4476    [000] d..2.   1.000000: sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120",
        ]);
        let got: Vec<(String, u32, f64)> = l
            .totals()
            .map(|(s, r, _, ms)| (s.to_string(), r, (ms * 1000.0).round() / 1000.0))
            .collect();
        assert_eq!(got, vec![("x".into(), 1, 40.0), ("x".into(), 2, 0.0)]);
    }

    #[test]
    fn unreadable_lines_are_skipped() {
        let l = trc(&[
            "x one w a-1 [000] d 1.0: contention_begin: 0 (flags=WRITE)",
            "x",
        ]);
        assert_eq!(l.totals().count(), 0);
    }
}
