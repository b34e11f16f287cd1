// SPDX-License-Identifier: GPL-2.0-only
//! The xtask commands: demo, vm-test, test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::{cmd, host_deps, initramfs, kernel, protocol, vm, DemoArgs, VmArgs, VmTestArgs};

/// Our binaries that go into the guest.
const GUEST_BINARIES: &[&str] = &["scx_foresight", "foresight_payload", "foresight_loadgen"];
/// Whole VM test run limit (all cases, one boot, TCG; a full 10-minute soak included).
const VM_TEST_TIMEOUT: Duration = Duration::from_secs(35 * 60);
/// The soak drill's length in `cargo xtask test` (CI): a minute, not the full ten.
const TEST_SOAK_S: u32 = 60;
/// Processes of the churn drill in `cargo xtask test`: fork costs ~10 ms under TCG, so the
/// full 100,000 (the `vm-test` default) would take most of an hour.
const TEST_CHURN: u32 = 10_000;
/// Demo run limit beyond its workload duration.
const DEMO_SLACK: Duration = Duration::from_secs(180);

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"))
}

/// Install host packages when missing, then build our binaries (release).
fn build_binaries() -> Result<Vec<PathBuf>> {
    host_deps::ensure()?;
    cmd::run(cargo().current_dir(cmd::workspace_root()).args([
        "build",
        "--release",
        "--package",
        "scx_foresight",
        "--bins",
    ]))?;
    Ok(GUEST_BINARIES
        .iter()
        .map(|b| target_dir().join("release").join(b))
        .collect())
}

/// Binaries (ours and `extra`), kernel and initramfs, plus a fresh results directory.
pub fn prepare(
    args: &VmArgs,
    what: &str,
    extra: &[PathBuf],
    files: &[initramfs::GuestFile],
) -> Result<(kernel::Kernel, PathBuf, PathBuf)> {
    let mut bins = build_binaries()?;
    bins.extend_from_slice(extra);
    let kernel = kernel::resolve(&args.kernel)?;
    let vm_dir = target_dir().join("vm");
    fs::create_dir_all(&vm_dir)?;
    let initrd = vm_dir.join("initramfs.cpio");
    initramfs::build(&bins, &kernel, &initrd, files)?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let results = args
        .results
        .clone()
        .unwrap_or_else(|| vm_dir.join("results").join(format!("{what}-{stamp}")));
    fs::create_dir_all(&results).with_context(|| format!("cannot create {}", results.display()))?;
    eprintln!(
        "xtask: kernel {} ({}), initramfs {} MiB, results in {}",
        kernel.version,
        kernel.image.display(),
        fs::metadata(&initrd)?.len() >> 20,
        results.display()
    );
    Ok((kernel, initrd, results))
}

/// Save the guest's kernel log (lines the guest prefixed with @@KMSG).
pub fn save_kmsg(lines: &[String], results: &Path) -> Result<()> {
    save_prefixed(lines, protocol::KMSG, &results.join("dmesg.txt"))
}

/// Write the console lines that carry `prefix` (without it) to `path`, if there are any.
fn save_prefixed(lines: &[String], tag: &str, path: &Path) -> Result<()> {
    let found: Vec<&str> = lines
        .iter()
        .filter_map(|l| protocol::body(l, tag))
        .collect();
    if !found.is_empty() {
        fs::write(path, found.join("\n") + "\n")?;
    }
    Ok(())
}

pub fn demo(args: &DemoArgs) -> Result<()> {
    if args.native {
        return demo_native(args);
    }
    let machine = args.vm.machine(vm::CASES_MACHINE)?;
    let (kernel, initrd, results) = prepare(&args.vm, "demo", &[], &[])?;
    let out = vm::boot(&vm::Spec {
        kernel: &kernel,
        machine,
        initrd: &initrd,
        script: "demo.sh",
        params: vec![format!("fs_duration={}", args.duration_s)],
        timeout: DEMO_SLACK + Duration::from_secs(args.duration_s.into()),
        log: results.join("console.log"),
        echo: |l| !protocol::is(l, protocol::KMSG) && !protocol::is(l, protocol::BOOTED),
    })?;
    save_kmsg(&out.lines, &results)?;
    eprintln!(
        "xtask: demo done in {:.1} s ({:?}); console log {}",
        out.wall.as_secs_f64(),
        out.accel,
        results.join("console.log").display()
    );
    if !out.lines.iter().any(|l| protocol::is(l, protocol::DEMO_OK)) {
        bail!("the demo did not complete (see {})", results.display());
    }
    Ok(())
}

