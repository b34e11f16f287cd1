# SPDX-License-Identifier: GPL-2.0-only
# VM case `stall-guard` (sourced by vm-test.sh; helpers in lib.sh).

# Processes that exit while the /proc worker reads them, and /proc itself kept busy: the
# dispatch loop must never block (it never waits for /proc) and nothing is evicted.
case_stall_guard() {
	_ev0=$(evictions)
	start_sched /tmp/stall.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 1
	_w=$(worker_pid)
	loop_sleeps_trace_start "$_w"
	_v0=$(loop_waits "$_w")
	# Every process's command line read in a loop, the scheduler's own too with STALL_SELF=1.
	( _end=$(($(date +%s) + 20)); while [ "$(date +%s)" -lt "$_end" ]; do for _p in /proc/[0-9]*; do
		if [ -z "$STALL_SELF" ] && { [ "${_p#/proc/}" = "$_w" ] || [ "${_p#/proc/}" = "$SCHED_PID" ]; }; then continue; fi
		cat "$_p/cmdline" >/dev/null 2>&1
	done; done ) &
	_reader=$!
	stress-ng --fork 2 --timeout 20s >/dev/null 2>&1 &
	_forks=$!
	"$FS_BIN/foresight_loadgen" series --arg 1 --count 200 >/dev/null 2>&1
	wait "$_forks" "$_reader"
	sleep 1.5
	_v1=$(loop_waits "$_w")
	loop_sleeps_trace_stop
	_max=$(stat_of /tmp/stall.log max_round_us)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_line="proc=$(stat_of /tmp/stall.log proc) proc_lost=$(stat_of /tmp/stall.log proc_lost) exits=$(stat_of /tmp/stall.log exits) congested=$(stat_of /tmp/stall.log congested)"
	stop_sched
	_ev=$(($(evictions) - _ev0))
	DETAIL="loop_blocked=$((_v1 - _v0)) max_round_us=$_max $_line evictions=$_ev attached=$_att"
	# The loop thread must never have blocked (kernel-counted voluntary switches). The
	# longest round is printed too: under TCG it includes time the loop was preempted.
	[ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ -n "$_v1" ] && [ "$_v1" -eq "$_v0" ]
}
