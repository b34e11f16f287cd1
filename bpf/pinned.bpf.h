/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tasks inside a migrate_disable() section: compiled into scx_rustland_core's dispatcher
 * (main.bpf.c) by build.rs's queue_migration_disabled, which includes this file before the
 * dispatcher's dispatch_task, calls enqueue_migration_disabled() in ops.enqueue, and
 * keeps user space's decision for such a task on its CPU in dispatch_task (held_off_cpu()).
 *
 * Without SCX_OPS_ENQ_MIGRATION_DISABLED the kernel never calls ops.enqueue for a task preempted
 * or woken inside such a section (a BPF program's run, a per-CPU section): it puts the task on
 * its CPU's local queue, ahead of all we queued, with the default slice (SCX_SLICE_DFL, 20 ms)
 * and without the loop deciding it. Around one cyclictest run beside hogs the kernel counted
 * 4-5 of them (SCX_EV_ENQ_SKIP_MIGRATION_DISABLED), and a young hog ran 21.4 ms while cyclictest
 * waited (BENCHMARKS.md section 40). With the flag set (build.rs), they come to us and go to user
 * space like every task; --kernel-migration-disabled keeps the kernel's rule instead (local
 * queue, 20 ms), to compare.
 */
#ifndef __FORESIGHT_PINNED_BPF_H
#define __FORESIGHT_PINNED_BPF_H

/* Tasks enqueued inside a migrate-disabled section. */
volatile u64 nr_migration_disabled;

/* Whether to leave them to the kernel's rule (--kernel-migration-disabled). Set after load. */
volatile bool migration_disabled_local;

/*
 * @p, enqueued: if inside a migrate-disabled section, count it and, under the kernel's rule,
 * put it on its CPU's local queue with the default slice. The user-space scheduler itself always
 * is: it may run only on that CPU, and its own queue is drained by whichever CPU dispatches
 * first. True if inserted (ops.enqueue is done).
 */
static bool enqueue_migration_disabled(struct task_struct *p, u64 enq_flags)
{
	if (!is_migration_disabled(p))
		return false;
	__sync_fetch_and_add(&nr_migration_disabled, 1);
	if (is_usersched_task(p)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, enq_flags);
		return true;
	}
	if (!migration_disabled_local)
		return false;
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SCX_SLICE_DFL, enq_flags);
	return true;
}

/*
 * @p, queued, may not run on @cpu although its mask allows it: it is inside a migrate-disabled
 * section on another CPU, and the kernel narrows its mask only once it is switched out (the
 * kernel's consume skips it; a move to @cpu's local queue would end the scheduler).
 */
static bool held_off_cpu(const struct task_struct *p, s32 cpu)
{
	return cpu != scx_bpf_task_cpu(p) && is_migration_disabled(p);
}

#endif
