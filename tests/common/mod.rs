// SPDX-License-Identifier: GPL-2.0-only
//! Helpers shared by the integration tests: run the real binary, scratch files.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scx_foresight"))
        .args(args)
        .output()
        .expect("run scx_foresight")
}

/// stdout followed by stderr.
pub fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A path in a scratch directory of this test binary.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("foresight-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `trace gen` for `cpus` at load 0.8 into `path`; panics with the output when it fails.
pub fn gen_trace(path: &str, cpus: u32, duration_s: u32, seed: u64) {
    let (c, d, s) = (cpus.to_string(), duration_s.to_string(), seed.to_string());
    let o = run(&[
        "trace",
        "gen",
        "--cpus",
        &c,
        "--load",
        "0.8",
        "--duration-s",
        &d,
        "--seed",
        &s,
        "-o",
        path,
    ]);
    assert!(o.status.success(), "{}", text(&o));
}
