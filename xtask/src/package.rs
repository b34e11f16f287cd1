// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask package`: the Debian package, built by cargo-deb from `[package.metadata.deb]`
//! in Cargo.toml (the binary, the systemd unit and its /etc/default file, the shipped models, a
//! man page from clap_mangen and shell completions from clap_complete), then checked: every
//! file where the unit, the default file and `--help` say, the unit accepted by
//! `systemd-analyze verify`, the shipped models readable by the packaged binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{self, workspace_root};

/// The cargo-deb release installed when missing (crates.io).
const CARGO_DEB_VERSION: &str = "3.8.0";
/// The crate's name (Cargo.toml's).
const PACKAGE: &str = "scx_foresight";
/// The Debian package's name (cargo-deb's: no `_` in Debian names).
const DEB_NAME: &str = "scx-foresight";
/// The unit inside the package.
const UNIT: &str = "lib/systemd/system/scx_foresight.service";
/// The unit's flags file inside the package.
const DEFAULTS: &str = "etc/default/scx_foresight";
/// The man page inside the package.
const MAN_PAGE: &str = "usr/share/man/man8/scx_foresight.8.gz";

/// Every file the package must hold (paths inside it).
const EXPECTED: &[&str] = &[
    "usr/bin/scx_foresight",
    UNIT,
    DEFAULTS,
    "etc/scx_foresight/modes.json",
    "usr/share/scx_foresight/models/default.json",
    "usr/share/scx_foresight/models/classifier.json",
    "usr/share/scx_foresight/models/modes.json",
    MAN_PAGE,
    "usr/share/bash-completion/completions/scx_foresight",
    "usr/share/zsh/vendor-completions/_scx_foresight",
    "usr/share/fish/vendor_completions.d/scx_foresight.fish",
    "usr/share/doc/scx-foresight/copyright",
];

/// Shells whose completions ship, and the file each goes to under target/package/.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "scx_foresight.bash"),
    ("zsh", "_scx_foresight"),
    ("fish", "scx_foresight.fish"),
];

#[derive(Debug, clap::Args, Clone)]
pub struct PackageArgs {
    /// Also install the package on this machine (dpkg, needs root), check the installed files
    /// and the unit there, then purge it again. Refused if scx_foresight is installed already.
    #[arg(long)]
    pub install_check: bool,
}

pub fn package(args: &PackageArgs) -> Result<()> {
    let root = workspace_root();
    cmd::run(Command::new("cargo").current_dir(&root).args([
        "build",
        "--release",
        "-p",
        PACKAGE,
        "--bin",
        PACKAGE,
    ]))?;
    generate_docs(&root, &root.join("target/release/scx_foresight"))?;
    cmd::ensure_cargo_tool("deb", "cargo-deb", CARGO_DEB_VERSION)?;
    let out = cmd::output(Command::new("cargo").current_dir(&root).args([
        "deb",
        "--no-build",
        "-p",
        PACKAGE,
    ]))?;
    let deb = PathBuf::from(out.lines().last().unwrap_or_default().trim());
    if !deb.is_file() {
        bail!("cargo deb did not name a package file (it printed: {out})");
    }
    let unpacked = root.join("target/package/unpacked");
    check_contents(&deb, &unpacked)?;
    if args.install_check {
        install_check(&deb)?;
    }
    let size_kib = std::fs::metadata(&deb)?.len() / 1024;
    eprintln!(
        "package: {} ({size_kib} KiB): {} files where the unit, its defaults and --help say; unit verified{}",
        deb.display(),
        EXPECTED.len(),
        if args.install_check {
            "; installed, checked and purged"
        } else {
            ""
        }
    );
    Ok(())
}

/// The man page (gzipped, as Debian ships them) and completions, from the built binary.
fn generate_docs(root: &Path, bin: &Path) -> Result<()> {
    let dir = root.join("target/package");
    std::fs::create_dir_all(&dir)?;
    let man = dir.join("scx_foresight.8");
    std::fs::write(&man, cmd::output(Command::new(bin).arg("manpage"))?)?;
    cmd::run(Command::new("gzip").args(["-9nf"]).arg(&man))?;
    for (shell, file) in COMPLETIONS {
        let script = cmd::output(Command::new(bin).args(["completions", shell]))?;
        std::fs::write(dir.join(file), script)?;
    }
    Ok(())
}

