/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A per-CPU timer that ends a slice on time, started by two BPF objects: the dispatcher's
 * slice timer (bpf/slicetimer.bpf.h) and the exec tracer's (bpf/execs.bpf.c).
 */
#ifndef __FORESIGHT_CPUTIMER_BPF_H
#define __FORESIGHT_CPUTIMER_BPF_H

/*
 * Start @timer, an element of @map, to fire on this CPU in @ns ns; set it up with @callback
 * (a function of the calling program) the first time, then mark it @ready. True if started.
 */
static __always_inline bool start_cpu_timer(struct bpf_timer *timer, void *map, bool *ready,
					     void *callback, u64 ns)
{
	if (!*ready) {
		long err = bpf_timer_init(timer, map, CLOCK_MONOTONIC);

		if ((err && err != -EBUSY) || bpf_timer_set_callback(timer, callback))
			return false;
		*ready = true;
	}
	return !bpf_timer_start(timer, ns, BPF_F_TIMER_CPU_PIN);
}

#endif
