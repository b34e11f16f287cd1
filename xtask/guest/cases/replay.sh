# SPDX-License-Identifier: GPL-2.0-only
# VM case `replay` (sourced by vm-test.sh; helpers in lib.sh).

# The load generator end to end: calibrate the payload here, replay a generated trace (2 CPU
# hogs beside it) under the kernel's default scheduler and under scx_foresight, same boot. The
# replayer's real-time launchers wake beside the hogs to fork: scx_foresight must end the slice
# of the hog each launcher interrupts, for its loop to decide it again beside the child rather
# than let it resume (rt_preempts, bpf/wakeups.bpf.c).
case_replay() {
	"$FS_BIN/foresight_loadgen" calibrate --args 20,24,26,28,30,32 --reps 3 --out /tmp/cal.csv 2>/tmp/calibrate.log || { DETAIL="calibrate failed: $(tail -n 1 /tmp/calibrate.log)"; return 1; }
	"$SCHED" trace gen --cpus 2 --load 0.5 --duration-s 30 --seed 5 -o /tmp/replay-trace.csv || { DETAIL="trace gen failed"; return 1; }
	stress-ng --cpu 2 --timeout 600s >/dev/null 2>&1 &
	_hogs=$!
	_rp() { "$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/replay-trace.csv --calibration /tmp/cal.csv --limit 120 --json "$1" >"$1.log" 2>&1; }
	_rp /tmp/replay-default.json
	_rcd=$?
	start_sched /tmp/replay-sched.log --stats 1 --stats-format line
	wait_state enabled 30 || { kill "$_hogs"; DETAIL="never enabled"; return 1; }
	_rp /tmp/replay-foresight.json
	_rcf=$?
	stop_sched
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_j() { tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.]*\).*/\1/p" | cut -c1-7; }
	_js() { tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" | cut -c1-7; }
	_sd=$(_j /tmp/replay-default.json short mean_slowdown)
	_sf=$(_j /tmp/replay-foresight.json short mean_slowdown)
	_ld=$(_j /tmp/replay-default.json long mean_slowdown)
	_lf=$(_j /tmp/replay-foresight.json long mean_slowdown)
	_fr=$(stat_of /tmp/replay-sched.log rt_preempts)
	_ratio=$(awk -v a="$_sf" -v b="$_sd" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	DETAIL="calibration=$(tail -n +2 /tmp/cal.csv | tr '\n' ' ') short/long counts=$(_j /tmp/replay-default.json short count)/$(_j /tmp/replay-default.json long count) default: short_mean=$_sd short_p99=$(_j /tmp/replay-default.json short p99_slowdown) long_mean=$_ld startup_us=$(_js /tmp/replay-default.json startup_mean_us) | foresight: short_mean=$_sf short_p99=$(_j /tmp/replay-foresight.json short p99_slowdown) long_mean=$_lf startup_us=$(_js /tmp/replay-foresight.json startup_mean_us) | short_ratio=$_ratio rt_preempts=${_fr:-none} rc=$_rcd/$_rcf"
	[ "$_rcd" -eq 0 ] && [ "$_rcf" -eq 0 ] && [ -n "$_sd" ] && [ -n "$_sf" ] && [ "${_fr:-0}" -gt 0 ]
}
