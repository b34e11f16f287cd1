// SPDX-License-Identifier: GPL-2.0-only
//! What the exec tracer (bpf/execs.bpf.c) reports about each new image, and how it becomes
//! an [`Invocation`]: the same identity /proc would give (the program's resolved path, its
//! arguments), known before the task's next enqueue instead of after its second.

use std::collections::HashMap;
use std::path::Path;

use crate::core::features::Invocation;
use crate::core::tasks::clean_comm;

/// Bytes of the program path and of argv the tracer keeps (bpf/execs.h).
pub const EXEC_PATH_LEN: usize = 256;
pub const EXEC_ARGS_LEN: usize = 512;
/// argv was longer than EXEC_ARGS_LEN: the arguments are cut.
pub const EXEC_ARGS_TRUNCATED: u32 = 1;
/// argv could not be read: identity from the path alone.
pub const EXEC_ARGS_UNREAD: u32 = 2;

/// Mirror of `struct exec_record` in bpf/execs.h (checked by size).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecRecord {
    pub pid: i32,
    pub tgid: i32,
    pub start_ns: u64,
    pub cgroup_id: u64,
    pub args_len: u32,
    pub flags: u32,
    pub comm: [u8; 16],
    pub path: [u8; EXEC_PATH_LEN],
    pub args: [u8; EXEC_ARGS_LEN],
    /// The tracer's key for this command line in its slice hints (path, NUL, args).
    pub cmd_hash: u64,
}

impl Default for ExecRecord {
    fn default() -> Self {
        Self {
            pid: 0,
            tgid: 0,
            start_ns: 0,
            cgroup_id: 0,
            args_len: 0,
            flags: 0,
            comm: [0; 16],
            path: [0; EXEC_PATH_LEN],
            args: [0; EXEC_ARGS_LEN],
            cmd_hash: 0,
        }
    }
}

/// Bytes up to the first NUL (all of them without one).
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.split(|b| *b == 0).next().unwrap_or(&[])
}

impl ExecRecord {
    /// Read a record from the ring's bytes; None when too short to be one.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        if data.len() < std::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: plain old data of the checked size, read unaligned from the ring.
        let mut rec = unsafe { std::ptr::read_unaligned(data.as_ptr() as *const Self) };
        rec.comm = clean_comm(&rec.comm);
        Some(rec)
    }

    /// The program's path as exec'd (lossy UTF-8).
    pub fn path(&self) -> String {
        String::from_utf8_lossy(c_str(&self.path)).into_owned()
    }

    pub fn comm(&self) -> String {
        String::from_utf8_lossy(c_str(&self.comm)).into_owned()
    }

    /// argv as /proc/<pid>/cmdline holds it (NUL-separated), within the bytes read.
    pub fn args(&self) -> &[u8] {
        let n = (self.args_len as usize).min(EXEC_ARGS_LEN);
        &self.args[..n]
    }

    pub fn truncated(&self) -> bool {
        self.flags & EXEC_ARGS_TRUNCATED != 0
    }

    /// The invocation, with `program` the resolved path (see [`ProgramPaths`]). A cut argv
    /// loses its last, partial argument rather than teach a wrong number.
    pub fn invocation(&self, program: &str) -> Invocation {
        let args = self.args();
        let args = if self.truncated() {
            match args.iter().rposition(|b| *b == 0) {
                Some(end) => &args[..=end],
                None => &args[..0],
            }
        } else {
            args
        };
        Invocation::from_cmdline(args, Some(program), &self.comm(), false)
    }
}

/// Mirror of `struct fork_record` in bpf/execs.h (checked by size): a new task, which runs its
/// parent's image until it execs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForkRecord {
    pub pid: i32,
    pub parent_pid: i32,
    pub start_ns: u64,
    pub parent_start_ns: u64,
}

/// One record of the exec tracer's ring, in the order the kernel wrote them.
// Kept unboxed: records go into a buffer allocated once; a box would allocate for each exec.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traced {
    Exec(ExecRecord),
    Fork(ForkRecord),
}

impl Traced {
    /// Read a record from the ring's bytes, told apart by size; None for neither.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        if data.len() == std::mem::size_of::<ForkRecord>() {
            // SAFETY: plain old data of the checked size, read unaligned from the ring.
            let rec = unsafe { std::ptr::read_unaligned(data.as_ptr() as *const ForkRecord) };
            return Some(Self::Fork(rec));
        }
        ExecRecord::from_bytes(data).map(Self::Exec)
    }
}

/// Paths as exec'd → resolved paths (symlinks followed, as /proc/<pid>/exe shows them), so a
/// program has one identity whether the tracer or /proc saw it. Bounded cache.
#[derive(Debug, Default)]
pub struct ProgramPaths {
    resolved: HashMap<String, String>,
}

/// Distinct program paths remembered; beyond that the cache starts over.
pub const MAX_PROGRAM_PATHS: usize = 4096;

impl ProgramPaths {
    pub fn resolve(&mut self, path: &str) -> String {
        if let Some(r) = self.resolved.get(path) {
            return r.clone();
        }
        // A relative or vanished path stays as exec'd: still one identity per program.
        let r = std::fs::canonicalize(Path::new(path))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.to_string());
        if self.resolved.len() >= MAX_PROGRAM_PATHS {
            self.resolved.clear();
        }
        self.resolved.insert(path.to_string(), r.clone());
        r
    }
}

