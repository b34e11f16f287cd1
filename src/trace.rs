// SPDX-License-Identifier: GPL-2.0-only
//! Invocation traces: CSV `arrival_us,function,args,cpu_us`, one row per invocation. Parsing
//! (strict, errors name the line) and a generator shaped after the Azure Functions 2019 trace.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write as _};
use std::path::Path;

use crate::rng::Rng;

pub const HEADER: &str = "arrival_us,function,args,cpu_us";

/// One invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub arrival_us: u64,
    pub function: String,
    /// Argument string as typed on a command line.
    pub args: String,
    /// CPU demand when run alone.
    pub cpu_us: u64,
}

/// A bad input file (trace or samples): what cannot be read, or the line that is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InputError {
    #[error("{file}: cannot read: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    Bad {
        file: String,
        line: usize,
        reason: String,
    },
}

/// The whole text of an input file, with the file named if it cannot be read.
pub fn read_input(path: &Path) -> Result<(String, String), InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError::Io {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    Ok((text, file))
}

/// Open a CSV file of ours for appending rows. Only a missing (or empty) file is new and gets
/// `header`; an existing one must start with exactly that header line and end with a whole
/// line, else it is refused: we never write into a file we did not understand.
pub fn open_csv_for_append(path: &Path, header: &str) -> Result<File, InputError> {
    let file = path.display().to_string();
    let io = |e: std::io::Error| InputError::Io {
        file: file.clone(),
        reason: e.to_string(),
    };
    let refuse = |reason: String| InputError::Bad {
        file: file.clone(),
        line: 1,
        reason,
    };
    let mut f = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(io)?,
        Err(e) => return Err(io(e)),
    };
    let meta = f.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > 0 {
        // Read only the header's length (+ newline): the file may be large.
        let mut head = Vec::with_capacity(header.len() + 1);
        (&mut f)
            .take(header.len() as u64 + 1)
            .read_to_end(&mut head)
            .map_err(io)?;
        if head.strip_suffix(b"\n") != Some(header.as_bytes()) {
            let found = String::from_utf8_lossy(&head);
            return Err(refuse(format!(
                "exists and does not start with the header `{header}` (found `{}`); not appending to it",
                found.trim_end()
            )));
        }
        let mut last = [0u8; 1];
        f.seek(SeekFrom::End(-1)).map_err(io)?;
        f.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            return Err(refuse(
                "its last line is incomplete (no final newline); not appending to it".into(),
            ));
        }
        return Ok(f);
    }
    writeln!(f, "{header}").map_err(io)?;
    Ok(f)
}

/// The body lines of a CSV input (numbered from 2) after checking its header line is `want`;
/// `bad` builds the error for a line.
pub fn body_after_header<'t>(
    text: &'t str,
    want: &str,
    bad: impl Fn(usize, String) -> InputError,
) -> Result<impl Iterator<Item = (usize, &'t str)>, InputError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, h)) if h.trim() == want => Ok(lines),
        Some((_, h)) => Err(bad(1, format!("header must be `{want}`, found `{h}`"))),
        None => Err(bad(1, "empty file (no header)".into())),
    }
}

/// Read and validate a whole trace file.
pub fn read(path: &Path) -> Result<Vec<Row>, InputError> {
    let (text, file) = read_input(path)?;
    parse(&text, &file)
}

