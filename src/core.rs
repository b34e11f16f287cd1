// SPDX-License-Identifier: GPL-2.0-only
//! The decision core, shared by the live loop and the simulator: plain data and functions,
//! no threads, and no I/O but loading and saving its own classifier and modes files. A task's
//! command line becomes [`features`]; [`model`] predicts its CPU demand ([`trainer`] refits
//! the models); [`policy`] turns that into a deadline, a slice and a CPU choice; [`tasks`]
//! remembers what each task did; [`classify`] (with [`classmodel`], the fitted classifier)
//! names the workload of a window and [`modes`] maps each class to policy parameters.

pub mod classify;
pub mod classmodel;
pub mod cpus;
pub mod features;
pub mod model;
pub mod modes;
pub mod policy;
pub mod rng;
pub mod tasks;
pub mod trainer;
