// SPDX-License-Identifier: GPL-2.0-only
//! Real-time trace replay, the BPF-free parts: the payload calibration (payload argument →
//! CPU time measured on this machine), mapping a trace row to the argument to launch, the Azure
//! trace conversion, and the summary of measured invocations (the simulator's [`Summary`]).
//!
//! `foresight_loadgen` uses these to launch every invocation as a real process and time it.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::formats::csv::{self, read_input};
use crate::formats::trace::Row;
use crate::formats::versioned::FileError;
use crate::offline::sim::{summarize, Job, JobTimes, Summary};

/// The payload binary's name: trace rows of this function carry its argument directly.
pub const PAYLOAD: &str = "foresight_payload";
/// Largest argument the payload accepts.
pub const PAYLOAD_ARG_MAX: u32 = 60;

/// The header of a calibration file.
pub const CALIBRATION_HEADER: &str = "arg,cpu_us";

/// Measured CPU time of the payload per argument, on one machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// (argument, median CPU µs), sorted by argument.
    pub points: Vec<(u32, u64)>,
}

impl Calibration {
    pub fn new(mut points: Vec<(u32, u64)>) -> Result<Self, String> {
        points.sort_unstable();
        points.dedup_by_key(|p| p.0);
        if points.is_empty() {
            return Err("a calibration needs at least one point".into());
        }
        Ok(Self { points })
    }

    pub fn to_csv(&self) -> String {
        let mut s = format!("{CALIBRATION_HEADER}\n");
        for (a, c) in &self.points {
            let _ = writeln!(s, "{a},{c}");
        }
        s
    }

    pub fn read(path: &Path) -> Result<Self, FileError> {
        let (text, file) = read_input(path)?;
        Self::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, FileError> {
        let bad = |line: usize, reason: String| FileError::at(file, line, reason);
        let mut points = Vec::new();
        for (n, f) in csv::rows(text, file, CALIBRATION_HEADER, None)? {
            let (Some(a), Some(c)) = (f.first(), f.get(1)) else {
                return Err(bad(n, "expected `arg,cpu_us`".into()));
            };
            let arg = a
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|a| *a <= PAYLOAD_ARG_MAX)
                .ok_or_else(|| bad(n, format!("arg must be 0..={PAYLOAD_ARG_MAX}, found `{a}`")))?;
            let cpu = c
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| bad(n, format!("cpu_us must be a positive integer, found `{c}`")))?;
            points.push((arg, cpu));
        }
        Self::new(points).map_err(|r| bad(1, r))
    }

    /// The argument whose measured CPU time is nearest `cpu_us` (on a log scale).
    pub fn arg_for(&self, cpu_us: u64) -> u32 {
        let want = (cpu_us.max(1) as f64).ln();
        self.points
            .iter()
            .min_by(|a, b| {
                let da = ((a.1 as f64).ln() - want).abs();
                let db = ((b.1 as f64).ln() - want).abs();
                da.total_cmp(&db)
            })
            .map_or(0, |p| p.0)
    }

    /// Measured CPU time of `arg`: the point itself; between two points, interpolated on a
    /// log scale (fib's cost is geometric, and towards the start-up floor, arg 0, it flattens
    /// as the floor does); beyond the points, the nearest scaled by the golden ratio per step.
    pub fn cpu_us(&self, arg: u32) -> u64 {
        let below = self.points.iter().rev().find(|p| p.0 <= arg).copied();
        let above = self.points.iter().find(|p| p.0 >= arg).copied();
        let ln = |c: u64| (c.max(1) as f64).ln();
        let us = match (below, above) {
            (Some(b), Some(a)) if a.0 == b.0 => b.1 as f64,
            (Some(b), Some(a)) => {
                let t = f64::from(arg - b.0) / f64::from(a.0 - b.0);
                (ln(b.1) + t * (ln(a.1) - ln(b.1))).exp()
            }
            (Some(p), None) | (None, Some(p)) => {
                let steps = f64::from(arg) - f64::from(p.0);
                p.1 as f64 * 1.618f64.powf(steps)
            }
            (None, None) => 1.0,
        };
        us.round().max(1.0) as u64
    }
}

/// What to launch for a trace row: the payload argument.
pub fn launch_arg(row: &Row, cal: &Calibration) -> u32 {
    let is_payload = Path::new(&row.function)
        .file_name()
        .is_some_and(|n| n == PAYLOAD);
    match row.args.split_whitespace().next().map(str::parse::<u32>) {
        Some(Ok(a)) if is_payload && a <= PAYLOAD_ARG_MAX => a,
        _ => cal.arg_for(row.cpu_us),
    }
}

