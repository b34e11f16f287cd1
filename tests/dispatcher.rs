// SPDX-License-Identifier: GPL-2.0-only
//! Our changes to the dispatcher scx_rustland_core generates (build.rs), checked in the source
//! compiled from OUT_DIR:
//! - exiting tasks are queued by our BPF layer, not by the kernel (`queue_exiting_tasks`): the
//!   connector asks for them (SCX_OPS_ENQ_EXITING) and the dispatcher orders them before its
//!   path to user space, which finds tasks by pid;
//! - tasks inside a migrate-disabled section come to the dispatcher too
//!   (`queue_migration_disabled`, bpf/pinned.bpf.h): the connector asks for them
//!   (SCX_OPS_ENQ_MIGRATION_DISABLED), the enqueue looks at them first, and neither user space's
//!   decision nor a lock holder's move takes one off its CPU;
//! - the hog rule gives its lower least sleep only to a wakeup inside a timer's callback, not
//!   to any from a hardware interrupt (an IPI from another CPU is one; bpf/hogpreempt.bpf.h);
//! - lock holders run first (`run_lock_holders_first`, bpf/holders.bpf.h): the dispatcher
//!   includes our code and, in its dispatch, tries the holder a waiter named before the
//!   user-space scheduler and before any queue;
//! - wakeups from an uninterruptible sleep are flagged to user space
//!   (`flag_uninterruptible_wakeups`) in the bit the scheduler reads and clears before dispatch,
//!   with the test the wakeup tracer uses (bpf/dsleep.bpf.h);
//! - slices that user space marks end on time (`end_slices_on_time`, bpf/slicetimer.bpf.h):
//!   every insert of a decision notes the mark and clears it, ops.running arms the timer and
//!   ops.stopping disarms it (noting a hog-rule timer lost to a higher class, if asked).

const CONNECTOR: &str = include_str!("../src/bpf.rs");
const DISPATCHER: &str = include_str!(concat!(env!("OUT_DIR"), "/main.bpf.c"));
const HOLDERS: &str = include_str!("../bpf/holders.bpf.h");
const DSLEEP: &str = include_str!("../bpf/dsleep.bpf.h");
const WAKEUPS: &str = include_str!("../bpf/wakeups.bpf.c");
const SCHEDULER: &str = include_str!("../src/sched/scheduler.rs");
const SLICETIMER: &str = include_str!("../bpf/slicetimer.bpf.h");
const PINNED: &str = include_str!("../bpf/pinned.bpf.h");
const HOGPREEMPT: &str = include_str!("../bpf/hogpreempt.bpf.h");

fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the generated source"))
}

/// Whether `first` comes before `then` in `text` (both must be there).
fn before(text: &str, first: &str, then: &str) -> bool {
    at(text, first) < at(text, then)
}

/// The body of the function that `signature` opens, up to its closing brace.
fn body_of<'a>(text: &'a str, signature: &str) -> &'a str {
    let body = &text[at(text, signature)..];
    &body[..at(body, "\n}\n")]
}

#[test]
fn the_connector_asks_for_exiting_and_migration_disabled_tasks() {
    let flags = at(CONNECTOR, "skel.struct_ops.rustland_mut().flags =");
    let load = at(CONNECTOR, "scx_ops_load!(skel, rustland");
    for flag in [
        "*compat::SCX_OPS_ENQ_EXITING",
        "*compat::SCX_OPS_ENQ_MIGRATION_DISABLED",
    ] {
        let asked = at(CONNECTOR, flag);
        assert!(
            flags < asked && asked < load,
            "{flag} is not set before load"
        );
    }
}

#[test]
fn the_dispatcher_queues_them_before_user_space() {
    let body = body_of(DISPATCHER, "void BPF_STRUCT_OPS(rustland_enqueue");
    assert!(
        before(
            body,
            "if (p->flags & PF_EXITING)",
            "queue_task_to_userspace(p, prev_cpu, enq_flags)"
        ),
        "an exiting task can reach user space first"
    );
    assert_eq!(DISPATCHER.matches("if (p->flags & PF_EXITING)").count(), 1);
}

