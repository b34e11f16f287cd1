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

/// Run `scx_foresight simulate` on each hog-free replay's trace (the default scheduler's
/// first repetition: the arrivals and demands every scheduler got) with the guest's CPUs;
/// foresight starts from `models` when the VM's scx_foresight did.
pub fn sim_checks(
    parsed: &Parsed,
    rows: &[Row],
    cpus: u32,
    dir: &Path,
    models: Option<&Path>,
) -> Result<Vec<SimCheck>> {
    let sim = suites::target_dir().join("release").join("scx_foresight");
    // The payload as the guest named it (its path), so the models' function entry applies.
    let payload = models
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
        // The class scx_foresight had in force most of its first repetition of this replay:
        // the simulator runs that class's mode.
        let mode = parsed
            .modes
            .get(&(1, w.to_string()))
            .and_then(|c| c.split(':').next())
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        for (policy, sched) in SIM_PAIRS {
            let mut c = std::process::Command::new(&sim);
            c.args(["simulate", "--json", "--policy", policy, "--cpus"])
                .arg(cpus.to_string())
                .arg("--trace")
                .arg(&path);
            let mode = mode.as_deref().filter(|_| *policy == "foresight");
            if let Some(m) = mode {
                c.args(["--mode", m]);
            }
            if let Some(m) = models.filter(|_| *policy == "foresight") {
                c.arg("--models").arg(m);
            }
            if let Some(us) = exec_run_us {
                c.arg("--exec-run-us").arg(us.to_string());
            }
            let rep: serde_json::Value = serde_json::from_str(&cmd::output(&mut c)?)
                .with_context(|| format!("simulate --json on {}", path.display()))?;
            for class in ["short", "long"] {
                let simulated = rep[class]["mean_slowdown"].as_f64();
                let measured = find(rows, w, &format!("{class}_mean_slowdown"))
                    .and_then(|r| r.values(sched))
                    .and_then(stats::median);
                if let (Some(simulated), Some(measured)) = (simulated, measured) {
                    out.push(SimCheck {
                        workload: w.to_string(),
                        policy: label(policy, mode, models.is_some()),
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

/// The identity the model file gives the payload (`/usr/bin/foresight_payload` in the guest).
pub(super) fn payload_identity(models: &Path) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(models).ok()?).ok()?;
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
         (foresight's first run ends there, at exec); goal: error within \
         ±{:.0} %):\n\n| workload | class | simulator policy | simulated mean slowdown | VM scheduler | \
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
