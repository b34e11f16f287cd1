// SPDX-License-Identifier: GPL-2.0-only
//! Checks before attaching: does this kernel have sched_ext, are we root, is the slot free?
//!
//! Each failure is a distinct error with a message that tells the user what to do, instead of
//! a libbpf error from deep inside the load.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the kernel exposes sched_ext's state.
pub const SCHED_EXT_SYSFS: &str = "/sys/kernel/sched_ext";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreflightError {
    #[error(
        "this kernel has no sched_ext ({0} not found; it needs CONFIG_SCHED_CLASS_EXT=y, Linux >= 6.12). \
         To try scx_foresight anyway, run it in the VM: `cargo xtask demo`"
    )]
    NoSchedExt(PathBuf),
    #[error("scx_foresight must run as root (effective uid is {0}); try `sudo scx_foresight`")]
    NotRoot(u32),
    #[error(
        "another sched_ext scheduler is already attached ({ops}, state {state}); stop it first"
    )]
    AlreadyAttached { ops: String, state: String },
}

/// Run every check against the sysfs directory `sysfs` as user `euid`.
pub fn check(sysfs: &Path, euid: u32) -> Result<(), PreflightError> {
    if !sysfs.join("state").exists() {
        return Err(PreflightError::NoSchedExt(sysfs.to_path_buf()));
    }
    if euid != 0 {
        return Err(PreflightError::NotRoot(euid));
    }
    let state = read_trimmed(&sysfs.join("state"));
    if state != "disabled" {
        let ops = read_trimmed(&sysfs.join("root").join("ops"));
        let ops = if ops.is_empty() {
            "unknown".to_string()
        } else {
            ops
        };
        return Err(PreflightError::AlreadyAttached { ops, state });
    }
    Ok(())
}

/// A sysfs attribute's content without the newline; empty when unreadable.
pub fn read_trimmed(path: &Path) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// CPUs listed in a sysfs cpu list such as `0-3,5` (e.g. /sys/devices/system/cpu/online).
pub fn parse_cpu_list(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let mut ends = part.splitn(2, '-').map(|n| n.trim().parse::<usize>());
        match (ends.next(), ends.next()) {
            (Some(Ok(a)), None) => cpus.push(a),
            (Some(Ok(a)), Some(Ok(b))) if a <= b => cpus.extend(a..=b),
            _ => {}
        }
    }
    cpus
}

/// The CPUs online now (read once at attach; a hotplug event restarts the scheduler).
pub fn online_cpus() -> Vec<usize> {
    parse_cpu_list(&read_trimmed(Path::new("/sys/devices/system/cpu/online")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sysfs(state: Option<&str>, ops: Option<&str>) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "foresight-preflight-{}-{}",
            std::process::id(),
            state.unwrap_or("none").to_string() + ops.unwrap_or("")
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root")).unwrap();
        if let Some(s) = state {
            fs::write(dir.join("state"), format!("{s}\n")).unwrap();
        }
        if let Some(o) = ops {
            fs::write(dir.join("root/ops"), format!("{o}\n")).unwrap();
        }
        dir
    }

    #[test]
    fn missing_sched_ext_is_reported_first() {
        let dir = fake_sysfs(None, None);
        assert_eq!(
            check(&dir, 1000),
            Err(PreflightError::NoSchedExt(dir.clone()))
        );
        let msg = check(&dir, 0).unwrap_err().to_string();
        assert!(msg.contains("CONFIG_SCHED_CLASS_EXT") && msg.contains("cargo xtask demo"));
    }

    #[test]
    fn non_root_is_refused() {
        let dir = fake_sysfs(Some("disabled"), None);
        assert_eq!(check(&dir, 1000), Err(PreflightError::NotRoot(1000)));
    }

    #[test]
    fn attached_scheduler_is_named() {
        let dir = fake_sysfs(Some("enabled"), Some("scx_bpfland_1.0.0_x86_64"));
        let err = check(&dir, 0).unwrap_err();
        assert!(
            err.to_string().contains("scx_bpfland_1.0.0_x86_64"),
            "{err}"
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,5\n"), vec![0, 1, 2, 3, 5]);
        assert_eq!(parse_cpu_list("0"), vec![0]);
        assert_eq!(parse_cpu_list(""), Vec::<usize>::new());
        assert_eq!(parse_cpu_list("x,3-1,7"), vec![7]);
    }

    #[test]
    fn free_slot_passes() {
        let dir = fake_sysfs(Some("disabled"), None);
        assert_eq!(check(&dir, 0), Ok(()));
    }
}