/// The factor to divide arrival times by so that invocations of these demands offer `load`
/// per CPU on `cpus` CPUs: Σ demand / (span × cpus) = load, span from 0 to the last arrival.
/// None when the trace has no span or no demand.
pub fn speed_for_load(arrivals_demands: &[(u64, u64)], load: f64, cpus: u32) -> Option<f64> {
    let span_us = arrivals_demands.iter().map(|x| x.0).max()? as f64;
    let demand_us: f64 = arrivals_demands.iter().map(|x| x.1 as f64).sum();
    if span_us <= 0.0 || demand_us <= 0.0 || load.is_nan() || load <= 0.0 || cpus == 0 {
        return None;
    }
    let want_span_us = demand_us / (load * f64::from(cpus));
    Some(span_us / want_span_us)
}

/// The Azure Functions 2019 fib workload (`INTER_ARRIVAL_SECONDS FIB_ARG` per line, see
/// ../shared/data) as trace rows of the payload, CPU demand from the calibration. With
/// `max_arg`, every argument is shifted down by the same number of steps so that the largest
/// becomes `max_arg`: each demand shrinks by the same factor (φ per step), so the workload keeps
/// its shape (and, once arrivals are scaled, its load) at a cost the machine can replay.
pub fn rows_from_azure(
    text: &str,
    file: &str,
    cal: &Calibration,
    max_arg: Option<u32>,
) -> Result<Vec<Row>, FileError> {
    let rows = parse_azure(text, file)?;
    let mut args: Vec<u32> = rows.iter().map(|r| r.1).collect();
    shift_to_max(&mut args, max_arg);
    Ok(rows
        .iter()
        .zip(args)
        .map(|(&(arrival_us, _), arg)| Row {
            arrival_us,
            function: PAYLOAD.into(),
            args: arg.to_string(),
            cpu_us: cal.cpu_us(arg),
        })
        .collect())
}

/// Shift every payload argument down by the same number of steps so that the largest is at
/// most `max_arg` (each demand shrinks by the same factor, φ per step); None: unchanged.
pub fn shift_to_max(args: &mut [u32], max_arg: Option<u32>) {
    let top = args.iter().copied().max().unwrap_or(0);
    let shift = max_arg.map_or(0, |m| top.saturating_sub(m));
    args.iter_mut().for_each(|a| *a = a.saturating_sub(shift));
}

/// (arrival µs, fib argument) per line of the Azure workload.
fn parse_azure(text: &str, file: &str) -> Result<Vec<(u64, u32)>, FileError> {
    let mut rows = Vec::new();
    let mut t_us = 0u64;
    for (i, line) in text.lines().enumerate() {
        let bad = |reason: String| FileError::at(file.to_string(), i + 1, reason);
        let mut w = line.split_whitespace();
        let (Some(gap), Some(arg), None) = (w.next(), w.next(), w.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(bad(format!(
                "expected `INTER_ARRIVAL_SECONDS FIB_ARG`, found `{line}`"
            )));
        };
        let gap: f64 = gap
            .parse()
            .ok()
            .filter(|g: &f64| g.is_finite() && *g >= 0.0)
            .ok_or_else(|| bad(format!("inter-arrival `{gap}` is not a number >= 0")))?;
        let arg: u32 = arg
            .parse()
            .ok()
            .filter(|a| *a <= PAYLOAD_ARG_MAX)
            .ok_or_else(|| bad(format!("fib argument `{arg}` is not 0..={PAYLOAD_ARG_MAX}")))?;
        t_us += (gap * 1e6).round() as u64;
        rows.push((t_us, arg));
    }
    Ok(rows)
}

/// One replayed invocation, as measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Measured {
    pub arg: u32,
    /// CPU the invocation needs alone (the calibration's figure for its argument): slowdowns
    /// and the short/long split use it, so every scheduler is judged on the same demands.
    pub demand_us: u64,
    /// All in µs from the replay's start; cpu_us from the kernel (wait4 rusage).
    pub arrival_us: u64,
    pub launch_us: u64,
    pub start_us: u64,
    pub finish_us: u64,
    pub cpu_us: u64,
    pub ok: bool,
}

/// The summary printed (and written as JSON) after a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    pub invocations: usize,
    pub failed: usize,
    pub short_us: u64,
    pub short: Summary,
    pub long: Summary,
    pub all: Summary,
    /// Launch → the payload's first instruction in main (fork, exec, first run), µs.
    pub startup_mean_us: f64,
    pub startup_p99_us: f64,
    /// How late launches were against the trace's arrival times, µs.
    pub launch_lag_mean_us: f64,
    /// Arrival → the payload's first instruction (the wait before the first run), mean µs.
    pub short_wait_mean_us: f64,
    pub long_wait_mean_us: f64,
    /// Slowdowns on each invocation's own measured CPU time (not the calibrated demand):
    /// what remains once a scheduler's effect on the CPU cost itself is taken out.
    pub short_own_cpu: Summary,
    pub long_own_cpu: Summary,
    /// Σ calibrated demand of the invocations that completed, µs.
    pub demand_total_us: u64,
    /// CPU time of the replayer itself (all its threads, not the invocations), µs: what the
    /// instrument took from the machine it measures. Filled in by the replayer.
    pub replayer_cpu_us: u64,
}

