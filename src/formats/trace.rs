// SPDX-License-Identifier: GPL-2.0-only
//! Invocation traces: CSV `arrival_us,function,args,cpu_us`, one row per invocation, parsed
//! strictly (errors name the line). `offline::tracegen` generates them.

use std::fmt::Write as _;
use std::path::Path;

use crate::formats::csv::{self, quote_csv, read_input};
use crate::formats::versioned::FileError;

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

/// Read and validate a whole trace file.
pub fn read(path: &Path) -> Result<Vec<Row>, FileError> {
    let (text, file) = read_input(path)?;
    parse(&text, &file)
}

/// Parse trace text; `file` names the source in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Row>, FileError> {
    let bad = |line: usize, reason: String| FileError::at(file, line, reason);
    let mut rows = Vec::new();
    let mut last_arrival = 0;
    for (n, fields) in csv::rows(text, file, HEADER, Some(4))? {
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

#[cfg(test)]
mod tests {
    use super::*;

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
                Err(FileError {
                    line: Some(l),
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
}
