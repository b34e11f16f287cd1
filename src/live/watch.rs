// SPDX-License-Identifier: GPL-2.0-only
//! Watching input files for the threads that hot-reload them (the models; the modes config
//! and the classifier): the files a path names, their fingerprint (names, sizes, mtimes)
//! polled, and SIGHUP. One [`FileWatch`] per watcher; each sees every SIGHUP once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Bumped by the SIGHUP handler; every watcher (models, modes config, classifier) reloads
/// when it sees a count it has not seen yet.
pub static RELOAD_SIGNALS: AtomicU64 = AtomicU64::new(0);

/// Has a SIGHUP arrived since this watcher last looked (`seen` is its own count)?
pub fn sighup_since(seen: &mut u64) -> bool {
    let now = RELOAD_SIGNALS.load(Ordering::SeqCst);
    std::mem::replace(seen, now) != now
}

/// A classifier or modes file sitting beside the model files (models/ ships all three):
/// recognised by the `format` they open with.
fn is_other_config(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    [crate::core::classmodel::FORMAT, crate::core::modes::FORMAT]
        .iter()
        .any(|f| head.contains(&format!("\"{f}\"")))
}

/// The most entries a model directory may hold: listing it is bounded work for the watcher,
/// which looks every POLL_PERIOD (a directory of 10,000 files is refused, not scanned).
pub const MAX_MODEL_DIR_ENTRIES: usize = 1024;

/// The model files under `path`: the file itself, or every `*.json` in a directory (sorted).
pub fn model_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = std::fs::read_dir(path).map_err(|e| format!("cannot list: {e}"))?;
    let mut entries = Vec::new();
    for e in dir.take(MAX_MODEL_DIR_ENTRIES + 1) {
        entries.push(e.map_err(|e| format!("cannot list: {e}"))?.path());
    }
    if entries.len() > MAX_MODEL_DIR_ENTRIES {
        return Err(format!(
            "more than {MAX_MODEL_DIR_ENTRIES} entries in this model directory; not scanning it"
        ));
    }
    let mut files: Vec<PathBuf> = entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !is_other_config(p))
        .collect();
    files.sort();
    Ok(files)
}

/// One file's fingerprint: path, size, mtime.
pub type FileStamp = (PathBuf, u64, Option<SystemTime>);

/// Fingerprint of the files under `path` (names, sizes, mtimes): a change means reload. A
/// directory that cannot be listed has none (a change to a listable one means reload).
pub fn fingerprint(path: &Path) -> Vec<FileStamp> {
    model_files(path)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let mtime = meta.and_then(|m| m.modified().ok());
            (f, len, mtime)
        })
        .collect()
}

/// When the newest of the fingerprinted files was last modified.
fn newest_change(files: &[FileStamp]) -> Option<SystemTime> {
    files.iter().filter_map(|(_, _, t)| *t).max()
}

/// "applied N s after the file changed": the reload latency, measured here rather than by a
/// watcher that polls our log (whose own forks are slow under emulation).
fn since_change(changed_at: Option<SystemTime>) -> String {
    match changed_at.and_then(|t| t.elapsed().ok()) {
        Some(age) => format!("applied {:.3} s after the file changed", age.as_secs_f64()),
        None => "file time unknown".into(),
    }
}

/// A reason to reload: a watched file changed, or SIGHUP arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// When the newest watched file was last modified.
    pub newest: Option<SystemTime>,
    /// Files the watched paths name now (0: none listed, e.g. every one deleted).
    pub files: usize,
}

impl Change {
    /// "applied N s after the file changed", for the reload's log line.
    pub fn since(&self) -> String {
        since_change(self.newest)
    }
}

/// The watched paths as last seen, and the SIGHUPs this watcher has seen.
#[derive(Debug)]
pub struct FileWatch {
    paths: Vec<PathBuf>,
    seen: Vec<FileStamp>,
    hups: u64,
}

impl FileWatch {
    /// Watch `paths` from now on. Take it before the first load: a change made while loading,
    /// or before the watcher thread first runs, still counts (a CI run once missed one).
    pub fn new(paths: Vec<PathBuf>) -> Self {
        let mut w = Self {
            paths,
            seen: Vec::new(),
            hups: RELOAD_SIGNALS.load(Ordering::SeqCst),
        };
        w.seen = w.stamps();
        w
    }

    fn stamps(&self) -> Vec<FileStamp> {
        self.paths.iter().flat_map(|p| fingerprint(p)).collect()
    }

    /// Whether to reload now: a watched file changed or SIGHUP arrived since the last poll.
    pub fn poll(&mut self) -> Option<Change> {
        let now = self.stamps();
        let hup = sighup_since(&mut self.hups);
        if now == self.seen && !hup {
            return None;
        }
        let change = Change {
            newest: newest_change(&now),
            files: now.len(),
        };
        self.seen = now;
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_seen_once_and_a_directory_lists_model_files_only() {
        let dir = std::env::temp_dir().join(format!("foresight-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.json"), "{}").unwrap();
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        std::fs::write(
            dir.join("modes.json"),
            format!("{{\"format\": \"{}\"}}", crate::core::modes::FORMAT),
        )
        .unwrap();
        assert_eq!(model_files(&dir).unwrap(), vec![dir.join("a.json")]);
        let mut w = FileWatch::new(vec![dir.clone()]);
        assert_eq!(w.poll(), None);
        std::fs::write(dir.join("a.json"), "{ }").unwrap();
        let change = w.poll().expect("a size change is a change");
        assert_eq!(change.files, 1);
        assert_eq!(w.poll(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
