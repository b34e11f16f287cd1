// SPDX-License-Identifier: GPL-2.0-only
//! The scheduler attached to the kernel (binary only: it needs the BPF side). [`scheduler`]
//! is the dispatch loop; [`exits`], [`execs`], [`signals`] and [`wakeups`] are the userspace
//! ends of our own BPF programs in bpf/; [`worker`] starts the helper threads and runs the loop;
//! [`supervisor`] restarts the worker and [`stats_service`] serves its statistics.

pub mod execs;
pub mod exits;
pub mod scheduler;
pub mod signals;
pub mod stats_service;
pub mod supervisor;
pub mod wakeups;
pub mod worker;
