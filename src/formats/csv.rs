// SPDX-License-Identifier: GPL-2.0-only
//! CSV helpers shared by every CSV file we read or write (traces, samples, signal windows,
//! calibrations): the error that names the file and line, strict header checks, quoting, and
//! appending only to a file of ours.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write as _};
use std::path::Path;

use crate::formats::versioned::FileError;

/// The whole text of an input file, with the file named if it cannot be read.
pub fn read_input(path: &Path) -> Result<(String, String), FileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(file.clone(), format!("cannot read: {e}")))?;
    Ok((text, file))
}

/// Open a CSV file of ours for appending rows. Only a missing (or empty) file is new and gets
/// `header`; an existing one must start with exactly that header line and end with a whole
/// line, else it is refused: we never write into a file we did not understand.
pub fn open_csv_for_append(path: &Path, header: &str) -> Result<File, FileError> {
    let file = path.display().to_string();
    let io = |e: std::io::Error| FileError::new(file.clone(), format!("cannot read: {e}"));
    let refuse = |reason: String| FileError::at(file.clone(), 1, reason);
    let mut f = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(io)?,
        Err(e) => return Err(io(e)),
    };
    let meta = f.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > 0 {
        // Read only the header's length (+ newline): the file may be large.
        let mut head = Vec::with_capacity(header.len() + 1);
        (&mut f)
            .take(header.len() as u64 + 1)
            .read_to_end(&mut head)
            .map_err(io)?;
        if head.strip_suffix(b"\n") != Some(header.as_bytes()) {
            let found = String::from_utf8_lossy(&head);
            return Err(refuse(format!(
                "exists and does not start with the header `{header}` (found `{}`); not appending to it",
                found.trim_end()
            )));
        }
        let mut last = [0u8; 1];
        f.seek(SeekFrom::End(-1)).map_err(io)?;
        f.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            return Err(refuse(
                "its last line is incomplete (no final newline); not appending to it".into(),
            ));
        }
        return Ok(f);
    }
    writeln!(f, "{header}").map_err(io)?;
    Ok(f)
}

/// The rows of a CSV input after its header line `want`, each as (line number, fields): blank
/// lines skipped, every line split strictly and, with `width`, of exactly that many fields.
/// The one row loop of every CSV file we read; `file` names the source in errors.
pub fn rows(
    text: &str,
    file: &str,
    want: &str,
    width: Option<usize>,
) -> Result<Vec<(usize, Vec<String>)>, FileError> {
    let bad = |line: usize, reason: String| FileError::at(file, line, reason);
    let mut out = Vec::new();
    for (n, line) in body_after_header(text, want, bad)? {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(line).map_err(|r| bad(n, r))?;
        match width {
            Some(w) if fields.len() != w => {
                return Err(bad(
                    n,
                    format!("expected {w} fields, found {}", fields.len()),
                ))
            }
            _ => out.push((n, fields)),
        }
    }
    Ok(out)
}

/// The body lines of a CSV input (numbered from 2) after checking its header line is `want`;
/// `bad` builds the error for a line.
fn body_after_header<'t>(
    text: &'t str,
    want: &str,
    bad: impl Fn(usize, String) -> FileError,
) -> Result<impl Iterator<Item = (usize, &'t str)>, FileError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, h)) if h.trim() == want => Ok(lines),
        Some((_, h)) => Err(bad(1, format!("header must be `{want}`, found `{h}`"))),
        None => Err(bad(1, "empty file (no header)".into())),
    }
}

/// Split one CSV line; fields may be double-quoted (with "" for a quote).
pub fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// A CSV field, quoted when it contains a comma or a quote.
pub fn quote_csv(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_only_to_files_we_understand() {
        let dir = std::env::temp_dir().join(format!("foresight-append-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.csv");
        let append = |text: Option<&[u8]>| {
            let _ = std::fs::remove_file(&path);
            if let Some(t) = text {
                std::fs::write(&path, t).unwrap();
            }
            let r = open_csv_for_append(&path, "a,b").map(|mut f| writeln!(f, "1,2").unwrap());
            (r, std::fs::read(&path).unwrap())
        };
        // New (missing or empty): the header first.
        assert_eq!(append(None), (Ok(()), b"a,b\n1,2\n".to_vec()));
        assert_eq!(append(Some(b"")), (Ok(()), b"a,b\n1,2\n".to_vec()));
        // Ours: appended after the rows already there.
        assert_eq!(append(Some(b"a,b\n0,0\n")).1, b"a,b\n0,0\n1,2\n".to_vec());
        // Another header, a header that only starts like ours, bytes that are not text, a
        // torn last row: refused, the file untouched.
        for text in [
            &b"x,y\n0,0\n"[..],
            b"a,b,c\n",
            b"\xff\xfe\x00a,b\n",
            b"a,b\n0,",
            b"a,b",
        ] {
            let (r, after) = append(Some(text));
            let err = r.unwrap_err().to_string();
            assert!(err.starts_with(&format!("{}:1:", path.display())), "{err}");
            assert_eq!(after, text);
        }
        // A directory cannot be opened: refused, naming it.
        let err = open_csv_for_append(&dir, "a,b").unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
