// SPDX-License-Identifier: GPL-2.0-only
//! How long each replay's payload images run after their exec before the CPU is taken from
//! them, from its sched trace (`--sched-trace`): from an image's `sched_process_exec` to its
//! first `sched_switch` out while still runnable (an image that sleeps or exits first is not
//! counted). The exec tracer leaves an image the 0.5 ms grace (or its kept slice): without a
//! timer the kernel ended that run only at a tick or the next scheduling event, a median
//! 988 µs in BENCHMARKS.md section 28.

use std::collections::{BTreeMap, HashMap};

use super::locks::{field, stamp_before, trc_parts};
use crate::stats::median;

/// The metric's name in the results: the replay's median, µs.
pub const EXEC_RUN_METRIC: &str = "exec_run_us";
/// The images counted: the replayer's payload (its comm is cut to 15 bytes).
const PAYLOAD_PATH: &str = "foresight_payload";

/// Per replay `(sched, rep, workload)`: the runs seen and the images not yet switched out.
#[derive(Debug, Default)]
pub struct ExecRuns {
    replays: BTreeMap<(String, u32, String), Replay>,
}

#[derive(Debug, Default)]
struct Replay {
    runs_us: Vec<f64>,
    /// pid → when its image exec'd (trace seconds).
    since_exec: HashMap<u32, f64>,
}

impl ExecRuns {
    /// One `@@TRC` line's body: `sched rep workload EVENT`.
    pub fn observe(&mut self, rest: &str) {
        let Some((sched, rep, workload, event)) = trc_parts(rest) else {
            return;
        };
        if let Some(ts) = stamp_before(event, ": sched_process_exec:") {
            let (Some(path), Some(pid)) = (field(event, "filename="), field(event, " pid=")) else {
                return;
            };
            if let (true, Ok(pid)) = (path.ends_with(PAYLOAD_PATH), pid.parse::<u32>()) {
                let replay = self
                    .replays
                    .entry((sched.to_string(), rep, workload.to_string()))
                    .or_default();
                replay.since_exec.insert(pid, ts);
            }
        } else if let Some(ts) = stamp_before(event, ": sched_switch:") {
            let Some(replay) =
                self.replays
                    .get_mut(&(sched.to_string(), rep, workload.to_string()))
            else {
                return;
            };
            let Some(pid) = field(event, " prev_pid=").and_then(|p| p.parse::<u32>().ok()) else {
                return;
            };
            let Some(since) = replay.since_exec.remove(&pid) else {
                return;
            };
            // Runnable when taken off the CPU: `R`, or `R+` when preempted.
            if field(event, " prev_state=").is_some_and(|s| s.starts_with('R')) {
                replay.runs_us.push((ts - since).max(0.0) * 1e6);
            }
        }
    }

    /// Each replay's median run after exec in µs: `(sched, rep, workload, us)`; replays with
    /// no image counted are left out.
    pub fn medians(&self) -> impl Iterator<Item = (&str, u32, &str, f64)> {
        self.replays.iter().filter_map(|((s, r, w), v)| {
            median(&v.runs_us).map(|us| (s.as_str(), *r, w.as_str(), us))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trc(lines: &[&str]) -> ExecRuns {
        let mut e = ExecRuns::default();
        for line in lines {
            e.observe(line);
        }
        e
    }

    /// Known answer: three payload images switched out runnable after 0.5, 1.0 and 4.0 ms
    /// (median 1000 µs), one that slept first and one that is not a payload (neither counted),
    /// a second switch-out of the same image (only the first counts), another replay apart.
    #[test]
    fn each_images_first_runnable_switch_out_after_exec() {
        let e = trc(&[
            "x 1 w sh-10    [000] ...1.   10.000000: sched_process_exec: filename=/opt/fs/foresight_payload pid=10 old_pid=10",
            "x 1 w sh-11    [000] ...1.   10.001000: sched_process_exec: filename=/opt/fs/foresight_payload pid=11 old_pid=11",
            "x 1 w sh-12    [000] ...1.   10.002000: sched_process_exec: filename=/opt/fs/foresight_payload pid=12 old_pid=12",
            "x 1 w sh-13    [000] ...1.   10.003000: sched_process_exec: filename=/usr/bin/stress-ng pid=13 old_pid=13",
            "x 1 w sh-14    [000] ...1.   10.004000: sched_process_exec: filename=/opt/fs/foresight_payload pid=14 old_pid=14",
            "x 1 w foresight_paylo-10    [000] d..2.   10.000500: sched_switch: prev_comm=foresight_paylo prev_pid=10 prev_prio=120 prev_state=R+ ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w foresight_paylo-11    [000] d..2.   10.002000: sched_switch: prev_comm=foresight_paylo prev_pid=11 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w foresight_paylo-12    [000] d..2.   10.006000: sched_switch: prev_comm=foresight_paylo prev_pid=12 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w stress-ng-13    [000] d..2.   10.003100: sched_switch: prev_comm=stress-ng prev_pid=13 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w foresight_paylo-14    [000] d..2.   10.004200: sched_switch: prev_comm=foresight_paylo prev_pid=14 prev_prio=120 prev_state=D ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w foresight_paylo-14    [000] d..2.   10.009000: sched_switch: prev_comm=foresight_paylo prev_pid=14 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "x 1 w foresight_paylo-10    [000] d..2.   10.020000: sched_switch: prev_comm=foresight_paylo prev_pid=10 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "y 2 w sh-10    [000] ...1.   1.000000: sched_process_exec: filename=/opt/fs/foresight_payload pid=10 old_pid=10",
            "y 2 w foresight_paylo-10    [000] d..2.   1.003000: sched_switch: prev_comm=foresight_paylo prev_pid=10 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
        ]);
        let got: Vec<(String, u32, f64)> = e
            .medians()
            .map(|(s, r, _, us)| (s.to_string(), r, us.round()))
            .collect();
        assert_eq!(got, vec![("x".into(), 1, 1000.0), ("y".into(), 2, 3000.0)]);
    }

    #[test]
    fn replays_without_images_and_unreadable_lines_are_left_out() {
        let e = trc(&[
            "x one w sh-10 [000] ...1. 1.0: sched_process_exec: filename=/a/foresight_payload pid=10 old_pid=10",
            "x 1 w a-1 [000] d..2. 1.0: sched_switch: prev_comm=a prev_pid=1 prev_prio=120 prev_state=R ==> next_comm=b next_pid=2 next_prio=120",
            "x",
        ]);
        assert_eq!(e.medians().count(), 0);
    }
}
