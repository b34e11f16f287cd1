# SPDX-License-Identifier: GPL-2.0-only
# VM case `exec-end-long` (sourced by vm-test.sh; helpers in lib.sh).

# --exec-end-long, end to end: a model trained on this boot's invocations of a long payload
# (fib 30, tens of ms), loaded with `--models`; then a series of them alone. The verdict for a
# command line is left by its exec before, so every exec of the series but the first must keep
# nothing of its slice (stat exec_ended): the tracer's map holds 0 for it and the BPF side
# ends the slice outright instead of leaving the grace. (The replayer's own exec may count
# too, when its model predicts it long: the bound leaves room for it.)
EL_COUNT=8
EL_MIN_ENDED=6

case_exec_end_long() {
	train_payload el 30 10 || return 1
	start_sched /tmp/el-sched.log --models /tmp/el.json --exec-end-long --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	"$FS_BIN/foresight_loadgen" series --arg 30 --count "$EL_COUNT" --gap-ms 20 >/tmp/el-series.log 2>&1
	_src=$?
	# The last stats line must cover the whole series.
	wait_stats_lines /tmp/el-sched.log 2 10
	stop_sched
	_ended=$(stat_of /tmp/el-sched.log exec_ended)
	DETAIL="series_rc=$_src invocations=$EL_COUNT ended=$_ended need>=$EL_MIN_ENDED kept=$(stat_of /tmp/el-sched.log exec_kept) preempted=$(stat_of /tmp/el-sched.log exec_preempted) fn_models=$(stat_of /tmp/el-sched.log fn_models)"
	[ "$_src" -eq 0 ] && [ "${_ended:-0}" -ge "$EL_MIN_ENDED" ]
}
