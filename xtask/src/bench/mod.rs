// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask bench`: one VM boot runs every workload under the kernel's default scheduler,
//! the peers and scx_foresight (guest/bench.sh), then this side turns the guest's lines into
//! a table (Markdown and JSON), the targets' verdicts and completion-time CDF plots (PNG).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::{cmd, initramfs, peers, protocol, stats, suites, vm, BenchArgs};

mod execruns;
mod figures;
mod locks;
mod parse;
mod plan;
mod report;
mod simcheck;
mod slowwake;

pub use figures::*;
pub use parse::*;
pub use plan::*;
pub use report::*;
pub use simcheck::*;
pub use slowwake::{SlowWake, SlowWakes};

/// The schedulers, in the order of the table's columns; "default" is the kernel's own, and
/// `VARIANT` is ours again with `--variant`'s flags (an A/B of a rule in one boot).
pub const SCHEDULERS: &[&str] = &[
    "default",
    "scx_rustland",
    "scx_bpfland",
    "scx_foresight",
    VARIANT,
];
/// The column of ours run with `--variant`'s flags.
pub const VARIANT: &str = "scx_foresight-b";
/// The scheduler every ratio is taken against, and ours.
const BASE: &str = "default";
const US: &str = "scx_foresight";
/// Seconds the run may take beyond the workloads themselves (boot, calibration, attaches).
const BENCH_SLACK_S: u64 = 15 * 60;
/// The font the plots' labels are drawn with (package fonts-dejavu-core).
const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// The Azure Functions 2019 workload, beside the repository (`../shared/data`), unless
/// FORESIGHT_AZURE_WORKLOAD names it.
const AZURE_WORKLOAD: &str = "../shared/data/azure2019-fib-workload.txt";

#[derive(Serialize)]
struct JsonReport<'a> {
    kernel: String,
    accel: String,
    host_cpus: usize,
    guest_cpus: u32,
    machine: vm::Machine,
    plan: &'a Plan,
    peers: Vec<String>,
    rows: &'a [Row],
    targets: &'a [Target],
    simulator: &'a [SimCheck],
    errors: &'a [String],
    dropped: &'a [String],
    slow_wakes: &'a [SlowWake],
    info: &'a [String],
    complete: bool,
}

/// The schedulers asked for (all but the variant by default), each checked against
/// `SCHEDULERS`; the variant runs beside ours when `--variant` gives its flags, and only then.
fn chosen(asked: &[String], variant: &[String]) -> Result<Vec<String>> {
    if let Some(bad) = asked.iter().find(|s| !SCHEDULERS.contains(&s.as_str())) {
        bail!(
            "--schedulers: unknown `{bad}` (known: {})",
            SCHEDULERS.join(", ")
        );
    }
    let mut list: Vec<String> = match asked.is_empty() {
        true => SCHEDULERS
            .iter()
            .filter(|s| **s != VARIANT)
            .map(|s| s.to_string())
            .collect(),
        false => asked.to_vec(),
    };
    if variant.is_empty() {
        if list.iter().any(|s| s == VARIANT) {
            bail!("--schedulers: `{VARIANT}` is ours with --variant's flags; give --variant");
        }
        return Ok(list);
    }
    if !list.iter().any(|s| s == US) {
        bail!("--variant compares against {US}: add it to --schedulers");
    }
    if let Some(bad) = variant.iter().find(|a| {
        !a.starts_with('-') || a.contains(|c: char| c.is_whitespace() || c == ',' || c == '"')
    }) {
        bail!("--variant: `{bad}` is no single flag (write `--flag=value`, no spaces, commas or quotes)");
    }
    if !list.iter().any(|s| s == VARIANT) {
        list.push(VARIANT.to_string());
    }
    Ok(list)
}