/// The same demo script, on this host's own sched_ext kernel.
fn demo_native(args: &DemoArgs) -> Result<()> {
    if !Path::new("/sys/kernel/sched_ext").exists() {
        bail!("this host's kernel has no sched_ext (/sys/kernel/sched_ext missing); drop --native to use the VM");
    }
    let bins = build_binaries()?;
    let bin_dir = bins[0].parent().context("binary dir")?;
    let guest = cmd::workspace_root().join("xtask/guest");
    cmd::run(
        cmd::as_root("sh")
            .arg(guest.join("demo.sh"))
            .env("FS_BIN", bin_dir)
            .env("FS_GUEST", &guest)
            .env("fs_duration", args.duration_s.to_string()),
    )
}

/// One case's verdict as printed by the guest.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub secs: f64,
    pub detail: String,
}

/// `@@CASE <name> <PASS|FAIL> <secs> <detail...>`
pub fn parse_case(line: &str) -> Option<CaseResult> {
    let rest = protocol::body(line, protocol::CASE)?;
    let mut words = rest.splitn(4, ' ');
    let name = words.next()?.to_string();
    let passed = match words.next()? {
        "PASS" => true,
        "FAIL" => false,
        _ => return None,
    };
    let secs = words.next()?.parse().ok()?;
    let detail = words.next().unwrap_or("").to_string();
    Some(CaseResult {
        name,
        passed,
        secs,
        detail,
    })
}

pub struct Tally {
    pub passed: usize,
    pub failed: usize,
}

/// Cases whose verdict is a timing, or a race between the workload and our helper threads
/// (exec-identity: on the wall-clock 2-vCPU machine with hogs the /proc worker fell behind the
/// execs): they run on the validated measuring machine (`vm::MEASURE_MACHINE`) in a boot of
/// their own, unless --clock/--tcg/--cpus name a machine for every case.
const TIMED_CASES: &[&str] = &["faas-priority", "exec-identity", "exec-end-long"];

/// The VM boots of one machine shape: the cases it ran and how each boot went.
struct Group {
    machine: vm::Machine,
    cases: Vec<CaseResult>,
    planned: Vec<String>,
    boots: Vec<(vm::Outcome, PathBuf, Option<String>)>,
}

