// SPDX-License-Identifier: GPL-2.0-only
//! Modes: what each system class means for the policy, and which cgroups get a boost.
//!
//! A JSON config file (`models/modes.json` is the shipped default, compiled in) maps every
//! [`SystemClass`] to [`ModeParams`]: slice bounds (percent of `--slice-us`/`--slice-us-min`),
//! how strongly short predicted tasks go first, the run-to-completion bound, the slice of
//! batch CPU tasks, and CPU locality vs spreading. It also holds the classifier's window and
//! dwell, and `boost_cgroups`. The file is validated whole before it replaces the one in use.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::classify::{SystemClass, DWELL_WINDOWS_DEFAULT, NR_CLASSES};
use crate::core::policy::{ModeParams, BOOST_FACTOR_MAX};
use crate::formats::versioned::{check_version, content_hash, FileError};

/// The boosts in force, shared by the /proc worker (which resolves a task's boost) and the
/// config watcher (which replaces them).
pub type SharedBoosts = std::sync::Arc<arc_swap::ArcSwap<Vec<CgroupBoost>>>;

pub const FORMAT: &str = "scx_foresight-modes";
pub const SCHEMA_VERSION: u32 = 1;
/// The shipped config, used when no `--config` is given.
pub const BUILTIN: &str = include_str!("../../models/modes.json");
/// Factor of `--boost-cgroup PATH` without `:FACTOR`.
pub const BOOST_FACTOR_DEFAULT: f64 = 2.0;
/// Where cgroup v2 is mounted: a boost path may be given under it or relative to it.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// A cgroup whose tasks get `factor` times their share (as if their weight were larger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupBoost {
    /// The cgroup as /proc/<pid>/cgroup names it (`/a/b`); its descendants are boosted too.
    pub path: String,
    pub factor: f64,
}

impl CgroupBoost {
    /// `PATH[:FACTOR]`, PATH under /sys/fs/cgroup or relative to it.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (path, factor) = match spec.rsplit_once(':') {
            Some((p, f)) => {
                let factor = f
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("--boost-cgroup {spec}: factor `{f}` is not a number"))?;
                (p, factor)
            }
            None => (spec, BOOST_FACTOR_DEFAULT),
        };
        let b = Self {
            path: normalize_cgroup(path),
            factor,
        };
        b.validate()
            .map_err(|e| format!("--boost-cgroup {spec}: {e}"))?;
        Ok(b)
    }

    fn validate(&self) -> Result<(), String> {
        if !(self.factor.is_finite() && (1.0..=BOOST_FACTOR_MAX).contains(&self.factor)) {
            return Err(format!(
                "factor {} is outside 1..={BOOST_FACTOR_MAX} (the cap keeps other tasks' latency bounded)",
                self.factor
            ));
        }
        if self.path == "/" {
            return Err("boosting the root cgroup would boost every task".into());
        }
        if self.path.split('/').any(|c| c == "..") {
            return Err(format!("path `{}` must not contain `..`", self.path));
        }
        Ok(())
    }

    /// Does a task in `cgroup` (as /proc names it) fall under this boost?
    pub fn covers(&self, cgroup: &str) -> bool {
        cgroup
            .strip_prefix(self.path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// `/sys/fs/cgroup/a/b/`, `a/b` → `/a/b`.
pub fn normalize_cgroup(path: &str) -> String {
    let p = path.trim();
    let p = p.strip_prefix(CGROUP_ROOT).unwrap_or(p);
    let p = p.trim_matches('/');
    format!("/{p}")
}

/// The boost for a task in `cgroup`: the largest factor among the boosts covering it, as a
/// percentage (100 = none).
pub fn boost_pct(boosts: &[CgroupBoost], cgroup: &str) -> u64 {
    let factor = boosts
        .iter()
        .filter(|b| b.covers(cgroup))
        .map(|b| b.factor)
        .fold(1.0f64, f64::max);
    (factor.min(BOOST_FACTOR_MAX) * 100.0).round() as u64
}

/// The config file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModesFile {
    pub format: String,
    pub schema_version: u32,
    /// Length of one classification window (100..=60000 ms).
    pub window_ms: u64,
    /// Windows a new class must hold before the mode changes (1..=60).
    #[serde(default = "default_dwell")]
    pub dwell_windows: u32,
    /// One entry per class name (all of them).
    pub modes: BTreeMap<String, ModeParams>,
    #[serde(default)]
    pub boost_cgroups: Vec<CgroupBoost>,
}

fn default_dwell() -> u32 {
    DWELL_WINDOWS_DEFAULT
}

/// A validated config, ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeConfig {
    pub window_ms: u64,
    pub dwell_windows: u32,
    pub modes: [ModeParams; NR_CLASSES],
    pub boosts: Vec<CgroupBoost>,
    /// Content hash of the file (0 for a config built in code).
    pub hash: u64,
}

impl Default for ModeConfig {
    fn default() -> Self {
        Self {
            window_ms: 1000,
            dwell_windows: DWELL_WINDOWS_DEFAULT,
            modes: [ModeParams::default(); NR_CLASSES],
            boosts: Vec::new(),
            hash: 0,
        }
    }
}

