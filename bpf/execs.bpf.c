// SPDX-License-Identifier: GPL-2.0-only
/*
 * scx_foresight exec tracker: one record per successful exec with what identifies the
 * invocation (program, arguments, cgroup), read in the exec'ing task's own context right
 * after the new image is in place, so even an invocation that lives one time slice is known
 * before its next enqueue. Lock-free: a BPF ring buffer, dropped records are counted.
 */
#include <scx/common.bpf.h>
#include "execs.h"
#include "cputimer.bpf.h"

char _license[] SEC("license") = "GPL";

/* src/exec_record.rs mirrors the record and checks the same size. */
_Static_assert(sizeof(struct exec_record) == 824, "struct exec_record changed: update src/live/exec_record.rs");
_Static_assert(sizeof(struct fork_record) == 24, "struct fork_record changed: update src/live/exec_record.rs");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} execs SEC(".maps");

/*
 * Command line (cmd_hash) -> what an image of it keeps of its slice at exec (ns): enough to
 * finish, written by userspace after an earlier exec of the same command line when its
 * function is predicted short. Others get the grace.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXEC_SLICES_MAX);
	__type(key, u64);
	__type(value, u64);
} exec_slices SEC(".maps");

/* Records lost because userspace did not drain the ring in time. */
volatile u64 nr_exec_dropped;
/* Records whose argv was cut at EXEC_ARGS_LEN, or could not be read. */
volatile u64 nr_exec_truncated;
volatile u64 nr_exec_unread;

/*
 * End the slice the exec'ing task's fork was given (set by userspace before load), so that at
 * the next tick the new image goes back through enqueue and is decided as itself; a short
 * invocation would otherwise run to its end on its parent's decision. Not a kick: kicked
 * from here, the task was switched out and back without an enqueue, with a fresh default
 * slice (measured in the VM; most likely the core's path for a task preempted while migration
 * is off, as it is in this tracepoint).
 */
const volatile bool preempt_on_exec;
/*
 * What is left of that slice, at most (ns): 0 ends it at once; more lets an image that is
 * done within it finish without queueing again behind every fork (set before load).
 */
const volatile u64 exec_grace_ns;
/* Exec'ing tasks whose slice was ended (or cut to the grace) that way. */
volatile u64 nr_exec_preempted;
/* Of those, the ones that kept their CPU to finish (an exec_slices entry). */
volatile u64 nr_exec_kept;
/* Of those, the ones that kept nothing, predicted long (an exec_slices entry of 0). */
volatile u64 nr_exec_ended;

/*
 * The kernel ends a slice only at its tick (4 ms at HZ=250): an image cut to the 0.5 ms grace
 * ran a median 0.99 ms after its exec in the VM (BENCHMARKS.md section 28). With a grace (or a
 * kept slice) shorter than this (--slice-timer-us, set before load), a timer on this CPU ends
 * it on time: when it fires and the image still runs, not switched out since, the CPU is
 * kicked to preempt it. From the timer, unlike from this tracepoint, the kick goes through
 * enqueue. 0: off.
 */
const volatile u64 slice_timer_max_ns;
/* Slices of exec'd images that such a timer ended. */
volatile u64 nr_exec_timer_ends;

/* One timer per CPU, for the image that exec'd there last, and its switch count then. */
struct exec_timer {
	struct bpf_timer timer;
	u32 pid;
	u64 switches;
	bool ready;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EXEC_TIMER_CPUS);
	__type(key, u32);
	__type(value, struct exec_timer);
} exec_timers SEC(".maps");

/* Context switches of @p so far: any switch out since the timer was armed ends its claim. */
static u64 switches_of(struct task_struct *p)
{
	return p->nvcsw + p->nivcsw;
}

static int exec_timer_fn(void *map, int *key, struct bpf_timer *timer)
{
	struct exec_timer *et = container_of(timer, struct exec_timer, timer);
	struct task_struct *cur = bpf_get_current_task_btf();
	s32 cpu = *key;

	if (!et->pid || cur->pid != et->pid || switches_of(cur) != et->switches ||
	    bpf_get_smp_processor_id() != cpu)
		return 0;
	et->pid = 0;
	scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
	__sync_fetch_and_add(&nr_exec_timer_ends, 1);
	return 0;
}