/// cgroup ids (the kernel's: the cgroup directory's inode) → paths as /proc/<pid>/cgroup
/// shows them ("/", "/a/b"), found by walking the cgroup v2 tree on a miss.
#[derive(Debug)]
pub struct CgroupPaths {
    root: std::path::PathBuf,
    paths: HashMap<u64, String>,
}

/// Directories visited by one walk of the cgroup tree (and ids remembered).
pub const MAX_CGROUP_DIRS: usize = 8192;

impl CgroupPaths {
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        Self {
            root: root.into(),
            paths: HashMap::new(),
        }
    }

    /// The path of cgroup `id`; "" when it is not (or no longer) in the tree.
    pub fn path(&mut self, id: u64) -> String {
        if let Some(p) = self.paths.get(&id) {
            return p.clone();
        }
        self.rescan();
        self.paths.get(&id).cloned().unwrap_or_default()
    }

    fn rescan(&mut self) {
        use std::os::unix::fs::MetadataExt;
        self.paths.clear();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            if self.paths.len() >= MAX_CGROUP_DIRS {
                break;
            }
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            let rel = dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
            self.paths.insert(meta.ino(), format!("/{}", rel.display()));
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            stack.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, args: &[u8], flags: u32) -> ExecRecord {
        let mut r = ExecRecord {
            args_len: args.len() as u32,
            flags,
            ..ExecRecord::default()
        };
        r.path[..path.len()].copy_from_slice(path.as_bytes());
        r.args[..args.len()].copy_from_slice(args);
        r.comm[..5].copy_from_slice(b"fn_19");
        r
    }

    #[test]
    fn layout_matches_the_c_struct() {
        // 4 + 4 + 8 + 8 + 4 + 4 + 16 + 256 + 512 + 8 bytes, no padding.
        assert_eq!(std::mem::size_of::<ExecRecord>(), 824);
        assert!(ExecRecord::from_bytes(&[0u8; 100]).is_none());
        let r = record("/usr/bin/x", b"x\x0024\x00", 0);
        // SAFETY: viewing a repr(C) POD record as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                &r as *const ExecRecord as *const u8,
                std::mem::size_of::<ExecRecord>(),
            )
        };
        assert_eq!(ExecRecord::from_bytes(bytes), Some(r));
    }

    #[test]
    fn forks_and_execs_are_told_apart_by_size() {
        assert_eq!(std::mem::size_of::<ForkRecord>(), 24);
        let f = ForkRecord {
            pid: 7,
            parent_pid: 3,
            start_ns: 90,
            parent_start_ns: 10,
        };
        // SAFETY: viewing repr(C) POD records as bytes.
        let fork_bytes =
            unsafe { std::slice::from_raw_parts(&f as *const ForkRecord as *const u8, 24) };
        assert_eq!(Traced::from_bytes(fork_bytes), Some(Traced::Fork(f)));
        let r = record("/usr/bin/x", b"x\x00", 0);
        let exec_bytes =
            unsafe { std::slice::from_raw_parts(&r as *const ExecRecord as *const u8, 824) };
        assert_eq!(Traced::from_bytes(exec_bytes), Some(Traced::Exec(r)));
        assert_eq!(Traced::from_bytes(&[0u8; 30]), None);
    }

    #[test]
    fn the_identity_is_the_one_proc_gives() {
        let r = record("/usr/bin/fn", b"fn\x00--mode\x00fast\x0024\x00", 0);
        let from_exec = r.invocation("/usr/bin/fn");
        let from_proc = Invocation::from_cmdline(
            b"fn\x00--mode\x00fast\x0024\x00",
            Some("/usr/bin/fn"),
            "fn",
            false,
        );
        assert_eq!(from_exec.identity, from_proc.identity);
        assert_eq!(from_exec.n_numeric, 1);
        assert_eq!(from_exec.numeric[0], 24.0);
        assert_eq!(r.comm(), "fn_19");
    }

    #[test]
    fn a_cut_argv_drops_its_partial_last_argument() {
        // "123" was cut from "12345": it must not become the number 123.
        let r = record("/bin/f", b"f\x007\x00123", EXEC_ARGS_TRUNCATED);
        let inv = r.invocation("/bin/f");
        assert_eq!(inv.n_numeric, 1);
        assert_eq!(inv.numeric[0], 7.0);
        // Nothing but a partial argv[0]: the path alone.
        let r = record("/bin/f", b"fffff", EXEC_ARGS_TRUNCATED);
        assert_eq!(r.invocation("/bin/f").n_numeric, 0);
    }

    #[test]
    fn args_len_beyond_the_buffer_is_clamped() {
        let mut r = record("/bin/f", b"f\x00", 0);
        r.args_len = 100_000;
        assert_eq!(r.args().len(), EXEC_ARGS_LEN);
    }

    #[test]
    fn program_paths_follow_symlinks_like_proc_exe() {
        let dir = std::env::temp_dir().join(format!("fs-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("real");
        std::fs::write(&target, b"").unwrap();
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut p = ProgramPaths::default();
        let resolved = p.resolve(&link.display().to_string());
        assert_eq!(
            resolved,
            std::fs::canonicalize(&target)
                .unwrap()
                .display()
                .to_string()
        );
        assert_eq!(p.resolve("relative/gone"), "relative/gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cgroup_ids_are_directory_inodes() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("fs-cg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        let mut c = CgroupPaths::new(&dir);
        let ino = std::fs::metadata(dir.join("a/b")).unwrap().ino();
        assert_eq!(c.path(ino), "/a/b");
        let root = std::fs::metadata(&dir).unwrap().ino();
        assert_eq!(c.path(root), "/");
        assert_eq!(c.path(u64::MAX), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
