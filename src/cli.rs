// SPDX-License-Identifier: GPL-2.0-only
//! The command line ([`args`]) and the offline subcommands (no kernel, no root): [`commands`]
//! (simulate, trace, train, model) and [`report`] (a benchmark run's Markdown report).

pub mod args;
pub mod commands;
pub mod report;
