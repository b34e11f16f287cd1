// SPDX-License-Identifier: GPL-2.0-only
//! The threads beside the dispatch loop, and what they share with it. The loop never blocks:
//! these threads do the slow work and hand results back by channel or atomic swap.
//!
//! - [`learner`] refits the models from completed tasks; [`reload`] watches the model and
//!   config files ([`last_good`] keeps the last accepted copy);
//! - [`adapt`] classifies each window and publishes the mode in force;
//! - [`procinfo`] turns /proc reads and exec records ([`exec_record`]) into task identities;
//! - [`recorder`] writes `--record` samples; [`stats`] is what the loop publishes;
//! - [`helper_thread`] starts each of them the same way (before attach, with a CPU budget);
//!   [`preflight`] checks that the host can attach at all.

pub mod adapt;
pub mod exec_record;
pub mod helper_thread;
pub mod last_good;
pub mod learner;
pub mod preflight;
pub mod procinfo;
pub mod recorder;
pub mod reload;
pub mod stats;
