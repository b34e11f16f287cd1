// SPDX-License-Identifier: GPL-2.0-only
//! `scx_foresight trace`: generate a synthetic trace, or convert the Azure Functions 2019
//! workload into one.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use scx_foresight::formats::csv::read_input;
use scx_foresight::formats::trace;
use scx_foresight::offline::replay;
use scx_foresight::offline::tracegen::{self, GenConfig};

#[derive(Debug, Subcommand)]
pub enum TraceCmd {
    /// Generate a synthetic FaaS trace shaped after the Azure Functions 2019 trace.
    Gen(GenArgs),
    /// Convert the Azure Functions 2019 fib workload (`INTER_ARRIVAL_SECONDS FIB_ARG` lines,
    /// e.g. ../shared/data/azure2019-fib-workload.txt) into a trace of foresight_payload
    /// invocations, with CPU demands from a calibration (`foresight_loadgen calibrate`).
    FromAzure {
        /// The workload file.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// `arg,cpu_us` measured on the machine that will replay it.
        #[arg(long, value_name = "FILE")]
        calibration: PathBuf,
        /// Shift every fib argument down by the same number of steps so that the largest
        /// becomes this (each demand shrinks by the same factor; the workload's largest, fib(46),
        /// is a minute of CPU on a 1-GIPS machine). Default: unshifted.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
        max_arg: Option<u32>,
        /// Write here instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// CPUs the load is computed for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus: u32,
    /// Average offered load per CPU (0 < L <= 4).
    #[arg(long, default_value_t = 0.8)]
    pub load: f64,
    /// Trace length in seconds.
    #[arg(long, default_value_t = 600.0)]
    pub duration_s: f64,
    /// Random seed (same seed, same trace).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn trace(cmd: &TraceCmd) -> Result<()> {
    match cmd {
        TraceCmd::Gen(g) => {
            if !(g.load > 0.0 && g.load <= 4.0) {
                bail!("--load {}: must be in (0, 4]", g.load);
            }
            if !(g.duration_s > 0.0 && g.duration_s <= 86_400.0) {
                bail!("--duration-s {}: must be in (0, 86400]", g.duration_s);
            }
            let rows = tracegen::generate(&GenConfig {
                cpus: g.cpus,
                load: g.load,
                duration_s: g.duration_s,
                seed: g.seed,
            });
            write_or_print(&trace::to_csv(&rows), g.out.as_deref())
        }
        TraceCmd::FromAzure {
            input,
            calibration,
            max_arg,
            out,
        } => {
            let cal = replay::Calibration::read(calibration)?;
            let (text, file) = read_input(input)?;
            let rows = replay::rows_from_azure(&text, &file, &cal, *max_arg)?;
            write_or_print(&trace::to_csv(&rows), out.as_deref())
        }
    }
}

/// Write `text` to `out`, or stdout without one.
fn write_or_print(text: &str, out: Option<&std::path::Path>) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => Ok(std::io::stdout().lock().write_all(text.as_bytes())?),
    }
}
