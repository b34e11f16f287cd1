/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared between bpf/exits.bpf.c and src/exits.rs (which mirrors it, checked by size). */
#ifndef __FORESIGHT_EXITS_H
#define __FORESIGHT_EXITS_H

struct exit_record {
	int pid;
	int tgid;
	unsigned long long start_ns; /* task start, ns since boot (monotonic) */
	unsigned long long cpu_ns;   /* CPU consumed over the task's life */
	char comm[16];               /* the program it last exec'd */
};

#endif
