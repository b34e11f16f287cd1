// SPDX-License-Identifier: GPL-2.0-only
//! record → train → show/predict through the real binary, and refusals of bad input.

use std::path::Path;

mod common;
use common::*;

#[test]
fn simulate_record_then_train_then_predict() {
    let (trace, rec, model) = (tmp("t.csv"), tmp("rec.csv"), tmp("m.json"));
    let (t, r, m) = (
        trace.to_str().unwrap(),
        rec.to_str().unwrap(),
        model.to_str().unwrap(),
    );
    gen_trace(t, 2, 1200, 3);
    let o = run(&["simulate", "--trace", t, "--policy", "fifo", "--record", r]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["train", "--samples", r, "--out", m, "--min-samples", "8"]);
    assert!(o.status.success(), "{}", text(&o));
    let table = text(&o);
    // The most popular function (a fib) is learnt with a small held-out error.
    let fib = table
        .lines()
        .find(|l| l.starts_with("| f00-fib"))
        .expect(&table);
    let mape: f64 = fib
        .split('|')
        .nth(5)
        .unwrap()
        .trim()
        .trim_end_matches(" %")
        .parse()
        .unwrap();
    assert!(mape < 15.0, "{fib}");
    assert!(table.contains("skipped") || table.contains("(general)"));
    let o = run(&["model", "show", m]);
    assert!(
        o.status.success()
            && text(&o).contains("function `f00-fib`")
            && text(&o).contains("fitted on arg0 in ["),
        "{}",
        text(&o)
    );
    let o = run(&[
        "model",
        "predict",
        m,
        "--function",
        "f00-fib",
        "--args",
        "25",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    let us: f64 = out.split(' ').next().unwrap().parse().expect("a number");
    assert!(us > 0.0);
    assert!(out.trim().ends_with("(function `f00-fib`)"), "{out}");
    // The model then helps the simulator from the first invocations.
    let o = run(&[
        "simulate",
        "--trace",
        t,
        "--policy",
        "foresight",
        "--models",
        m,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn malformed_samples_write_no_model() {
    let (bad, out) = (tmp("bad.csv"), tmp("never.json"));
    let header = "function,args,cpu_us,ln1p_max_numeric_arg,numeric_arg_count,ln_weight_ratio,kernel_thread,ln1p_burst_ewma_us,sleep_ratio";
    std::fs::write(
        &bad,
        format!("{header}\nf,1,100,0,1,0,0,0,0\nf,2,NaN,0,1,0,0,0,0\n"),
    )
    .unwrap();
    let o = run(&[
        "train",
        "--samples",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("bad.csv:3"), "{}", text(&o));
    assert!(!out.exists(), "no output on bad input");
    let o = run(&["model", "show", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("bad.csv") && text(&o).contains("not a valid model file"));
}

/// The shipped classifier, and one refitted from the committed VM recording, classify the
/// recorded windows of every workload as labelled; a bad windows file names its line.
#[test]
fn classifier_from_recorded_vm_windows() {
    let windows = Path::new(env!("CARGO_MANIFEST_DIR")).join("training/signals/vm-phases.csv");
    let out = tmp("classifier.json");
    let o = run(&[
        "train",
        "--windows",
        windows.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report = text(&o);
    let acc: f64 = report
        .lines()
        .find_map(|l| l.strip_prefix("held-out accuracy (5 folds): "))
        .and_then(|v| v.trim_end_matches(" %").parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in:\n{report}"));
    assert!(acc >= 90.0, "held-out accuracy {acc} %:\n{report}");
    for class in [
        "idle",
        "cpu-bound",
        "io-heavy",
        "network-heavy",
        "faas-burst",
        "interactive",
        "mixed",
    ] {
        assert!(
            report.contains(&format!("| {class} |")),
            "{class} not trained:\n{report}"
        );
    }

    let bad = tmp("bad-windows.csv");
    let text_in = std::fs::read_to_string(&windows).unwrap();
    let mut lines: Vec<&str> = text_in.lines().collect();
    lines[3] = "1.0,1.0,oops";
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let o = run(&[
        "train",
        "--windows",
        bad.to_str().unwrap(),
        "--out",
        tmp("never.json").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("bad-windows.csv:4"), "{}", text(&o));
    assert!(!tmp("never.json").exists());
}

/// The model hierarchy through the binary: a program with categorical arguments, trained on
/// two of its modes (and two samples of a third, too few for a model of its own): `model
/// predict` answers for every variant, seen or held back, and names the level that answered.
#[test]
fn held_back_categorical_variants_are_answered_by_their_executable() {
    use scx_foresight::core::features::{general_features, Behaviour, Invocation};
    use scx_foresight::formats::samples::{header, Recorded};
    let (samples, model) = (tmp("modes.csv"), tmp("modes.json"));
    let mut csv = header() + "\n";
    let row = |mode: &str, n: u32, cpu_us: f64| {
        let inv = Invocation::from_args("/bin/fn19_modes", ["--mode", mode, &format!("--n={n}")]);
        let gx = general_features(Some(&inv), &Behaviour::default());
        Recorded {
            identity: inv.identity.clone(),
            numeric: vec![f64::from(n)],
            cpu_us: cpu_us as u64,
            gx,
        }
        .to_line()
    };
    for n in 1..=30u32 {
        let jitter = 1.0 + 0.03 * f64::from(n % 5);
        csv += &(row("fast", n, 2000.0 * 1.1f64.powi(n as i32) * jitter) + "\n");
        csv += &(row("medium", n, 9000.0 * 1.1f64.powi(n as i32) * jitter) + "\n");
    }
    csv += &(row("rare", 3, 50_000.0) + "\n");
    csv += &(row("rare", 4, 52_000.0) + "\n");
    std::fs::write(&samples, csv).unwrap();
    let (s, m) = (samples.to_str().unwrap(), model.to_str().unwrap());
    let o = run(&["train", "--samples", s, "--out", m, "--min-samples", "8"]);
    assert!(o.status.success(), "{}", text(&o));
    let table = text(&o);
    for level in ["function", "executable", "general"] {
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("level {level}: held-out MAPE ")))
            .expect(&table);
        assert!(!line.contains("n/a"), "{line}");
    }
    let predict = |mode: &str| {
        let o = run(&[
            "model",
            "predict",
            m,
            "--function",
            "/bin/fn19_modes",
            "--args",
            &format!("--mode {mode} --n=10"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let us: f64 = out.split(' ').next().unwrap().parse().expect(&out);
        assert!(us > 0.0 && us.is_finite(), "{out}");
        out
    };
    assert!(predict("fast").ends_with("(function `/bin/fn19_modes --mode fast --n=`)"));
    // Two samples (rare) and none at all (slow): the program's model answers.
    for mode in ["rare", "slow"] {
        let out = predict(mode);
        assert!(out.ends_with("(executable `exe:/bin/fn19_modes`)"), "{out}");
    }
}
