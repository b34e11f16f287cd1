// SPDX-License-Identifier: GPL-2.0-only
//! The command line ([`args`]) and one file per offline subcommand (no kernel, no root):
//! [`simulate`], [`trace`], [`train`], [`model`], [`report`] (PNG plots of recorded files).

pub mod args;
pub mod model;
pub mod report;
pub mod simulate;
pub mod trace;
pub mod train;
