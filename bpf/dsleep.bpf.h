/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whether a task's last sleep was in state D, read by two BPF objects: the wakeup tracer
 * (bpf/wakeups.bpf.c, to end the running task's slice for such a wakee) and the dispatcher
 * (build.rs's flag_uninterruptible_wakeups, to mark the wakeup for user space).
 */
#ifndef __FORESIGHT_DSLEEP_BPF_H
#define __FORESIGHT_DSLEEP_BPF_H

/*
 * The kernel sets sched_contributes_to_load when @p goes to sleep in TASK_UNINTERRUPTIBLE
 * (not TASK_IDLE, not frozen) and keeps it until its next sleep.
 */
static __always_inline bool woke_from_d(const struct task_struct *p)
{
	return BPF_CORE_READ_BITFIELD_PROBED(p, sched_contributes_to_load);
}

#endif
