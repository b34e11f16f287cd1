// SPDX-License-Identifier: GPL-2.0-only
//! Boot QEMU on a kernel and initramfs, run one guest script, stream its console back.
//!
//! KVM is used when it works; these build machines expose /dev/kvm but nested KVM dies on the
//! first emulated instruction, so a KVM boot that fails before the guest says `@@BOOTED` is
//! retried under TCG (software emulation) and the verdict is remembered per host kernel.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::kernel::{cache_dir, Kernel};
use crate::progress::Progress;
use crate::{cmd, protocol};

/// Guest memory: room for stress-ng's workers plus the scheduler's locked 64 MiB heap.
const GUEST_MEM: &str = "2G";
/// First QEMU major version whose multi-threaded TCG ran our cases without the int3 Oopses
/// that 7.2 showed while sched_ext patched kernel text.
const QEMU_MTTCG_MIN_MAJOR: u32 = 10;

/// The VM cases' machine (pass/fail verdicts, CPU hotplug needs 2 vCPUs): what the whole suite
/// passed on before the clock could be chosen.
pub const CASES_MACHINE: Machine = Machine {
    clock: Clock::Wall,
    tcg: Tcg::Single,
    cpus: 2,
};

/// The machine for measurements (`validate`, `bench`): the instruction-count clock on one vCPU,
/// the shape that passed the most known-answer cases (BENCHMARKS.md, "Validation").
pub const MEASURE_MACHINE: Machine = Machine {
    clock: Clock::Icount,
    tcg: Tcg::Single,
    cpus: 1,
};

/// What drives the guest's clock under software emulation (KVM always runs on real time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Instruction count (`-icount shift=0,sleep=off,align=off`): 1 ns of guest time per guest
    /// instruction, idle time skipped. Costs are those of a 1-GIPS machine and repeat across
    /// boots, but one counter drives every vCPU in turn: with N vCPUs busy each runs at 1/N
    /// speed, so only a 1-vCPU guest is an exact machine. Single-threaded TCG.
    Icount,
    /// The host's time: guest code runs many times slower than the host, unevenly, and process
    /// start dominates short work.
    Wall,
}

/// How QEMU runs the guest's vCPUs under software emulation, with the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tcg {
    /// One host thread for all vCPUs (sched_ext's text patching cannot race another vCPU).
    Single,
    /// A host thread per vCPU (QEMU >= 10): real parallelism, host noise in the timings.
    Multi,
}

/// The virtual machine's shape: clock, TCG threading and vCPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub clock: Clock,
    pub tcg: Tcg,
    pub cpus: u32,
}

impl Machine {
    /// The QEMU arguments for this shape under TCG.
    fn tcg_args(&self) -> Vec<String> {
        match (self.clock, self.tcg) {
            (Clock::Icount, _) => vec![
                "-accel".into(),
                "tcg,thread=single".into(),
                "-icount".into(),
                "shift=0,sleep=off,align=off".into(),
            ],
            (Clock::Wall, Tcg::Single) => vec!["-accel".into(), "tcg,thread=single".into()],
            (Clock::Wall, Tcg::Multi) => vec!["-accel".into(), "tcg,thread=multi".into()],
        }
    }

    /// One line for logs and reports, e.g. `icount, 1 vCPU`.
    pub fn describe(&self, accel: Accel) -> String {
        let how = match (accel, self.clock, self.tcg) {
            (Accel::Kvm, ..) => "KVM (real time)".to_string(),
            (Accel::Tcg, Clock::Icount, _) => "TCG, instruction-count clock".to_string(),
            (Accel::Tcg, Clock::Wall, Tcg::Single) => "TCG single-threaded, wall clock".to_string(),
            (Accel::Tcg, Clock::Wall, Tcg::Multi) => "TCG multi-threaded, wall clock".to_string(),
        };
        let s = if self.cpus == 1 { "" } else { "s" };
        format!("{how}, {} vCPU{s}, {}", self.cpus, qemu_version_text())
    }

    /// Refuse shapes QEMU cannot run well: multi-threaded TCG needs QEMU >= 10 (7.2 crashed).
    pub fn check(&self) -> Result<()> {
        if self.clock == Clock::Wall && self.tcg == Tcg::Multi {
            let major = qemu_major().unwrap_or(0);
            if major < QEMU_MTTCG_MIN_MAJOR {
                anyhow::bail!(
                    "--tcg multi needs QEMU >= {QEMU_MTTCG_MIN_MAJOR} (this is {}): QEMU 7.2's \
                     multi-threaded TCG crashed the guest at sched_ext attach; `cargo xtask deps` \
                     installs QEMU from bookworm-backports on Debian 12",
                    qemu_version_text()
                );
            }
        }
        Ok(())
    }
}

/// `QEMU emulator version 10.0.2 (...)` → "QEMU 10.0.2".
fn qemu_version_text() -> String {
    cmd::output(Command::new("qemu-system-x86_64").arg("--version"))
        .ok()
        .and_then(|out| parse_qemu_version(&out))
        .map_or("QEMU ?".into(), |v| format!("QEMU {v}"))
}

/// The installed QEMU's major version, if it answers `--version`.
pub fn qemu_major() -> Option<u32> {
    let out = cmd::output(Command::new("qemu-system-x86_64").arg("--version")).ok()?;
    parse_qemu_version(&out)?.split('.').next()?.parse().ok()
}

