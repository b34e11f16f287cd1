// SPDX-License-Identifier: GPL-2.0-only
//! CSV files the live scheduler appends to from a worker thread: `--record FILE` (completed
//! tasks as sample rows) and `--trace-decisions FILE` (each decision, [`DecisionRow`]). The
//! loop only `try_send`s (a full buffer drops and counts, never blocks); the file is flushed
//! every second and when the writer is finished (on exit).

use crate::live::helper_thread;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;

use crate::live::handoff::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::core::model::Sample;
use crate::core::policy::{Decision, TaskView};
use crate::formats::csv::open_csv_for_append;
use crate::formats::samples::{header, Recorded};
use crate::live::procinfo::SharedNames;

/// Samples that may wait for the writer.
pub const RECORD_QUEUE: usize = 8192;
/// Decisions that may wait for the writer (the loop makes one per queued task).
pub const DECISION_QUEUE: usize = 65_536;
const FLUSH_PERIOD: Duration = Duration::from_secs(1);

/// A file of CSV rows of `T`, written by its own thread.
pub struct RowWriter<T> {
    pub tx: SyncSender<T>,
    handle: JoinHandle<std::io::Result<u64>>,
    path: PathBuf,
}

/// `--record`: completed tasks.
pub type Recorder = RowWriter<Sample>;
/// `--trace-decisions`: every decision the loop made.
pub type DecisionLog = RowWriter<DecisionRow>;

impl<T: Send + 'static> RowWriter<T> {
    /// Start thread `name` writing each row `line` makes of what the loop sends.
    fn spawn(
        name: &str,
        file: File,
        path: &Path,
        queue: usize,
        mut line: impl FnMut(&T) -> String + Send + 'static,
    ) -> Result<Self> {
        let mut out = BufWriter::new(file);
        let (tx, rx) = sync_channel::<T>(queue);
        let handle = helper_thread::spawn(name, helper_thread::LIGHT_BUDGET, move || {
            let mut written = 0u64;
            loop {
                match rx.recv_timeout(FLUSH_PERIOD) {
                    Ok(row) => {
                        writeln!(out, "{}", line(&row))?;
                        written += 1;
                    }
                    Err(RecvTimeoutError::Timeout) => out.flush()?,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            out.flush()?;
            Ok(written)
        })?;
        Ok(Self {
            tx,
            handle,
            path: path.to_path_buf(),
        })
    }

    /// Stop after the queued rows are written; returns how many were written.
    pub fn finish(self) -> Result<u64> {
        drop(self.tx);
        let n = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("the writer of {} panicked", self.path.display()))?
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(n)
    }
}

impl Recorder {
    /// Open `path` for appending (writing the header to a new file; refusing a file that is
    /// not a whole samples file) and start the writer.
    pub fn start(path: &Path, names: SharedNames) -> Result<Self> {
        let file =
            open_csv_for_append(path, &header()).context("cannot record samples (--record)")?;
        Self::spawn("recorder", file, path, RECORD_QUEUE, move |s: &Sample| {
            let identity = s
                .func
                .and_then(|f| {
                    names
                        .lock()
                        .ok()
                        .and_then(|n| n.name(f).map(str::to_string))
                })
                .unwrap_or_else(|| "[unknown]".to_string());
            Recorded::from_sample(identity, s).to_line()
        })
    }
}

/// One decision as `--trace-decisions` writes it: what the policy saw and what it said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRow {
    /// The round's clock (CLOCK_MONOTONIC ns) and number.
    pub now_ns: u64,
    pub round: u64,
    pub pid: i32,
    pub comm: [u8; 16],
    /// Queued after a sleep (the kernel's wakeup flag).
    pub wakeup: bool,
    /// Tasks in the batch it was decided in.
    pub nr_waiting: usize,
    pub view: TaskView,
    pub decision: Decision,
}

/// The trace's header: one column per field of [`DecisionRow::line`].
pub const DECISION_HEADER: &str = "now_ns,round,pid,comm,wakeup,nr_waiting,weight,cpu_so_far_ns,\
predicted_total_ns,burst_ewma_ns,sleep_ratio,held_since_ns,woke_uninterruptible,class,\
remaining_ns,deadline_ns,slice_ns,timed";

