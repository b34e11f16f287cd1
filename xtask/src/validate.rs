// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask validate`: the instrument checked against answers known in advance. The guest
//! (guest/validate.sh) measures workloads whose right figures follow from the machine alone;
//! this side judges them, per boot and across boots, and ends with `N passed, N failed`.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::stats::median;
use crate::{peers, protocol, suites, vm, ValidateArgs};

/// fib's growth per step of its argument: the payload's cost ratio between neighbours.
const GOLDEN_RATIO: f64 = 1.618_034;
/// Idle guest: an invocation's response within this of its calibrated demand.
const IDLE_TOLERANCE: f64 = 0.10;
/// Fair share under the default scheduler: response within this of demand × (k+1)/N.
const FAIR_TOLERANCE: f64 = 0.15;
/// Calibration steps within this of the golden ratio.
const STEP_TOLERANCE: f64 = 0.15;
/// Steps are judged only where the smaller point is this many times the start-up floor
/// (below it process start, not fib, sets the cost).
const FLOOR_MULTIPLE: f64 = 10.0;
/// Monotonicity is judged from where fib's own work is at least the floor: below, one step
/// adds less than process start varies (fib(18)→fib(19) adds ~10 µs to a ~1.8 ms start).
const MONOTONE_FROM_FLOOR_MULTIPLE: f64 = 2.0;
/// A BPF-only scheduler's userspace: at most this % of one CPU counts as ~0.
const BPF_USERSPACE_MAX_PCT: f64 = 1.0;
/// The load generator's launch lag and own CPU: below this share of what it measures.
const LOADGEN_MAX_SHARE: f64 = 0.01;
/// Two boots: every headline figure within ±5 % of the other boot's.
const REPEAT_TOLERANCE: f64 = 0.05;
/// Replays per boot: the median of three is what one slow burst in one replay cannot move.
const REPLAY_REPS: u32 = 3;
/// One boot's limit beyond the calibration (which grows by the golden ratio).
const BOOT_SLACK: Duration = Duration::from_secs(20 * 60);

/// What the guest measured in one boot.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Measured {
    pub cpus: u32,
    /// (argument, CPU µs), argument 0 is the start-up floor.
    pub cal: Vec<(u32, u64)>,
    pub idle_ms: Vec<f64>,
    pub fair_hogs: Option<u32>,
    pub fair_ms: Vec<f64>,
    pub peer_cpu_pct: Option<f64>,
    pub peer_schedstat_pct: Option<f64>,
    /// The load-generator replays' summaries (foresight_loadgen replay --json), one per
    /// repetition of the same invocations.
    pub replay: Vec<serde_json::Value>,
    pub errors: Vec<String>,
    pub done: bool,
}

pub fn parse(lines: &[String]) -> Measured {
    let mut m = Measured::default();
    for line in lines {
        if let Some(rest) = protocol::body(line, protocol::VALERR) {
            m.errors.push(rest.to_string());
            continue;
        }
        if protocol::is(line, protocol::VAL_DONE) {
            m.done = true;
            continue;
        }
        if let Some(rest) =
            protocol::body(line, protocol::INFO).and_then(|r| r.strip_prefix("validate: "))
        {
            m.cpus = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("cpus="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            continue;
        }
        let Some(rest) = protocol::body(line, protocol::VAL) else {
            continue;
        };
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let num = value.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        match (name, num) {
            ("cal", _) => {
                let mut w = value.split_whitespace().map(str::parse::<u64>);
                match (w.next(), w.next()) {
                    (Some(Ok(a)), Some(Ok(c))) if a <= 60 => m.cal.push((a as u32, c)),
                    _ => m
                        .errors
                        .push(format!("unreadable calibration line: {rest}")),
                }
            }
            ("idle_ms", Some(x)) => m.idle_ms.push(x),
            ("fair_ms", Some(x)) => m.fair_ms.push(x),
            ("fair_hogs", Some(x)) => m.fair_hogs = Some(x as u32),
            ("peer_cpu_pct", Some(x)) => m.peer_cpu_pct = Some(x),
            ("peer_schedstat_pct", Some(x)) => m.peer_schedstat_pct = Some(x),
            ("replay", _) => match serde_json::from_str(value) {
                Ok(v) => m.replay.push(v),
                Err(e) => m.errors.push(format!("bad replay summary: {e}")),
            },
            _ => m.errors.push(format!("unreadable line: {rest}")),
        }
    }
    m
}

/// One known-answer case's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub case: String,
    pub passed: bool,
    pub detail: String,
}