/// The version word after `QEMU emulator version`.
pub fn parse_qemu_version(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("QEMU emulator version "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}
/// How long a KVM boot may take to reach /init before we call KVM broken.
const KVM_BOOT_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

pub struct Spec<'a> {
    pub kernel: &'a Kernel,
    pub machine: Machine,
    pub initrd: &'a Path,
    /// Guest script under /guest, e.g. `vm-test.sh`.
    pub script: &'a str,
    /// Extra `key=value` words for the kernel cmdline; /init sees them as environment.
    pub params: Vec<String>,
    pub timeout: Duration,
    /// Where the full console log goes.
    pub log: PathBuf,
    /// Print a console line live?
    pub echo: fn(&str) -> bool,
}

pub struct Outcome {
    pub lines: Vec<String>,
    pub accel: Accel,
    pub timed_out: bool,
    pub boot_to_init: Option<Duration>,
    pub wall: Duration,
}

/// Boot, preferring KVM when it is usable here, falling back to TCG.
pub fn boot(spec: &Spec) -> Result<Outcome> {
    let marker = kvm_broken_marker();
    let want = match std::env::var("FORESIGHT_ACCEL").as_deref() {
        Ok("tcg") => Accel::Tcg,
        Ok("kvm") => Accel::Kvm,
        _ if kvm_usable() && !marker.exists() => Accel::Kvm,
        _ => Accel::Tcg,
    };
    if want == Accel::Kvm {
        let out = boot_with(spec, Accel::Kvm)?;
        if out.boot_to_init.is_some() {
            return Ok(out);
        }
        eprintln!("xtask: KVM does not work on this host (guest never reached /init); using TCG");
        let _ = fs::create_dir_all(cache_dir());
        let _ = fs::write(&marker, "nested KVM failed\n");
    }
    boot_with(spec, Accel::Tcg)
}

fn kvm_usable() -> bool {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

fn kvm_broken_marker() -> PathBuf {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    cache_dir().join(format!("kvm-broken-{}", release.trim()))
}

fn boot_with(spec: &Spec, accel: Accel) -> Result<Outcome> {
    let mut child = start_qemu(spec, accel)?;
    let lines = console_lines(&mut child);
    let mut log = fs::File::create(&spec.log)
        .with_context(|| format!("cannot write {}", spec.log.display()))?;
    let start = Instant::now();
    let mut progress = Progress::new(spec.script);
    let mut kept = Vec::new();
    let mut boot_to_init = None;
    let mut timed_out = false;
    loop {
        // A KVM boot that never reaches /init gets a short grace: it is retried under TCG.
        let limit = match (accel, boot_to_init) {
            (Accel::Kvm, None) => KVM_BOOT_GRACE.min(spec.timeout),
            _ => spec.timeout,
        };
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            timed_out = boot_to_init.is_some() || accel == Accel::Tcg;
            let _ = child.kill();
            break;
        };
        match lines.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(line) => {
                // Host seconds since QEMU started, for the wall cost of each guest step.
                writeln!(log, "[{:9.3}] {line}", start.elapsed().as_secs_f64())?;
                if protocol::is(&line, protocol::BOOTED) && boot_to_init.is_none() {
                    boot_to_init = Some(start.elapsed());
                }
                if (spec.echo)(&line) {
                    progress.println(&line);
                }
                progress.line(&line);
                kept.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => progress.tick(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.wait();
    progress.finish();
    Ok(Outcome {
        lines: kept,
        accel,
        timed_out,
        boot_to_init,
        wall: start.elapsed(),
    })
}

/// QEMU on the spec's kernel, initramfs and machine, its serial console on stdout.
fn start_qemu(spec: &Spec, accel: Accel) -> Result<std::process::Child> {
    let (accel_args, cpu) = match accel {
        Accel::Kvm => (vec!["-accel".to_string(), "kvm".to_string()], "host"),
        Accel::Tcg => (spec.machine.tcg_args(), "max"),
    };
    let mut append = format!("console=ttyS0 quiet panic=-1 fs_script={}", spec.script);
    for p in &spec.params {
        append.push(' ');
        append.push_str(p);
    }
    Command::new("qemu-system-x86_64")
        .args(&accel_args)
        .args(["-cpu", cpu, "-m", GUEST_MEM])
        .args(["-smp", &spec.machine.cpus.to_string()])
        .arg("-kernel")
        .arg(&spec.kernel.image)
        .arg("-initrd")
        .arg(spec.initrd)
        .args(["-append", &append])
        .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .args(["-no-reboot", "-net", "none"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start qemu-system-x86_64")
}

/// The child's stdout and stderr, line by line (a reader thread each), on one channel that
/// closes when both end.
fn console_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    for pipe in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).split(b'\n').map_while(|l| l.ok()) {
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_version_is_read() {
        let out = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-1~bpo12+1)\nCopyright";
        assert_eq!(parse_qemu_version(out).as_deref(), Some("10.0.2"));
        assert_eq!(parse_qemu_version("nonsense"), None);
    }

    #[test]
    fn icount_is_single_threaded_with_skipped_idle() {
        let m = Machine {
            clock: Clock::Icount,
            tcg: Tcg::Multi,
            cpus: 1,
        };
        let a = m.tcg_args().join(" ");
        assert!(a.contains("thread=single"), "{a}");
        assert!(a.contains("-icount shift=0,sleep=off,align=off"), "{a}");
    }
}
