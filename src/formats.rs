// SPDX-License-Identifier: GPL-2.0-only
//! The files scx_foresight reads and writes: versioned JSON model files ([`modelfile`]), CSV
//! training samples ([`samples`]) and invocation traces ([`trace`]), with the CSV helpers they
//! share ([`csv`]). Every reader is strict and names the file and line of
//! what it rejects.

pub mod csv;
pub mod modelfile;
pub mod samples;
pub mod trace;
pub mod versioned;
