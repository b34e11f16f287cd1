// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask fuzz`: run every `cargo fuzz` target of fuzz/ for a while, starting from the
//! committed corpus; a crash is copied to fuzz/regressions/<target>/ (where `cargo test` runs
//! it from then on) and fails the command.
//!
//! Runs on the stable toolchain: libFuzzer's coverage instrumentation without a sanitizer
//! (`--sanitizer none`), which finds panics, the only memory errors safe Rust can have.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, workspace_root};

/// The cargo-fuzz release installed when missing (crates.io).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

#[derive(Debug, clap::Args, Clone)]
pub struct FuzzArgs {
    /// Seconds of fuzzing for each target.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub seconds: u32,
    /// Only these targets (comma separated); default all (see fuzz/Cargo.toml).
    #[arg(long, value_delimiter = ',', value_name = "TARGETS")]
    pub target: Vec<String>,
}

pub fn fuzz(args: &FuzzArgs) -> Result<()> {
    cmd::ensure_cargo_tool("fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION)?;
    let root = workspace_root();
    let all = targets(&root.join("fuzz/Cargo.toml"))?;
    let chosen: Vec<String> = if args.target.is_empty() {
        all
    } else {
        for t in &args.target {
            if !all.contains(t) {
                bail!("no fuzz target `{t}` (there are: {})", all.join(", "));
            }
        }
        args.target.clone()
    };
    cmd::run(Command::new("cargo").current_dir(&root).args([
        "fuzz",
        "build",
        "--sanitizer",
        "none",
        "--release",
    ]))?;
    let mut crashed = Vec::new();
    for t in &chosen {
        let t0 = Instant::now();
        let ok = run_target(&root, t, args.seconds)?;
        let new = keep_crashes(&root, t)?;
        eprintln!(
            "fuzz {t}: {} in {:.0} s{}",
            if ok { "no crash" } else { "CRASHED" },
            t0.elapsed().as_secs_f64(),
            if new > 0 {
                format!(", {new} input(s) kept in fuzz/regressions/{t}/")
            } else {
                String::new()
            }
        );
        if !ok {
            crashed.push(t.clone());
        }
    }
    if !crashed.is_empty() {
        bail!(
            "fuzz targets crashed: {} (inputs in fuzz/regressions/; `cargo test --test fuzz_corpus` replays them)",
            crashed.join(", ")
        );
    }
    eprintln!("fuzz: {} target(s), no crash", chosen.len());
    Ok(())
}

/// The `[[bin]]` names of fuzz/Cargo.toml.
fn targets(manifest: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let names: Vec<String> = text
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| {
            bin.lines()
                .find_map(|l| l.trim().strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_string())
        })
        .collect();
    if names.is_empty() {
        bail!("{}: no [[bin]] fuzz targets", manifest.display());
    }
    Ok(names)
}

/// Fuzz `target` for `seconds` from its corpus (new finds go to a scratch copy: the committed
/// corpus stays as reviewed). Ok(false) when it crashed.
fn run_target(root: &Path, target: &str, seconds: u32) -> Result<bool> {
    let scratch = root.join("fuzz/target/corpus").join(target);
    std::fs::create_dir_all(&scratch)?;
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["fuzz", "run", "--sanitizer", "none", "--release", target])
        .arg(&scratch)
        .arg(root.join("fuzz/corpus").join(target))
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-max_len=65536",
            "-rss_limit_mb=2048",
            "-print_final_stats=0",
        ])
        .status()
        .with_context(|| format!("cannot run cargo fuzz for {target}"))?;
    Ok(status.success())
}

/// Move libFuzzer's crash inputs of `target` to fuzz/regressions/<target>/; how many.
fn keep_crashes(root: &Path, target: &str) -> Result<usize> {
    let artifacts = root.join("fuzz/artifacts").join(target);
    let Ok(dir) = std::fs::read_dir(&artifacts) else {
        return Ok(0);
    };
    let keep = root.join("fuzz/regressions").join(target);
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("crash-") || name.starts_with("oom-") || name.starts_with("timeout-") {
            std::fs::create_dir_all(&keep)?;
            std::fs::rename(e.path(), keep.join(&name))?;
            n += 1;
        }
    }
    Ok(n)
}
