# SPDX-License-Identifier: GPL-2.0-only
# VM case `stall-self` (sourced by vm-test.sh; helpers in lib.sh).

# The stall guard with the scheduler's OWN /proc/<pid>/cmdline read in the loop too.
# Evicted once before the helper threads left sched_ext (helper_thread.rs); passes since.
case_stall_self() {
	STALL_SELF=1 case_stall_guard
}
