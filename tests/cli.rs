// SPDX-License-Identifier: GPL-2.0-only
//! The binary's command line, run for real on this host (no kernel attach needed).

use std::path::Path;

mod common;
use common::*;

#[test]
fn help_documents_every_scx_flag() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let help = text(&o);
    for flag in [
        "--slice-us",
        "--slice-us-min",
        "--partial",
        "--verbose",
        "--exit-dump-len",
        "--stats",
        "--monitor",
        "--version",
        // libbpf's options, as every scx scheduler (scx_utils::LibbpfOpts).
        "--relaxed-maps",
        "--pin-root-path",
        "--kconfig",
        "--btf-custom-path",
        "--bpf-token-path",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn version_is_printed() {
    for flag in ["-V", "--version"] {
        let o = run(&[flag]);
        assert!(o.status.success());
        assert!(text(&o).contains(env!("CARGO_PKG_VERSION")));
        // The scx build id (target triple) and the core's version, as scx schedulers print.
        assert!(text(&o).contains("x86_64") || text(&o).contains("aarch64"));
        assert!(text(&o).contains("scx_rustland_core "), "{}", text(&o));
    }
}

#[test]
fn bad_flag_exits_2_and_names_it() {
    let o = run(&["--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--no-such-flag"));
}

/// `args` exit with `code` and an error that contains `says`.
fn refused(args: &[&str], code: i32, says: &str) {
    let o = run(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
    assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
}

#[test]
fn absurd_values_are_refused_before_touching_the_kernel() {
    refused(
        &["--slice-us", "100", "--slice-us-min", "500"],
        1,
        "--slice-us-min 500 is larger than --slice-us 100",
    );
    refused(&["--stats", "0"], 1, "--stats 0");
    // A lead past the aging bound could keep a task waiting until the kernel's watchdog.
    refused(
        &["--uninterruptible-lead-ms", "1001"],
        2,
        "'1001' for '--uninterruptible-lead-ms",
    );
    // A D wakee's slice is at most a second: more would be no cap at all.
    refused(
        &["--uninterruptible-slice-us", "1000001"],
        2,
        "'1000001' for '--uninterruptible-slice-us",
    );
}

/// On a kernel without sched_ext (like the build machines) the refusal says why and what to do;
/// on one with sched_ext, a non-root user is told to use root.
#[test]
fn host_without_sched_ext_or_root_gets_a_clear_error() {
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    let msg = text(&o);
    if !Path::new("/sys/kernel/sched_ext").exists() {
        assert!(msg.contains("this kernel has no sched_ext"), "{msg}");
        assert!(msg.contains("cargo xtask demo"), "{msg}");
    } else if unsafe { libc::geteuid() } != 0 {
        assert!(msg.contains("must run as root"), "{msg}");
    }
}

#[test]
fn classification_flags_are_documented_and_checked() {
    let help = text(&run(&["--help"]));
    for flag in [
        "--config",
        "--classifier",
        "--boost-cgroup",
        "--record-signals",
        "--monitor",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let o = run(&["--boost-cgroup", "/prio:50"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("factor 50"), "{}", text(&o));
    let o = run(&["--boost-cgroup", "/prio:fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("fast"));
}

/// Nothing running (or a restart between two workers): --monitor says so and waits, as the
/// scx monitors do, rather than exiting.
#[test]
fn monitor_without_a_running_scheduler_says_so_and_waits() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scx_foresight"))
        .args(["--monitor", "0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // scx's client retries every second: long enough for a few retries.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(child.try_wait().unwrap().is_none(), "--monitor gave up");
    child.kill().unwrap();
    let o = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains("no running scx_foresight"), "{said}");
    assert_eq!(
        said.matches("waiting for one").count(),
        1,
        "said once: {said}"
    );
    let o = run(&["--monitor", "0"]);
    assert!(text(&o).contains("--stats 0") || text(&o).contains("interval"));
}
