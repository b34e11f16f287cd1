/* SPDX-License-Identifier: GPL-2.0-only */
/* Constants of bpf/wakeups.bpf.c. */
#ifndef __FORESIGHT_WAKEUPS_H
#define __FORESIGHT_WAKEUPS_H

/* CPUs whose running task's start is tracked; wakeups on higher CPU ids preempt nothing. */
#define MAX_WAKE_CPUS 512

/* Priorities below this are real-time (the kernel's MAX_RT_PRIO). */
#define RT_PRIO_LIMIT 100

#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000 /* the kernel's flag: a kernel thread */
#endif

#endif