#[test]
fn migration_disabled_tasks_keep_their_cpu() {
    let enqueue = body_of(DISPATCHER, "void BPF_STRUCT_OPS(rustland_enqueue");
    let looked = "if (enqueue_migration_disabled(p, enq_flags))";
    // First: the user-space scheduler's own thread must not wait in its queue on another CPU.
    assert!(before(enqueue, looked, "if (is_usersched_task(p))"));
    assert!(before(enqueue, looked, "queue_task_to_userspace("));
    assert_eq!(DISPATCHER.matches(looked).count(), 1);
    // Under the kernel's rule only when asked; the scheduler's thread always.
    let rule = body_of(PINNED, "static bool enqueue_migration_disabled(");
    assert!(before(
        rule,
        "if (!migration_disabled_local)",
        "SCX_SLICE_DFL"
    ));
    assert!(before(
        rule,
        "is_usersched_task(p)",
        "if (!migration_disabled_local)"
    ));
    // User space's CPU is replaced by the task's own where it is held there.
    let dispatch = body_of(DISPATCHER, "static void dispatch_task(");
    assert!(before(
        dispatch,
        "held_off_cpu(p, task->cpu)",
        "cpu = prev_cpu;"
    ));
    // A lock holder is moved here only if it may leave its CPU.
    let moved = body_of(HOLDERS, "static bool run_queued_first(");
    assert!(before(moved, "!held_off_cpu(p, cpu)", "scx_bpf_dsq_move("));
    // Defined before all its uses.
    assert!(before(
        DISPATCHER,
        "#include \"bpf/pinned.bpf.h\"",
        "#include \"bpf/holders.bpf.h\""
    ));
    assert!(before(
        DISPATCHER,
        "#include \"bpf/pinned.bpf.h\"",
        "static void dispatch_task("
    ));
}

#[test]
fn uninterruptible_wakeups_are_flagged_in_the_bit_user_space_clears() {
    let body = body_of(DISPATCHER, "static void get_task_info(");
    let mark = "task->flags |= 1ULL << 62;";
    assert!(
        before(body, "task->flags = enq_flags;", mark),
        "the copy of the kernel's flags overwrites our mark"
    );
    assert!(before(body, "woke_from_d(p)", mark));
    assert_eq!(DISPATCHER.matches("1ULL << 62").count(), 1);
    // One test of a sleep in D, shared with the wakeup tracer, defined before its use.
    assert!(before(
        DISPATCHER,
        "#include \"bpf/dsleep.bpf.h\"",
        "static void get_task_info("
    ));
    at(DSLEEP, "sched_contributes_to_load");
    at(WAKEUPS, "#include \"dsleep.bpf.h\"");
    for text in [DISPATCHER, WAKEUPS] {
        assert!(!text.contains("sched_contributes_to_load"));
    }
    at(SCHEDULER, "const ENQ_WOKE_UNINTERRUPTIBLE: u64 = 1 << 62;");
    at(SCHEDULER, "d.flags &= !ENQ_WOKE_UNINTERRUPTIBLE;");
}

#[test]
fn the_dispatcher_includes_our_code_once_before_its_dispatch() {
    let include = at(DISPATCHER, "#include \"bpf/holders.bpf.h\"");
    let dispatch = at(DISPATCHER, "void BPF_STRUCT_OPS(rustland_dispatch");
    assert!(include < dispatch);
    assert_eq!(
        DISPATCHER.matches("#include \"bpf/holders.bpf.h\"").count(),
        1
    );
}

#[test]
fn dispatch_tries_the_holder_before_anything_else_it_runs() {
    let body = body_of(DISPATCHER, "void BPF_STRUCT_OPS(rustland_dispatch");
    let holder = at(
        body,
        "if (run_lock_holder(cpu) || run_kernel_preempted(cpu, prev))",
    );
    for consumer in [
        "scx_bpf_dsq_move_to_local(SCHED_DSQ",
        "scx_bpf_dsq_move_to_local(cpu_to_dsq(cpu)",
        "scx_bpf_dsq_move_to_local(SHARED_DSQ",
    ] {
        assert!(holder < at(body, consumer), "{consumer} comes first");
    }
    assert_eq!(DISPATCHER.matches("run_lock_holder(cpu)").count(), 1);
    assert_eq!(
        DISPATCHER
            .matches("run_kernel_preempted(cpu, prev)")
            .count(),
        1
    );
}

