/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A CPU hog yields to a sleeper that wakes: compiled into scx_rustland_core's dispatcher
 * (main.bpf.c) by build.rs's preempt_hogs_on_wakeup, which includes this file before the
 * dispatcher's queue_task_to_userspace and calls preempt_hog_for() after each task it queues.
 *
 * Every wakee is queued to user space, which runs only when a CPU calls dispatch: on a CPU busy
 * with a hog, at the end of the hog's slice. A periodic normal task beside a CPU hog (cyclictest,
 * SCHED_OTHER, 1 ms period) waited for that (p99 of milliseconds in the VM, against the default
 * scheduler's 65-178 us; BENCHMARKS.md section 35). Here, when a normal task wakes after a sleep
 * of at least HOG_PREEMPT_MIN_SLEEP_NS, and the task running on its CPU has used at least
 * hog_preempt_cpu_ns of CPU in all, that CPU is kicked to preempt it: the loop then decides the
 * wakee and the hog together, in its usual order (the hog last). A task that has used less but
 * will pass the bound within its slice is preempted when it does. From this program the kick
 * acts; from a tracepoint, or a timer of a tracing program, it did not on the VM's kernel 7.2
 * (the running task kept its CPU until its slice ended; bpf/wakeups.bpf.c).
 *
 * The least sleep tells a consumer its producer keeps waking from a periodic task. A wakeup
 * from a timer's callback needs hog_preempt_irq_sleep_ns instead (--hog-preempt-irq-sleep-us,
 * 250 us by default): a periodic task served late slept less than its period before its next
 * wakeup (204 us once, behind a new hog's launcher that then kept the CPU for 7.9 ms). On more
 * than one CPU a wakeup from another CPU arrives by interrupt too (the IPI); taken for a
 * timer's, at 0 the 2-vCPU VM cases slowed (BENCHMARKS.md section 38), so only a wakeup inside
 * a high-resolution timer's callback counts (sections 41, 42).
 *
 * A sleeper that wakes while a task of a higher class (one of our helpers, in the deadline
 * class; a real-time task) holds the CPU finds no hog running there: the hog it preempted waits
 * at the head of the CPU's local queue and resumes the rest of its slice when that task leaves,
 * without the loop running (cyclictest waited up to 1.9 ms behind a hog resumed after the /proc
 * worker ran, section 38). With --hog-preempt-on-resume the CPU is marked instead, and the hog
 * preempted when it resumes (off by default: it did not pay off in the bench, section 38).
 * The same return from the local queue undoes the timer armed for a young hog: ops.stopping
 * disarms it, and the hog ran out its 5 ms slice (section 39). With --hog-timer-rearm the
 * timer is armed again when the hog resumes (off by default: over two A/B boots its effect on
 * cyclictest's max was unclear, x0.20 then x7.00, and the replay's short p99 rose; section 40).
 */
#ifndef __FORESIGHT_HOGPREEMPT_BPF_H
#define __FORESIGHT_HOGPREEMPT_BPF_H

#include <bpf_experimental.h>

/* Least CPU (ns) in all of a running task that a wakeup preempts; 0: off. Set after load. */
volatile u64 hog_preempt_cpu_ns;

/* Hogs a wakeup preempted at once (the later ones: nr_hog_timer_ends, bpf/slicetimer.bpf.h). */
volatile u64 nr_hog_preempts;

/* Timers armed for a task that was not yet a hog when a sleeper woke behind it. */
volatile u64 nr_hog_timers;

/* Sleepers woken by a timer's interrupt that the rule looked at. */
volatile u64 nr_hog_irq_wakes;

/* Hogs preempted when they resumed past a sleeper that woke while a higher class ran. */
volatile u64 nr_hog_resume_preempts;

/*
 * Least sleep (ns) of a wakee that preempts a hog. A reader woken by each write of a pipe it
 * drains sleeps microseconds; preempting the writer at each one made it a round trip to user
 * space per write: stress-ng pipe x0.44 of the default's throughput without this bound (one
 * run, section 35), where a periodic task sleeps its period (1 ms for cyclictest).
 */
#define HOG_PREEMPT_MIN_SLEEP_NS 250000ULL

/* Least sleep (ns) of a wakee woken by a timer (its hardware interrupt). Set after load. */
volatile u64 hog_preempt_irq_sleep_ns;

/*
 * CPUs running a high-resolution timer's callback (a sleeper's wakeup: nanosleep, a timer of
 * its own). Other hardware interrupts wake tasks too: on more than one CPU a wakeup from
 * another CPU arrives by IPI, and treating those as a timer's at 0 us made the 2-vCPU VM cases
 * fail (BENCHMARKS.md section 38), so they keep HOG_PREEMPT_MIN_SLEEP_NS.
 */
u8 in_hrtimer_cb[MAX_CPUS];

SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(foresight_hrtimer_entry, struct hrtimer *hrtimer, ktime_t *now)
{
	u32 cpu = bpf_get_smp_processor_id();

	if (cpu < MAX_CPUS)
		in_hrtimer_cb[cpu] = 1;
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(foresight_hrtimer_exit, struct hrtimer *hrtimer)
{
	u32 cpu = bpf_get_smp_processor_id();

	if (cpu < MAX_CPUS)
		in_hrtimer_cb[cpu] = 0;
	return 0;
}

/* This wakeup comes from a timer's callback on this CPU (not an IPI, not a task). */
static bool woken_by_timer(void)
{
	u32 cpu = bpf_get_smp_processor_id();

	return bpf_in_hardirq() && cpu < MAX_CPUS && in_hrtimer_cb[cpu];
}

#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000 /* the kernel's flag: a kernel thread */
#endif

/* Priorities below this are real-time or deadline tasks (the kernel's MAX_RT_PRIO). */
#define HOG_NORMAL_PRIO_MIN 100

/* CPUs where such a sleeper woke while a higher class held the CPU: preempt what resumes. */
u8 hog_wakee_waits[MAX_CPUS];

/* Whether to (--hog-preempt-on-resume). Set after load. */
volatile bool hog_preempt_on_resume;

/* CPU (ns) @curr has used in all, counting its run since the kernel last accounted it. */
static u64 cpu_used_ns(const struct task_struct *curr, u64 now)
{
	u64 used = curr->se.sum_exec_runtime;

	if (now > curr->se.exec_start)
		used += now - curr->se.exec_start;
	return used;
}

/*
 * @curr, running on this CPU, becomes a hog in @ns: end its slice then (the slice timer of
 * bpf/slicetimer.bpf.h, whose callback preempts the task it was armed for if it still runs).
 * A hog that started beside a periodic task got its whole first slice (8.3 ms, the slowest
 * wakeup of cyclictest's trace, BENCHMARKS.md section 36) because it had used under the bound
 * when the sleeper woke. Only if that comes before @curr's slice ends, so that a timer already
 * armed for a shorter slice is only ever brought forward. Whether the timer was armed.
 */
static bool preempt_hog_later(const struct task_struct *curr, s32 cpu, u64 ns)
{
	/* The timer fires on the CPU that starts it: only the wakee's own. */
	if (cpu != bpf_get_smp_processor_id() || ns >= curr->scx.slice)
		return false;
	return start_slice_timer(cpu, curr->pid, true, ns);
}

/* What preempt_hog_now_or_later() did to the task running on a CPU. */
enum hog_action {
	HOG_LEFT,	/* nothing: it will not pass the bound before its slice ends */
	HOG_KICKED,	/* preempted at once (counted in nr_hog_preempts) */
	HOG_TIMED,	/* a timer will preempt it when it passes the bound */
};

/*
 * @curr runs on @cpu while a sleeper waits in user space: preempt it at once if it is a hog,
 * else when it becomes one. The one decision of the wakeup and of the resume after a higher
 * class, so that both keep the same bound.
 */
static enum hog_action preempt_hog_now_or_later(const struct task_struct *curr, s32 cpu, u64 now)
{
	u64 used = cpu_used_ns(curr, now);

	if (used >= hog_preempt_cpu_ns) {
		/* From ops.running, acts once @curr is current: the kick's work runs after the switch. */
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		__sync_fetch_and_add(&nr_hog_preempts, 1);
		return HOG_KICKED;
	}
	return preempt_hog_later(curr, cpu, hog_preempt_cpu_ns - used) ? HOG_TIMED : HOG_LEFT;
}

/* @p, just queued to user space, woke while a hog runs on its CPU: preempt the hog. */
static void preempt_hog_for(const struct task_struct *p, const struct task_ctx *tctx,
			    u64 enq_flags)
{
	struct task_struct *curr;
	u64 now, min_sleep;
	s32 cpu;

	if (!hog_preempt_cpu_ns || !(enq_flags & SCX_ENQ_WAKEUP) || (p->flags & PF_KTHREAD))
		return;
	/* Slept less: a consumer its producer keeps waking; the producer keeps the CPU. */
	now = scx_bpf_now();
	min_sleep = HOG_PREEMPT_MIN_SLEEP_NS;
	if (woken_by_timer()) {
		min_sleep = hog_preempt_irq_sleep_ns;
		__sync_fetch_and_add(&nr_hog_irq_wakes, 1);
	}
	if (!tctx->stop_ts || now - tctx->stop_ts < min_sleep)
		return;
	/*
	 * The task running on the wakee's CPU, which the wakeup may have been queued to from
	 * another CPU.
	 */
	cpu = scx_bpf_task_cpu(p);
	bpf_rcu_read_lock();
	curr = __COMPAT_scx_bpf_cpu_curr(cpu);
	if (curr && curr->pid && curr != p && !is_usersched_task(curr) &&
	    !(curr->flags & PF_KTHREAD) && curr->prio >= HOG_NORMAL_PRIO_MIN) {
		if (preempt_hog_now_or_later(curr, cpu, now) == HOG_TIMED)
			__sync_fetch_and_add(&nr_hog_timers, 1);
	} else if (hog_preempt_on_resume && curr && curr->prio < HOG_NORMAL_PRIO_MIN && cpu >= 0 &&
		   cpu < MAX_CPUS) {
		hog_wakee_waits[cpu] = 1;
	}
	bpf_rcu_read_unlock();
}

/*
 * Hogs whose rule timer a higher class had disarmed, when they resumed (--hog-timer-rearm): the
 * timer armed again, or the hog preempted at once (also counted in nr_hog_preempts).
 */
volatile u64 nr_hog_timer_rearms;

/*
 * @p resumes on @cpu after a higher class preempted it while its hog-rule timer ran: the
 * sleeper that armed the timer still waits in user space; preempt @p when it becomes a hog.
 */
static void rearm_lost_hog_timer(const struct task_struct *p, s32 cpu)
{
	u32 lost = hog_timer_lost[cpu];

	if (!lost)
		return;
	hog_timer_lost[cpu] = 0;
	if (lost != p->pid || !hog_preempt_cpu_ns)
		return;
	if (preempt_hog_now_or_later(p, cpu, scx_bpf_now()) != HOG_LEFT)
		__sync_fetch_and_add(&nr_hog_timer_rearms, 1);
}

/* @p starts running on @cpu (ops.running): a hog resumed past a waiting sleeper yields now. */
static void preempt_resumed_hog(const struct task_struct *p, s32 cpu)
{
	if (cpu < 0 || cpu >= MAX_CPUS)
		return;
	rearm_lost_hog_timer(p, cpu);
	if (!hog_wakee_waits[cpu])
		return;
	hog_wakee_waits[cpu] = 0;
	if (!hog_preempt_cpu_ns || (p->flags & PF_KTHREAD) || p->prio < HOG_NORMAL_PRIO_MIN ||
	    cpu_used_ns(p, scx_bpf_now()) < hog_preempt_cpu_ns)
		return;
	/* Acts once @p is current: the kick's work runs after the switch to it. */
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	__sync_fetch_and_add(&nr_hog_resume_preempts, 1);
}

#endif
