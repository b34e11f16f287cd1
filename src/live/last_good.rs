// SPDX-License-Identifier: GPL-2.0-only
//! The input files a worker last accepted (modes config, classifier, model files), kept for
//! the worker the supervisor starts after it.
//!
//! A worker started again after an eviction or the kernel's restart request must attach even
//! if a file was broken in between (measured: a 600 s soak lost its scheduler for 290 s when a
//! restarted worker refused a corrupt modes config). Such a worker falls back to the copy kept
//! here, else to the built-in default, says so, and keeps watching the file. A first start
//! still refuses a bad file: the user who started it is there to fix it.

use std::path::{Path, PathBuf};

use log::{error, warn};

use crate::formats::versioned::FileError;

/// The folder the supervisor made for its workers' copies (set by the supervisor).
pub const LAST_GOOD_ENV: &str = "SCX_FORESIGHT_LAST_GOOD";
/// Set by the supervisor on every worker after the first.
pub const RESTARTED_ENV: &str = "SCX_FORESIGHT_RESTARTED";
/// Where supervisors make their folders (tmpfs: nothing outlives a reboot).
pub const RUN_DIR: &str = "/run/scx_foresight";
/// A supervisor's folder is `last-good.<pid>` under RUN_DIR.
const DIR_PREFIX: &str = "last-good.";

/// The copies a worker keeps and, when restarted, falls back to.
#[derive(Debug, Clone, Default)]
pub struct LastGood {
    dir: Option<PathBuf>,
    restarted: bool,
}

impl LastGood {
    pub fn new(dir: Option<PathBuf>, restarted: bool) -> Self {
        Self { dir, restarted }
    }

    /// What the supervisor told this worker.
    pub fn from_env() -> Self {
        Self::new(
            std::env::var_os(LAST_GOOD_ENV).map(PathBuf::from),
            std::env::var_os(RESTARTED_ENV).is_some(),
        )
    }

    /// Keep the texts of an input just accepted (`name`: "modes config", "classifier",
    /// "models"; the copy is `<name>.json`).
    /// A copy that cannot be written costs only the fallback, so it is logged, not fatal.
    pub fn keep(&self, name: &str, texts: &[&[u8]]) {
        let Some(dir) = &self.dir else { return };
        let texts: Vec<String> = texts
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        let written = serde_json::to_vec(&texts)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                crate::formats::versioned::write_atomically(&copy_path(dir, name), &json)
            });
        if let Err(e) = written {
            warn!(
                "cannot keep a copy of the accepted {name} in {}: {e}",
                dir.display()
            );
        }
    }

    /// The texts kept for `name`, if any.
    fn recall(&self, name: &str) -> Option<Vec<String>> {
        let bytes = std::fs::read(copy_path(self.dir.as_ref()?, name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// `loaded` as is on a first start; on a restart a failed load falls back to the kept
    /// copy (parsed by `parse`), else to `default` — logged either way, never an error.
    pub fn or_fallback<T>(
        &self,
        name: &str,
        loaded: Result<T, FileError>,
        parse: impl FnOnce(&[String]) -> Result<T, String>,
        default: impl FnOnce() -> T,
        default_what: &str,
    ) -> Result<T, FileError> {
        let err = match loaded {
            Ok(v) => return Ok(v),
            Err(e) if !self.restarted => return Err(e),
            Err(e) => e,
        };
        match self.recall(name).map(|texts| parse(&texts)) {
            Some(Ok(v)) => {
                error!(
                    "{err}; restarted, so using the {name} last accepted until the file is fixed"
                );
                Ok(v)
            }
            Some(Err(why)) => {
                error!("{err}; restarted, and the copy of the {name} last accepted is unusable ({why}): using {default_what} until the file is fixed");
                Ok(default())
            }
            None => {
                error!("{err}; restarted, and no {name} was accepted before: using {default_what} until the file is fixed");
                Ok(default())
            }
        }
    }
}

fn copy_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// The supervisor's folder for its workers' copies; removed when dropped.
pub struct LastGoodDir {
    path: PathBuf,
}

impl LastGoodDir {
    /// Make `<run_dir>/last-good.<pid>`, first removing the folders of supervisors gone
    /// without cleaning up (e.g. `kill -9`).
    pub fn create(run_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(run_dir)?;
        for entry in std::fs::read_dir(run_dir)?.flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX));
            if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let path = run_dir.join(format!("{DIR_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LastGoodDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(file: &str) -> Result<u32, FileError> {
        Err(FileError::new(file, "not valid"))
    }

    fn parse_first(texts: &[String]) -> Result<u32, String> {
        texts
            .first()
            .ok_or("empty")?
            .trim()
            .parse()
            .map_err(|e| format!("{e}"))
    }

    /// A first start refuses a bad file; a restart takes the kept copy, else the default; a
    /// good file wins over both.
    #[test]
    fn restarts_fall_back_first_starts_refuse() {
        let run = std::env::temp_dir().join(format!("fs-last-good-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        let dir = LastGoodDir::create(&run).unwrap();
        let first = LastGood::new(Some(dir.path().to_path_buf()), false);
        let again = LastGood::new(Some(dir.path().to_path_buf()), true);

        assert!(first
            .or_fallback("modes", bad("m.json"), parse_first, || 7, "the default")
            .is_err());
        // Nothing kept yet: the default.
        assert_eq!(
            again.or_fallback("modes", bad("m.json"), parse_first, || 7, "the default"),
            Ok(7)
        );
        first.keep("modes", &[b"42\n"]);
        assert_eq!(
            again.or_fallback("modes", bad("m.json"), parse_first, || 7, "the default"),
            Ok(42)
        );
        assert_eq!(
            again.or_fallback("modes", Ok(5), parse_first, || 7, "the default"),
            Ok(5)
        );
        // An unusable copy: the default, not an error.
        first.keep("modes", &[b"x"]);
        assert_eq!(
            again.or_fallback("modes", bad("m.json"), parse_first, || 7, "the default"),
            Ok(7)
        );
        let kept = dir.path().to_path_buf();
        drop(dir);
        assert!(!kept.exists(), "the folder goes with the supervisor");
        let _ = std::fs::remove_dir_all(&run);
    }
}