#[test]
fn only_our_queues_are_searched_for_a_holder() {
    // A holder in a local queue runs soon anyway, and the scheduler's own queue is its own.
    let wait = at(HOLDERS, "int BPF_PROG(foresight_lock_wait");
    let body = &HOLDERS[wait..];
    let bound = at(body, "if (dsq_id > SHARED_DSQ)");
    let named = at(body, "holder_pid = BPF_CORE_READ(owner, pid)");
    assert!(bound < named);
}

#[test]
fn marked_slices_are_noted_at_each_insert_and_timed_in_running() {
    let include = at(DISPATCHER, "#include \"bpf/slicetimer.bpf.h\"");
    assert_eq!(
        DISPATCHER
            .matches("#include \"bpf/slicetimer.bpf.h\"")
            .count(),
        1
    );
    let dispatch = body_of(DISPATCHER, "static void dispatch_task(");
    assert!(include < at(DISPATCHER, "static void dispatch_task("));
    // Both inserts (shared queue, a CPU's queue) hand the kernel flags without our mark.
    assert_eq!(
        dispatch
            .matches("task->vtime, note_slice_timed(p, task->flags));")
            .count(),
        2
    );
    assert!(!dispatch.contains("task->vtime, task->flags);"));
    let running = body_of(DISPATCHER, "void BPF_STRUCT_OPS(rustland_running");
    assert!(before(
        running,
        "if (is_usersched_task(p))",
        "arm_slice_timer(p, cpu);"
    ));
    let stopping = body_of(DISPATCHER, "void BPF_STRUCT_OPS(rustland_stopping");
    at(stopping, "disarm_slice_timer(p, cpu, runnable);");
    // A hog-rule timer is noted as lost (to arm again at resume) only with --hog-timer-rearm.
    let disarm = body_of(SLICETIMER, "static void disarm_slice_timer(");
    assert!(before(
        disarm,
        "if (hog_timer_rearm && st->hog",
        "hog_timer_lost[cpu] = p->pid;"
    ));
    assert!(before(
        disarm,
        "hog_timer_lost[cpu] = p->pid;",
        "st->pid = 0;"
    ));
    // The mark is the same bit on both sides, and the timer is armed only for a marked slice.
    at(SLICETIMER, "#define ENQ_END_ON_TIME (1ULL << 61)");
    at(SCHEDULER, "const ENQ_END_ON_TIME: u64 = 1 << 61;");
    at(SCHEDULER, "d.flags |= ENQ_END_ON_TIME;");
    let arm = body_of(SLICETIMER, "static void arm_slice_timer(");
    assert!(before(arm, "if (!mark || !*mark)", "start_slice_timer("));
}

#[test]
fn only_a_timers_wakee_gets_the_lower_least_sleep() {
    let rule = body_of(HOGPREEMPT, "static void preempt_hog_for(");
    assert!(before(
        rule,
        "if (woken_by_timer()) {",
        "min_sleep = hog_preempt_irq_sleep_ns;"
    ));
    assert!(!rule.contains("if (bpf_in_hardirq())"));
    let test = body_of(HOGPREEMPT, "static bool woken_by_timer(");
    at(
        test,
        "bpf_in_hardirq() && cpu < MAX_CPUS && in_hrtimer_cb[cpu]",
    );
    // The mark lasts exactly the callback: set at its entry, cleared at its exit.
    let entry = body_of(HOGPREEMPT, "int BPF_PROG(foresight_hrtimer_entry");
    at(entry, "in_hrtimer_cb[cpu] = 1;");
    let exit = body_of(HOGPREEMPT, "int BPF_PROG(foresight_hrtimer_exit");
    at(exit, "in_hrtimer_cb[cpu] = 0;");
    assert!(before(
        HOGPREEMPT,
        "SEC(\"tp_btf/hrtimer_expire_entry\")",
        "int BPF_PROG(foresight_hrtimer_entry"
    ));
    assert!(before(
        HOGPREEMPT,
        "SEC(\"tp_btf/hrtimer_expire_exit\")",
        "int BPF_PROG(foresight_hrtimer_exit"
    ));
}
