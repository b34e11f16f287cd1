# SPDX-License-Identifier: GPL-2.0-only
# VM case `helper-alloc` (sourced by vm-test.sh; helpers in lib.sh).

# A helper that allocates without pause beside CPU hogs: every thread shares the core's
# allocator mutex, so a helper preempted inside it (queued to our own loop) stalled us within
# seconds before the helpers left sched_ext (helper_thread.rs). Now: no eviction, loop live.
case_helper_alloc() {
	_ev0=$(evictions)
	export FORESIGHT_TEST_ALLOC_STORM=1
	start_sched /tmp/helper-alloc.log --stats 1 --stats-format line
	unset FORESIGHT_TEST_ALLOC_STORM
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	stress-ng --cpu 2 --fork 1 --timeout 20s >/dev/null 2>&1
	_ev=$(($(evictions) - _ev0))
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_last=$(grep '^stats:' /tmp/helper-alloc.log | tail -n 1)
	_max=$(echo "$_last" | grep -o 'max_round_us=[0-9]*')
	_dl=$(grep -c 'stays under sched_ext' /tmp/helper-alloc.log)
	DETAIL="evictions=$_ev attached=$_att $_max helpers_refused_deadline=$_dl"
	[ "$_ev" -eq 0 ] && [ "$_att" = yes ] && [ "$_dl" -eq 0 ]
}
