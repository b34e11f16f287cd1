// SPDX-License-Identifier: GPL-2.0-only
//! Exiting tasks are queued by our BPF layer, not by the kernel (see build.rs,
//! `queue_exiting_tasks`): the connector asks for them (SCX_OPS_ENQ_EXITING) and the dispatcher
//! compiled from OUT_DIR orders them before its path to user space, which finds tasks by pid.

const CONNECTOR: &str = include_str!("../src/bpf.rs");
const DISPATCHER: &str = include_str!(concat!(env!("OUT_DIR"), "/main.bpf.c"));

fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the generated source"))
}

#[test]
fn the_connector_asks_for_exiting_tasks() {
    let flags = at(CONNECTOR, "skel.struct_ops.rustland_mut().flags =");
    let load = at(CONNECTOR, "scx_ops_load!(skel, rustland");
    let asked = at(CONNECTOR, "*compat::SCX_OPS_ENQ_EXITING");
    assert!(
        flags < asked && asked < load,
        "the flag is not set before load"
    );
}

#[test]
fn the_dispatcher_queues_them_before_user_space() {
    let enqueue = at(DISPATCHER, "void BPF_STRUCT_OPS(rustland_enqueue");
    let body = &DISPATCHER[enqueue..];
    let exiting = at(body, "if (p->flags & PF_EXITING)");
    let to_user = at(body, "queue_task_to_userspace(p, prev_cpu, enq_flags)");
    assert!(
        exiting < to_user,
        "an exiting task can reach user space first"
    );
    assert_eq!(DISPATCHER.matches("if (p->flags & PF_EXITING)").count(), 1);
}
