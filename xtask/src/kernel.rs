// SPDX-License-Identifier: GPL-2.0-only
//! A kernel with sched_ext for the VM: Debian unstable's current one, DOWNLOADED (never
//! installed) with an apt configuration of our own that leaves the system's untouched,
//! verified by apt against Debian's archive keyring, cached under ~/.cache/scx_foresight.
//! `--kernel PATH` uses a given image instead.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context, Result};

use crate::cmd;
use crate::KernelArgs;

/// The option every scheduler of ours needs in the guest kernel.
pub const REQUIRED_CONFIG: &str = "CONFIG_SCHED_CLASS_EXT=y";
/// How long a resolved "current" kernel version is trusted before asking the archive again.
const RESOLVE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Debian's archive, unless FORESIGHT_DEBIAN_MIRROR says otherwise.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

pub struct Kernel {
    pub image: PathBuf,
    pub version: String,
    /// Modules for the guest (a block device and a filesystem for I/O workloads), if known.
    pub modules: Option<PathBuf>,
    /// Its build config, if known: the guest gets it as /boot/config-VERSION, where libbpf
    /// looks for the `__kconfig` externs of some schedulers' BPF code (scx_bpfland's).
    pub config: Option<PathBuf>,
}

/// Modules the guest loads, in load order (dependencies first): a loop block device and ext4
/// on it, so I/O workloads issue real block requests.
pub const GUEST_MODULES: &[&str] = &[
    "lib/crc/crc16",
    "fs/mbcache",
    "fs/jbd2/jbd2",
    "fs/ext4/ext4",
    "drivers/block/loop",
];

/// The kernel to boot: `--kernel` when given, else the cached or freshly fetched Debian one.
pub fn resolve(args: &KernelArgs) -> Result<Kernel> {
    match &args.kernel {
        Some(path) => user_kernel(path),
        None => debian_kernel(),
    }
}

fn user_kernel(path: &Path) -> Result<Kernel> {
    if !path.is_file() {
        bail!("--kernel {}: no such file", path.display());
    }
    // A config next to the image (or in /boot) lets us check sched_ext before booting.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let version = name
        .strip_prefix("vmlinuz-")
        .unwrap_or("custom")
        .to_string();
    let candidates = [
        path.with_file_name("config"),
        path.with_file_name(format!("config-{version}")),
        PathBuf::from(format!("/boot/config-{version}")),
    ];
    let config = candidates.iter().find(|c| c.is_file()).cloned();
    match &config {
        Some(cfg) => check_config(cfg)?,
        None => eprintln!(
            "xtask: no config found beside {}; cannot check {REQUIRED_CONFIG} before booting",
            path.display()
        ),
    }
    Ok(Kernel {
        image: path.to_path_buf(),
        version,
        modules: None,
        config,
    })
}

/// Fail unless the kernel config enables sched_ext.
pub fn check_config(config: &Path) -> Result<()> {
    let text = fs::read_to_string(config)
        .with_context(|| format!("cannot read kernel config {}", config.display()))?;
    if !text.lines().any(|l| l.trim() == REQUIRED_CONFIG) {
        bail!(
            "kernel config {} lacks {REQUIRED_CONFIG}: this kernel cannot run sched_ext schedulers",
            config.display()
        );
    }
    Ok(())
}

pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("scx_foresight")
}

fn debian_kernel() -> Result<Kernel> {
    let cache = cache_dir().join("kernels");
    fs::create_dir_all(&cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let current = cache.join("current");
    let fresh = fs::metadata(&current)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < RESOLVE_TTL);
    let cached_version = fs::read_to_string(&current)
        .ok()
        .map(|s| s.trim().to_string());

    let version = match (&cached_version, fresh) {
        (Some(v), true) if cache.join(v).join("vmlinuz").is_file() => v.clone(),
        _ => match resolve_current_version() {
            Ok(v) => v,
            // Offline: a kernel fetched earlier still does the job.
            Err(e) => {
                match cached_version.filter(|v| cache.join(v).join("vmlinuz").is_file()) {
                    Some(v) => {
                        eprintln!("xtask: cannot ask Debian for its current kernel ({e:#}); using cached {v}");
                        v
                    }
                    None => return Err(e),
                }
            }
        },
    };
    let dir = cache.join(&version);
    if !dir.join("vmlinuz").is_file() {
        download(&version, &dir)?;
    }
    check_config(&dir.join("config"))?;
    let modules = dir.join("modules");
    if !modules.join("loop.ko").is_file() {
        // Without them the guest's I/O phases run on tmpfs: say so, do not fail.
        if let Err(e) = download_modules(&version, &modules) {
            eprintln!(
                "xtask: no guest modules ({e:#}); I/O workloads will not reach a block device"
            );
        }
    }
    fs::write(&current, &version)?;
    Ok(Kernel {
        image: dir.join("vmlinuz"),
        version,
        modules: modules.join("loop.ko").is_file().then_some(modules),
        config: Some(dir.join("config")),
    })
}

/// The Debian mirror: FORESIGHT_DEBIAN_MIRROR, else Debian's redirector.
pub fn mirror() -> String {
    std::env::var("FORESIGHT_DEBIAN_MIRROR").unwrap_or_else(|_| DEFAULT_MIRROR.to_string())
}