fn verdict(case: &str, passed: bool, detail: String) -> Verdict {
    Verdict {
        case: case.into(),
        passed,
        detail,
    }
}

impl Measured {
    fn cal_us(&self, arg: u32) -> Option<f64> {
        self.cal.iter().find(|p| p.0 == arg).map(|p| p.1 as f64)
    }

    fn floor_us(&self) -> Option<f64> {
        self.cal_us(0)
    }

    /// One figure of every replay repetition that has it.
    fn replay_each(&self, path: &[&str]) -> Vec<f64> {
        self.replay
            .iter()
            .filter_map(|r| json_f64(r, path))
            .collect()
    }

    /// The median over the repetitions: one replay's mean moves with a single slow burst (a
    /// boot's short mean slowdown once differed by 6 % from the next's, p99 44 vs 25).
    fn replay_f64(&self, path: &[&str]) -> Option<f64> {
        median(&self.replay_each(path))
    }
}

/// The number at `path` in a replay summary.
fn json_f64(summary: &serde_json::Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(summary, |v, k| v.get(k))?.as_f64()
}

/// An idle guest: the median response of `arg` within IDLE_TOLERANCE of its calibration.
pub fn idle_case(m: &Measured, arg: u32) -> Verdict {
    let (Some(resp_ms), Some(demand)) = (median(&m.idle_ms), m.cal_us(arg)) else {
        return verdict("idle-response", false, "not measured".into());
    };
    let ratio = resp_ms * 1000.0 / demand;
    verdict(
        "idle-response",
        (ratio - 1.0).abs() <= IDLE_TOLERANCE,
        format!(
            "fib({arg}) response {resp_ms:.1} ms vs demand {:.1} ms: ×{ratio:.3} (goal 1 ± {IDLE_TOLERANCE})",
            demand / 1000.0
        ),
    )
}

/// k hogs on N CPUs under the default scheduler: response = demand × (k+1)/N.
pub fn fair_case(m: &Measured, arg: u32) -> Verdict {
    let (Some(resp_ms), Some(demand), Some(k)) = (median(&m.fair_ms), m.cal_us(arg), m.fair_hogs)
    else {
        return verdict("fair-share", false, "not measured".into());
    };
    let n = f64::from(m.cpus.max(1));
    let expect = demand * f64::from(k + 1) / n;
    let ratio = resp_ms * 1000.0 / expect;
    verdict(
        "fair-share",
        (ratio - 1.0).abs() <= FAIR_TOLERANCE,
        format!(
            "{k} hogs on {n} CPU(s): fib({arg}) response {resp_ms:.1} ms vs fair {:.1} ms: ×{ratio:.3} (goal 1 ± {FAIR_TOLERANCE})",
            expect / 1000.0
        ),
    )
}

/// Monotone in the argument, each step (above FLOOR_MULTIPLE × the start-up floor) within
/// STEP_TOLERANCE of the golden ratio once the floor is taken off.
pub fn calibration_case(m: &Measured) -> Verdict {
    let Some(floor) = m.floor_us() else {
        return verdict("calibration", false, "no start-up floor (arg 0)".into());
    };
    let mut pts: Vec<(u32, f64)> = m
        .cal
        .iter()
        .filter(|p| p.0 > 0)
        .map(|p| (p.0, p.1 as f64))
        .collect();
    pts.sort_by_key(|p| p.0);
    let mut problems = Vec::new();
    let mut judged = 0;
    let mut worst: f64 = 0.0;
    for w in pts.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if cb <= ca && ca >= MONOTONE_FROM_FLOOR_MULTIPLE * floor {
            problems.push(format!(
                "not monotone: fib({a}) {ca:.0} us >= fib({b}) {cb:.0} us"
            ));
            continue;
        }
        if ca < FLOOR_MULTIPLE * floor {
            continue;
        }
        let step = ((cb - floor) / (ca - floor)).powf(1.0 / f64::from(b - a));
        let off = step / GOLDEN_RATIO - 1.0;
        judged += 1;
        worst = if off.abs() > worst.abs() { off } else { worst };
        if off.abs() > STEP_TOLERANCE {
            problems.push(format!("fib({a})→fib({b}) step {step:.3}"));
        }
    }
    if judged == 0 {
        problems.push(format!(
            "no step above {FLOOR_MULTIPLE}× the floor ({floor:.0} us)"
        ));
    }
    let span = match (pts.first(), pts.last()) {
        (Some(f), Some(l)) => format!(
            "fib({}) {:.1} ms … fib({}) {:.1} ms",
            f.0,
            f.1 / 1000.0,
            l.0,
            l.1 / 1000.0
        ),
        _ => String::new(),
    };
    verdict(
        "calibration",
        problems.is_empty(),
        format!(
            "floor {:.2} ms; {span}; {judged} steps judged, worst {:+.1} % from φ{}",
            floor / 1000.0,
            worst * 100.0,
            if problems.is_empty() {
                String::new()
            } else {
                format!("; {}", problems.join("; "))
            }
        ),
    )
}

