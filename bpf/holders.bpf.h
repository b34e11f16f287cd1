/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Lock holders first: compiled into scx_rustland_core's dispatcher (main.bpf.c) by build.rs's
 * run_lock_holders_first, which includes this file before the dispatcher's ops.dispatch and
 * calls run_lock_holder() there first.
 *
 * A task preempted while it holds a sleeping lock, then decided as a long task, waits in our
 * dispatch queues behind everything due earlier, and every task that needs the lock sleeps
 * behind it. In the VM's generated replay at load 0.9 a fib(34) image, preempted in its dynamic
 * loader, held a reader-writer semaphore taken for writing for 114 ms while the 31 images
 * exec'd after it queued on it (BENCHMARKS.md section 21). The kernel names the owner of a
 * mutex and of a writer-held rwsem; when a task starts waiting on such a lock whose owner waits
 * in one of our dispatch queues, the next dispatch runs that owner first, with a short slice.
 *
 * Most sleeping locks name no owner (a folio's lock, taken in a page fault): in the generated
 * replay 14 images slept in state D for 420 ms behind a fib(34) image preempted 0.18 ms after
 * its exec and deferred as a hog, with no contention event (BENCHMARKS.md section 24); the
 * roots of such chains had last left the CPU preempted inside the kernel (a context switch
 * with `preempt` set), where a lock can be held. With kernel_preempted_first set (the
 * default), when a task goes to sleep in state D, this CPU's next dispatch runs first the
 * queued task that was preempted inside the kernel longest ago and has not run since, with
 * the same short slice.
 */

/* lock:contention_begin's flags (include/trace/events/lock.h). */
#define FS_LCB_F_SPIN	(1U << 0)
#define FS_LCB_F_READ	(1U << 1)
#define FS_LCB_F_WRITE	(1U << 2)
#define FS_LCB_F_RT	(1U << 3)
#define FS_LCB_F_PERCPU	(1U << 4)
#define FS_LCB_F_MUTEX	(1U << 5)

/* Flag bits in a mutex's owner word (kernel/locking/mutex.h) and an rwsem's (rwsem.c). */
#define FS_MUTEX_FLAGS		0x07UL
#define FS_RWSEM_READER_OWNED	0x01UL
#define FS_RWSEM_OWNER_FLAGS	0x03UL

/* A holder run first gets this slice: enough to leave a critical section, then it is decided
 * again like any task. */
#define HOLDER_SLICE_NS		1000000ULL

/* Task states (include/linux/sched.h). */
#define FS_TASK_UNINTERRUPTIBLE	0x0002U
#define FS_TASK_NOLOAD		0x0400U

/* The pid of the last holder a waiter found queued with us (0: none) and the queue it was in. */
volatile u32 holder_pid;
volatile u64 holder_dsq;

/* Waits on a lock with a named owner; those whose owner waited in one of our queues; the
 * owners this dispatcher then ran first. */
volatile u64 nr_lock_waits;
volatile u64 nr_holders_queued;
volatile u64 nr_holders_run;

/* Set by user space after load (unless --no-kernel-preempted-first). */
volatile bool kernel_preempted_first;
/* Tasks this dispatcher saw go to sleep in state D, and the tasks preempted inside the kernel
 * it then ran first. */
volatile u64 nr_d_sleeps;
volatile u64 nr_kernel_preempted_run;

/* When each task was last preempted inside the kernel; 0 once it has run again. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} kernel_preempted SEC(".maps");

/*
 * The task that holds @lock, when the kernel names it: a mutex's owner, or the writer of an
 * rwsem. Spinning waiters, real-time and per-CPU rwsems are left alone; a reader-held rwsem's
 * word names only its last reader.
 */
static struct task_struct *lock_owner(void *lock, unsigned int flags)
{
	unsigned long owner;

	if (flags & (FS_LCB_F_SPIN | FS_LCB_F_RT | FS_LCB_F_PERCPU))
		return NULL;
	if (flags & FS_LCB_F_MUTEX) {
		owner = BPF_CORE_READ((struct mutex *)lock, owner.counter);
		return (struct task_struct *)(owner & ~FS_MUTEX_FLAGS);
	}
	if (!(flags & (FS_LCB_F_READ | FS_LCB_F_WRITE)))
		return NULL;
	owner = BPF_CORE_READ((struct rw_semaphore *)lock, owner.counter);
	if (owner & FS_RWSEM_READER_OWNED)
		return NULL;
	return (struct task_struct *)(owner & ~FS_RWSEM_OWNER_FLAGS);
}

/*
 * A task is about to sleep on a lock: if its owner waits in one of our dispatch queues (the
 * shared one or a CPU's; not the scheduler's own, not a local one, which runs soon anyway),
 * name it for the next dispatch. The waiter's CPU dispatches as soon as it sleeps.
 */
SEC("tp_btf/contention_begin")
int BPF_PROG(foresight_lock_wait, void *lock, unsigned int flags)
{
	struct task_struct *owner = lock_owner(lock, flags);
	struct scx_dispatch_q *dsq;
	u64 dsq_id;

	if (!owner)
		return 0;
	__sync_fetch_and_add(&nr_lock_waits, 1);
	dsq = BPF_CORE_READ(owner, scx.dsq);
	if (!dsq)
		return 0;
	dsq_id = BPF_CORE_READ(dsq, id);
	if (dsq_id > SHARED_DSQ)
		return 0;
	holder_dsq = dsq_id;
	holder_pid = BPF_CORE_READ(owner, pid);
	__sync_fetch_and_add(&nr_holders_queued, 1);
	return 0;
}

/*
 * Run @pid now if it still waits in queue @dsq_id: on this CPU when it may run here, else first
 * on its own CPU, with a short slice. True in *@here when this CPU got it; false when it was
 * not found there (it runs, sleeps or was taken back).
 */
static bool run_queued_first(s32 cpu, u32 pid, u64 dsq_id, bool *here)
{
	struct task_struct *p;
	bool moved = false;

	*here = false;
	bpf_for_each(scx_dsq, p, dsq_id, 0) {
		u64 target;

		if (p->pid != pid)
			continue;
		/* Its own CPU only while it is inside a migrate-disabled section. */
		*here = bpf_cpumask_test_cpu(cpu, p->cpus_ptr) && !held_off_cpu(p, cpu);
		target = *here ? SCX_DSQ_LOCAL : SCX_DSQ_LOCAL_ON | scx_bpf_task_cpu(p);
		scx_bpf_dsq_move_set_slice(BPF_FOR_EACH_ITER, HOLDER_SLICE_NS);
		moved = scx_bpf_dsq_move(BPF_FOR_EACH_ITER, p, target, 0);
		break;
	}
	*here = *here && moved;
	return moved;
}

/* Run the named holder now, once per name. True when this CPU got it. */
static bool run_lock_holder(s32 cpu)
{
	u32 pid = holder_pid;
	bool here;

	if (!pid)
		return false;
	holder_pid = 0;
	if (run_queued_first(cpu, pid, holder_dsq, &here))
		__sync_fetch_and_add(&nr_holders_run, 1);
	return here;
}

/* A context switch: note a task preempted inside the kernel; forget it once it runs. */
SEC("tp_btf/sched_switch")
int BPF_PROG(foresight_kernel_preempt, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	u64 *since;

	if (!kernel_preempted_first)
		return 0;
	if (preempt && prev->pid) {
		since = bpf_task_storage_get(&kernel_preempted, prev, 0,
					     BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (since)
			*since = bpf_ktime_get_ns();
	}
	since = bpf_task_storage_get(&kernel_preempted, next, 0, 0);
	if (since)
		*since = 0;
	return 0;
}

/* The task in @dsq_id preempted inside the kernel before *@oldest (then lowered to when). */
static u32 oldest_kernel_preempted(u64 dsq_id, u64 *oldest)
{
	struct task_struct *p;
	u32 pid = 0;

	bpf_for_each(scx_dsq, p, dsq_id, 0) {
		u64 *since = bpf_task_storage_get(&kernel_preempted, p, 0, 0);

		if (since && *since && *since < *oldest) {
			*oldest = *since;
			pid = p->pid;
		}
	}
	return pid;
}

/*
 * @prev (a user task) goes to sleep in state D: run first the queued task preempted inside
 * the kernel longest ago, the likeliest holder of what it sleeps on. True when this CPU got it.
 */
static bool run_kernel_preempted(s32 cpu, struct task_struct *prev)
{
	u64 oldest = ~0ULL, dsq_id = SHARED_DSQ;
	unsigned int state;
	u32 pid, mine;
	bool here;

	if (!kernel_preempted_first || !prev || (prev->flags & PF_KTHREAD))
		return false;
	state = prev->__state;
	if (!(state & FS_TASK_UNINTERRUPTIBLE) || (state & FS_TASK_NOLOAD))
		return false;
	__sync_fetch_and_add(&nr_d_sleeps, 1);
	pid = oldest_kernel_preempted(SHARED_DSQ, &oldest);
	mine = oldest_kernel_preempted(cpu_to_dsq(cpu), &oldest);
	if (mine) {
		pid = mine;
		dsq_id = cpu_to_dsq(cpu);
	}
	if (!pid || !run_queued_first(cpu, pid, dsq_id, &here))
		return false;
	__sync_fetch_and_add(&nr_kernel_preempted_run, 1);
	return here;
}
