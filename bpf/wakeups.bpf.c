// SPDX-License-Identifier: GPL-2.0-only
/*
 * scx_foresight wakeup preemption. Every task that wakes up (or is forked) is queued to the
 * user-space scheduler, and that runs only when a CPU calls dispatch: on a busy CPU, at the
 * end of the running task's slice. A short invocation thus waited behind a hog's (or another
 * invocation's) whole slice before it was even decided; measured in the VM, its wait before
 * the first run was 1.4-3.3x the kernel default's, which preempts on wakeup.
 *
 * Here, when a task wakes on a CPU with no idle CPU anywhere, and the CPU's current task has
 * run at least preempt_min_run_ns since it was switched in, that task is preempted (a
 * preempting kick): the user-space scheduler then decides the newcomer and the preempted task
 * together, in its usual order. Ping-pong tasks (each runs briefly) are left alone; our own
 * threads neither trigger nor suffer it; real-time and kernel threads are not preempted.
 * Forks do not preempt: the running task is then the parent itself, and a launcher preempted
 * by each child it forked went behind its children (measured: its launch lag rose from ~2 ms
 * to 35 ms beside a hog). A launcher woken by its timer does preempt the task it interrupted.
 *
 * On the VM's kernel (7.2) a kick from this tracing program does nothing: the trace showed the
 * running task's slice still counting down after it (BENCHMARKS.md, section 18). Ending the
 * slice with scx_bpf_task_set_slice(curr, 0) does work there; for every wakeup it did not pay
 * off, and was reverted (docs/bench/rtend400).
 *
 * What is kept of it: a real-time wakee placed on this CPU (the replayer's launcher, woken by
 * its timer to fork the next invocation) takes the CPU at once, and the kernel keeps the task
 * it interrupts at the head of the CPU's local queue with the rest of its slice, to resume it
 * when the launcher sleeps; the child forked meanwhile waits behind it. When that task has
 * used at least rt_preempt_min_cpu_ns of CPU in all (a long runner), its slice is ended here, so
 * it goes back to the user-space scheduler and is decided again beside the child. Forks and
 * short invocations, which use less, resume: ending theirs too put them behind others
 * (docs/bench/rtend400, BENCHMARKS.md section 18; this rule: section 19).
 *
 * A task woken from state D onto this CPU (a folio's lock handed to it, its I/O done) may now
 * hold what the next sleeper waits for; user space makes it due first, but decides it only
 * when this CPU's running task leaves it. With d_wake_preempt (--uninterruptible-preempt), that
 * task's slice ends here (the kernel then switches at its next tick): in the generated replay,
 * images woken from D waited a median 4-28 ms per replay to run with the due-at-once rule alone,
 * against the default's 3-6 ms (BENCHMARKS.md section 25). Off by default since the wakee is
 * due 1 s early: ending the slice then cost short invocations 8-16 % of their mean slowdown on
 * both FaaS traces, and scheduler CPU (section 27).
 */
#include <scx/common.bpf.h>
#include "wakeups.h"
#include "dsleep.bpf.h"

char _license[] SEC("license") = "GPL";

/* The scheduler's own process and the least run worth preempting, set before load. */
const volatile u32 own_tgid;
const volatile u64 preempt_min_run_ns;

/* When the task now running on each CPU was switched in (ns, monotonic clock). */
u64 run_since_ns[MAX_WAKE_CPUS];

/*
 * Whether each CPU runs its idle task, and how many do, kept here from context switches: the
 * core's idle mask (scx_bpf_get_idle_cpumask) is an error while built-in idle tracking is off,
 * as it is while the scheduler is being enabled, and a wakeup then evicted the scheduler
 * (measured in the VM). A CPU idle since before we were loaded counts as busy until it runs.
 */
u8 cpu_idle[MAX_WAKE_CPUS];
volatile s64 nr_cpus_idle;

/* Preempting kicks issued, and wakeups that found a CPU idle (nothing to preempt). */
volatile u64 nr_wake_preempts;
volatile u64 nr_wake_idle;

/* Least CPU a task must have used in all for a real-time wakee to end its slice. */
const volatile u64 rt_preempt_min_cpu_ns;

/* Slices a real-time wakee ended. */
volatile u64 nr_rt_preempts;

/* End the running task's slice for a wakee woken from state D on this CPU, set before load. */
const volatile bool d_wake_preempt;

/* Slices a wakeup from state D ended. */
volatile u64 nr_d_wake_preempts;

SEC("tp_btf/sched_switch")
int BPF_PROG(foresight_wake_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	u32 cpu = bpf_get_smp_processor_id();
	u8 idle = BPF_CORE_READ(next, pid) == 0;

	if (cpu >= MAX_WAKE_CPUS)
		return 0;
	run_since_ns[cpu] = bpf_ktime_get_ns();
	/* Only this CPU writes its own flag; the count is shared. */
	if (cpu_idle[cpu] != idle) {
		cpu_idle[cpu] = idle;
		__sync_fetch_and_add(&nr_cpus_idle, idle ? 1 : -1);
	}
	return 0;
}

/* Whether some CPU is idle: then the core wakes it for the newcomer, no one need yield. */
static bool some_cpu_idle(void)
{
	return nr_cpus_idle > 0;
}

static int preempt_long_runner(struct task_struct *wakee)
{
	/* In a tracepoint, current is this CPU's running task (the waker, or one interrupted). */
	struct task_struct *curr = bpf_get_current_task_btf();
	u32 cpu = bpf_get_smp_processor_id();

	if (cpu >= MAX_WAKE_CPUS || !curr->pid || curr->tgid == own_tgid ||
	    wakee->tgid == own_tgid)
		return 0;
	if ((curr->flags & PF_KTHREAD) || curr->prio < RT_PRIO_LIMIT)
		return 0;
	if (d_wake_preempt && bpf_ksym_exists(scx_bpf_task_set_slice___new) &&
	    !(wakee->flags & PF_KTHREAD) && scx_bpf_task_cpu(wakee) == (s32)cpu &&
	    woke_from_d(wakee)) {
		if (scx_bpf_task_set_slice___new(curr, 0))
			__sync_fetch_and_add(&nr_d_wake_preempts, 1);
		return 0;
	}
	/*
	 * A real-time wakee placed here takes the CPU now; a long runner it interrupts must not
	 * resume the rest of its slice ahead of what the wakee forks. A kernel without the kfunc
	 * (< 6.19) has no other way from here: scx's fallback writes the field, which the verifier
	 * refuses in a tracing program.
	 */
	if (rt_preempt_min_cpu_ns && bpf_ksym_exists(scx_bpf_task_set_slice___new) &&
	    wakee->prio < RT_PRIO_LIMIT && scx_bpf_task_cpu(wakee) == (s32)cpu &&
	    curr->se.sum_exec_runtime >= rt_preempt_min_cpu_ns) {
		if (scx_bpf_task_set_slice___new(curr, 0))
			__sync_fetch_and_add(&nr_rt_preempts, 1);
		return 0;
	}
	if (!preempt_min_run_ns || bpf_ktime_get_ns() - run_since_ns[cpu] < preempt_min_run_ns)
		return 0;
	if (some_cpu_idle()) {
		__sync_fetch_and_add(&nr_wake_idle, 1);
		return 0;
	}
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	__sync_fetch_and_add(&nr_wake_preempts, 1);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(foresight_wakeup, struct task_struct *p)
{
	return preempt_long_runner(p);
}