impl DecisionRow {
    /// The CSV row (an unknown prediction or hold: an empty field).
    pub fn line(&self) -> String {
        let (v, d) = (&self.view, &self.decision);
        let opt = |x: Option<u64>| x.map_or(String::new(), |x| x.to_string());
        let comm = String::from_utf8_lossy(&self.comm);
        format!(
            "{},{},{},{},{},{},{},{},{},{},{:.3},{},{},{},{},{},{},{}",
            self.now_ns,
            self.round,
            self.pid,
            comm.trim_end_matches('\0').replace(',', " "),
            u8::from(self.wakeup),
            self.nr_waiting,
            v.weight,
            v.cpu_so_far_ns,
            opt(v.predicted_total_ns),
            v.burst_ewma_ns,
            v.sleep_ratio,
            opt(v.held_since),
            u8::from(v.woke_uninterruptible),
            d.class.name(),
            d.remaining_ns,
            d.deadline,
            d.slice_ns,
            u8::from(d.timed),
        )
    }
}

impl DecisionLog {
    /// Open `path` for appending (a new file gets the header; another CSV is refused) and
    /// start the writer.
    pub fn start(path: &Path) -> Result<Self> {
        let file = open_csv_for_append(path, DECISION_HEADER)
            .context("cannot trace decisions (--trace-decisions)")?;
        Self::spawn("decisions", file, path, DECISION_QUEUE, DecisionRow::line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::Invocation;
    use crate::formats::samples;

    #[test]
    fn rows_are_appended_and_read_back() {
        let dir = std::env::temp_dir().join(format!("foresight-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rec.csv");
        let _ = std::fs::remove_file(&path);
        let names = SharedNames::default();
        let id = names.lock().unwrap().intern("/bin/fib").unwrap();
        let inv = Invocation::from_args("/bin/fib", ["25"]);
        let sample = Sample {
            func: Some(id),
            exe: None,
            fx: inv.function_features(),
            cx: inv.category_features(),
            gx: crate::core::features::general_features(Some(&inv), &Default::default()),
            cpu_ns: 7_000_000,
        };
        for _ in 0..2 {
            let r = Recorder::start(&path, names.clone()).unwrap();
            r.tx.send(sample).unwrap();
            assert_eq!(r.finish().unwrap(), 1);
        }
        let back = samples::read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].identity, "/bin/fib");
        assert_eq!(back[0].numeric, vec![25.0]);
        assert_eq!(back[0].cpu_us, 7000);
        std::fs::write(&path, "not,a,samples,file\n").unwrap();
        assert!(Recorder::start(&path, names).is_err());
    }

    #[test]
    fn decisions_are_written_one_row_each_under_their_header() {
        use crate::core::policy::{Policy, SliceConfig};
        let dir = std::env::temp_dir().join(format!("foresight-dec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dec.csv");
        let _ = std::fs::remove_file(&path);
        let view = TaskView {
            weight: 100,
            cpu_so_far_ns: 3_000_000,
            predicted_total_ns: Some(5_000_000),
            held_since: Some(7),
            ..TaskView::default()
        };
        let decision = Policy::new(SliceConfig::defaults(1)).decide(&view, 1_000, 2);
        let mut comm = [0u8; 16];
        comm[..8].copy_from_slice(b"a,b test");
        let row = DecisionRow {
            now_ns: 1_000,
            round: 4,
            pid: 42,
            comm,
            wakeup: true,
            nr_waiting: 2,
            view,
            decision,
        };
        let log = DecisionLog::start(&path).unwrap();
        log.tx.send(row).unwrap();
        assert_eq!(log.finish().unwrap(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let header: Vec<&str> = lines[0].split(',').collect();
        let fields: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(header.len(), fields.len(), "{}", lines[1]);
        let field = |name: &str| fields[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(field("comm"), "a b test");
        assert_eq!(field("remaining_ns"), "2000000");
        assert_eq!(field("held_since_ns"), "7");
        assert_eq!(field("class"), "faas");
        assert_eq!(field("deadline_ns"), decision.deadline.to_string());
        // Appending keeps the one header; another CSV is refused.
        let log = DecisionLog::start(&path).unwrap();
        log.tx.send(row).unwrap();
        log.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
        std::fs::write(&path, "not,a,decisions,file\n").unwrap();
        assert!(DecisionLog::start(&path).is_err());
    }
}
