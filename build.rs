// SPDX-License-Identifier: GPL-2.0-only
//
// Generate the BPF side: scx_rustland_core's dispatcher and its Rust connector (intf.h,
// main.bpf.c, src/bpf.rs: generated, ignored by git; changes of ours applied below, each
// failing the build if the template moves), and our own programs in bpf/.

fn main() {
    scx_rustland_core::RustLandBuilder::new()
        .expect("scx_rustland_core builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .build()
        .expect("scx_rustland_core builder: BPF build failed");
    let dispatcher =
        std::fs::read_to_string(DISPATCHER).unwrap_or_else(|e| panic!("{DISPATCHER}: {e}"));
    let dispatcher = preempt_hogs_on_wakeup(&end_slices_on_time(&flag_uninterruptible_wakeups(
        &run_lock_holders_first(&queue_migration_disabled(&queue_exiting_tasks(&dispatcher))),
    )));
    compile_dispatcher(&dispatcher);
    ask_for_kernel_kept_tasks("src/bpf.rs");
    attach_last("src/bpf.rs");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/exits.bpf.c", "exits")
        .build()
        .expect("bpf/exits.bpf.c: BPF build failed");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/execs.bpf.c", "execs")
        .build()
        .expect("bpf/execs.bpf.c: BPF build failed");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/signals.bpf.c", "signals")
        .build()
        .expect("bpf/signals.bpf.c: BPF build failed");
    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/wakeups.bpf.c", "wakeups")
        .build()
        .expect("bpf/wakeups.bpf.c: BPF build failed");
    for header in [
        "bpf/holders.bpf.h",
        "bpf/dsleep.bpf.h",
        "bpf/slicetimer.bpf.h",
        "bpf/cputimer.bpf.h",
        "bpf/hogpreempt.bpf.h",
        "bpf/pinned.bpf.h",
        "bpf/exits.h",
        "bpf/execs.h",
        "bpf/signals.h",
        "bpf/wakeups.h",
    ] {
        println!("cargo:rerun-if-changed={header}");
    }
}

/// The line of the core's connector that attaches the scheduler to the kernel.
const ATTACH_LINE: &str = "        let struct_ops = Some(scx_ops_attach!(skel, rustland)?);\n";
/// The connector's last step before returning: the seccomp filter that forbids new mappings.
const LAST_SETUP_LINE: &str =
    "        ALLOCATOR.disable_mmap().expect(\"Failed to disable mmap\");\n";

/// Attach only after the connector's setup (ring-buffer mappings, mlockall of the whole
/// process, the seccomp filter), not before it as the core's template does. Once attached, every
/// task waits for our loop, and that setup can wait for a task: the seccomp filter is a BPF
/// program, whose per-CPU stats need the kernel's percpu allocator mutex. In the VM an `sh`
/// preempted in exec while holding that mutex was queued to us, the setup waited on it, and the
/// kernel evicted us after 5 s (the ps-top case, stop 24's CI). The mlockall (64 MB heap) was
/// also a long window with nobody dispatching. Fails the build if the template changed.
fn attach_last(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (Some(attach), Some(last)) = (text.find(ATTACH_LINE), text.find(LAST_SETUP_LINE)) else {
        panic!("{path}: scx_rustland_core's template changed; update build.rs's attach_last");
    };
    if last < attach {
        return; // patched already
    }
    let moved = text.replacen(ATTACH_LINE, "", 1).replacen(
        LAST_SETUP_LINE,
        &format!("{LAST_SETUP_LINE}\n        // Attached last (see scx_foresight's build.rs).\n{ATTACH_LINE}"),
        1,
    );
    std::fs::write(path, moved).unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// The dispatcher scx_rustland_core generates.
const DISPATCHER: &str = "main.bpf.c";
/// The core's enqueue, just before it decides between a direct dispatch and user space.
const ENQUEUE_ANCHOR: &str =
    "\t/*\n\t * If @builtin_idle is enabled, give the task a chance to be\n";
/// Exiting tasks, ordered by the BPF layer (see queue_exiting_tasks).
const EXITING_BRANCH: &str = "\t/*
\t * scx_foresight: an exiting task (passed to us: SCX_OPS_ENQ_EXITING) goes
\t * to its CPU's queue, due now: ahead of what is due later, so that exits
\t * finish first as before, yet behind anything already overdue; user
\t * space might no longer find it by pid to dispatch it.
\t */
\tif (p->flags & PF_EXITING) {
\t\tscx_bpf_dsq_insert_vtime(p, cpu_to_dsq(prev_cpu), slice_ns,
\t\t\t\t\t bpf_ktime_get_ns(), enq_flags);
\t\t__sync_fetch_and_add(&nr_kernel_dispatches, 1);
\t\tgoto out_kick;
\t}

";
/// The connector's ops flags, set before load, and the same with the tasks we ask for.
const FLAGS_LINE: &str =
    "            *compat::SCX_OPS_ENQ_LAST | *compat::SCX_OPS_ALLOW_QUEUED_WAKEUP;\n";
const FLAGS_WITH_OURS: &str = "            *compat::SCX_OPS_ENQ_LAST
                | *compat::SCX_OPS_ALLOW_QUEUED_WAKEUP
                | *compat::SCX_OPS_ENQ_EXITING
                | *compat::SCX_OPS_ENQ_MIGRATION_DISABLED; // see scx_foresight's build.rs
";

/// One change to the core's template: `text` goes before `anchor`, after it, or instead of it,
/// at each of its places, which must be exactly `times`.
struct Edit<'a> {
    anchor: &'a str,
    text: String,
    times: usize,
}

impl<'a> Edit<'a> {
    fn before(anchor: &'a str, text: &str) -> Self {
        Self::instead(anchor, &format!("{text}{anchor}"))
    }

    fn after(anchor: &'a str, text: &str) -> Self {
        Self::instead(anchor, &format!("{anchor}{text}"))
    }

    fn instead(anchor: &'a str, text: &str) -> Self {
        Self {
            anchor,
            text: text.to_string(),
            times: 1,
        }
    }
}

/// Apply `edits` in order, once every anchor was found as often as expected; else fail the
/// build, naming `step`, the function to update.
fn edit_template(text: &str, step: &str, edits: &[Edit]) -> String {
    if edits
        .iter()
        .any(|e| text.matches(e.anchor).count() != e.times)
    {
        panic!("{DISPATCHER}: scx_rustland_core's template changed; update build.rs's {step}");
    }
    edits
        .iter()
        .fold(text.to_string(), |t, e| t.replace(e.anchor, &e.text))
}

/// Let the BPF layer queue exiting tasks, not the kernel. Left to the core (the template's
/// flags), an exiting task goes to its CPU's local queue with a fresh 20 ms slice at every slice
/// end, and a CPU with a local task never asks the BPF layer for work: what waited in that CPU's
/// own queue starved for the whole exit (in stop 29's CI ksoftirqd/0 for 5.2 s, and the kernel
/// evicted us; the VM case exit-hog). Fails the build if the template changed.
fn queue_exiting_tasks(text: &str) -> String {
    edit_template(
        text,
        "queue_exiting_tasks",
        &[Edit::before(ENQUEUE_ANCHOR, EXITING_BRANCH)],
    )
}

/// The core's enqueue, where it first looks at the task: the user-space scheduler's own.
const ENQUEUE_OPENING: &str =
    "\t/*\n\t * Insert the user-space scheduler to its dedicated DSQ, it will be\n";
const PINNED_INCLUDE: &str = "/* scx_foresight: tasks inside a migrate-disabled section (see build.rs). */\n#include \"bpf/pinned.bpf.h\"\n\n";
const PINNED_BRANCH: &str = "\t/*
\t * scx_foresight: a task inside a migrate-disabled section (passed to us:
\t * SCX_OPS_ENQ_MIGRATION_DISABLED) goes on as any other, its CPU kept in
\t * dispatch_task; with --kernel-migration-disabled, to its CPU's local
\t * queue with the default slice, as the kernel did (bpf/pinned.bpf.h).
\t */
\tif (enqueue_migration_disabled(p, enq_flags))
\t\tgoto out_kick;

";
/// dispatch_task's check of user space's CPU against the task's mask.
const DISPATCH_AFFINITY_LINE: &str = "\tif (!bpf_cpumask_test_cpu(task->cpu, p->cpus_ptr)) {\n";
const DISPATCH_AFFINITY_PINNED: &str = "\tif (!bpf_cpumask_test_cpu(task->cpu, p->cpus_ptr) ||
\t    held_off_cpu(p, task->cpu)) { /* scx_foresight */
";

/// Decide tasks inside a migrate-disabled section (bpf/pinned.bpf.h): the connector sets
/// SCX_OPS_ENQ_MIGRATION_DISABLED, without which the kernel put them on their CPU's local queue
/// with a 20 ms slice, past our loop. Their CPU is kept when user space picks another. Fails the
/// build if the template changed.
fn queue_migration_disabled(text: &str) -> String {
    edit_template(
        text,
        "queue_migration_disabled",
        &[
            Edit::before(DISPATCH_TASK_OPENING, PINNED_INCLUDE),
            Edit::before(ENQUEUE_OPENING, PINNED_BRANCH),
            Edit::instead(DISPATCH_AFFINITY_LINE, DISPATCH_AFFINITY_PINNED),
        ],
    )
}

/// The core's dispatch, just before it runs the user-space scheduler.
const DISPATCH_ANCHOR: &str =
    "\t/*\n\t * Dispatch the user-space scheduler if there's any pending action\n";
/// The comment that opens the core's dispatch: our lock-holder code goes before it.
const DISPATCH_OPENING: &str = "/*\n * Dispatch tasks that are ready to run.\n";
const HOLDERS_INCLUDE: &str =
    "/* scx_foresight: lock holders first (see build.rs). */\n#include \"bpf/holders.bpf.h\"\n\n";
const HOLDERS_CALL: &str = "\t/*
\t * scx_foresight: a lock holder that waiters named runs first, or
\t * when @prev sleeps in state D the likeliest holder of what it waits
\t * for (bpf/holders.bpf.h).
\t */
\tif (run_lock_holder(cpu) || run_kernel_preempted(cpu, prev))
\t\treturn;

";

/// Run a queued lock holder before anything else when a task starts waiting on its lock
/// (bpf/holders.bpf.h): decided as a long task, a holder otherwise kept every waiter asleep
/// until its turn (BENCHMARKS.md section 21: 114 ms, 31 waiters). Fails the build if the
/// template changed.
fn run_lock_holders_first(text: &str) -> String {
    edit_template(
        text,
        "run_lock_holders_first",
        &[
            Edit::before(DISPATCH_OPENING, HOLDERS_INCLUDE),
            Edit::before(DISPATCH_ANCHOR, HOLDERS_CALL),
        ],
    )
}

/// The core's copy of the kernel's enqueue flags into what it queues to user space.
const TASK_FLAGS_LINE: &str = "\ttask->flags = enq_flags;\n";
/// Flags a wakeup from an uninterruptible sleep, in a bit the kernel's enqueue flags leave
/// free (scx_foresight's `ENQ_WOKE_UNINTERRUPTIBLE`, cleared again before dispatch).
const TASK_FLAGS_WOKE_D: &str = "\ttask->flags = enq_flags;
\t/*
\t * scx_foresight: woken from an uninterruptible sleep (see build.rs's
\t * flag_uninterruptible_wakeups).
\t */
\tif ((enq_flags & SCX_ENQ_WAKEUP) && woke_from_d(p))
\t\ttask->flags |= 1ULL << 62;
";
/// The core's function that fills what it queues to user space; woke_from_d goes before it.
const TASK_INFO_OPENING: &str = "static void get_task_info(";
/// The test shared with bpf/wakeups.bpf.c.
const DSLEEP_INCLUDE: &str =
    "/* scx_foresight: woke_from_d (see build.rs). */\n#include \"bpf/dsleep.bpf.h\"\n\n";

/// Tell user space which wakeups end an uninterruptible sleep: a task woken from one may have
/// been handed the lock it slept on (a folio's lock passes to the woken waiter), so the next
/// waiter sleeps until it runs. In the VM's generated replay such images waited 6-34 ms
/// (medians per replay) from that wakeup to their run, up to 562 ms when decided as hogs,
/// against the default's 5-7 ms (BENCHMARKS.md section 25). Fails the build if the template
/// changed.
fn flag_uninterruptible_wakeups(text: &str) -> String {
    edit_template(
        text,
        "flag_uninterruptible_wakeups",
        &[
            Edit::before(TASK_INFO_OPENING, DSLEEP_INCLUDE),
            Edit::instead(TASK_FLAGS_LINE, TASK_FLAGS_WOKE_D),
        ],
    )
}

/// The comment that opens the core's queue_task_to_userspace, and its last lines, where the
/// task is in the ring buffer.
const QUEUE_TASK_OPENING: &str = "/*\n * Queue a task to the user-space scheduler.\n */\n";
const QUEUE_TASK_SUBMIT: &str =
    "\tbpf_ringbuf_submit(task, 0);\n\t__sync_fetch_and_add(&nr_queued, 1);\n";
const HOGPREEMPT_INCLUDE: &str =
    "/* scx_foresight: a CPU hog yields to a sleeper that wakes (see build.rs). */\n#include \"bpf/hogpreempt.bpf.h\"\n\n";
const HOGPREEMPT_CALL: &str = "\t/* scx_foresight: a hog here yields to a wakee (bpf/hogpreempt.bpf.h). */\n\tpreempt_hog_for(p, tctx, enq_flags);\n";
/// In the core's running callback, after end_slices_on_time's line there.
const RUNNING_TIMER_LINE: &str = "\tarm_slice_timer(p, cpu); /* scx_foresight */\n";
const RUNNING_HOG_LINE: &str = "\tpreempt_resumed_hog(p, cpu); /* scx_foresight */\n";

/// Preempt a CPU hog when a normal task that slept wakes on its CPU (bpf/hogpreempt.bpf.h): the
/// wakee is otherwise decided only at the end of the hog's slice (cyclictest's SCHED_OTHER p99
/// 5.5-5.8 ms without it, BENCHMARKS.md section 35); or when the hog resumes, if a higher class
/// held the CPU at the wakeup. Applied after end_slices_on_time. Fails the build if the
/// template changed.
fn preempt_hogs_on_wakeup(text: &str) -> String {
    edit_template(
        text,
        "preempt_hogs_on_wakeup",
        &[
            Edit::before(QUEUE_TASK_OPENING, HOGPREEMPT_INCLUDE),
            Edit::after(QUEUE_TASK_SUBMIT, HOGPREEMPT_CALL),
            Edit::after(RUNNING_TIMER_LINE, RUNNING_HOG_LINE),
        ],
    )
}

/// The core's dispatch_task, where user space's decisions are inserted: our slice timer is
/// included before it, and each insert passes the flags through note_slice_timed.
const DISPATCH_TASK_OPENING: &str =
    "/*\n * Dispatch a task to a target per-CPU DSQ, waking up the corresponding CPU, if\n";
const DISPATCH_INSERT_FLAGS: &str = "task->slice_ns, task->vtime, task->flags);";
const DISPATCH_INSERT_NOTED: &str =
    "task->slice_ns, task->vtime, note_slice_timed(p, task->flags));";
const RUNNING_COUNT_LINE: &str = "\t__sync_fetch_and_add(&nr_running, 1);\n";
const STOPPING_COUNT_LINE: &str = "\t__sync_fetch_and_sub(&nr_running, 1);\n";
const STOPPING_DISARM_LINE: &str = "\tdisarm_slice_timer(p, cpu, runnable); /* scx_foresight */\n";
const SLICETIMER_INCLUDE: &str =
    "/* scx_foresight: slices that end on time (see build.rs). */\n#include \"bpf/slicetimer.bpf.h\"\n\n";

/// End slices shorter than the scheduler tick on time (bpf/slicetimer.bpf.h) when user space
/// marks them: the kernel checks a slice only at its tick, so a 0.5 ms slice ran up to 4 ms at
/// HZ=250 (exec'd images ran a median 988 us after a 0.5 ms grace, BENCHMARKS.md section 28).
/// Fails the build if the template changed.
fn end_slices_on_time(text: &str) -> String {
    edit_template(
        text,
        "end_slices_on_time",
        &[
            Edit::before(DISPATCH_TASK_OPENING, SLICETIMER_INCLUDE),
            // Both of dispatch_task's inserts: the shared queue's and a CPU's.
            Edit {
                times: 2,
                ..Edit::instead(DISPATCH_INSERT_FLAGS, DISPATCH_INSERT_NOTED)
            },
            Edit::after(RUNNING_COUNT_LINE, RUNNING_TIMER_LINE),
            Edit::after(STOPPING_COUNT_LINE, STOPPING_DISARM_LINE),
        ],
    )
}

/// Compile the changed dispatcher from OUT_DIR, replacing the core's object and skeleton.
fn compile_dispatcher(text: &str) {
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR is set for build scripts");
    let source = format!("{out_dir}/main.bpf.c");
    // Written only when it changed: the BPF builder reruns this script when it does.
    if std::fs::read_to_string(&source).ok().as_deref() != Some(text) {
        std::fs::write(&source, text).unwrap_or_else(|e| panic!("{source}: {e}"));
    }
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set");
    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .add_include_path(&root) // intf.h, bpf/holders.bpf.h, bpf/dsleep.bpf.h
        .enable_skel(&source, "bpf")
        .build()
        .expect("main.bpf.c with our changes: BPF build failed");
}

/// The connector sets SCX_OPS_ENQ_EXITING and SCX_OPS_ENQ_MIGRATION_DISABLED before load, so
/// that the kernel passes exiting tasks and those inside a migrate-disabled section to the
/// dispatcher's enqueue (see queue_exiting_tasks, queue_migration_disabled).
fn ask_for_kernel_kept_tasks(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if text.contains("SCX_OPS_ENQ_EXITING") {
        return; // patched already
    }
    if !text.contains(FLAGS_LINE) {
        panic!(
            "{path}: scx_rustland_core's template changed; update build.rs's ask_for_kernel_kept_tasks"
        );
    }
    let flagged = text.replacen(FLAGS_LINE, FLAGS_WITH_OURS, 1);
    std::fs::write(path, flagged).unwrap_or_else(|e| panic!("{path}: {e}"));
}
