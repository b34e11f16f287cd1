// SPDX-License-Identifier: GPL-2.0-only
//! The tools that need no sched_ext kernel: the simulator ([`sim`], same policy code as the
//! live loop), trace generation ([`tracegen`]), model fitting ([`training`]), trace
//! replay on a real machine ([`replay`]) and the fuzzers' entry points ([`fuzz_targets`]).

pub mod fuzz_targets;
pub mod replay;
pub mod sim;
pub mod tracegen;
pub mod training;
