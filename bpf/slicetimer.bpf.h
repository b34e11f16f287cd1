/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Slices that end on time: compiled into scx_rustland_core's dispatcher (main.bpf.c) by
 * build.rs's end_slices_on_time, which includes this file before the dispatcher's
 * dispatch_task, passes each dispatched task's flags through note_slice_timed() there, and
 * calls arm_slice_timer() in ops.running and disarm_slice_timer() in ops.stopping.
 *
 * The kernel checks a sched_ext task's slice only at its scheduler tick (4 ms at the VM's
 * HZ=250): a slice of 0.5 ms, or one cut to the exec grace, runs until the next tick, 0-4 ms
 * later. In the VM's generated replay exec'd images ran a median 988 us after a 0.5 ms grace,
 * and runs after a wakeup from state D given 1 ms lasted a median 2.4-4.0 ms (BENCHMARKS.md
 * section 28): every task a short one waited behind ran longer than the policy decided. With
 * slice_timer_max_ns set, a task switched in with a slice shorter than that arms a timer on its
 * CPU for its slice; if the task still runs when it fires, the CPU is kicked to preempt it
 * (slice 0, reschedule), so that it goes back to the user-space scheduler on time.
 *
 * Only slices user space marks (ENQ_END_ON_TIME): those that hold a task back for others (a
 * hog's share while shorter work waits, a D wakee's cut). A crowd of equals' shares run to the
 * tick: with every short slice timed, hackbench took x1.17-1.26 as long (BENCHMARKS.md section
 * 31), one round trip to the scheduler per 0.5 ms turn.
 *
 * The timer is armed by ops.running and its callback is part of this struct_ops program; the
 * VM case slice-timer shows its kick ending slices (the loops' switches more than double). A
 * kick issued inside a tracepoint did not go through enqueue (bpf/execs.bpf.c); the exec
 * tracer's own timer, a tracing program's, ends what it leaves at exec on time: exec'd images
 * ran a median 505 us after exec with it, 988 us without (BENCHMARKS.md section 33).
 */

#include "cputimer.bpf.h"

/* Slices shorter than this (ns) end on time; 0: off. Set by user space after load. */
volatile u64 slice_timer_max_ns;

/*
 * User space's mark on a dispatched task whose slice is to end on time (scx_foresight's
 * ENQ_END_ON_TIME): a bit the kernel's enqueue flags leave free, cleared before the insert.
 */
#define ENQ_END_ON_TIME (1ULL << 61)

/* Whether the task's last slice from user space was marked (absent: never marked). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, bool);
} slice_timed SEC(".maps");

/* Timers armed, and the slices they ended (the task still ran when its timer fired). */
volatile u64 nr_slice_timers;
volatile u64 nr_slice_timer_ends;
/* Slices ended by a timer bpf/hogpreempt.bpf.h armed (counted apart from the above). */
volatile u64 nr_hog_timer_ends;

/*
 * One timer per CPU, and the task it is armed for (0: none, or it stopped running); @hog: armed
 * by bpf/hogpreempt.bpf.h for a task about to become a hog while a sleeper waits behind it.
 */
struct slice_timer {
	struct bpf_timer timer;
	u32 pid;
	bool ready;
	bool hog;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, u32);
	__type(value, struct slice_timer);
} slice_timers SEC(".maps");

/* The slice is over if its task still runs here: preempt it so that it is decided again. */
static int slice_timer_fn(void *map, int *key, struct bpf_timer *timer)
{
	struct slice_timer *st = container_of(timer, struct slice_timer, timer);
	struct task_struct *cur = bpf_get_current_task_btf();
	s32 cpu = *key;

	if (!st->pid || cur->pid != st->pid || bpf_get_smp_processor_id() != cpu)
		return 0;
	st->pid = 0;
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	if (st->hog)
		__sync_fetch_and_add(&nr_hog_timer_ends, 1);
	else
		__sync_fetch_and_add(&nr_slice_timer_ends, 1);
	return 0;
}

/* Remember whether user space marked @p's slice; the kernel gets @flags without our mark. */
static u64 note_slice_timed(struct task_struct *p, u64 flags)
{
	bool timed = flags & ENQ_END_ON_TIME;
	bool *mark;

	/* Storage only for tasks ever marked: the rest read as unmarked. */
	mark = bpf_task_storage_get(&slice_timed, p, 0,
				    timed ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (mark)
		*mark = timed;
	return flags & ~ENQ_END_ON_TIME;
}

/*
 * Start this CPU's timer to preempt task @pid, running here, in @ns (@hog: for the hog rule of
 * bpf/hogpreempt.bpf.h, counted apart). True if started.
 */
static bool start_slice_timer(s32 cpu, u32 pid, bool hog, u64 ns)
{
	struct slice_timer *st;
	u32 key = cpu;

	st = bpf_map_lookup_elem(&slice_timers, &key);
	if (!st)
		return false;
	st->pid = pid;
	st->hog = hog;
	/* The callback belongs to this program, the scheduler's own. */
	return start_cpu_timer(&st->timer, &slice_timers, &st->ready, slice_timer_fn, ns);
}

/* Arm this CPU's timer for @p's slice if marked and shorter than the tick would enforce. */
static void arm_slice_timer(struct task_struct *p, s32 cpu)
{
	u64 slice = p->scx.slice;
	bool *mark;

	if (!slice_timer_max_ns || !slice || slice >= slice_timer_max_ns)
		return;
	mark = bpf_task_storage_get(&slice_timed, p, 0, 0);
	if (!mark || !*mark)
		return;
	if (start_slice_timer(cpu, p->pid, false, slice))
		__sync_fetch_and_add(&nr_slice_timers, 1);
}

/*
 * Per CPU: a task whose hog-rule timer (bpf/hogpreempt.bpf.h) was disarmed because a higher
 * class preempted it; 0: none. It resumes the rest of its slice without the loop, and with
 * --hog-timer-rearm its timer is armed again then (preempt_resumed_hog). Without that it kept
 * the whole slice: cyclictest waited 5858 us behind a new hog that the /proc worker had
 * preempted for 9 us (section 39).
 */
u32 hog_timer_lost[MAX_CPUS];

/* Whether to note that (--hog-timer-rearm). Set after load. */
volatile bool hog_timer_rearm;

/*
 * @p left the CPU before its timer fired: the timer must not preempt whoever runs next. @p
 * still @runnable with slice left was preempted by a higher class (a kick or the slice's end
 * leave none).
 */
static void disarm_slice_timer(const struct task_struct *p, s32 cpu, bool runnable)
{
	struct slice_timer *st;
	u32 key = cpu;

	/* Not only when slice timers are on: the hog rule arms this timer too. */
	st = bpf_map_lookup_elem(&slice_timers, &key);
	if (!st)
		return;
	if (hog_timer_rearm && st->hog && st->pid == p->pid && runnable &&
	    p->scx.slice && cpu >= 0 && cpu < MAX_CPUS)
		hog_timer_lost[cpu] = p->pid;
	st->pid = 0;
}
