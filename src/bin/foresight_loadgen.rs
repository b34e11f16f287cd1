// SPDX-License-Identifier: GPL-2.0-only
//! foresight_loadgen: launches FaaS-like invocations of foresight_payload and times each one
//! from launch to exit (what a caller of the function waits).
//!
//!   foresight_loadgen series --arg N --count C [--gap-ms G]
//!
//! runs `foresight_payload N` C times, one after the other with G ms between them, and prints
//! one `invocation` line per run and a `series` summary line (mean, p50, max in ms).

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "foresight_loadgen: {msg}\nusage: foresight_loadgen series --arg N --count C [--gap-ms G]"
    );
    ExitCode::from(2)
}

fn payload_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("foresight_payload")))
        .unwrap_or_else(|| PathBuf::from("foresight_payload"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("series") {
        return usage("expected the `series` command");
    }
    let (mut arg, mut count, mut gap_ms) = (None, None, 0u64);
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            return usage(&format!("{flag} needs a value"));
        };
        let Ok(v) = value.parse::<u64>() else {
            return usage(&format!("{flag} {value}: not a non-negative integer"));
        };
        match flag.as_str() {
            "--arg" => arg = Some(v),
            "--count" => count = Some(v),
            "--gap-ms" => gap_ms = v,
            _ => return usage(&format!("unknown flag {flag}")),
        }
    }
    let (Some(arg), Some(count)) = (arg, count) else {
        return usage("--arg and --count are required");
    };
    let payload = payload_path();
    let mut times_ms = Vec::new();
    for i in 0..count {
        let start = Instant::now();
        let status = Command::new(&payload)
            .arg(arg.to_string())
            .stdout(Stdio::null())
            .status();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        match status {
            Ok(s) if s.success() => {}
            other => {
                eprintln!(
                    "foresight_loadgen: {} {arg} failed: {other:?}",
                    payload.display()
                );
                return ExitCode::FAILURE;
            }
        }
        println!("invocation {i} arg={arg} ms={ms:.2}");
        times_ms.push(ms);
        std::thread::sleep(Duration::from_millis(gap_ms));
    }
    times_ms.sort_by(f64::total_cmp);
    let n = times_ms.len().max(1);
    let mean = times_ms.iter().sum::<f64>() / n as f64;
    println!(
        "series arg={arg} count={count} mean_ms={mean:.2} p50_ms={:.2} max_ms={:.2}",
        times_ms.get(n / 2).copied().unwrap_or(0.0),
        times_ms.last().copied().unwrap_or(0.0)
    );
    ExitCode::SUCCESS
}