/// The BPF-only scheduler's userspace CPU, as the bench's "scheduler's own CPU" counts it.
pub fn bpf_case(m: &Measured, peer: &str) -> Verdict {
    let Some(pct) = m.peer_cpu_pct else {
        return verdict("bpf-userspace", false, format!("{peer} not measured"));
    };
    verdict(
        "bpf-userspace",
        pct <= BPF_USERSPACE_MAX_PCT,
        format!(
            "{peer}'s process: {pct:.3} % of one CPU by utime+stime, as the bench counts it (its live threads' schedstat: {}; goal <= {BPF_USERSPACE_MAX_PCT} %)",
            m.peer_schedstat_pct
                .map_or("?".into(), |t| format!("{t:.3} %"))
        ),
    )
}

/// One replay's own timing: launch lag and replayer CPU against what it measured.
struct LoadgenTiming {
    lag_us: f64,
    response_us: f64,
    count: f64,
    own_cpu_us: f64,
}

impl LoadgenTiming {
    fn of(summary: &serde_json::Value) -> Option<Self> {
        Some(Self {
            lag_us: json_f64(summary, &["launch_lag_mean_us"])?,
            response_us: json_f64(summary, &["all", "mean_response_us"])?,
            count: json_f64(summary, &["all", "count"])?,
            own_cpu_us: json_f64(summary, &["replayer_cpu_us"])?,
        })
    }

    fn lag_share(&self) -> f64 {
        self.lag_us / self.response_us.max(1.0)
    }

    fn cpu_share(&self) -> f64 {
        self.own_cpu_us / (self.response_us * self.count).max(1.0)
    }

    fn worst_share(&self) -> f64 {
        self.lag_share().max(self.cpu_share())
    }
}

/// The load generator's launch lag and own CPU against the responses it measured: the worst
/// repetition is judged, and one without a summary fails the case.
pub fn loadgen_case(m: &Measured) -> Verdict {
    let timings: Vec<_> = m.replay.iter().filter_map(LoadgenTiming::of).collect();
    let Some(t) = timings
        .iter()
        .max_by(|a, b| a.worst_share().total_cmp(&b.worst_share()))
    else {
        return verdict("loadgen-timing", false, "no replay summary".into());
    };
    verdict(
        "loadgen-timing",
        timings.len() == m.replay.len() && t.worst_share() < LOADGEN_MAX_SHARE,
        format!(
            "worst of {} replays, {:.0} invocations: launch lag {:.0} us = {:.3} % of the mean response {:.1} ms; replayer CPU {:.1} ms = {:.3} % of the responses (goal < {} % each)",
            m.replay.len(),
            t.count,
            t.lag_us,
            t.lag_share() * 100.0,
            t.response_us / 1000.0,
            t.own_cpu_us / 1000.0,
            t.cpu_share() * 100.0,
            LOADGEN_MAX_SHARE * 100.0
        ),
    )
}

/// A boot's headline figures: (name, value), compared across boots.
pub fn headline(m: &Measured) -> BTreeMap<String, f64> {
    let mut h = BTreeMap::new();
    let floor = m.floor_us().unwrap_or(0.0);
    for (a, c) in &m.cal {
        if *a > 0 && *c as f64 >= FLOOR_MULTIPLE * floor {
            h.insert(format!("calibration fib({a}) us"), *c as f64);
        }
    }
    if let Some(x) = median(&m.idle_ms) {
        h.insert("idle response ms".into(), x);
    }
    if let Some(x) = median(&m.fair_ms) {
        h.insert("fair-share response ms".into(), x);
    }
    for (path, name) in [
        (&["all", "mean_slowdown"][..], "replay mean slowdown"),
        (
            &["short", "mean_slowdown"][..],
            "replay short mean slowdown",
        ),
        (&["long", "mean_slowdown"][..], "replay long mean slowdown"),
    ] {
        if let Some(x) = m.replay_f64(path) {
            h.insert(name.into(), x);
        }
    }
    h
}