impl ModeConfig {
    pub fn mode(&self, class: SystemClass) -> ModeParams {
        self.modes[class.index()]
    }

    /// The shipped config.
    pub fn builtin() -> Self {
        // Covered by a unit test: the shipped file always parses.
        Self::parse(BUILTIN.as_bytes()).unwrap_or_default()
    }

    /// Parse and validate config text.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let file: ModesFile =
            serde_json::from_slice(bytes).map_err(|e| format!("not a valid modes config: {e}"))?;
        check_version(&file.format, FORMAT, file.schema_version, SCHEMA_VERSION)?;
        if !(100..=60_000).contains(&file.window_ms) {
            return Err(format!(
                "window_ms {} is outside 100..=60000",
                file.window_ms
            ));
        }
        if !(1..=60).contains(&file.dwell_windows) {
            return Err(format!(
                "dwell_windows {} is outside 1..=60",
                file.dwell_windows
            ));
        }
        let mut modes = [ModeParams::default(); NR_CLASSES];
        for (name, params) in &file.modes {
            let class: SystemClass = name.parse()?;
            params
                .validate()
                .map_err(|e| format!("mode `{name}`: {e}"))?;
            modes[class.index()] = *params;
        }
        if let Some(missing) = SystemClass::ALL
            .iter()
            .find(|c| !file.modes.contains_key(c.name()))
        {
            return Err(format!(
                "mode `{missing}` is missing (every class needs one)"
            ));
        }
        let mut boosts = Vec::new();
        for b in &file.boost_cgroups {
            let b = CgroupBoost {
                path: normalize_cgroup(&b.path),
                factor: b.factor,
            };
            b.validate()
                .map_err(|e| format!("boost_cgroups `{}`: {e}", b.path))?;
            boosts.push(b);
        }
        Ok(Self {
            window_ms: file.window_ms,
            dwell_windows: file.dwell_windows,
            modes,
            boosts,
            hash: content_hash(bytes),
        })
    }

    /// Read and validate a config file; the error names it.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        crate::formats::versioned::load_with(path, Self::parse).map(|(v, _)| v)
    }

    /// This config with the command line's boosts added (they stay across reloads).
    pub fn with_boosts(mut self, extra: &[CgroupBoost]) -> Self {
        self.boosts.extend(extra.iter().cloned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses_and_covers_every_class() {
        let c = ModeConfig::parse(BUILTIN.as_bytes()).unwrap();
        assert_eq!(c.window_ms, 1000);
        assert!(c.dwell_windows >= 2);
        assert_ne!(c.hash, 0);
        assert_eq!(ModeConfig::builtin(), c);
    }

    #[test]
    fn bad_configs_are_refused_with_the_reason() {
        let good: serde_json::Value = serde_json::from_str(BUILTIN).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            ModeConfig::parse(v.to_string().as_bytes()).unwrap_err()
        };
        assert!(with(&|v| v["modes"]["idle"]["slice_pct"] = 5000.into()).contains("slice_pct"));
        assert!(with(&|v| {
            v["modes"].as_object_mut().unwrap().remove("mixed");
        })
        .contains("mixed"));
        assert!(with(&|v| v["modes"]["idle"]["slize_pct"] = 5.into()).contains("slize_pct"));
        assert!(with(&|v| v["window_ms"] = 1.into()).contains("window_ms"));
        assert!(with(&|v| v["modes"]["idle"]["cpu_choice"] = "random".into()).contains("random"));
        assert!(with(
            &|v| v["boost_cgroups"] = serde_json::json!([{"path": "/x", "factor": 100.0}])
        )
        .contains("factor"));
        assert!(ModeConfig::parse(b"{").unwrap_err().contains("not a valid"));
        let e = ModeConfig::load(Path::new("/nonexistent/modes.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/modes.json"));
    }

    #[test]
    fn boost_specs_and_matching() {
        let b = CgroupBoost::parse("/sys/fs/cgroup/prio/:4").unwrap();
        assert_eq!(b.path, "/prio");
        assert_eq!(b.factor, 4.0);
        assert_eq!(
            CgroupBoost::parse("web").unwrap().factor,
            BOOST_FACTOR_DEFAULT
        );
        assert!(CgroupBoost::parse("/x:99").unwrap_err().contains("99"));
        assert!(CgroupBoost::parse("/x:fast").unwrap_err().contains("fast"));
        assert!(CgroupBoost::parse("/:2").is_err());
        assert!(CgroupBoost::parse("/a/../b:2").is_err());
        assert!(b.covers("/prio"));
        assert!(b.covers("/prio/job1"));
        assert!(!b.covers("/priority"));
        assert!(!b.covers("/"));
        let boosts = vec![b, CgroupBoost::parse("/prio/job1:6").unwrap()];
        assert_eq!(boost_pct(&boosts, "/prio/job1/x"), 600);
        assert_eq!(boost_pct(&boosts, "/prio"), 400);
        assert_eq!(boost_pct(&boosts, "/other"), 100);
    }
}