/// Parse trace text; `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Row>, InputError> {
    let bad = |line: usize, reason: String| InputError::Bad {
        file: file.to_string(),
        line,
        reason,
    };
    let mut rows = Vec::new();
    let mut last_arrival = 0;
    for (n, line) in body_after_header(text, HEADER, bad)? {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line).map_err(|r| bad(n, r))?;
        if fields.len() != 4 {
            return Err(bad(n, format!("expected 4 fields, found {}", fields.len())));
        }
        let num = |idx: usize, name: &str| {
            fields[idx].trim().parse::<u64>().map_err(|_| {
                bad(
                    n,
                    format!(
                        "{name} must be a non-negative integer, found `{}`",
                        fields[idx]
                    ),
                )
            })
        };
        let arrival_us = num(0, "arrival_us")?;
        let cpu_us = num(3, "cpu_us")?;
        if cpu_us == 0 {
            return Err(bad(n, "cpu_us must be positive".into()));
        }
        if arrival_us < last_arrival {
            return Err(bad(
                n,
                format!("arrival_us {arrival_us} goes back in time (previous {last_arrival})"),
            ));
        }
        let function = fields[1].trim().to_string();
        if function.is_empty() {
            return Err(bad(n, "empty function name".into()));
        }
        last_arrival = arrival_us;
        rows.push(Row {
            arrival_us,
            function,
            args: fields[2].trim().to_string(),
            cpu_us,
        });
    }
    if rows.is_empty() {
        return Err(bad(1, "no invocations after the header".into()));
    }
    Ok(rows)
}

/// Split one CSV line; fields may be double-quoted (with "" for a quote).
pub fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// A CSV field, quoted when it contains a comma or a quote.
pub fn quote_csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Render rows as CSV (quoting fields that need it).
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::with_capacity(rows.len() * 40);
    out.push_str(HEADER);
    out.push('\n');
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            r.arrival_us,
            quote_csv(&r.function),
            quote_csv(&r.args),
            r.cpu_us
        );
    }
    out
}

/// How a generated function's CPU demand depends on its argument.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// cpu = a + b·n, n in 1..=100 (e.g. resize an image of n units)
    Linear { a: f64, b: f64 },
    /// cpu = c·φ^(n - n0), n in n0..=n0+8 (recursive fib)
    Exponential { c: f64, n0: u64 },
    /// cpu = m whatever the argument (a request id)
    Constant { m: f64 },
}

/// Parameters of `trace gen`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenConfig {
    pub cpus: u32,
    pub load: f64,
    pub duration_s: f64,
    pub seed: u64,
}

/// Seed of the function catalogue (fixed: see `generate`).
const CATALOGUE_SEED: u64 = 2019;
/// Functions in a generated trace.
const GEN_FUNCTIONS: usize = 40;
/// Zipf exponent of function popularity (invocation counts highly skewed).
const ZIPF_S: f64 = 1.1;
/// Median and spread (ln) of a function's mean CPU demand: about half of the functions
/// average under ~1 s, with a heavy tail.
const MEDIAN_MEAN_US: f64 = 700_000.0;
const SIGMA_LN_MEAN: f64 = 2.0;
/// Share of invocations fired by timers in a burst at the start of each minute (the Azure
/// trace's per-minute timers: each minute block starts with a burst).
const BURST_SHARE: f64 = 0.5;
/// Timer bursts repeat every minute, jittered over this many µs.
const BURST_PERIOD_US: f64 = 60e6;
const BURST_JITTER_US: f64 = 100_000.0;
/// Per-invocation multiplicative noise (ln sd).
const NOISE_SIGMA: f64 = 0.08;
const GOLDEN: f64 = 1.618_033_988_75;

