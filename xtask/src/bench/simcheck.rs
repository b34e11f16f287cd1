// SPDX-License-Identifier: GPL-2.0-only
//! The simulator beside the VM: each policy's predicted slowdowns on the trace the VM
//! replayed, against the scheduler it stands for.

use super::*;

/// The simulator on the trace the VM replayed, beside the VM's figures: each policy's
/// predicted short/long mean slowdown against the scheduler it stands for.
#[derive(Debug, Clone, Serialize)]
pub struct SimCheck {
    pub workload: String,
    pub policy: String,
    pub vm_sched: String,
    pub class: String,
    pub simulated: f64,
    pub measured: f64,
    /// simulated / measured − 1.
    pub error: f64,
}

/// Pairs of (simulator policy, the VM scheduler it models).
pub const SIM_PAIRS: &[(&str, &str)] = &[("fair", BASE), ("foresight", US)];
/// The simulator's error goal on both classes.
pub const SIM_ERROR_GOAL: f64 = 0.25;

/// The period of scx_foresight's stats lines in the bench (`--stats 1`), ms.
pub const STATS_PERIOD_MS: u64 = 1000;

/// Run `scx_foresight simulate` on each hog-free replay's trace (the default scheduler's
/// first repetition: the arrivals and demands every scheduler got) with the guest's CPUs;
/// foresight starts from `models` when the VM's scx_foresight did, and switches mode when
/// each of its repetitions did (the median over them is the simulated figure).
pub fn sim_checks(
    parsed: &Parsed,
    rows: &[Row],
    cpus: u32,
    dir: &Path,
    models: Option<&Path>,
) -> Result<Vec<SimCheck>> {
    // The payload as the guest named it (its path), so the models' function entry applies.
    let payload = parsed
        .models
        .as_deref()
        .and_then(payload_identity)
        .unwrap_or_else(|| "foresight_payload".into());
    let mut out = Vec::new();
    let workloads: Vec<&str> = rows
        .iter()
        .filter(|r| r.metric == "short_mean_slowdown" && !r.workload.ends_with("-hogs"))
        .map(|r| r.workload.as_str())
        .collect();
    // The process start as the VM measured it (the fastest launch → main under the default
    // scheduler): the CPU a fresh invocation uses before its exec'd image is decided again.
    let exec_run_us = parsed
        .invocations
        .iter()
        .filter(|i| i.sched == BASE && i.ok)
        .map(|i| i.startup_us)
        .min();
    for w in workloads {
        let mut trace = String::from("arrival_us,function,args,cpu_us\n");
        let mut invs: Vec<&Invocation> = parsed
            .invocations
            .iter()
            .filter(|i| i.sched == BASE && i.rep == 1 && i.workload == w)
            .collect();
        invs.sort_by_key(|i| i.arrival_us);
        for i in &invs {
            trace.push_str(&format!(
                "{},{payload},{},{}\n",
                i.arrival_us, i.arg, i.demand_us
            ));
        }
        if invs.is_empty() {
            continue;
        }
        let path = dir.join(format!("trace-{w}.csv"));
        fs::write(&path, trace)?;
        let sim = Simulation {
            trace: &path,
            cpus,
            models,
            exec_run_us,
        };
        for (policy, sched) in SIM_PAIRS {
            let (runs, mode) = match *policy {
                "foresight" => foresight_runs(&sim, parsed, w)?,
                _ => (vec![sim.run(policy, &[])?], None),
            };
            for class in ["short", "long"] {
                let per_run: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| r[class]["mean_slowdown"].as_f64())
                    .collect();
                let simulated = stats::median(&per_run);
                let measured = find(rows, w, &format!("{class}_mean_slowdown"))
                    .and_then(|r| r.values(sched))
                    .and_then(stats::median);
                if let (Some(simulated), Some(measured)) = (simulated, measured) {
                    out.push(SimCheck {
                        workload: w.to_string(),
                        policy: label(policy, mode.as_deref(), models.is_some()),
                        vm_sched: sched.to_string(),
                        class: class.to_string(),
                        simulated,
                        measured,
                        error: simulated / measured - 1.0,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// One replay's trace as `scx_foresight simulate` runs it.
struct Simulation<'a> {
    trace: &'a Path,
    cpus: u32,
    models: Option<&'a Path>,
    exec_run_us: Option<u64>,
}

impl Simulation<'_> {
    /// `simulate --json` for one policy with extra arguments; its report.
    fn run(&self, policy: &str, extra: &[String]) -> Result<serde_json::Value> {
        let sim = suites::target_dir().join("release").join("scx_foresight");
        let mut c = std::process::Command::new(&sim);
        c.args(["simulate", "--json", "--policy", policy, "--cpus"])
            .arg(self.cpus.to_string())
            .arg("--trace")
            .arg(self.trace)
            // The VM's kernel (7.2) ignores the wakeup kick from a tracing program
            // (BENCHMARKS.md, 18): the live scheduler there preempts only for real-time wakees.
            .args(["--wake-preempt-us", "0"])
            .args(extra);
        if let Some(m) = self.models.filter(|_| policy == "foresight") {
            c.arg("--models").arg(m);
        }
        if let Some(us) = self.exec_run_us {
            c.arg("--exec-run-us").arg(us.to_string());
        }
        serde_json::from_str(&cmd::output(&mut c)?)
            .with_context(|| format!("simulate --json on {}", self.trace.display()))
    }
}

/// foresight once per repetition of scx_foresight, following that repetition's mode
/// timeline (or, from a guest that printed none, in the class of most of repetition 1);
/// with how the table names the mode.
fn foresight_runs(
    sim: &Simulation,
    parsed: &Parsed,
    workload: &str,
) -> Result<(Vec<serde_json::Value>, Option<String>)> {
    let seen: Vec<&ModeSeen> = parsed
        .modes
        .iter()
        .filter(|((_, w), _)| w == workload)
        .map(|(_, m)| m)
        .collect();
    let timelines: Vec<String> = seen
        .iter()
        .filter_map(|m| mode_timeline_arg(&m.timeline))
        .collect();
    if !timelines.is_empty() {
        let runs = timelines
            .iter()
            .map(|t| sim.run("foresight", &["--mode-timeline".into(), t.clone()]))
            .collect::<Result<Vec<_>>>()?;
        let label = format!("timeline of each rep: {}", timelines.join(" / "));
        return Ok((runs, Some(label)));
    }
    let mode = seen
        .first()
        .and_then(|m| m.counts.split(':').next())
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let extra: Vec<String> = mode
        .iter()
        .flat_map(|m| ["--mode".to_string(), m.clone()])
        .collect();
    Ok((vec![sim.run("foresight", &extra)?], mode))
}

/// A replay's stats-line classes as `simulate --mode-timeline`. An entry `CLASS@MS` says
/// when that class's mode took effect, in ms after the replay's start (the scheduler's
/// `mode_since_ms`; before the start counts as 0). A bare `CLASS` (logs before that field):
/// the line before the replay is in force from 0; a class first shown by the k-th line after
/// (k ≥ 2) was switched to between lines k−1 and k, (k−1) periods in on average (the first
/// line's, a quarter period in: the replay started in that period). Repeats are dropped; None
/// when nothing is known.
pub(super) fn mode_timeline_arg(timeline: &[String]) -> Option<String> {
    let mut changes: Vec<(u64, &str)> = Vec::new();
    for (k, entry) in timeline.iter().enumerate() {
        let (class, at_ms) = match entry.split_once('@') {
            Some((class, ms)) => (class, ms.parse::<i64>().ok()?.max(0) as u64),
            None => (
                entry.as_str(),
                match k {
                    0 => 0,
                    1 => match timeline[0] == "-" {
                        true => 0,
                        false => STATS_PERIOD_MS / 4,
                    },
                    _ => (k as u64 - 1) * STATS_PERIOD_MS,
                },
            ),
        };
        if class == "-" || class.is_empty() || changes.last().is_some_and(|(_, c)| *c == class) {
            continue;
        }
        changes.push((at_ms, class));
    }
    (!changes.is_empty()).then(|| {
        changes
            .iter()
            .map(|(at, c)| format!("{at}:{c}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The simulator's policy as the table names it: with its mode and prior, if any.
pub(super) fn label(policy: &str, mode: Option<&str>, prior: bool) -> String {
    let mut notes: Vec<String> = mode.map(|m| format!("mode {m}")).into_iter().collect();
    if prior && policy == "foresight" {
        notes.push("the VM's trained models".into());
    }
    match notes.is_empty() {
        true => policy.to_string(),
        false => format!("{policy} ({})", notes.join(", ")),
    }
}

/// The identity the model file (JSON text) gives the payload (`/usr/bin/foresight_payload`
/// in the guest).
pub(super) fn payload_identity(models: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(models).ok()?;
    json["functions"]
        .as_array()?
        .iter()
        .filter_map(|f| f["identity"].as_str())
        .find(|id| {
            Path::new(id)
                .file_name()
                .is_some_and(|n| n == "foresight_payload")
        })
        .map(str::to_string)
}

pub fn sim_markdown(checks: &[SimCheck]) -> String {
    let mut md = format!(
        "\nSimulator against the VM (the VM's trace, calibration, CPUs and fastest process start \
         (foresight's first run ends there, at exec, plus the exec grace), and the modes each \
         repetition of scx_foresight went through; goal: error within ±{:.0} %):\n\n| workload | class | simulator policy | simulated mean slowdown | VM scheduler | \
         measured (median) | error |\n|---|---|---|---|---|---|---|\n",
        SIM_ERROR_GOAL * 100.0
    );
    for c in checks {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:+.0} %{} |\n",
            c.workload,
            c.class,
            c.policy,
            fmt_num(c.simulated),
            c.vm_sched,
            fmt_num(c.measured),
            c.error * 100.0,
            if c.error.abs() <= SIM_ERROR_GOAL {
                ""
            } else {
                " (off)"
            }
        ));
    }
    md
}