/// Summarise measured invocations: slowdown = (finish − arrival) / demand.
pub fn report(m: &[Measured], short_us: u64) -> ReplayReport {
    let ok: Vec<&Measured> = m.iter().filter(|x| x.ok).collect();
    let jobs: Vec<Job> = ok
        .iter()
        .map(|x| Job::anonymous(x.arrival_us * 1000, x.demand_us.max(1) * 1000))
        .collect();
    let times: Vec<JobTimes> = ok
        .iter()
        .map(|x| JobTimes {
            first_run_ns: x.start_us * 1000,
            finish_ns: x.finish_us * 1000,
        })
        .collect();
    let both = || jobs.iter().zip(&times);
    let short_ns = short_us * 1000;
    let is_short = |x: &Measured| x.demand_us * 1000 <= short_ns;
    let own_cpu = |short: bool| {
        let own: Vec<(Job, JobTimes)> = ok
            .iter()
            .zip(&times)
            .filter(|(x, _)| is_short(x) == short)
            .map(|(x, t)| {
                let job = Job::anonymous(x.arrival_us * 1000, x.cpu_us.max(1) * 1000);
                (job, *t)
            })
            .collect();
        summarize(own.iter().map(|(j, t)| (j, t)))
    };
    let wait_mean = |short: bool| {
        let w: Vec<f64> = ok
            .iter()
            .filter(|x| is_short(x) == short)
            .map(|x| x.start_us.saturating_sub(x.arrival_us) as f64)
            .collect();
        w.iter().sum::<f64>() / w.len().max(1) as f64
    };
    let mut startup: Vec<f64> = ok
        .iter()
        .map(|x| x.start_us.saturating_sub(x.launch_us) as f64)
        .collect();
    startup.sort_by(f64::total_cmp);
    let n = startup.len().max(1) as f64;
    ReplayReport {
        invocations: m.len(),
        failed: m.len() - ok.len(),
        short_us,
        short: summarize(both().filter(|(j, _)| j.cpu_ns <= short_ns)),
        long: summarize(both().filter(|(j, _)| j.cpu_ns > short_ns)),
        all: summarize(both()),
        startup_mean_us: startup.iter().sum::<f64>() / n,
        startup_p99_us: startup
            .get(((startup.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0),
        launch_lag_mean_us: ok
            .iter()
            .map(|x| x.launch_us.saturating_sub(x.arrival_us) as f64)
            .sum::<f64>()
            / n,
        short_wait_mean_us: wait_mean(true),
        long_wait_mean_us: wait_mean(false),
        short_own_cpu: own_cpu(true),
        long_own_cpu: own_cpu(false),
        demand_total_us: ok.iter().map(|x| x.demand_us).sum(),
        replayer_cpu_us: 0,
    }
}

/// The per-invocation CSV header.
pub const MEASURED_HEADER: &str = "arg,demand_us,arrival_us,launch_us,start_us,finish_us,cpu_us,ok";

impl Measured {
    pub fn to_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.arg,
            self.demand_us,
            self.arrival_us,
            self.launch_us,
            self.start_us,
            self.finish_us,
            self.cpu_us,
            u8::from(self.ok)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calibration {
        Calibration::parse("arg,cpu_us\n20,2000\n25,22000\n30,245000\n", "c.csv").unwrap()
    }

    #[test]
    fn calibration_maps_both_ways() {
        let c = cal();
        assert_eq!(c.arg_for(2_100), 20);
        assert_eq!(c.arg_for(200_000), 30);
        assert_eq!(c.cpu_us(25), 22_000);
        // One step above a point: × golden ratio.
        assert_eq!(c.cpu_us(31), (245_000.0f64 * 1.618).round() as u64);
        // Below the lowest point: ÷ golden ratio per step.
        assert_eq!(c.cpu_us(19), (2_000.0f64 / 1.618).round() as u64);
        // Between points: geometric interpolation, 2 of 5 steps from 25 to 30.
        assert_eq!(c.cpu_us(27), 57_693);
        // With the start-up floor measured (arg 0), small arguments cost about the floor, not
        // fib's vanishing share of it.
        let floored = Calibration::new(vec![(0, 1_750), (16, 1_820), (20, 2_000)]).unwrap();
        assert!(
            (1_750..=1_820).contains(&floored.cpu_us(12)),
            "{}",
            floored.cpu_us(12)
        );
        assert_eq!(Calibration::parse(&c.to_csv(), "x").unwrap(), c);
    }

    #[test]
    fn bad_calibration_names_file_and_line() {
        let e = Calibration::parse("arg,cpu_us\n20,2000\n99,5\n", "c.csv").unwrap_err();
        assert!(e.to_string().starts_with("c.csv:3:"), "{e}");
        let e = Calibration::parse("arg,cpu_us\n20,-1\n", "c.csv").unwrap_err();
        assert!(e.to_string().contains("cpu_us"), "{e}");
        assert!(Calibration::parse("arg,cpu_us\n", "c.csv").is_err());
    }

    #[test]
    fn rows_become_payload_arguments() {
        let c = cal();
        let payload = Row {
            arrival_us: 0,
            function: "/usr/bin/foresight_payload".into(),
            args: "27".into(),
            cpu_us: 1,
        };
        assert_eq!(launch_arg(&payload, &c), 27);
        let other = Row {
            function: "f03-thumb".into(),
            args: "640 fast".into(),
            cpu_us: 25_000,
            ..payload
        };
        assert_eq!(launch_arg(&other, &c), 25);
    }

    #[test]
    fn arrival_scaling_hits_the_load() {
        // 4 s of demand over 10 s on 1 CPU is load 0.4; load 0.8 needs a 5 s span.
        let t = [
            (0, 1_000_000),
            (5_000_000, 2_000_000),
            (10_000_000, 1_000_000),
        ];
        let speed = speed_for_load(&t, 0.8, 1).unwrap();
        assert!((speed - 2.0).abs() < 1e-9, "{speed}");
        // Twice the CPUs: half the span.
        assert!((speed_for_load(&t, 0.8, 2).unwrap() - 4.0).abs() < 1e-9);
        assert_eq!(speed_for_load(&[(0, 5)], 0.5, 1), None);
        assert_eq!(speed_for_load(&t, 0.0, 1), None);
    }

    #[test]
    fn azure_lines_accumulate_inter_arrivals() {
        let text = "0.0 24\n0.5 30\n\n0.25 25\n";
        let rows = rows_from_azure(text, "a.txt", &cal(), None).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].arrival_us, 500_000);
        assert_eq!(rows[2].arrival_us, 750_000);
        assert_eq!(rows[1].cpu_us, 245_000);
        // Shifted so the largest argument is 25: every argument 5 steps down.
        let shifted = rows_from_azure(text, "a.txt", &cal(), Some(25)).unwrap();
        let args: Vec<&str> = shifted.iter().map(|r| r.args.as_str()).collect();
        assert_eq!(args, ["19", "25", "20"]);
        assert_eq!(shifted[1].cpu_us, 22_000);
        assert_eq!(
            rows_from_azure(text, "a.txt", &cal(), Some(40)).unwrap(),
            rows
        );
        let e = rows_from_azure("0.0 24\nsoon 3\n", "a.txt", &cal(), None).unwrap_err();
        assert!(e.to_string().starts_with("a.txt:2:"), "{e}");
        assert!(rows_from_azure("0.0 99\n", "a.txt", &cal(), None).is_err());
    }

    #[test]
    fn report_splits_short_and_long_and_times_startup() {
        let m = |arrival, cpu, finish| Measured {
            arg: 20,
            demand_us: cpu,
            arrival_us: arrival,
            launch_us: arrival + 100,
            start_us: arrival + 1_100,
            finish_us: finish,
            cpu_us: cpu,
            ok: true,
        };
        let runs = [
            m(0, 10_000, 20_000),
            m(0, 10_000, 40_000),
            m(0, 1_000_000, 2_000_000),
            Measured {
                ok: false,
                ..m(0, 1, 1)
            },
        ];
        let r = report(&runs, 100_000);
        assert_eq!((r.invocations, r.failed), (4, 1));
        assert_eq!(r.short.count, 2);
        assert_eq!(r.short.mean_slowdown, 3.0);
        assert_eq!(r.long.mean_slowdown, 2.0);
        assert_eq!(r.startup_mean_us, 1_000.0);
        assert_eq!(r.launch_lag_mean_us, 100.0);
        assert_eq!(r.short_wait_mean_us, 1_100.0);
        assert_eq!(r.demand_total_us, 1_020_000);
        // Own CPU equals demand here: the same slowdowns.
        assert_eq!(r.short_own_cpu.mean_slowdown, 3.0);
        let slower = [Measured {
            cpu_us: 20_000,
            ..m(0, 10_000, 40_000)
        }];
        let r = report(&slower, 100_000);
        assert_eq!(r.short.mean_slowdown, 4.0);
        assert_eq!(r.short_own_cpu.mean_slowdown, 2.0);
    }
}