/// Generate a trace loading `cpus` to `load` on average: half the invocations arrive as Poisson
/// traffic, half in timer bursts at the start of each minute; functions are chosen by Zipf
/// popularity (popular ones tend to be short, as in the Azure trace); each function's demand is
/// a function of its numeric argument plus noise.
pub fn generate(cfg: &GenConfig) -> Vec<Row> {
    // The deployed functions are the same for every seed (a platform's catalogue), so models
    // trained on one trace apply to another; the seed drives arrivals, arguments and noise.
    let mut rng = Rng::new(CATALOGUE_SEED);
    // Function mean demands, sorted so popular (low rank) functions are the shorter ones,
    // with some shuffling so the relation is not strict.
    let mut means: Vec<f64> = (0..GEN_FUNCTIONS)
        .map(|_| {
            (MEDIAN_MEAN_US.ln() + SIGMA_LN_MEAN * rng.normal())
                .exp()
                .clamp(2_000.0, 120e6)
        })
        .collect();
    means.sort_by(f64::total_cmp);
    for i in 0..GEN_FUNCTIONS {
        let j = (i + rng.range(0, 6) as usize).min(GEN_FUNCTIONS - 1);
        means.swap(i, j);
    }
    let shapes: Vec<Shape> = means
        .iter()
        .map(|&m| match rng.range(0, 9) {
            0..=3 => Shape::Linear {
                a: 0.2 * m,
                b: 0.8 * m / 50.5,
            },
            4..=6 => {
                let mean_factor = (GOLDEN.powi(9) - 1.0) / (GOLDEN - 1.0) / 9.0;
                Shape::Exponential {
                    c: m / mean_factor,
                    n0: rng.range(18, 26),
                }
            }
            _ => Shape::Constant { m },
        })
        .collect();
    let popularity: Vec<f64> = (1..=GEN_FUNCTIONS)
        .map(|r| 1.0 / (r as f64).powf(ZIPF_S))
        .collect();
    let total_pop: f64 = popularity.iter().sum();
    let mean_demand_us: f64 = means
        .iter()
        .zip(&popularity)
        .map(|(m, p)| m * p)
        .sum::<f64>()
        / total_pop;
    let rate_per_us = cfg.load * f64::from(cfg.cpus) / mean_demand_us;
    let mut rng = Rng::new(cfg.seed);

    // Arrival instants: Poisson traffic plus per-minute bursts, then sorted.
    let end = cfg.duration_s * 1e6;
    let mut arrivals = Vec::new();
    let mut t = 0.0;
    loop {
        t += rng.exp(1.0 / (rate_per_us * (1.0 - BURST_SHARE)));
        if t >= end {
            break;
        }
        arrivals.push(t);
    }
    let per_burst = (rate_per_us * BURST_SHARE * BURST_PERIOD_US).round() as usize;
    let mut minute = 0.0;
    while minute < end {
        for _ in 0..per_burst {
            let at = minute + rng.unit() * BURST_JITTER_US;
            if at < end {
                arrivals.push(at);
            }
        }
        minute += BURST_PERIOD_US;
    }
    arrivals.sort_by(f64::total_cmp);

    let mut rows = Vec::with_capacity(arrivals.len());
    for t in arrivals {
        let mut pick = rng.unit() * total_pop;
        let f = popularity
            .iter()
            .position(|p| {
                pick -= p;
                pick <= 0.0
            })
            .unwrap_or(GEN_FUNCTIONS - 1);
        let (name, args, cpu) = match shapes[f] {
            Shape::Linear { a, b } => {
                let n = rng.range(1, 100);
                (
                    format!("f{f:02}-resize"),
                    format!("--size {n}"),
                    a + b * n as f64,
                )
            }
            Shape::Exponential { c, n0 } => {
                let n = rng.range(n0, n0 + 8);
                (
                    format!("f{f:02}-fib"),
                    format!("{n}"),
                    c * GOLDEN.powi((n - n0) as i32),
                )
            }
            Shape::Constant { m } => {
                let id = rng.range(1000, 9999);
                (
                    format!("f{f:02}-lookup"),
                    format!("--request {id} --mode fast"),
                    m,
                )
            }
        };
        let noisy = cpu * (NOISE_SIGMA * rng.normal()).exp();
        rows.push(Row {
            arrival_us: t as u64,
            function: name,
            args,
            cpu_us: noisy.clamp(1_000.0, 600e6) as u64,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_only_to_files_we_understand() {
        let dir = std::env::temp_dir().join(format!("foresight-append-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.csv");
        let append = |text: Option<&[u8]>| {
            let _ = std::fs::remove_file(&path);
            if let Some(t) = text {
                std::fs::write(&path, t).unwrap();
            }
            let r = open_csv_for_append(&path, "a,b").map(|mut f| writeln!(f, "1,2").unwrap());
            (r, std::fs::read(&path).unwrap())
        };
        // New (missing or empty): the header first.
        assert_eq!(append(None), (Ok(()), b"a,b\n1,2\n".to_vec()));
        assert_eq!(append(Some(b"")), (Ok(()), b"a,b\n1,2\n".to_vec()));
        // Ours: appended after the rows already there.
        assert_eq!(append(Some(b"a,b\n0,0\n")).1, b"a,b\n0,0\n1,2\n".to_vec());
        // Another header, a header that only starts like ours, bytes that are not text, a
        // torn last row: refused, the file untouched.
        for text in [
            &b"x,y\n0,0\n"[..],
            b"a,b,c\n",
            b"\xff\xfe\x00a,b\n",
            b"a,b\n0,",
            b"a,b",
        ] {
            let (r, after) = append(Some(text));
            let err = r.unwrap_err().to_string();
            assert!(err.starts_with(&format!("{}:1:", path.display())), "{err}");
            assert_eq!(after, text);
        }
        // A directory cannot be opened: refused, naming it.
        let err = open_csv_for_append(&dir, "a,b").unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_and_quoting() {
        let rows = vec![
            Row {
                arrival_us: 0,
                function: "f".into(),
                args: "a, \"b\"".into(),
                cpu_us: 5,
            },
            Row {
                arrival_us: 7,
                function: "g".into(),
                args: "".into(),
                cpu_us: 9,
            },
        ];
        assert_eq!(parse(&to_csv(&rows), "t").unwrap(), rows);
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let cases = [
            ("", 1, "empty file"),
            ("a,b\n", 1, "header"),
            ("arrival_us,function,args,cpu_us\n", 1, "no invocations"),
            (
                "arrival_us,function,args,cpu_us\n1,f,x,10\nx,f,,1\n",
                3,
                "arrival_us",
            ),
            ("arrival_us,function,args,cpu_us\n1,f,x\n", 2, "4 fields"),
            ("arrival_us,function,args,cpu_us\n1,f,x,0\n", 2, "positive"),
            ("arrival_us,function,args,cpu_us\n1,f,x,-4\n", 2, "cpu_us"),
            (
                "arrival_us,function,args,cpu_us\n5,f,x,1\n4,f,x,1\n",
                3,
                "back in time",
            ),
            ("arrival_us,function,args,cpu_us\n5,,x,1\n", 2, "function"),
            (
                "arrival_us,function,args,cpu_us\n5,f,\"x,1\n",
                2,
                "unterminated",
            ),
        ];
        for (text, line, what) in cases {
            match parse(text, "t.csv") {
                Err(InputError::Bad {
                    line: l,
                    reason,
                    file,
                }) => {
                    assert_eq!((l, file.as_str()), (line, "t.csv"), "{text:?}: {reason}");
                    assert!(reason.contains(what), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn generator_is_deterministic_and_hits_the_load() {
        let cfg = GenConfig {
            cpus: 4,
            load: 0.8,
            duration_s: 2000.0,
            seed: 11,
        };
        let a = generate(&cfg);
        assert_eq!(a, generate(&cfg));
        assert_ne!(a, generate(&GenConfig { seed: 12, ..cfg }));
        let demand: f64 = a.iter().map(|r| r.cpu_us as f64).sum();
        let load = demand / (cfg.duration_s * 1e6 * 4.0);
        assert!((0.4..1.6).contains(&load), "offered load {load}");
        // Skewed popularity: the top function has many more invocations than the median one.
        let mut counts = std::collections::HashMap::new();
        for r in &a {
            *counts.entry(&r.function).or_insert(0) += 1;
        }
        let mut c: Vec<i32> = counts.values().copied().collect();
        c.sort_unstable();
        assert!(c[c.len() - 1] > 5 * c[c.len() / 2], "{c:?}");
        assert!(a.windows(2).all(|w| w[0].arrival_us <= w[1].arrival_us));
    }
}
