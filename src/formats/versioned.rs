// SPDX-License-Identifier: GPL-2.0-only
//! What every versioned JSON file of ours (models, classifier, modes config) shares: a
//! bounded read, the `format` + `schema_version` check, one error type naming the file,
//! atomic writes and the content hash shown in stats.

use std::path::Path;

/// An input file we could not use (any of ours: JSON or CSV): which file, the line when one
/// is to blame, and why. The one error type of every file reader.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}{}: {reason}", .line.map_or(String::new(), |l| format!(":{l}")))]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl FileError {
    pub fn new(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            reason: reason.into(),
        }
    }

    /// The error for line `line` of `file`.
    pub fn at(file: impl Into<String>, line: usize, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
            reason: reason.into(),
        }
    }
}

/// The `format` and `schema_version` every versioned file starts with, checked against what
/// this build reads.
pub fn check_version(
    format: &str,
    want_format: &str,
    version: u32,
    want_version: u32,
) -> Result<(), String> {
    if format != want_format {
        return Err(format!("format is `{format}`, expected `{want_format}`"));
    }
    if version != want_version {
        return Err(format!(
            "schema_version {version} is not supported (this build reads {want_version})"
        ));
    }
    Ok(())
}

/// The largest model, classifier or modes file we read: the shipped ones are < 32 KiB. A
/// bound keeps a mistaken path (a symlink to /dev/zero, a 1 GiB log) from filling memory.
pub const MAX_INPUT_FILE_BYTES: u64 = 16 << 20;

/// The bytes of a model, classifier or modes file: a regular file of at most
/// MAX_INPUT_FILE_BYTES, read with that bound even if it grows meanwhile.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "not a regular file ({}); not reading it",
            file_kind(&meta.file_type())
        ));
    }
    let too_big = || format!("larger than {MAX_INPUT_FILE_BYTES} bytes; not reading it");
    if meta.len() > MAX_INPUT_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_INPUT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT_FILE_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// What a non-regular file is, for messages.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match t {
        t if t.is_dir() => "a directory",
        t if t.is_char_device() => "a character device",
        t if t.is_block_device() => "a block device",
        t if t.is_fifo() => "a FIFO",
        t if t.is_socket() => "a socket",
        _ => "not a plain file",
    }
}

/// Read `path` (bounded) and parse it with `parse`; returns the value and the bytes it came
/// from (to keep as the last good copy). The error names the file and the reason.
pub fn load_with<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<(T, Vec<u8>), FileError> {
    let err = |reason: String| FileError::new(path.display().to_string(), reason);
    let bytes = read_bounded(path).map_err(err)?;
    let value = parse(&bytes).map_err(err)?;
    Ok((value, bytes))
}

/// Write `text` plus a newline to a temporary file next to `path`, then rename it into place:
/// a watcher never sees half a file.
pub fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let mut bytes = text.to_vec();
    bytes.push(b'\n');
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// FNV-1a of the file's bytes: the model version shown in stats.
pub fn content_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