/// Run `wanted` cases (all but `skip` when empty) on `machine`. When the guest kernel crashes
/// (under TCG, cross-modifying code occasionally trips an `int3` Oops while sched_ext patches
/// static branches), the crash is printed and the cases still without a verdict run once more
/// in a fresh boot.
fn run_group(
    args: &VmTestArgs,
    machine: vm::Machine,
    kernel: &kernel::Kernel,
    initrd: &Path,
    log_prefix: &Path,
    mut wanted: Vec<String>,
    skip: &[&str],
) -> Result<Group> {
    let mut g = Group {
        machine,
        cases: Vec::new(),
        planned: Vec::new(),
        boots: Vec::new(),
    };
    for attempt in 1..=2 {
        let mut params = vec![
            format!("fs_soak_s={}", args.soak_s),
            format!("fs_churn={}", args.churn),
        ];
        if !wanted.is_empty() {
            params.push(format!("fs_cases={}", wanted.join(",")));
        }
        if !skip.is_empty() {
            params.push(format!("fs_skip={}", skip.join(",")));
        }
        let log = PathBuf::from(format!("{}-{attempt}.log", log_prefix.display()));
        let results = log_prefix.parent().unwrap_or(Path::new("."));
        let out = vm::boot(&vm::Spec {
            kernel,
            machine,
            initrd,
            script: "vm-test.sh",
            params,
            timeout: VM_TEST_TIMEOUT,
            log: log.clone(),
            echo: |l| protocol::is(l, protocol::CASE) || protocol::is(l, protocol::INFO),
        })?;
        save_kmsg(&out.lines, results)?;
        save_prefixed(
            &out.lines,
            protocol::REC,
            &results.join("recorded-samples.csv"),
        )?;
        save_prefixed(
            &out.lines,
            protocol::SIG,
            &results.join("signal-windows.csv"),
        )?;
        if g.planned.is_empty() {
            g.planned = out
                .lines
                .iter()
                .find_map(|l| protocol::body(l, protocol::PLAN))
                .map(|p| p.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
        }
        g.cases
            .extend(out.lines.iter().filter_map(|l| parse_case(l)));
        let crash = out
            .lines
            .iter()
            .find(|l| l.contains("Oops:") || l.contains("Kernel panic") || l.contains("BUG:"))
            .cloned();
        g.boots.push((out, log, crash.clone()));
        let missing: Vec<String> = g
            .planned
            .iter()
            .filter(|p| !g.cases.iter().any(|c| &c.name == *p))
            .cloned()
            .collect();
        match crash {
            Some(line) if !missing.is_empty() && attempt == 1 => {
                println!(
                    "xtask: the guest kernel crashed ({}); re-running {} case(s) in a fresh boot",
                    line.trim(),
                    missing.len()
                );
                wanted = missing;
            }
            _ => break,
        }
    }
    Ok(g)
}

/// Run the VM cases (each group of machine shape in its own boots), print a table and
/// `N passed, N failed`.
pub fn vm_test(args: &VmTestArgs) -> Result<Tally> {
    let (kernel, initrd, results) = prepare(&args.vm, "vm-test", &[], &[])?;
    let mut groups = Vec::new();
    for (i, (machine, wanted, skip)) in plan_groups(args)?.into_iter().enumerate() {
        // Each group's console logs, kernel log and recordings in a folder of its own.
        let dir = results.join(format!("g{}", i + 1));
        fs::create_dir_all(&dir)?;
        let prefix = dir.join("console");
        groups.push(run_group(
            args, machine, &kernel, &initrd, &prefix, wanted, &skip,
        )?);
    }
    println!();
    print_boots(&groups, &kernel);
    let tally = print_verdicts(&groups, &results);
    println!("vm-test: {} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        bail!("{} VM case(s) failed", tally.failed);
    }
    Ok(tally)
}

/// (machine, cases asked for, cases to skip) per boot: the timed cases on the measuring
/// machine apart, unless the flags name a machine.
type GroupPlan = (vm::Machine, Vec<String>, Vec<&'static str>);

fn plan_groups(args: &VmTestArgs) -> Result<Vec<GroupPlan>> {
    let explicit = args.vm.clock.is_some() || args.vm.tcg.is_some() || args.vm.cpus.is_some();
    let cases_machine = args.vm.machine(vm::CASES_MACHINE)?;
    if explicit {
        return Ok(vec![(cases_machine, args.case.clone(), Vec::new())]);
    }
    let mut plan = Vec::new();
    if args.case.is_empty() {
        plan.push((cases_machine, Vec::new(), TIMED_CASES.to_vec()));
        let all_timed = TIMED_CASES.iter().map(|c| c.to_string()).collect();
        plan.push((vm::MEASURE_MACHINE, all_timed, Vec::new()));
        return Ok(plan);
    }
    let timed = |c: &String| TIMED_CASES.contains(&c.as_str());
    let (t, rest): (Vec<String>, Vec<String>) = args.case.iter().cloned().partition(timed);
    if !rest.is_empty() {
        plan.push((cases_machine, rest, Vec::new()));
    }
    if !t.is_empty() {
        plan.push((vm::MEASURE_MACHINE, t, Vec::new()));
    }
    Ok(plan)
}

/// One line per boot: kernel, machine, boot time, whole run, crash, console log.
fn print_boots(groups: &[Group], kernel: &kernel::Kernel) {
    for g in groups {
        for (i, (out, log, crash)) in g.boots.iter().enumerate() {
            println!(
                "VM boot {}: kernel {}, {}, boot to /init {}, whole run {:.1} s{}; console {}",
                i + 1,
                kernel.version,
                g.machine.describe(out.accel),
                out.boot_to_init
                    .map_or("never".into(), |d| format!("{:.1} s", d.as_secs_f64())),
                out.wall.as_secs_f64(),
                crash
                    .as_ref()
                    .map_or(String::new(), |c| format!(", guest crashed: {}", c.trim())),
                log.display()
            );
            if out.timed_out {
                println!(
                    "(boot {} timed out after {} s)",
                    i + 1,
                    VM_TEST_TIMEOUT.as_secs()
                );
            }
        }
    }
}

/// The table of case verdicts; a planned case without one fails, and so does a run whose
/// guest never started its cases.
fn print_verdicts(groups: &[Group], results: &Path) -> Tally {
    let cases: Vec<CaseResult> = groups.iter().flat_map(|g| g.cases.clone()).collect();
    let planned: Vec<String> = groups.iter().flat_map(|g| g.planned.clone()).collect();
    println!("{:<14} {:<6} {:>8}  detail", "case", "result", "secs");
    let mut tally = Tally {
        passed: 0,
        failed: 0,
    };
    for c in &cases {
        println!(
            "{:<14} {:<6} {:>8.2}  {}",
            c.name,
            if c.passed { "PASS" } else { "FAIL" },
            c.secs,
            c.detail
        );
        if c.passed {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }
    let mut counted: Vec<&String> = cases.iter().map(|c| &c.name).collect();
    for p in &planned {
        if let Some(pos) = counted.iter().position(|c| *c == p) {
            counted.remove(pos);
        } else {
            println!("{p:<14} FAIL   (no verdict: the guest stopped or timed out)");
            tally.failed += 1;
        }
    }
    if planned.is_empty() {
        println!(
            "(the guest never started its cases; see {})",
            results.display()
        );
        tally.failed += 1;
    }
    tally
}

/// Sum of `test result: ... N passed; M failed` lines of cargo test's output.
pub fn parse_cargo_test(output: &str) -> (usize, usize) {
    let mut total = (0, 0);
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let num_before = |word: &str| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(2)
                .find(|w| w[1].trim_end_matches([';', ',']) == word)
                .and_then(|w| w[0].parse::<usize>().ok())
                .unwrap_or(0)
        };
        total.0 += num_before("passed");
        total.1 += num_before("failed");
    }
    total
}

/// cargo test for everything that needs no kernel, then the VM cases; one final tally.
pub fn test(args: &VmArgs) -> Result<()> {
    host_deps::ensure()?;
    let out = cargo()
        .current_dir(cmd::workspace_root())
        .args(["test", "--workspace", "--release"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo test")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let (unit_passed, unit_failed) = parse_cargo_test(&text);
    let unit_failed = if out.status.success() {
        unit_failed
    } else {
        unit_failed.max(1)
    };
    println!("cargo test: {unit_passed} passed, {unit_failed} failed");

    let vm = vm_test(&VmTestArgs {
        vm: args.clone(),
        case: Vec::new(),
        soak_s: TEST_SOAK_S,
        churn: TEST_CHURN,
    });
    let (vm_passed, vm_failed) = match &vm {
        Ok(t) => (t.passed, t.failed),
        Err(e) => {
            eprintln!("xtask: {e:#}");
            (0, 1)
        }
    };
    let failed = unit_failed + vm_failed;
    println!(
        "unit {unit_passed} + VM {vm_passed} passed; unit {unit_failed} + VM {vm_failed} failed"
    );
    println!("{} passed, {} failed", unit_passed + vm_passed, failed);
    if failed > 0 {
        bail!("{failed} test(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_lines_are_parsed() {
        let c = parse_case("@@CASE load PASS 23.40 short=120 stress_rc=0").unwrap();
        assert_eq!(c.name, "load");
        assert!(c.passed);
        assert_eq!(c.secs, 23.4);
        assert_eq!(c.detail, "short=120 stress_rc=0");
        assert!(!parse_case("@@CASE x FAIL 1.0").unwrap().passed);
        assert_eq!(parse_case("@@CASE x MAYBE 1"), None);
        assert_eq!(parse_case("noise"), None);
    }

    #[test]
    fn cargo_test_totals() {
        let out = "test result: ok. 12 passed; 0 failed; 0 ignored\nfoo\ntest result: FAILED. 3 passed; 2 failed; 0 ignored";
        assert_eq!(parse_cargo_test(out), (15, 2));
    }
}
