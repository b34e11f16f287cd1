// SPDX-License-Identifier: GPL-2.0-only
//! A self-contained initramfs: static busybox, our binaries, workload tools, every shared
//! library `ldd` lists for them, the guest scripts. Packed uncompressed (newc cpio).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::cmd;
use crate::kernel::Kernel;

/// The guest's /init and the scripts it can run (selected by `fs_script=` on the cmdline).
const GUEST_FILES: &[(&str, &str)] = &[
    ("init", include_str!("../guest/init.sh")),
    ("guest/lib.sh", include_str!("../guest/lib.sh")),
    ("guest/vm-test.sh", include_str!("../guest/vm-test.sh")),
    ("guest/demo.sh", include_str!("../guest/demo.sh")),
    ("guest/bench.sh", include_str!("../guest/bench.sh")),
    ("guest/validate.sh", include_str!("../guest/validate.sh")),
];

/// Host tools copied into the guest's /usr/bin (procps' ps and pgrep: the readers of every
/// process's /proc that users run, busybox has no pgrep; socat: a raw client of the
/// scx_stats socket).
const HOST_TOOLS: &[&str] = &[
    "stress-ng",
    "hackbench",
    "cyclictest",
    "ps",
    "pgrep",
    "socat",
];

/// A data file for the guest: (host path, path under /guest).
pub type GuestFile = (PathBuf, String);

/// Build the initramfs for `binaries` (already built) into `out`, with the kernel's modules
/// (if any) under /lib/modules, its config (if known) as /boot/config-VERSION and `files`
/// under /guest.
pub fn build(binaries: &[PathBuf], kernel: &Kernel, out: &Path, files: &[GuestFile]) -> Result<()> {
    let stage = out.with_extension("d");
    let _ = fs::remove_dir_all(&stage);
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run", "etc", "guest",
    ] {
        fs::create_dir_all(stage.join(d))?;
    }
    let busybox = find_static_busybox()?;
    copy_exec(&busybox, &stage.join("bin/busybox"))?;

    let mut programs: Vec<PathBuf> = binaries.to_vec();
    for tool in HOST_TOOLS {
        programs.push(which(tool)?);
    }
    let mut libs = BTreeSet::new();
    for prog in &programs {
        let name = prog.file_name().context("program without a name")?;
        copy_exec(prog, &stage.join("usr/bin").join(name))?;
        libs.extend(shared_libs(prog)?);
    }
    for lib in &libs {
        let dest = stage.join(lib.strip_prefix("/").unwrap_or(lib));
        fs::create_dir_all(dest.parent().context("library at /")?)?;
        // Copy the file behind any symlink under the name the loader asks for.
        fs::copy(lib, &dest).with_context(|| format!("copying {}", lib.display()))?;
    }
    for (path, text) in GUEST_FILES {
        let dest = stage.join(path);
        fs::write(&dest, text)?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
    }
    // The VM cases, one file each, sourced by vm-test.sh.
    let cases = stage.join("guest/cases");
    fs::create_dir_all(&cases)?;
    for entry in fs::read_dir(cmd::workspace_root().join("xtask/guest/cases"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sh") {
            let name = path.file_name().context("case file name")?;
            fs::copy(&path, cases.join(name))
                .with_context(|| format!("copying {} into the guest", path.display()))?;
        }
    }
    if let Some(config) = &kernel.config {
        fs::create_dir_all(stage.join("boot"))?;
        fs::copy(
            config,
            stage
                .join("boot")
                .join(format!("config-{}", kernel.version)),
        )
        .with_context(|| format!("copying {}", config.display()))?;
    }
    if let Some(dir) = &kernel.modules {
        fs::create_dir_all(stage.join("lib/modules"))?;
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "ko") {
                let name = path.file_name().context("module file name")?;
                fs::copy(&path, stage.join("lib/modules").join(name))?;
            }
        }
    }
    for (from, to) in files {
        fs::copy(from, stage.join("guest").join(to))
            .with_context(|| format!("copying {} into the guest", from.display()))?;
    }
    // Model files shipped in models/, for the model cases.
    fs::create_dir_all(stage.join("models"))?;
    for entry in fs::read_dir(cmd::workspace_root().join("models"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().context("model file name")?;
            fs::copy(&path, stage.join("models").join(name))?;
        }
    }
    fs::write(
        stage.join("etc/passwd"),
        "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
    )?;
    fs::write(stage.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    pack(&stage, out)
}

/// Debian's busybox-static; a dynamic busybox would need its libc in the guest before /init.
fn find_static_busybox() -> Result<PathBuf> {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let p = PathBuf::from(p);
        if p.is_file() && shared_libs(&p).is_ok_and(|l| l.is_empty()) {
            return Ok(p);
        }
    }
    bail!("no static busybox found (package busybox-static)")
}

fn which(tool: &str) -> Result<PathBuf> {
    let path = cmd::output(Command::new("sh").args(["-c", &format!("command -v {tool}")]))
        .with_context(|| format!("{tool} not found on this host"))?;
    Ok(PathBuf::from(path.trim()))
}

fn copy_exec(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Absolute paths of the shared objects (and loader) a dynamic executable needs; empty for a
/// static one.
fn shared_libs(prog: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(prog).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(parse_ldd(&text))
}

/// Every absolute path in ldd's output (`libx.so => /lib/.../libx.so (0x..)`, `/lib64/ld...`).
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('/')))
        .map(PathBuf::from)
        .collect()
}

/// `find . | busybox cpio -o -H newc > out`, from inside the staging directory.
fn pack(stage: &Path, out: &Path) -> Result<()> {
    let file = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let list = cmd::output(Command::new("find").arg(".").current_dir(stage))?;
    let mut child = Command::new("busybox")
        .args(["cpio", "-o", "-H", "newc"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .context("starting busybox cpio")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().context("cpio stdin")?;
        stdin.write_all(list.as_bytes())?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("busybox cpio failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_is_parsed() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libelf.so.1"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(parse_ldd("\tnot a dynamic executable\n").is_empty());
    }
}
