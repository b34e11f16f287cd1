// SPDX-License-Identifier: GPL-2.0-only
//! The peer schedulers the benchmark compares against, installed from crates.io at pinned
//! versions (the same scx release as the scx_rustland_core we build on).

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::{cmd, suites};

/// (crate, exact version) of each peer; the binary has the crate's name.
pub const PEERS: &[(&str, &str)] = &[("scx_rustland", "1.1.4"), ("scx_bpfland", "1.1.4")];

/// The clang the peers' BPF build uses unless BPF_CLANG says otherwise (bookworm has only the
/// versioned name).
const BPF_CLANG: &str = "clang-19";

/// Where `cargo install` puts them (bin/ below it), inside target/ so a clean checkout
/// rebuilds them and `cargo clean` removes them.
fn root() -> PathBuf {
    suites::target_dir().join("peers")
}

/// Is `name` at `version` already installed under our root? (`cargo install` records it in
/// .crates.toml as `"name version (registry+...)"`.)
fn installed(name: &str, version: &str) -> bool {
    let record = fs::read_to_string(root().join(".crates.toml")).unwrap_or_default();
    root().join("bin").join(name).is_file() && record.contains(&format!("\"{name} {version} "))
}

/// Install each peer among `wanted` when missing (`cargo install --locked`, their own lock
/// files), return the binaries' paths. Only those a run uses: each takes minutes to build.
pub fn ensure(wanted: &[&str]) -> Result<Vec<PathBuf>> {
    let mut bins = Vec::new();
    for (name, version) in PEERS.iter().filter(|(n, _)| wanted.contains(n)) {
        if !installed(name, version) {
            eprintln!("xtask: installing {name} {version} from crates.io (a few minutes, once)");
            cmd::run(
                suites::cargo()
                    .args(["install", "--locked", "--version"])
                    .arg(format!("={version}"))
                    .arg(name)
                    .arg("--root")
                    .arg(root())
                    .arg("--target-dir")
                    .arg(suites::target_dir().join("peers-build"))
                    // `cargo install` does not apply our .cargo/config.toml [env].
                    .env(
                        "BPF_CLANG",
                        std::env::var("BPF_CLANG").unwrap_or(BPF_CLANG.into()),
                    ),
            )
            .with_context(|| format!("cannot install {name} {version}"))?;
        }
        bins.push(root().join("bin").join(name));
    }
    Ok(bins)
}
