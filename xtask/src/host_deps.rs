// SPDX-License-Identifier: GPL-2.0-only
//! Install the host packages the build and the VM need, when missing (Debian/Ubuntu, apt).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cmd, kernel, vm};

/// Debian packages the harness needs: the BPF build (clang >= 18, libelf, libseccomp, zlib,
/// pkg-config), the VM (QEMU), the guest's userland (static busybox, stress-ng, hackbench from
/// rt-tests), the keyring to verify Debian's kernel downloads, xz for its modules, and a font
/// for the benchmark plots' labels; systemd-analyze and dpkg-shlibdeps for `cargo xtask package`.
pub const PACKAGES: &[&str] = &[
    "clang-19",
    "libclang1-19",
    "libelf-dev",
    "libseccomp-dev",
    "zlib1g-dev",
    "pkg-config",
    "qemu-system-x86",
    "busybox-static",
    "stress-ng",
    "rt-tests",
    "procps",
    "socat",
    "fonts-dejavu-core",
    "debian-archive-keyring",
    "xz-utils",
    "systemd",
    "dpkg-dev",
];

/// The QEMU package; on Debian 12 it comes from bookworm-backports (see [`ensure_qemu`]).
const QEMU_PACKAGE: &str = "qemu-system-x86";
/// QEMU major version wanted: 10 starts processes ~6x faster than bookworm's 7.2 under TCG and
/// runs multi-threaded TCG without 7.2's crashes at sched_ext attach.
const QEMU_WANT_MAJOR: u32 = 10;
/// Our apt source for bookworm-backports. Backports are pinned low by Debian (NotAutomatic),
/// so nothing else is taken from there unless asked for by name with `-t`.
const BACKPORTS_LIST: &str = "/etc/apt/sources.list.d/scx-foresight-bookworm-backports.list";

/// Is `pkg` installed according to dpkg?
fn installed(pkg: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_ok_and(|s| s.contains("install ok installed"))
}

/// apt-get install whatever of PACKAGES is missing; a no-op when all are there.
pub fn ensure() -> Result<()> {
    if !cmd::have("dpkg-query") {
        bail!(
            "this harness installs its tools with apt (Debian/Ubuntu); install by hand: {}",
            PACKAGES.join(" ")
        );
    }
    let bookworm = os_codename().as_deref() == Some("bookworm");
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        // On bookworm QEMU comes from backports below.
        .filter(|p| !(bookworm && *p == QEMU_PACKAGE))
        .filter(|p| !installed(p))
        .collect();
    if !missing.is_empty() {
        eprintln!("xtask: installing {}", missing.join(" "));
        cmd::run(cmd::as_root("apt-get").args(["update", "-q"]))?;
        apt_install(&missing, None)?;
    }
    if bookworm {
        ensure_qemu_from_backports()?;
    }
    Ok(())
}

/// `apt-get install` these packages, from `release` (`-t`) when given.
fn apt_install(packages: &[&str], release: Option<&str>) -> Result<()> {
    let mut c = cmd::as_root("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive").args([
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
    ]);
    if let Some(r) = release {
        c.args(["-t", r]);
    }
    cmd::run(c.args(packages))
}

/// `VERSION_CODENAME` of /etc/os-release.
fn os_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
}

/// Debian 12 ships QEMU 7.2; install QEMU_PACKAGE alone from bookworm-backports (with what it
/// depends on), nothing else from there.
fn ensure_qemu_from_backports() -> Result<()> {
    let major = vm::qemu_major();
    if major.is_some_and(|m| m >= QEMU_WANT_MAJOR) {
        return Ok(());
    }
    eprintln!("xtask: installing {QEMU_PACKAGE} from bookworm-backports (QEMU {QEMU_WANT_MAJOR})");
    let line = format!(
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {} bookworm-backports main\n",
        kernel::mirror()
    );
    cmd::run(cmd::as_root("sh").args(["-c", &format!("printf '%s' '{line}' > {BACKPORTS_LIST}")]))
        .with_context(|| format!("cannot write {BACKPORTS_LIST}"))?;
    cmd::run(cmd::as_root("apt-get").args(["update", "-q"]))?;
    apt_install(&[QEMU_PACKAGE], Some("bookworm-backports"))
}
