// SPDX-License-Identifier: GPL-2.0-only
//! `--record FILE`: completed tasks appended as sample rows by a worker thread. The loop only
//! `try_send`s (a full buffer drops and counts, never blocks); the file is flushed every
//! second and when the recorder is finished (on exit).

use crate::live::helper_thread;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;

use crate::live::handoff::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::core::model::Sample;
use crate::formats::csv::open_csv_for_append;
use crate::formats::samples::{header, Recorded};
use crate::live::procinfo::SharedNames;

/// Samples that may wait for the writer.
pub const RECORD_QUEUE: usize = 8192;
const FLUSH_PERIOD: Duration = Duration::from_secs(1);

pub struct Recorder {
    pub tx: SyncSender<Sample>,
    handle: JoinHandle<std::io::Result<u64>>,
    path: PathBuf,
}

impl Recorder {
    /// Open `path` for appending (writing the header to a new file; refusing a file that is
    /// not a whole samples file) and start the writer.
    pub fn start(path: &Path, names: SharedNames) -> Result<Self> {
        let file =
            open_csv_for_append(path, &header()).context("cannot record samples (--record)")?;
        let mut out = BufWriter::new(file);
        let (tx, rx) = sync_channel::<Sample>(RECORD_QUEUE);
        let handle = helper_thread::spawn("recorder", helper_thread::LIGHT_BUDGET, move || {
            let mut written = 0u64;
            loop {
                match rx.recv_timeout(FLUSH_PERIOD) {
                    Ok(s) => {
                        let identity = s
                            .func
                            .and_then(|f| {
                                names
                                    .lock()
                                    .ok()
                                    .and_then(|n| n.name(f).map(str::to_string))
                            })
                            .unwrap_or_else(|| "[unknown]".to_string());
                        writeln!(out, "{}", Recorded::from_sample(identity, &s).to_line())?;
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
            .map_err(|_| anyhow::anyhow!("the recorder thread panicked"))?
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(n)
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
}
