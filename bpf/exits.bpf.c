// SPDX-License-Identifier: GPL-2.0-only
/*
 * scx_foresight exit tracker: one record per exiting task (thread) with its start time and
 * the CPU time it consumed, so userspace can evict the task's entry and turn a completed task
 * into a training sample. Lock-free: a BPF ring buffer, dropped records are counted.
 */
#include <scx/common.bpf.h>
#include "exits.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} exits SEC(".maps");

/* Records lost because userspace did not drain the ring in time. */
volatile u64 nr_exit_dropped;

SEC("tp_btf/sched_process_exit")
int BPF_PROG(foresight_exit, struct task_struct *p)
{
	struct exit_record *r;

	r = bpf_ringbuf_reserve(&exits, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&nr_exit_dropped, 1);
		return 0;
	}
	r->pid = BPF_CORE_READ(p, pid);
	r->tgid = BPF_CORE_READ(p, tgid);
	r->start_ns = BPF_CORE_READ(p, start_time);
	r->cpu_ns = BPF_CORE_READ(p, se.sum_exec_runtime);
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), p->comm);
	bpf_ringbuf_submit(r, 0);
	return 0;
}