/// The guest's data files: the Azure workload and the extra trace, when the plan uses them.
fn guest_files(plan: &mut Plan, extra: Option<&Path>) -> Result<Vec<initramfs::GuestFile>> {
    let mut files = Vec::new();
    if let Some(t) = extra {
        if !t.is_file() {
            bail!("--trace {}: no such file", t.display());
        }
        files.push((t.to_path_buf(), "extra-trace.csv".to_string()));
    }
    match azure_workload() {
        Some(a) => files.push((a, "azure.txt".to_string())),
        None => {
            eprintln!(
                "xtask: no Azure workload at {AZURE_WORKLOAD} (or FORESIGHT_AZURE_WORKLOAD): \
                 the bench replays the other traces only"
            );
            plan.traces.retain(|t| t != "azure");
        }
    }
    Ok(files)
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let mut plan = Plan::new(args);
    let schedulers = chosen(&args.schedulers, &args.variant)?;
    let files = guest_files(&mut plan, args.trace.as_deref())?;
    let asked: Vec<&str> = schedulers.iter().map(String::as_str).collect();
    let peer_bins = peers::ensure(&asked)?;
    let machine = args.vm.machine(vm::MEASURE_MACHINE)?;
    let (kernel, initrd, results) = suites::prepare(&args.vm, "bench", &peer_bins, &files)?;
    let out_dir = match &args.out {
        Some(d) => d.clone(),
        None => results.clone(),
    };
    fs::create_dir_all(&out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    eprintln!(
        "xtask: bench {:?} on {machine:?}, up to {} min",
        plan,
        plan.timeout(schedulers.len()).as_secs() / 60
    );
    let out = vm::boot(&vm::Spec {
        kernel: &kernel,
        machine,
        initrd: &initrd,
        script: "bench.sh",
        params: plan.params(&schedulers, &args.variant),
        timeout: plan.timeout(schedulers.len()),
        log: results.join("console.log"),
        echo: |l| {
            [
                protocol::INFO,
                protocol::BENCH,
                protocol::BENCHERR,
                protocol::DROPPED,
            ]
            .iter()
            .any(|t| protocol::is(l, t))
        },
    })?;
    suites::save_kmsg(&out.lines, &results)?;
    let parsed = parse(&out.lines);
    let rows = rows(&parsed.samples);
    let targets = targets(&rows);
    // The models scx_foresight started from: kept with the results, the simulator's prior.
    let models = match &parsed.models {
        Some(json) => {
            let path = out_dir.join("bench-models.json");
            fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    let checks = sim_checks(&parsed, &rows, machine.cpus, &out_dir, models.as_deref())
        .unwrap_or_else(|e| {
            eprintln!("xtask: simulator comparison failed: {e:#}");
            Vec::new()
        });
    register_font()?;
    let mut md = format!(
        "Kernel {} in QEMU ({}); run took {:.0} s.\n\n",
        kernel.version,
        machine.describe(out.accel),
        out.wall.as_secs_f64()
    );
    md.push_str(&markdown(&rows, &targets, &plan, &parsed.info));
    md.push_str(&sim_markdown(&checks));
    md.push_str(&slowwake::markdown(&parsed.slow_wakes));
    if let Some(short_us) = parsed.short_us {
        md.push_str(&worst_short_markdown(&parsed.invocations, short_us));
    }
    let faas: Vec<&str> = rows
        .iter()
        .filter(|r| r.metric == "short_mean_slowdown")
        .map(|r| r.workload.as_str())
        .collect();
    for workload in faas {
        let title = format!("{workload}: completion time CDF");
        let png = out_dir.join(format!("cdf-{workload}.png"));
        match plot_cdf(&parsed.invocations, workload, &title, &png) {
            Ok(()) => md.push_str(&format!("\n![{title}](cdf-{workload}.png)\n")),
            Err(e) => md.push_str(&format!("\n(no plot for {workload}: {e:#})\n")),
        }
    }
    if !parsed.dropped.is_empty() {
        md.push_str(
            "\nPeers' figures left out, measured after the kernel evicted that scheduler (the \
             default ran them; see the eviction notes above):\n\n",
        );
        for d in &parsed.dropped {
            md.push_str(&format!("- {d}\n"));
        }
    }
    if !parsed.errors.is_empty() {
        md.push_str("\nErrors reported by the guest:\n\n");
        for e in &parsed.errors {
            md.push_str(&format!("- {e}\n"));
        }
    }
    let json = JsonReport {
        kernel: kernel.version.clone(),
        accel: format!("{:?}", out.accel),
        host_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        guest_cpus: machine.cpus,
        machine,
        plan: &plan,
        peers: peers::PEERS
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect(),
        rows: &rows,
        targets: &targets,
        simulator: &checks,
        errors: &parsed.errors,
        dropped: &parsed.dropped,
        slow_wakes: &parsed.slow_wakes,
        info: &parsed.info,
        complete: parsed.done,
    };
    fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    fs::write(out_dir.join("results.md"), &md)?;
    println!("\n{md}");
    println!(
        "xtask: bench results in {} (results.md, results.json, cdf-*.png; console {})",
        out_dir.display(),
        results.join("console.log").display()
    );
    if !parsed.done || out.timed_out {
        bail!("the bench run did not complete (see {})", results.display());
    }
    if !parsed.errors.is_empty() {
        bail!(
            "{} workload run(s) failed (listed above)",
            parsed.errors.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn guest_lines_become_samples_and_invocations() {
        let p = parse(&lines(
            "@@BENCH default 1 hackbench time_s 12.5\n\
             @@BENCH scx_foresight 2 faas-gen-0.7 summary {\"short_us\":100000,\"short\":{\"mean_slowdown\":3.5,\"p99_slowdown\":9.0,\"count\":80},\"long\":{\"mean_slowdown\":2.0},\"short_wait_mean_us\":1500.0,\"failed\":0}\n\
             @@BENCH scx_foresight 2 all still_attached yes\n\
             @@INV default 1 faas-gen-0.7 24,50000,1000,1100,2000,61000,49000,1\n\
             @@INV default 1 faas-gen-0.7 24,50000,oops\n\
             @@BENCH default 1 stress-cpu ops_s NaN\n\
             @@BENCHERR scx_bpfland 1 never attached\n\
             @@DROPPED scx_rustland 1 stress-cpu ops_s measured after the scheduler was detached\n\
             @@DROPPED scx_foresight 2 faas-gen-0.9 replay measured after the scheduler was detached\n\
             @@MODE scx_foresight 1 faas-gen-0.7 faas-burst:12,idle:2 idle,faas-burst,faas-burst\n\
             @@MODE scx_foresight 2 faas-gen-0.7 mixed:3\n\
             @@MODE scx_foresight-b 1 faas-gen-0.7 idle:9 idle\n\
             @@MODELS {\"format\": \"scx_foresight-models\"}\n\
             @@BENCH-DONE",
        ));
        assert!(p.done);
        assert_eq!(
            p.models.as_deref(),
            Some("{\"format\": \"scx_foresight-models\"}")
        );
        let seen = |rep| p.modes.get(&(rep, "faas-gen-0.7".to_string())).cloned();
        assert_eq!(
            seen(1),
            Some(ModeSeen {
                counts: "faas-burst:12,idle:2".into(),
                timeline: vec!["idle".into(), "faas-burst".into(), "faas-burst".into()],
            })
        );
        // A guest from before the timeline: counts only.
        assert_eq!(seen(2).map(|m| m.timeline), Some(vec![]));
        assert_eq!(p.samples.len(), 8, "{:?}", p.samples);
        let get = |m: &str| p.samples.iter().find(|s| s.metric == m).map(|s| s.value);
        assert_eq!(get("time_s"), Some(12.5));
        assert_eq!(get("short_mean_slowdown"), Some(3.5));
        assert_eq!(get("short_wait_ms"), Some(1.5));
        assert_eq!(get("short_count"), Some(80.0));
        assert_eq!(get("still_attached"), Some(1.0));
        assert_eq!(p.invocations.len(), 1);
        assert_eq!((p.invocations[0].arg, p.invocations[0].rep), (24, 1));
        assert_eq!(p.invocations[0].completion_ms(), 60.0);
        assert_eq!(p.invocations[0].start_us, 2000);
        assert_eq!(p.short_us, Some(100_000));
        // The bad invocation, the NaN, the guest's own error and our eviction; a peer's
        // eviction is its dropped figure.
        assert_eq!(p.errors.len(), 4, "{:?}", p.errors);
        assert!(p.errors[3].starts_with("scx_foresight 2 faas-gen-0.9"));
        assert_eq!(
            p.dropped,
            vec![
                "scx_rustland 1 stress-cpu ops_s measured after the scheduler was detached"
                    .to_string()
            ]
        );
    }

    /// Known answer: the guest's reading of a cyclictest histogram (lib.sh's cyc_latencies; the
    /// one a VM run printed: 500 wakeups, 442 of them at 69 µs, five above 3984 µs) through the
    /// guest's own awk, the static busybox the initramfs copies. Zero-padded numbers read as octal gave n = 348 and
    /// no p50 before dec().
    #[test]
    fn cyclictest_histograms_are_read_in_decimal() {
        let script = include_str!("../../guest/lib.sh");
        let start = script
            .find("awk 'function dec")
            .expect("lib.sh reads the histogram")
            + 5;
        let len = script[start..].find("}' \"$1\"").expect("the program ends") + 1;
        let program = &script[start..start + len];
        let mut hist = String::from("# Histogram\n000000 000001\n000027 000001\n");
        for (us, n) in [(37, 2), (69, 442), (70, 8), (90, 5), (91, 3), (1673, 32)] {
            hist.push_str(&format!("{us:06} {n:06}\n"));
        }
        for us in [3984, 3999, 4948, 4960, 5960] {
            hist.push_str(&format!("{us:06} 000001\n"));
        }
        hist.push_str("# Total: 000000500\n# Max Latencies: 05960\n# Histogram Overflows: 00000\n");
        let file = std::env::temp_dir().join(format!("cyc-hist-{}.txt", std::process::id()));
        std::fs::write(&file, hist).unwrap();
        let out = std::process::Command::new("busybox")
            .arg("awk")
            .arg(program)
            .arg(&file)
            .output()
            .expect("busybox (busybox-static, a dependency of the VM suite) runs");
        let _ = std::fs::remove_file(&file);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "69 3984 5960");
    }

    /// The simulator names the payload as the guest's model file does, and says it started
    /// from those models.
    #[test]
    fn simulator_uses_the_guests_payload_identity() {
        let json = r#"{"functions":[{"identity":"/usr/bin/other"},{"identity":"/usr/bin/foresight_payload"}]}"#;
        assert_eq!(
            simcheck::payload_identity(json).as_deref(),
            Some("/usr/bin/foresight_payload")
        );
        assert_eq!(simcheck::payload_identity("not json"), None);
        assert_eq!(
            simcheck::label("foresight", Some("mixed"), true),
            "foresight (mode mixed, the VM's trained models)"
        );
        assert_eq!(simcheck::label("fair", None, true), "fair");
    }

    /// The stats lines' classes become the simulator's mode changes: the line before the
    /// replay from 0, the first line after a quarter period in, the k-th (k − 1) periods in.
    #[test]
    fn stats_classes_become_a_mode_timeline() {
        let t = |s: &str| -> Vec<String> { s.split(',').map(str::to_string).collect() };
        assert_eq!(
            simcheck::mode_timeline_arg(&t("mixed,mixed,mixed,faas-burst,faas-burst")).as_deref(),
            Some("0:mixed,2000:faas-burst")
        );
        assert_eq!(
            simcheck::mode_timeline_arg(&t("idle,mixed,faas-burst")).as_deref(),
            Some("0:idle,250:mixed,1000:faas-burst")
        );
        // No line before the replay: the first after is in force from 0.
        assert_eq!(
            simcheck::mode_timeline_arg(&t("-,mixed,mixed")).as_deref(),
            Some("0:mixed")
        );
        assert_eq!(simcheck::mode_timeline_arg(&t("-")), None);
        assert_eq!(simcheck::mode_timeline_arg(&[]), None);
        // With the time each mode took effect: as said, before the start counting as 0.
        assert_eq!(
            simcheck::mode_timeline_arg(&t(
                "mixed@-5300,mixed@-5300,faas-burst@1430,faas-burst@1430"
            ))
            .as_deref(),
            Some("0:mixed,1430:faas-burst")
        );
        assert_eq!(simcheck::mode_timeline_arg(&t("mixed@x")), None);
    }

    #[test]
    fn the_variant_runs_beside_ours_only_when_its_flags_are_given() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(!chosen(&[], &[]).unwrap().contains(&VARIANT.to_string()));
        assert_eq!(
            chosen(&v(&["default", US]), &v(&["--no-uninterruptible-first"])).unwrap(),
            v(&["default", US, VARIANT])
        );
        assert!(chosen(&v(&["default", VARIANT]), &[]).is_err());
        assert!(chosen(&v(&["default"]), &v(&["--x"])).is_err());
        assert!(chosen(&v(&[US]), &v(&["--slice-us 9"])).is_err());
        assert!(chosen(&v(&[US]), &v(&["plain"])).is_err());
    }

    #[test]
    fn spread_takes_median_and_range() {
        let s = spread(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(spread(&[4.0, 1.0]).unwrap().median, 2.5);
        assert!(spread(&[]).is_none());
        assert_eq!(load_of("faas-azure-0.9-hogs"), Some(0.9));
        assert_eq!(load_of("hackbench"), None);
    }

    fn sample(sched: &str, rep: u32, workload: &str, metric: &str, value: f64) -> Sample {
        Sample {
            sched: sched.into(),
            rep,
            workload: workload.into(),
            metric: metric.into(),
            value,
        }
    }

    /// The same value in three repetitions.
    fn three(sched: &str, workload: &str, metric: &str, value: f64) -> Vec<Sample> {
        (1..=3)
            .map(|r| sample(sched, r, workload, metric, value))
            .collect()
    }

    #[test]
    fn targets_judge_intervals_in_the_right_direction() {
        let w = "faas-gen-0.7";
        let mut s = Vec::new();
        s.extend(three("default", w, "short_mean_slowdown", 10.0));
        s.extend(three("scx_rustland", w, "short_mean_slowdown", 6.0));
        s.extend(three("scx_foresight", w, "short_mean_slowdown", 4.0));
        s.extend(three(VARIANT, w, "short_mean_slowdown", 5.0));
        s.extend(three("default", w, "long_mean_slowdown", 2.0));
        s.extend(three("scx_foresight", w, "long_mean_slowdown", 2.4));
        s.extend(three("default", "hackbench", "time_s", 10.0));
        s.extend(three("scx_foresight", "hackbench", "time_s", 10.5));
        s.extend(three("default", "stress-cpu", "ops_s", 100.0));
        // Straddles 0.95: 0.9, 1.0, 1.1 of the default's.
        for (r, v) in [(1, 90.0), (2, 100.0), (3, 110.0)] {
            s.push(sample("scx_foresight", r, "stress-cpu", "ops_s", v));
        }
        s.extend(three("scx_foresight", "all", "sched_cpu_pct", 3.0));
        // A load below 0.7 has no targets.
        s.extend(three("default", "faas-gen-0.5", "short_mean_slowdown", 1.0));
        let rows = rows(&s);
        let t = targets(&rows);
        let find = |prefix: &str| {
            t.iter()
                .find(|t| t.name.starts_with(prefix))
                .unwrap_or_else(|| panic!("no target {prefix}"))
        };
        let short = find("faas-gen-0.7: short mean slowdown / default");
        assert_eq!(short.verdict, stats::Verdict::Met);
        assert_eq!(short.ratio.unwrap().value, 0.4);
        assert_eq!(
            find("faas-gen-0.7: short mean slowdown / scx_rustland").verdict,
            stats::Verdict::Met
        );
        // No bpfland data: not measured, never met.
        assert_eq!(
            find("faas-gen-0.7: short mean slowdown / scx_bpfland").verdict,
            stats::Verdict::Unmeasured
        );
        assert_eq!(find("faas-gen-0.7: long").verdict, stats::Verdict::Missed);
        let hb = find("hackbench");
        assert_eq!(hb.verdict, stats::Verdict::Met);
        assert!((hb.ratio.unwrap().value - 10.0 / 10.5).abs() < 1e-9);
        assert_eq!(find("stress-cpu").verdict, stats::Verdict::Unclear);
        assert_eq!(find("scheduler's own CPU").verdict, stats::Verdict::Met);
        assert!(!t.iter().any(|t| t.name.starts_with("faas-gen-0.5")));
        let plan = Plan::new(&crate::BenchArgs {
            vm: crate::VmArgs {
                kernel: crate::KernelArgs { kernel: None },
                results: None,
                clock: None,
                tcg: None,
                cpus: None,
            },
            quick: true,
            cold: false,
            reps: Some(3),
            schedulers: Vec::new(),
            variant: Vec::new(),
            traces: Vec::new(),
            loads: Vec::new(),
            hogs: Vec::new(),
            replay_n: None,
            trace: None,
            sched_trace: false,
            trace_decisions: false,
            out: None,
        });
        let md = markdown(&rows, &t, &plan, &[]);
        assert!(
            md.contains("| faas-gen-0.7: short: mean slowdown | lower | 10.00 [10.00–10.00] |"),
            "{md}"
        );
        assert!(md.contains("4.00 [4.00–4.00] ×0.40 (0.40–0.40)"), "{md}");
        // The variant's own column, and its A/B against ours in the same boot.
        assert!(md.contains("5.00 [5.00–5.00] ×0.50 (0.50–0.50)"), "{md}");
        assert!(
            md.contains("| faas-gen-0.7: short: mean slowdown | lower | ×1.25 (1.25–1.25) |"),
            "{md}"
        );
        assert_eq!(md.matches("A/B in this boot").count(), 1, "{md}");
        assert!(
            md.contains("**missed**") && md.contains("| unclear |"),
            "{md}"
        );
    }

    #[test]
    fn cdf_plot_is_written() {
        register_font().unwrap();
        let inv = |sched: &str, finish| Invocation {
            sched: sched.into(),
            rep: 1,
            workload: "replay-low".into(),
            arg: 20,
            demand_us: 1000,
            arrival_us: 0,
            finish_us: finish,
            start_us: 1500,
            startup_us: 1500,
            ok: true,
        };
        let invs: Vec<Invocation> = (1..50)
            .map(|k| inv("default", k * 3000))
            .chain((1..50).map(|k| inv("scx_foresight", k * 1000)))
            .collect();
        let dir = std::env::temp_dir().join(format!("xtask-cdf-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let png = dir.join("cdf.png");
        plot_cdf(&invs, "replay-low", "test", &png).unwrap();
        let bytes = fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(plot_cdf(&invs, "replay-high", "none", &dir.join("x.png")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Each replay lists its worst short invocations, worst first, with the wait before
    /// `main` and the run after it; long and failed invocations are left out.
    #[test]
    fn worst_short_invocations_are_listed_per_replay() {
        let inv =
            |sched: &str, rep, arg, demand_us, start_us: u64, finish_us: u64, ok| Invocation {
                sched: String::from(sched),
                rep,
                workload: "faas-gen-0.7".into(),
                arg,
                demand_us,
                arrival_us: 1_000_000,
                finish_us: 1_000_000 + finish_us,
                start_us: 1_000_000 + start_us,
                startup_us: start_us,
                ok,
            };
        let invs = [
            inv("default", 1, 16, 2_000, 10_000, 12_000, true),
            inv("default", 1, 23, 3_000, 80_000, 90_000, true),
            inv("default", 1, 34, 500_000, 1_000_000, 5_000_000, true),
            inv("default", 1, 20, 2_000, 200_000, 300_000, false),
            inv("default", 1, 0, 2_000, 2_000, 4_000, true),
            inv("default", 1, 15, 2_000, 1_000, 3_000, true),
            inv("scx_foresight", 2, 17, 2_000, 30_000, 30_500, true),
        ];
        let md = worst_short_markdown(&invs, 100_000);
        assert!(
            md.contains(
                "| faas-gen-0.7 | default | 1 | arg 23, 3.0 ms at 1.00 s: ×30 = 80 + 10 ms; \
                 arg 16, 2.0 ms at 1.00 s: ×6 = 10 + 2 ms; arg 0, 2.0 ms at 1.00 s: ×2 = 2 + 2 ms |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| faas-gen-0.7 | scx_foresight | 2 | arg 17, 2.0 ms at 1.00 s: ×15 = 30 + 0 ms |"
            ),
            "{md}"
        );
        assert!(
            !md.contains("arg 34") && !md.contains("arg 20") && !md.contains("arg 15"),
            "{md}"
        );
        assert_eq!(worst_short_markdown(&invs[2..3], 100_000), "");
    }
}
