/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared between bpf/signals.bpf.c and src/signals.rs (which mirrors it, checked by size). */
#ifndef __FORESIGHT_SIGNALS_H
#define __FORESIGHT_SIGNALS_H

/* CPUs with their own row of counters; events on higher CPU ids are counted in `lost`. */
#define MAX_SIGNAL_CPUS 512

/* One CPU's counts since userspace last reset them; a cache line, so CPUs do not share one. */
struct signal_counts {
	unsigned long long switches;    /* context switches (sched_switch) */
	unsigned long long sleeps;      /* of those, the previous task blocked (voluntary) */
	unsigned long long block_rqs;   /* block I/O requests issued to a device (block_rq_issue) */
	unsigned long long page_allocs; /* pages allocated (mm_page_alloc) */
	unsigned long long net_packets; /* packets queued for transmission (net_dev_queue) */
	unsigned long long forks;       /* new tasks (sched_process_fork) */
	unsigned long long execs;       /* programs started (sched_process_exec) */
	unsigned long long pad[1];
};

#endif