/// Two boots: every headline figure of the first within REPEAT_TOLERANCE of the second's.
pub fn repeat_case(a: &Measured, b: &Measured) -> Verdict {
    let (ha, hb) = (headline(a), headline(b));
    let mut worst: Option<(String, f64)> = None;
    let mut off = Vec::new();
    let mut compared = 0;
    for (name, x) in &ha {
        let Some(y) = hb.get(name) else { continue };
        compared += 1;
        let d = if *y > 0.0 { x / y - 1.0 } else { f64::INFINITY };
        if worst.as_ref().is_none_or(|w| d.abs() > w.1.abs()) {
            worst = Some((name.clone(), d));
        }
        if d.abs() > REPEAT_TOLERANCE {
            off.push(format!("{name} {x:.1} vs {y:.1} ({:+.1} %)", d * 100.0));
        }
    }
    let passed = compared > 0 && off.is_empty();
    verdict(
        "repeatability",
        passed,
        format!(
            "{compared} figures compared, worst {} (goal ± {} %){}",
            worst.map_or("-".into(), |(n, d)| format!("{n} {:+.2} %", d * 100.0)),
            REPEAT_TOLERANCE * 100.0,
            if off.is_empty() {
                String::new()
            } else {
                format!("; off: {}", off.join(", "))
            }
        ),
    )
}

/// The per-boot cases.
pub fn judge_boot(m: &Measured, arg: u32, peer: &str) -> Vec<Verdict> {
    let mut v = vec![
        idle_case(m, arg),
        fair_case(m, arg),
        calibration_case(m),
        bpf_case(m, peer),
        loadgen_case(m),
    ];
    if !m.errors.is_empty() || !m.done {
        v.push(verdict(
            "guest-run",
            false,
            format!(
                "{}{}",
                if m.done {
                    ""
                } else {
                    "the guest did not finish; "
                },
                m.errors.join("; ")
            ),
        ));
    }
    v
}

/// How much a validation run measures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    pub boots: u32,
    pub cal_max: u32,
    pub cal_reps: u32,
    pub arg: u32,
    pub count: u32,
    pub replay_n: u32,
    /// Replays of the same invocations per boot; their median is compared across boots.
    pub replay_reps: u32,
    pub peer_s: u32,
}

impl Plan {
    pub fn new(args: &ValidateArgs) -> Plan {
        let base = if args.quick {
            Plan {
                boots: 2,
                cal_max: 36,
                cal_reps: 3,
                arg: 32,
                count: 3,
                replay_n: 150,
                replay_reps: REPLAY_REPS,
                peer_s: 6,
            }
        } else {
            Plan {
                boots: 2,
                cal_max: 40,
                cal_reps: 3,
                arg: 34,
                count: 3,
                replay_n: 400,
                replay_reps: REPLAY_REPS,
                peer_s: 10,
            }
        };
        Plan {
            boots: args.boots.unwrap_or(base.boots),
            ..base
        }
    }

    fn params(&self, peer: &str) -> Vec<String> {
        vec![
            format!("fs_cal_max={}", self.cal_max),
            format!("fs_cal_reps={}", self.cal_reps),
            format!("fs_val_arg={}", self.arg),
            format!("fs_val_count={}", self.count),
            format!("fs_replay_n={}", self.replay_n),
            format!("fs_replay_reps={}", self.replay_reps),
            format!("fs_peer_s={}", self.peer_s),
            format!("fs_bpf_peer={peer}"),
        ]
    }
}

#[derive(Serialize)]
struct Report<'a> {
    kernel: &'a str,
    machine: vm::Machine,
    described: &'a str,
    plan: Plan,
    boots: &'a [Measured],
    verdicts: &'a [Verdict],
    passed: usize,
    failed: usize,
}

/// The BPF-only peer measured by the `bpf-userspace` case.
const BPF_PEER: &str = "scx_bpfland";

