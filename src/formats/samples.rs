// SPDX-License-Identifier: GPL-2.0-only
//! Recorded training samples: one CSV row per completed task, written by `--record` (live or
//! simulated) and read by `train`.
//!
//! `function,args,cpu_us,<general features...>`: the function identity, its numeric arguments
//! (space separated), the observed CPU demand in µs, and the general model's features.

use std::fmt::Write as _;
use std::path::Path;

use crate::core::features::{
    Invocation, GENERAL_FEATURES, GENERAL_FEATURE_NAMES, MAX_NUMERIC_ARGS,
};
use crate::formats::csv::{self, quote_csv, read_input};
use crate::formats::versioned::FileError;

/// The header line of a samples file.
pub fn header() -> String {
    format!("function,args,cpu_us,{}", GENERAL_FEATURE_NAMES.join(","))
}

/// One recorded sample, with the function named (not interned).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub identity: String,
    pub numeric: Vec<f64>,
    pub cpu_us: u64,
    pub gx: [f64; GENERAL_FEATURES],
}

impl Recorded {
    /// A learner sample written out with its function's name.
    pub fn from_sample(identity: String, s: &crate::core::model::Sample) -> Self {
        // gx[1] is the numeric argument count; fx holds (x, ln(1+|x|)) pairs.
        let n = (s.gx[1].max(0.0) as usize).min(MAX_NUMERIC_ARGS);
        Self {
            identity,
            numeric: (0..n).map(|i| s.fx[2 * i]).collect(),
            cpu_us: (s.cpu_ns / 1000).max(1),
            gx: s.gx,
        }
    }

    /// The invocation (identity + numeric features) this sample describes.
    pub fn invocation(&self) -> Invocation {
        let mut numeric = [0.0; MAX_NUMERIC_ARGS];
        for (d, v) in numeric.iter_mut().zip(&self.numeric) {
            *d = *v;
        }
        Invocation {
            identity: self.identity.clone(),
            numeric,
            n_numeric: self.numeric.len().min(MAX_NUMERIC_ARGS),
            kernel_thread: false,
        }
    }

    /// The CSV line (no newline).
    pub fn to_line(&self) -> String {
        let args: Vec<String> = self.numeric.iter().map(|v| v.to_string()).collect();
        let mut line = format!(
            "{},{},{}",
            quote_csv(&self.identity),
            quote_csv(&args.join(" ")),
            self.cpu_us
        );
        for g in &self.gx {
            let _ = write!(line, ",{g}");
        }
        line
    }
}

pub fn read(path: &Path) -> Result<Vec<Recorded>, FileError> {
    let (text, file) = read_input(path)?;
    parse(&text, &file)
}

/// Parse a samples file strictly: every row complete, every number finite.
pub fn parse(text: &str, file: &str) -> Result<Vec<Recorded>, FileError> {
    let bad = |line: usize, reason: String| FileError::at(file, line, reason);
    let mut out = Vec::new();
    for (n, f) in csv::rows(text, file, &header(), Some(3 + GENERAL_FEATURES))? {
        let identity = f[0].trim().to_string();
        if identity.is_empty() {
            return Err(bad(n, "empty function identity".into()));
        }
        let numeric = f[1]
            .split_whitespace()
            .map(|a| {
                finite(a).ok_or_else(|| bad(n, format!("argument `{a}` is not a finite number")))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let cpu_us: u64 = f[2].trim().parse().ok().filter(|&v| v > 0).ok_or_else(|| {
            bad(
                n,
                format!("cpu_us must be a positive integer, found `{}`", f[2]),
            )
        })?;
        let mut gx = [0.0; GENERAL_FEATURES];
        for (k, g) in gx.iter_mut().enumerate() {
            *g = finite(&f[3 + k]).ok_or_else(|| {
                bad(
                    n,
                    format!(
                        "{} must be a finite number, found `{}`",
                        GENERAL_FEATURE_NAMES[k],
                        f[3 + k]
                    ),
                )
            })?;
        }
        out.push(Recorded {
            identity,
            numeric,
            cpu_us,
            gx,
        });
    }
    if out.is_empty() {
        return Err(bad(1, "no samples after the header".into()));
    }
    Ok(out)
}

fn finite(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Recorded {
        Recorded {
            identity: "/usr/bin/f --mode=a,b".into(),
            numeric: vec![24.0, 1.5],
            cpu_us: 1234,
            gx: [1.0, 2.0, 0.0, 0.0, 3.5, 0.25],
        }
    }

    #[test]
    fn round_trip() {
        let text = format!("{}\n{}\n", header(), rec().to_line());
        assert_eq!(parse(&text, "s.csv").unwrap(), vec![rec()]);
        let inv = rec().invocation();
        assert_eq!((inv.n_numeric, inv.numeric[1]), (2, 1.5));
    }

    #[test]
    fn every_kind_of_malformed_input_names_file_and_line() {
        let h = header();
        let good = rec().to_line();
        let cases = [
            (String::new(), 1, "empty file"),
            ("x,y\n".to_string(), 1, "header"),
            (format!("{h}\n"), 1, "no samples"),
            (format!("{h}\n{good}\nf,1,5\n"), 3, "expected 9 fields"),
            (
                format!("{h}\n{good}\nf,abc,5,0,0,0,0,0,0\n"),
                3,
                "argument `abc`",
            ),
            (format!("{h}\nf,1,NaN,0,0,0,0,0,0\n"), 2, "cpu_us"),
            (format!("{h}\nf,1,0,0,0,0,0,0,0\n"), 2, "cpu_us"),
            (
                format!("{h}\nf,1,5,0,NaN,0,0,0,0\n"),
                2,
                "numeric_arg_count",
            ),
            (format!("{h}\nf,1,5,0,0,0,0,0,inf\n"), 2, "sleep_ratio"),
            (format!("{h}\n,1,5,0,0,0,0,0,0\n"), 2, "identity"),
        ];
        for (text, line, what) in cases {
            match parse(&text, "s.csv") {
                Err(FileError {
                    file,
                    line: Some(l),
                    reason,
                }) => {
                    assert_eq!((file.as_str(), l), ("s.csv", line), "{text:?}: {reason}");
                    assert!(reason.contains(what), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
