/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared between bpf/execs.bpf.c and src/live/exec_record.rs (which mirrors it, checked by size). */
#ifndef __FORESIGHT_EXECS_H
#define __FORESIGHT_EXECS_H

#define EXEC_PATH_LEN 256 /* the program's path as exec'd (bounded, NUL-terminated) */
#define EXEC_ARGS_LEN 512 /* the new argv, NUL-separated as in /proc/<pid>/cmdline */

#define EXEC_SLICES_MAX 4096 /* command lines with a slice hint (LRU) */
#define EXEC_TIMER_CPUS 1024 /* CPUs with an exec timer (ids beyond: the tick ends the grace) */

/* flags */
#define EXEC_ARGS_TRUNCATED 1 /* argv was longer than EXEC_ARGS_LEN */
#define EXEC_ARGS_UNREAD 2    /* argv could not be read (empty args) */

struct exec_record {
	int pid;
	int tgid;
	unsigned long long start_ns;  /* task start, ns since boot (monotonic): same task as before exec */
	unsigned long long cgroup_id; /* the task's cgroup (v2) id: the cgroup directory's inode */
	unsigned int args_len;        /* bytes of args used */
	unsigned int flags;
	char comm[16];                /* the name the new image gave the task */
	char path[EXEC_PATH_LEN];     /* the interpreter for a script (as /proc/<pid>/exe would say) */
	char args[EXEC_ARGS_LEN];
	unsigned long long cmd_hash;  /* FNV-1a of path, NUL, args: the key of exec_slices */
};

/*
 * A new task (a fork or a thread): until it execs it runs its parent's image, so it is the
 * same function. Told apart from an exec_record by its size.
 */
struct fork_record {
	int pid;
	int parent_pid;
	unsigned long long start_ns;        /* the child's start, ns since boot (monotonic) */
	unsigned long long parent_start_ns; /* the parent's: same task as the one known by pid */
};

#endif
