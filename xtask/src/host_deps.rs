// SPDX-License-Identifier: GPL-2.0-only
//! Install the host packages the build and the VM need, when missing (Debian/Ubuntu, apt).

use std::process::Command;

use anyhow::{bail, Result};

use crate::cmd;

/// Debian packages the harness needs: the BPF build (clang >= 18, libelf, libseccomp, zlib,
/// pkg-config), the VM (QEMU), the guest's userland (static busybox, stress-ng, hackbench from
/// rt-tests), the keyring to verify Debian's kernel downloads, xz for its modules, and a font
/// for the benchmark plots' labels.
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
    "fonts-dejavu-core",
    "debian-archive-keyring",
    "xz-utils",
];

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
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    cmd::run(cmd::as_root("apt-get").args(["update", "-q"]))?;
    cmd::run(
        cmd::as_root("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing),
    )
}
