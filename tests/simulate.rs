// SPDX-License-Identifier: GPL-2.0-only
//! `trace gen` and `simulate` through the real binary: files really written and parsed.

mod common;
use common::*;

#[test]
fn generated_trace_simulates_deterministically_with_the_documented_json() {
    let trace = tmp("t.csv");
    let t = trace.to_str().unwrap();
    gen_trace(t, 2, 300, 4);
    let a = run(&[
        "simulate",
        "--trace",
        t,
        "--cpus",
        "2",
        "--policy",
        "foresight",
        "--json",
    ]);
    let b = run(&[
        "simulate",
        "--trace",
        t,
        "--cpus",
        "2",
        "--policy",
        "foresight",
        "--json",
    ]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "same input, same output");
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["policy"], "foresight");
    assert_eq!(v["cpus"], 2);
    assert!(v["invocations"].as_u64().unwrap() > 100);
    for class in ["short", "long", "all"] {
        for key in [
            "count",
            "mean_slowdown",
            "p50_slowdown",
            "p99_slowdown",
            "max_slowdown",
            "mean_response_us",
        ] {
            assert!(v[class][key].is_number(), "{class}.{key} missing: {v}");
        }
        assert!(v[class]["mean_slowdown"].as_f64().unwrap() >= 1.0 || v[class]["count"] == 0);
    }
}

/// Foresight beats fair for short invocations on a bursty generated trace (the mechanism the
/// README's table measures at scale).
#[test]
fn foresight_serves_short_invocations_better_than_fair() {
    let trace = tmp("burst.csv");
    let t = trace.to_str().unwrap();
    gen_trace(t, 2, 300, 7);
    let o = run(&[
        "simulate", "--trace", t, "--cpus", "2", "--policy", "all", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let short = |p: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == p)
            .unwrap()["short"]["mean_slowdown"]
            .as_f64()
            .unwrap()
    };
    assert!(short("foresight") < short("fair"), "{v}");
    assert!(short("oracle") <= short("foresight"), "{v}");
}

/// `simulate --json` of `trace` on 1 CPU with `extra` arguments; it must succeed.
fn simulate_1cpu(trace: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["simulate", "--trace", trace, "--cpus", "1", "--json"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The live scheduler's /proc delay and its modes change foresight's result, and nothing else's;
/// an unknown class is refused by name.
#[test]
fn identification_delay_and_mode_are_simulated() {
    let trace = tmp("modes.csv");
    let t = trace.to_str().unwrap();
    gen_trace(t, 1, 200, 9);
    let sim = |extra: &[&str]| simulate_1cpu(t, extra);
    let short = |v: &serde_json::Value| v["short"]["mean_slowdown"].as_f64().unwrap();
    let live = sim(&["--policy", "foresight"]);
    let at_arrival = sim(&["--policy", "foresight", "--identify-from-enqueue", "1"]);
    let burst = sim(&["--policy", "foresight", "--mode", "faas-burst"]);
    assert_ne!(short(&live), short(&at_arrival), "{live} {at_arrival}");
    assert_ne!(short(&live), short(&burst), "{live} {burst}");
    let fair = sim(&["--policy", "fair"]);
    assert_eq!(fair, sim(&["--policy", "fair", "--mode", "faas-burst"]));
    // Per-invocation times, one file per policy, every invocation finished after it arrived.
    // The directory is created when missing.
    let dir = tmp("times").join("new");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let o = run(&["simulate", "--trace", t, "--cpus", "1", "--times-dir", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(dir.join("foresight.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("arrival_us,cpu_us,first_run_us,finish_us")
    );
    let rows: Vec<Vec<u64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len() as u64, live["invocations"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r[0] <= r[2] && r[2] < r[3]), "{text}");
    let o = run(&["simulate", "--trace", t, "--mode", "sleepy"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("sleepy"));
}

/// `--mode-timeline` switches mode from its times on: `0:CLASS` is `--mode CLASS`, a switch
/// after the last arrival changes nothing; `--config` supplies the classes' parameters; bad
/// entries and a bad config file are refused by name.
#[test]
fn mode_timeline_and_config_are_simulated() {
    let trace = tmp("timeline.csv");
    let t = trace.to_str().unwrap();
    gen_trace(t, 1, 200, 9);
    let sim = |extra: &[&str]| simulate_1cpu(t, &[&["--policy", "foresight"], extra].concat());
    let burst = sim(&["--mode", "faas-burst"]);
    assert_eq!(burst, sim(&["--mode-timeline", "0:faas-burst"]));
    assert_eq!(sim(&[]), sim(&["--mode-timeline", "100000000:faas-burst"]));
    let half = sim(&["--mode-timeline", "0:mixed,20000:faas-burst"]);
    assert_ne!(half, burst);
    assert_ne!(half, sim(&["--mode", "mixed"]));
    // A config whose faas-burst is the shipped mixed: the burst's result becomes mixed's.
    let mut config: serde_json::Value =
        serde_json::from_str(include_str!("../models/modes.json")).unwrap();
    config["modes"]["faas-burst"] = config["modes"]["mixed"].clone();
    let path = tmp("modes-as-mixed.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(
        sim(&["--mode", "faas-burst", "--config", p]),
        sim(&["--mode", "mixed"])
    );
    for (bad, named) in [
        ("20000", "MS:CLASS"),
        ("x:mixed", "`x`"),
        ("5:sleepy", "sleepy"),
    ] {
        let o = run(&["simulate", "--trace", t, "--mode-timeline", bad]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(named), "{bad}: {err}");
    }
    std::fs::write(&path, "{").unwrap();
    let o = run(&["simulate", "--trace", t, "--mode", "mixed", "--config", p]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("modes-as-mixed.json"),
        "{err}"
    );
}

#[test]
fn malformed_trace_is_rejected_with_file_and_line() {
    let trace = tmp("bad.csv");
    std::fs::write(
        &trace,
        "arrival_us,function,args,cpu_us\n10,f,1,100\n20,f,2,abc\n",
    )
    .unwrap();
    let o = run(&["simulate", "--trace", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:3") && err.contains("cpu_us"), "{err}");
    let o = run(&["simulate", "--trace", "/nonexistent/x.csv"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x.csv"));
    let o = run(&["trace", "gen", "--load", "9"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--load 9"));
}

/// The exec rule (`--exec-finish-us`) reaches the simulation: it changes foresight's result
/// on a generated trace (its models learnt as the simulation goes), and nothing of fair's.
#[test]
fn exec_rule_is_simulated() {
    let trace = tmp("exec-rule.csv");
    let t = trace.to_str().unwrap();
    gen_trace(t, 1, 200, 5);
    let sim = |policy: &str, finish_us: &str| {
        simulate_1cpu(
            t,
            &[
                "--policy",
                policy,
                "--exec-grace-us",
                "0",
                "--exec-finish-us",
                finish_us,
            ],
        )
    };
    assert_ne!(sim("foresight", "0"), sim("foresight", "3000"));
    assert_eq!(sim("fair", "0"), sim("fair", "3000"));
}
