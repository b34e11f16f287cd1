// SPDX-License-Identifier: GPL-2.0-only
//! Userspace side of bpf/exits.bpf.c: drain exit records without blocking.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::OpenObject;
use scx_foresight::core::tasks::clean_comm;

#[allow(clippy::all, dead_code, non_camel_case_types)]
mod exits_skel {
    include!(concat!(env!("OUT_DIR"), "/exits_skel.rs"));
}
use exits_skel::{ExitsSkel, ExitsSkelBuilder};

/// Mirror of `struct exit_record` in bpf/exits.h.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitRecord {
    pub pid: i32,
    pub tgid: i32,
    pub start_ns: u64,
    pub cpu_ns: u64,
    pub comm: [u8; 16],
}

/// Records buffered between two drains; beyond that they are dropped and counted.
pub const MAX_PENDING_EXITS: usize = 4096;

pub struct ExitTracker<'a> {
    skel: ExitsSkel<'a>,
    ring: libbpf_rs::RingBuffer<'a>,
    inbox: Rc<RefCell<Vec<ExitRecord>>>,
    overflow: Rc<RefCell<u64>>,
}

impl<'a> ExitTracker<'a> {
    /// Load and attach the exit tracepoint; must run before the scheduler attaches (the core
    /// forbids new mappings afterwards).
    pub fn load(open_object: &'a mut MaybeUninit<OpenObject>) -> Result<Self> {
        let open = ExitsSkelBuilder::default()
            .open(open_object)
            .context("opening bpf/exits.bpf.c")?;
        let mut skel = open.load().context("loading bpf/exits.bpf.c")?;
        skel.attach()
            .context("attaching the sched_process_exit tracer")?;
        let inbox = Rc::new(RefCell::new(Vec::with_capacity(MAX_PENDING_EXITS)));
        let overflow = Rc::new(RefCell::new(0u64));
        let (sink, lost) = (inbox.clone(), overflow.clone());
        let mut builder = libbpf_rs::RingBufferBuilder::new();
        builder
            .add(&skel.maps.exits, move |data: &[u8]| {
                if data.len() < std::mem::size_of::<ExitRecord>() {
                    return 0;
                }
                // SAFETY: the record is plain old data written by the BPF program with the
                // layout of ExitRecord (checked size); read unaligned from the ring.
                let mut rec =
                    unsafe { std::ptr::read_unaligned(data.as_ptr() as *const ExitRecord) };
                rec.comm = clean_comm(&rec.comm);
                let mut v = sink.borrow_mut();
                if v.len() < MAX_PENDING_EXITS {
                    v.push(rec);
                } else {
                    *lost.borrow_mut() += 1;
                }
                0
            })
            .context("exit ring buffer")?;
        let ring = builder.build().context("exit ring buffer")?;
        Ok(Self {
            skel,
            ring,
            inbox,
            overflow,
        })
    }

    /// Move every record available now into `out` (non-blocking).
    pub fn drain(&mut self, out: &mut Vec<ExitRecord>) {
        let _ = self.ring.consume();
        let mut v = self.inbox.borrow_mut();
        out.extend(v.drain(..));
    }

    /// Records lost (in the kernel's ring or our buffer).
    pub fn dropped(&self) -> u64 {
        let kernel = self
            .skel
            .maps
            .bss_data
            .as_ref()
            .map_or(0, |b| b.nr_exit_dropped);
        kernel + *self.overflow.borrow()
    }
}