/// apt options that point every state and cache path into our own directory.
fn apt_opts() -> Result<Vec<String>> {
    let dir = cache_dir().join("apt");
    for sub in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let mirror = mirror();
    let list = dir.join("sid.list");
    fs::write(
        &list,
        format!(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} sid main\n"
        ),
    )?;
    let d = dir.display();
    Ok(vec![
        format!("-oDir::Etc::SourceList={}", list.display()),
        "-oDir::Etc::SourceParts=/nonexistent".into(),
        format!("-oDir::State::Lists={d}/lists"),
        format!("-oDir::Cache={d}/cache"),
        "-oDebug::NoLocking=1".into(),
        "-oAPT::Sandbox::User=root".into(),
    ])
}

/// Ask sid which versioned image linux-image-amd64 currently points to.
fn resolve_current_version() -> Result<String> {
    let opts = apt_opts()?;
    cmd::output(Command::new("apt-get").args(&opts).args(["-q", "update"]))
        .context("apt-get update against Debian sid (download only)")?;
    let deps = cmd::output(
        Command::new("apt-cache")
            .args(&opts)
            .args(["depends", "linux-image-amd64"]),
    )?;
    parse_image_version(&deps).ok_or_else(|| {
        anyhow!("cannot find the versioned image in `apt-cache depends linux-image-amd64`:\n{deps}")
    })
}

/// From `apt-cache depends` output, the `<ver>` of `Depends: linux-image-<ver>`.
pub fn parse_image_version(deps: &str) -> Option<String> {
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
        .find(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

/// Download `packages` from sid into a fresh `work` directory (our own apt configuration)
/// and extract them under `work/root`, which is returned.
fn fetch_debs(work: &Path, packages: &[String]) -> Result<PathBuf> {
    let opts = apt_opts()?;
    let _ = fs::remove_dir_all(work);
    fs::create_dir_all(work)?;
    cmd::output(
        Command::new("apt-get")
            .current_dir(work)
            .args(&opts)
            .args(["-q", "download"])
            .args(packages),
    )?;
    let root = work.join("root");
    for deb in fs::read_dir(work)? {
        let deb = deb?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            cmd::output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
        }
    }
    Ok(root)
}

/// Download the unsigned image and the config package, extract, keep vmlinuz and config.
fn download(version: &str, dir: &Path) -> Result<()> {
    eprintln!("xtask: downloading Debian kernel {version} (download only, nothing installed)");
    let work = dir.with_extension("partial");
    let root = fetch_debs(
        &work,
        &[
            format!("linux-binary-unsigned-{version}"),
            format!("linux-base-{version}"),
        ],
    )?;
    let modules = root.join("usr/lib/modules").join(version);
    let image = ["vmlinuz.unsigned", "vmlinuz"]
        .iter()
        .map(|n| modules.join(n))
        .chain([root.join(format!("boot/vmlinuz-{version}"))])
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow!("no vmlinuz in the downloaded packages for {version}"))?;
    let config = [
        modules.join("config"),
        root.join(format!("boot/config-{version}")),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| anyhow!("no kernel config in the downloaded packages for {version}"))?;
    check_config(&config)?;
    fs::copy(&image, work.join("vmlinuz"))?;
    fs::copy(&config, work.join("config"))?;
    fs::remove_dir_all(&root)?;
    let _ = fs::remove_dir_all(dir);
    fs::rename(&work, dir)?;
    Ok(())
}

/// Download the modules package, keep GUEST_MODULES decompressed (as `<name>.ko`) in `dir`.
fn download_modules(version: &str, dir: &Path) -> Result<()> {
    eprintln!("xtask: downloading Debian kernel modules {version} (download only)");
    let work = dir.with_extension("partial");
    let root = fetch_debs(&work, &[format!("linux-modules-{version}")])?;
    let tree = root.join("usr/lib/modules").join(version).join("kernel");
    let out = work.join("modules");
    fs::create_dir_all(&out)?;
    for m in GUEST_MODULES {
        let name = Path::new(m)
            .file_name()
            .and_then(|n| n.to_str())
            .context("module name")?;
        let plain = tree.join(format!("{m}.ko"));
        let packed = tree.join(format!("{m}.ko.xz"));
        let dest = out.join(format!("{name}.ko"));
        if plain.is_file() {
            fs::copy(&plain, &dest)?;
        } else if packed.is_file() {
            let bytes = Command::new("xz")
                .arg("-dc")
                .arg(&packed)
                .output()
                .context("running xz (package xz-utils)")?;
            if !bytes.status.success() {
                bail!("xz -dc {} failed", packed.display());
            }
            fs::write(&dest, bytes.stdout)?;
        } else {
            bail!("module {m} not in linux-modules-{version}");
        }
    }
    let _ = fs::remove_dir_all(dir);
    fs::rename(&out, dir)?;
    fs::remove_dir_all(&work)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versioned_image() {
        let deps = "linux-image-amd64\n  Depends: linux-base-amd64\n  Depends: linux-image-7.2.13+deb14-amd64\n";
        assert_eq!(
            parse_image_version(deps).as_deref(),
            Some("7.2.13+deb14-amd64")
        );
        assert_eq!(parse_image_version("linux-image-amd64\n"), None);
    }

    #[test]
    fn config_without_sched_ext_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-cfg-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("config");
        fs::write(&cfg, "# CONFIG_SCHED_CLASS_EXT is not set\n").unwrap();
        assert!(check_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("lacks"));
        fs::write(&cfg, "CONFIG_SCHED_CLASS_EXT=y\n").unwrap();
        assert!(check_config(&cfg).is_ok());
    }
}