/// The package's file list, then its files unpacked and checked against each other.
fn check_contents(deb: &Path, unpacked: &Path) -> Result<()> {
    let listing = cmd::output(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    let held: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches("./"))
        .collect();
    let missing: Vec<&str> = EXPECTED
        .iter()
        .copied()
        .filter(|e| !held.contains(e))
        .collect();
    if !missing.is_empty() {
        bail!("{}: missing {}", deb.display(), missing.join(", "));
    }
    if unpacked.exists() {
        std::fs::remove_dir_all(unpacked)?;
    }
    cmd::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(unpacked))?;
    check_tree(unpacked)
}

/// Check an installed (`/`) or unpacked tree: the unit's command and every path its flags
/// name exist, the unit verifies, the binary reads the shipped models, the man page and
/// `--help` name the same files.
fn check_tree(tree: &Path) -> Result<()> {
    let at = |p: &str| tree.join(p.trim_start_matches('/'));
    for e in EXPECTED {
        if !at(e).exists() {
            bail!("{} is missing", at(e).display());
        }
    }
    let unit = std::fs::read_to_string(at(UNIT))?;
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .and_then(|l| l.split_whitespace().next())
        .with_context(|| format!("{}: no ExecStart=", at(UNIT).display()))?;
    let bin = at(exec);
    if !bin.is_file() {
        bail!("the unit starts {exec}, not in the package");
    }
    let defaults = std::fs::read_to_string(at(DEFAULTS))?;
    for path in flag_paths(&defaults) {
        if !at(&path).exists() {
            bail!("{DEFAULTS} names {path}, not in the package");
        }
    }
    verify_unit(&unit, &bin)?;
    let help = cmd::output(Command::new(&bin).arg("--help"))?;
    for named in [
        "/etc/default/scx_foresight",
        "/usr/share/scx_foresight/models",
    ] {
        if !help.contains(named) {
            bail!("--help of the packaged binary does not name {named}");
        }
    }
    cmd::output(
        Command::new(&bin)
            .args(["model", "show"])
            .arg(at("usr/share/scx_foresight/models/default.json")),
    )
    .context("the packaged binary cannot read the shipped models")?;
    let man = cmd::output(Command::new("gzip").arg("-dc").arg(at(MAN_PAGE)))?;
    if !man.contains(".TH scx_foresight 8") {
        bail!("the man page has no `.TH scx_foresight 8` header");
    }
    Ok(())
}

/// The paths after `--models` and `--config` in the defaults file's flags.
fn flag_paths(defaults: &str) -> Vec<String> {
    let words: Vec<&str> = defaults
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '"' || c == '='))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[0] == "--models" || w[0] == "--config")
        .map(|w| w[1].to_string())
        .collect()
}

/// `systemd-analyze verify` on the unit, its command pointed at `bin` (man pages are checked
/// separately: `man` need not be installed).
fn verify_unit(unit: &str, bin: &Path) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("scx-foresight-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("scx_foresight.service");
    let exec = format!("ExecStart={} ", bin.display());
    std::fs::write(
        &copy,
        unit.replace("ExecStart=/usr/bin/scx_foresight ", &exec),
    )?;
    let verified = cmd::output(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&copy),
    );
    let _ = std::fs::remove_dir_all(&dir);
    verified.map(|_| ()).context("systemd-analyze verify")
}

/// Install with dpkg, check the installed tree, purge.
fn install_check(deb: &Path) -> Result<()> {
    let before = cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", DEB_NAME]));
    if before.is_ok_and(|s| s.contains("installed")) {
        bail!("{DEB_NAME} is installed on this machine already; --install-check would remove it");
    }
    cmd::run(cmd::as_root("dpkg").arg("-i").arg(deb))?;
    let checked = check_tree(Path::new("/"));
    cmd::run(cmd::as_root("dpkg").args(["--purge", DEB_NAME]))?;
    checked.context("the installed package")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_flags_name_their_paths() {
        let text = "# --models /not/this\nFLAGS=\"--models /a/models --config /b/modes.json -v\"\n";
        assert_eq!(flag_paths(text), ["/a/models", "/b/modes.json"]);
    }
}
