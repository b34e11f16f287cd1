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

use crate::kernel::{cache_dir, Kernel};

/// Guest memory: room for stress-ng's workers plus the scheduler's locked 64 MiB heap.
const GUEST_MEM: &str = "2G";
/// Guest vCPUs (the build machines have 2 cores).
pub const GUEST_CPUS: u32 = 2;
/// How long a KVM boot may take to reach /init before we call KVM broken.
const KVM_BOOT_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

pub struct Spec<'a> {
    pub kernel: &'a Kernel,
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
    let (accel_arg, cpu) = match accel {
        Accel::Kvm => ("kvm", "host"),
        // One host thread for all vCPUs: with multi-threaded TCG, a vCPU executing kernel text
        // while another patches it (sched_ext flips static branches at every attach) now and
        // then dies of an int3 Oops (seen in 1 of 2 boots of the full VM suite); single-threaded
        // TCG serialises them (no such crash seen).
        Accel::Tcg => ("tcg,thread=single", "max"),
    };
    let mut append = format!("console=ttyS0 quiet panic=-1 fs_script={}", spec.script);
    for p in &spec.params {
        append.push(' ');
        append.push_str(p);
    }
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", accel_arg, "-cpu", cpu, "-m", GUEST_MEM])
        .args(["-smp", &GUEST_CPUS.to_string()])
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
        .context("cannot start qemu-system-x86_64")?;

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
    drop(tx);

    let mut log = fs::File::create(&spec.log)
        .with_context(|| format!("cannot write {}", spec.log.display()))?;
    let start = Instant::now();
    let mut lines = Vec::new();
    let mut boot_to_init = None;
    let mut timed_out = false;
    loop {
        let limit = match (accel, boot_to_init) {
            (Accel::Kvm, None) => KVM_BOOT_GRACE.min(spec.timeout),
            _ => spec.timeout,
        };
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            timed_out = boot_to_init.is_some() || accel == Accel::Tcg;
            let _ = child.kill();
            break;
        };
        match rx.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(line) => {
                writeln!(log, "{line}")?;
                if line.starts_with("@@BOOTED") && boot_to_init.is_none() {
                    boot_to_init = Some(start.elapsed());
                }
                if (spec.echo)(&line) {
                    println!("{line}");
                }
                lines.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.wait();
    Ok(Outcome {
        lines,
        accel,
        timed_out,
        boot_to_init,
        wall: start.elapsed(),
    })
}
