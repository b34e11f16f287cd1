// SPDX-License-Identifier: GPL-2.0-only
//! The threads beside the dispatch loop, and what they share with it. The loop never blocks:
//! these threads do the slow work and hand results back by channel or atomic swap.
//!
//! - [`learner`] refits the models from completed tasks; [`reload`] reloads the model files
//!   ([`watch`]: file changes and SIGHUP, for every reloading thread; [`last_good`] keeps the
//!   last accepted copy);
//! - [`adapt`] classifies each window and publishes the mode in force;
//! - [`procinfo`] turns /proc reads and exec records ([`exec_record`]) into task identities;
//! - [`recorder`] writes `--record` samples; [`stats`] holds the loop's counters and
//!   [`sched_stats`] their published form;
//! - [`handoff`] is the lock-free channel between them and the loop;
//! - [`helper_thread`] starts each of them the same way (before attach, with a CPU budget);
//!   [`preflight`] checks that the host can attach at all.

pub mod adapt;
pub mod exec_record;
pub mod handoff;
pub mod helper_thread;
pub mod last_good;
pub mod learner;
pub mod preflight;
pub mod procinfo;
pub mod recorder;
pub mod reload;
pub mod sched_stats;
pub mod stats;
pub mod watch;