/* Arm this CPU's timer to end @cur's slice after @slice ns, if the tick would end it late. */
static void arm_exec_timer(struct task_struct *cur, u64 slice)
{
	u32 key = bpf_get_smp_processor_id();
	struct exec_timer *et;

	if (!slice || slice >= slice_timer_max_ns)
		return;
	et = bpf_map_lookup_elem(&exec_timers, &key);
	if (!et)
		return;
	et->pid = cur->pid;
	et->switches = switches_of(cur);
	start_cpu_timer(&et->timer, &exec_timers, &et->ready, exec_timer_fn, slice);
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* FNV-1a over the path up to its NUL, a NUL, and the args read: one command line, one key. */
static u64 cmd_hash(const struct exec_record *r)
{
	u64 h = FNV_OFFSET;
	u32 i;

	for (i = 0; i < EXEC_PATH_LEN; i++) {
		if (!r->path[i])
			break;
		h = (h ^ (u8)r->path[i]) * FNV_PRIME;
	}
	h = h * FNV_PRIME; /* the NUL between them */
	for (i = 0; i < EXEC_ARGS_LEN; i++) {
		if (i >= r->args_len)
			break;
		h = (h ^ (u8)r->args[i]) * FNV_PRIME;
	}
	return h;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(foresight_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_record *r;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end;
	u64 key;
	u32 len;

	r = bpf_ringbuf_reserve(&execs, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&nr_exec_dropped, 1);
		return 0;
	}
	r->pid = BPF_CORE_READ(p, pid);
	r->tgid = BPF_CORE_READ(p, tgid);
	r->start_ns = BPF_CORE_READ(p, start_time);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->flags = 0;
	r->args_len = 0;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	/* For a script, interp is the interpreter (what /proc/<pid>/exe shows); else the file. */
	if (bpf_probe_read_kernel_str(r->path, sizeof(r->path), BPF_CORE_READ(bprm, interp)) < 0)
		r->path[0] = 0;

	/* The new argv sits in the new mm, in this (current) task's own address space. */
	mm = BPF_CORE_READ(p, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > EXEC_ARGS_LEN) {
		len = EXEC_ARGS_LEN;
		r->flags |= EXEC_ARGS_TRUNCATED;
		__sync_fetch_and_add(&nr_exec_truncated, 1);
	}
	if (len && bpf_probe_read_user(r->args, len, (void *)arg_start) == 0) {
		r->args_len = len;
	} else {
		r->flags |= EXEC_ARGS_UNREAD;
		__sync_fetch_and_add(&nr_exec_unread, 1);
	}
	r->cmd_hash = cmd_hash(r);
	key = r->cmd_hash;
	/*
	 * Always wake the worker: fork records do not, and while one waits unread the ring's
	 * adaptive wakeup skips this record too (the worker then saw execs only at its 10 ms
	 * poll, and a training run recorded 6 finished tasks where it had recorded 15).
	 */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	if (preempt_on_exec && bpf_ksym_exists(scx_bpf_task_set_slice___new)) {
		struct task_struct *cur = bpf_get_current_task_btf();
		u64 left = cur->scx.slice, slice;
		u64 *hint = bpf_map_lookup_elem(&exec_slices, &key);

		/*
		 * Predicted short: keep the CPU to finish; predicted long (with --exec-end-long):
		 * nothing; else what is left, at most the grace.
		 */
		slice = hint ? *hint : (left < exec_grace_ns ? left : exec_grace_ns);
		if (scx_bpf_task_set_slice___new(cur, slice)) {
			arm_exec_timer(cur, slice);
			__sync_fetch_and_add(&nr_exec_preempted, 1);
			if (hint && *hint)
				__sync_fetch_and_add(&nr_exec_kept, 1);
			else if (hint)
				__sync_fetch_and_add(&nr_exec_ended, 1);
		}
	}
	return 0;
}

/*
 * Each new task, in the same ring so that a child's fork comes before its exec: user space
 * gives it its parent's identity instead of reading /proc (hackbench's 800 children cost the
 * /proc worker ~30 ms in 5 runs). Not urgent: no wakeup, the worker picks them up at its next
 * poll (each exec record wakes it).
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(foresight_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fork_record *r;

	r = bpf_ringbuf_reserve(&execs, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&nr_exec_dropped, 1);
		return 0;
	}
	r->pid = child->pid;
	r->parent_pid = parent->pid;
	r->start_ns = child->start_time;
	r->parent_start_ns = parent->start_time;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}