/// A boot's parameters; after the first, its calibration for the replay, so that every boot
/// replays the very same invocations (the argument each trace row maps to, and its demand,
/// come from the calibration, whose start-up noise near the floor moved the replay's short
/// mean slowdown by up to 5 % between boots); each boot's own calibration is still judged.
fn boot_params(plan: &Plan, first: Option<&Measured>) -> Vec<String> {
    let mut params = plan.params(BPF_PEER);
    if let Some(m) = first.filter(|m| !m.cal.is_empty()) {
        let cal: Vec<String> = m.cal.iter().map(|(a, c)| format!("{a}:{c}")).collect();
        params.push(format!("fs_replay_cal={}", cal.join(",")));
    }
    params
}

pub fn validate(args: &ValidateArgs) -> Result<()> {
    let plan = Plan::new(args);
    let machine = args.vm.machine(vm::MEASURE_MACHINE)?;
    let peer_bins = peers::ensure(&[BPF_PEER])?;
    let (kernel, initrd, results) = suites::prepare(&args.vm, "validate", &peer_bins, &[])?;
    let mut boots = Vec::new();
    let mut verdicts = Vec::new();
    let mut described = String::new();
    for boot in 1..=plan.boots {
        eprintln!(
            "xtask: validate boot {boot} of {} ({machine:?})",
            plan.boots
        );
        let out = vm::boot(&vm::Spec {
            kernel: &kernel,
            machine,
            initrd: &initrd,
            script: "validate.sh",
            params: boot_params(&plan, boots.first()),
            timeout: BOOT_SLACK,
            log: results.join(format!("console-{boot}.log")),
            echo: |l| {
                [
                    protocol::VAL,
                    protocol::VALERR,
                    protocol::VAL_DONE,
                    protocol::INFO,
                ]
                .iter()
                .any(|t| protocol::is(l, t))
            },
        })?;
        described = machine.describe(out.accel);
        let m = parse(&out.lines);
        for mut v in judge_boot(&m, plan.arg, BPF_PEER) {
            v.case = format!("{} (boot {boot})", v.case);
            verdicts.push(v);
        }
        boots.push(m);
    }
    if let [a, b, ..] = boots.as_slice() {
        verdicts.push(repeat_case(a, b));
    }
    let passed = verdicts.iter().filter(|v| v.passed).count();
    let failed = verdicts.len() - passed;
    println!("\nvalidate: kernel {}, {described}", kernel.version);
    for v in &verdicts {
        println!(
            "{:<30} {:<5} {}",
            v.case,
            if v.passed { "PASS" } else { "FAIL" },
            v.detail
        );
    }
    let report = Report {
        kernel: &kernel.version,
        machine,
        described: &described,
        plan,
        boots: &boots,
        verdicts: &verdicts,
        passed,
        failed,
    };
    let json = results.join("validation.json");
    fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    println!("(every figure in {})", json.display());
    println!("validate: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} known-answer case(s) failed on this machine shape");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// A guest whose payload costs exactly fib's golden-ratio growth over a 1 ms floor.
    fn ideal() -> Measured {
        let mut text = String::from("@@INFO validate: cpus=2 cal=18..30\n@@VAL cal 0 1000\n");
        for a in 18..=30u32 {
            let c = 1000.0 + 2000.0 * GOLDEN_RATIO.powi(a as i32 - 18);
            text.push_str(&format!("@@VAL cal {a} {c:.0}\n"));
        }
        let demand_ms = (1000.0 + 2000.0 * GOLDEN_RATIO.powi(12)) / 1000.0;
        for _ in 0..3 {
            text.push_str(&format!("@@VAL idle_ms {:.3}\n", demand_ms * 1.02));
            text.push_str(&format!("@@VAL fair_ms {:.3}\n", demand_ms * 2.0 * 0.97));
        }
        text.push_str("@@VAL fair_hogs 3\n@@VAL peer_cpu_pct 0.05\n@@VAL peer_schedstat_pct 0.0\n");
        text.push_str(r#"@@VAL replay {"launch_lag_mean_us":100.0,"all":{"count":400,"mean_response_us":50000.0,"mean_slowdown":2.0},"short":{"mean_slowdown":3.0},"long":{"mean_slowdown":1.5},"replayer_cpu_us":20000}"#);
        text.push_str("\n@@VAL-DONE\n");
        parse(&lines(&text))
    }

    #[test]
    fn an_ideal_machine_passes_every_case() {
        let m = ideal();
        assert_eq!(m.cpus, 2);
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        for v in judge_boot(&m, 30, "scx_bpfland") {
            assert!(v.passed, "{}: {}", v.case, v.detail);
        }
        assert!(repeat_case(&m, &m).passed);
    }

    #[test]
    fn each_case_fails_on_a_wrong_answer() {
        let mut m = ideal();
        m.idle_ms.iter_mut().for_each(|x| *x *= 1.2);
        assert!(!idle_case(&m, 30).passed);
        // Half speed beside hogs (the instruction counter shared by 2 vCPUs): ×2 off.
        m.fair_ms.iter_mut().for_each(|x| *x *= 2.0);
        assert!(!fair_case(&m, 30).passed);
        m.peer_cpu_pct = Some(17.9);
        assert!(!bpf_case(&m, "p").passed);
        // A flat calibration (process start dominates): steps far below φ.
        let mut flat = ideal();
        for p in flat.cal.iter_mut().filter(|p| p.0 > 0) {
            p.1 = 60_000 + u64::from(p.0) * 1000;
        }
        let v = calibration_case(&flat);
        assert!(!v.passed, "{}", v.detail);
        let mut unordered = ideal();
        unordered.cal.retain(|p| p.0 != 25);
        unordered.cal.push((25, 1));
        assert!(calibration_case(&unordered).detail.contains("not monotone"));
        // Below twice the floor a step back is start-up noise, not a wrong calibration.
        let mut noisy = ideal();
        noisy.cal.retain(|p| p.0 != 19 && p.0 != 0);
        noisy.cal.push((19, 2900));
        noisy.cal.push((0, 1600));
        assert!(calibration_case(&noisy).passed);
        let mut lag = ideal();
        // One late repetition of three fails the case.
        lag.replay.push(
            serde_json::from_str(
                r#"{"launch_lag_mean_us":5000.0,"all":{"count":400,"mean_response_us":50000.0},"replayer_cpu_us":0}"#,
            )
            .expect("json"),
        );
        lag.replay.push(lag.replay[0].clone());
        assert!(!loadgen_case(&lag).passed);
    }

    #[test]
    fn repeatability_names_the_figure_that_moved() {
        let a = ideal();
        let mut b = ideal();
        b.fair_ms.iter_mut().for_each(|x| *x *= 1.06);
        let v = repeat_case(&a, &b);
        assert!(!v.passed);
        assert!(v.detail.contains("fair-share response"), "{}", v.detail);
    }

    /// One replay of three with a slow burst moves the boot's median, not its verdict; two do.
    #[test]
    fn repeatability_compares_the_median_replay() {
        let a = ideal();
        let mut b = ideal();
        let mut slow = b.replay[0].clone();
        slow["short"]["mean_slowdown"] = serde_json::json!(3.3);
        b.replay.push(b.replay[0].clone());
        b.replay.push(slow.clone());
        let v = repeat_case(&a, &b);
        assert!(v.passed, "{}", v.detail);
        b.replay[1] = slow;
        let v = repeat_case(&a, &b);
        assert!(!v.passed);
        assert!(
            v.detail.contains("replay short mean slowdown"),
            "{}",
            v.detail
        );
    }

    /// Boots after the first replay with its calibration; the first uses its own.
    #[test]
    fn later_boots_replay_with_the_first_calibration() {
        let plan = Plan {
            boots: 2,
            cal_max: 30,
            cal_reps: 3,
            arg: 30,
            count: 3,
            replay_n: 150,
            replay_reps: 3,
            peer_s: 6,
        };
        let first = boot_params(&plan, None);
        assert!(!first.iter().any(|p| p.starts_with("fs_replay_cal=")));
        let m = ideal();
        let later = boot_params(&plan, Some(&m));
        let cal = later
            .iter()
            .find_map(|p| p.strip_prefix("fs_replay_cal="))
            .expect("the first boot's calibration");
        assert!(cal.starts_with("0:1000,18:3000,19:"), "{cal}");
        assert_eq!(cal.split(',').count(), m.cal.len());
        assert!(!cal.contains(' '), "one kernel parameter: {cal}");
    }

    #[test]
    fn missing_figures_fail_and_errors_are_reported() {
        let m = parse(&lines("@@VALERR calibrate boom\n@@VAL nonsense\n"));
        let v = judge_boot(&m, 30, "scx_bpfland");
        assert!(v.iter().all(|v| !v.passed));
        assert!(v.iter().any(|v| v.detail.contains("boom")));
    }
}
