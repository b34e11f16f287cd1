// SPDX-License-Identifier: GPL-2.0-only
/*
 * scx_foresight workload signals: per-CPU event counters from kernel tracepoints, for the
 * workload classifier. Each CPU bumps its own row (no lock, no shared cache line); userspace
 * reads and zeroes every row once per window with atomic swaps on the mapped .bss.
 */
#include <scx/common.bpf.h>
#include "signals.h"

char _license[] SEC("license") = "GPL";

struct signal_counts counts[MAX_SIGNAL_CPUS];

/*
 * The scheduler's own process, set before load: its events are left out, so the classifier
 * sees the workload, not us (the exec tracer's 10 ms polls alone were ~100 sleeps/s).
 */
const volatile u32 own_tgid;

/* Events seen on a CPU id beyond MAX_SIGNAL_CPUS. */
volatile u64 nr_signal_lost;

static __always_inline struct signal_counts *this_cpu_counts(void)
{
	u32 cpu = bpf_get_smp_processor_id();

	/* Every tracepoint here runs in the context of the task it reports (sched_switch: prev). */
	if (own_tgid && (u32)(bpf_get_current_pid_tgid() >> 32) == own_tgid)
		return NULL;

	if (cpu >= MAX_SIGNAL_CPUS) {
		__sync_fetch_and_add(&nr_signal_lost, 1);
		return NULL;
	}
	return &counts[cpu];
}

/* Atomic add: the only other writer is userspace's swap-to-zero at a window's end. */
#define BUMP(field)                                               \
	do {                                                      \
		struct signal_counts *c = this_cpu_counts();      \
		if (c)                                            \
			__sync_fetch_and_add(&c->field, 1);       \
	} while (0)

/*
 * Voluntary switches (the previous task blocked) are counted apart: unlike preemptions, their
 * rate does not depend on the slices the scheduler itself hands out.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(foresight_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	BUMP(switches);
	if (BPF_CORE_READ(prev, __state) != 0)
		BUMP(sleeps);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(foresight_block_rq, struct request *rq)
{
	BUMP(block_rqs);
	return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(foresight_page_alloc, struct page *page, unsigned int order)
{
	BUMP(page_allocs);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(foresight_net_queue, struct sk_buff *skb)
{
	BUMP(net_packets);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(foresight_fork, struct task_struct *parent, struct task_struct *child)
{
	BUMP(forks);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(foresight_exec, struct task_struct *p)
{
	BUMP(execs);
	return 0;
}
