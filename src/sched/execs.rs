// SPDX-License-Identifier: GPL-2.0-only
//! Userspace side of bpf/execs.bpf.c: the exec tracer, polled by the /proc worker thread (not
//! by the dispatch loop): it turns each record into the task's identity before its next enqueue,
//! and each fork record into the child's, its parent's.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject};
use log::warn;
use scx_foresight::live::exec_record::Traced;
use scx_foresight::live::procinfo::{ExecCounts, ExecSource, ExecSourceFactory};

#[allow(clippy::all, dead_code, non_camel_case_types)]
mod execs_skel {
    include!(concat!(env!("OUT_DIR"), "/execs_skel.rs"));
}
use execs_skel::{ExecsSkel, ExecsSkelBuilder};

/// Records buffered between two polls; beyond that they are dropped (the task falls back to
/// /proc).
pub const MAX_PENDING_EXECS: usize = 4096;

pub struct ExecTracer {
    // Kept alive: dropping the skeleton detaches the program.
    skel: ExecsSkel<'static>,
    ring: libbpf_rs::RingBuffer<'static>,
    inbox: Rc<RefCell<Vec<Traced>>>,
    // Whether a failed slice hint was logged (once: the image then just gets the grace).
    hint_failed: bool,
}

impl ExecTracer {
    /// Load and attach the sched_process_exec tracer, cutting each exec'ing task's slice to
    /// `grace_ns` when the kernel lets a tracer do so (else without: the new image waits for
    /// its slice's end).
    pub fn load(grace_ns: u64, slice_timer_max_ns: u64) -> Result<Self> {
        let refused = match Self::load_with(true, grace_ns, slice_timer_max_ns) {
            Ok(tracer) => return Ok(tracer),
            Err(e) => e,
        };
        // Only when the plain tracer loads was the end of slice the cause; else its error says why.
        let tracer = Self::load_with(false, 0, 0)?;
        warn!("exec tracer: cannot end the slice at exec ({refused:#}); exec'd images are decided as themselves from their next enqueue");
        Ok(tracer)
    }

    /// Load with or without the end of slice at exec. Its object lives as long as the process
    /// (one per worker; the worker thread that polls it never ends before the process).
    fn load_with(preempt_on_exec: bool, grace_ns: u64, slice_timer_max_ns: u64) -> Result<Self> {
        let storage: &'static mut MaybeUninit<OpenObject> =
            Box::leak(Box::new(MaybeUninit::uninit()));
        let mut open = ExecsSkelBuilder::default()
            .open(storage)
            .context("opening bpf/execs.bpf.c")?;
        if let Some(rodata) = open.maps.rodata_data.as_mut() {
            rodata.preempt_on_exec = preempt_on_exec;
            rodata.exec_grace_ns = grace_ns;
            rodata.slice_timer_max_ns = slice_timer_max_ns;
        }
        let mut skel = open.load().context("loading bpf/execs.bpf.c")?;
        skel.attach()
            .context("attaching the sched_process_exec tracer")?;
        let inbox = Rc::new(RefCell::new(Vec::with_capacity(MAX_PENDING_EXECS)));
        let sink = inbox.clone();
        let mut builder = libbpf_rs::RingBufferBuilder::new();
        builder
            .add(&skel.maps.execs, move |data: &[u8]| {
                let mut v = sink.borrow_mut();
                if let (Some(rec), true) = (Traced::from_bytes(data), v.len() < MAX_PENDING_EXECS) {
                    v.push(rec);
                }
                0
            })
            .context("exec ring buffer")?;
        let ring = builder.build().context("exec ring buffer")?;
        Ok(Self {
            skel,
            ring,
            inbox,
            hint_failed: false,
        })
    }

    /// The factory the /proc worker calls in its own thread.
    pub fn factory(grace_ns: u64, slice_timer_max_ns: u64) -> ExecSourceFactory {
        Box::new(move || {
            Ok(Box::new(ExecTracer::load(grace_ns, slice_timer_max_ns)?) as Box<dyn ExecSource>)
        })
    }
}

impl ExecSource for ExecTracer {
    fn poll(&mut self, timeout: Duration, out: &mut Vec<Traced>) {
        let _ = self.ring.poll(timeout);
        // Fork records wake no one: a poll that timed out consumed nothing.
        let _ = self.ring.consume();
        out.append(&mut self.inbox.borrow_mut());
    }

    fn set_exec_slice(&mut self, cmd_hash: u64, slice_ns: Option<u64>) {
        let map = &self.skel.maps.exec_slices;
        let key = cmd_hash.to_ne_bytes();
        let done = match slice_ns {
            Some(ns) => map.update(&key, &ns.to_ne_bytes(), MapFlags::ANY),
            // Gone already (evicted) is as good as deleted.
            None => map.delete(&key).or(Ok(())),
        };
        if let (Err(e), false) = (done, self.hint_failed) {
            self.hint_failed = true;
            warn!("exec tracer: cannot leave a command line its slice ({e}); its images get the grace");
        }
    }

    fn counts(&self) -> ExecCounts {
        self.skel
            .maps
            .bss_data
            .as_ref()
            .map_or(ExecCounts::default(), |b| ExecCounts {
                preempted: b.nr_exec_preempted,
                kept: b.nr_exec_kept,
                ended: b.nr_exec_ended,
                dropped: b.nr_exec_dropped,
                truncated: b.nr_exec_truncated,
                unread: b.nr_exec_unread,
                timer_ends: b.nr_exec_timer_ends,
            })
    }
}
