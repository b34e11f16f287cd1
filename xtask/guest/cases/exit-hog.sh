# SPDX-License-Identifier: GPL-2.0-only
# VM case `exit-hog` (sourced by vm-test.sh; helpers in lib.sh).

# A task that exits tears its memory down in the kernel, flagged as exiting. Unless the scheduler
# asks for them, the core queues such tasks straight to their CPU's local queue with a fresh
# 20 ms slice, again at every slice end, and a CPU with a local task never asks the BPF layer for
# work: whatever waited in that CPU's own queue (its ksoftirqd, a task pinned there) could starve
# for the whole exit. The kernel evicted us that way in stop 29's CI (helper-alloc, "ksoftirqd/0
# failed to run for 5.224s", a fork child on the CPU with a fresh 20 ms slice). Here a 1.5 GiB
# process pinned to CPU 0 is killed while a wakeup probe pinned to CPU 0 runs. The kernel must not
# have queued an exiting task itself (its SCX_EV_ENQ_SKIP_EXITING counter: 20 during the exit
# before the fix, 0 after), and the probe must never have waited half as long as the exit took
# (a queue starved for the exit waits about all of it). The probe's worst wait is printed, not
# judged against a fixed figure: on the wall clock a host stall shows up as guest latency (stop
# 30's CI: 348 ms in a 2.23 s exit, after a 614 ms loop round in the case before; 39-95 ms in
# 1.0-1.4 s exits here, 91 ms before the fix).
EXIT_HOG_BYTES=1536M
# The worker's memory in place before the probe starts: its RSS within 10 % of EXIT_HOG_BYTES.
EXIT_HOG_MIN_RSS_KB=1415577
# The probe's worst wakeup may be at most this share of the exit's length (percent), and never
# needs to be under EXIT_HOG_MIN_LIMIT_US: a short exit (1.5 GiB took 0.08 s on the instruction-
# count clock) would otherwise fail on one host stall.
EXIT_HOG_MAX_WAKE_PCT=50
EXIT_HOG_MIN_LIMIT_US=250000

# Exiting tasks the kernel queued to a local queue itself, bypassing the BPF layer.
skipped_exiting() { awk '$1 == "SCX_EV_ENQ_SKIP_EXITING" { print $2 }' /sys/kernel/sched_ext/root/events; }

case_exit_hog() {
	_ev0=$(evictions)
	start_sched /tmp/exit-hog.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	taskset -c 0 stress-ng --vm 1 --vm-bytes "$EXIT_HOG_BYTES" --vm-keep --vm-populate \
		--timeout 120s >/dev/null 2>&1 &
	_job=$!
	_t0=$(now) _hog="" _rss=0
	while ! gt "$(since "$_t0")" 60; do
		_hog=$(live_pids stress-ng-vm | sort -n | tail -n 1)
		[ -n "$_hog" ] && _rss=$(awk '/^VmRSS/ { print $2 }' /proc/"$_hog"/status 2>/dev/null)
		[ "${_rss:-0}" -ge "$EXIT_HOG_MIN_RSS_KB" ] && break
		sleep 0.2
	done
	[ "${_rss:-0}" -ge "$EXIT_HOG_MIN_RSS_KB" ] || { DETAIL="hog never reached 1.5 GiB (rss_kb=$_rss)"; end_hogs "$_job"; return 1; }
	_skip0=$(skipped_exiting)
	cyclictest -q -m --policy=other -a 0 -t 1 -i 1000 -D 8 >/tmp/exit-hog-cyc.txt 2>&1 &
	_cyc=$!
	sleep 1
	_k0=$(now)
	# The stressor's parent too: it would start another worker.
	kill -KILL "$(pgrep -o stress-ng)" "$_hog" 2>/dev/null
	while [ -d /proc/"$_hog" ] && ! gt "$(since "$_k0")" 30; do sleep 0.02; done
	_exit_s=$(since "$_k0")
	wait "$_cyc"
	_skip=$(($(skipped_exiting) - _skip0))
	wait "$_job" 2>/dev/null
	_max=$(grep -o 'Max: *[0-9]*' /tmp/exit-hog-cyc.txt | tail -n 1 | grep -o '[0-9]*$')
	_limit=$(awk -v e="$_exit_s" -v p="$EXIT_HOG_MAX_WAKE_PCT" -v m="$EXIT_HOG_MIN_LIMIT_US" \
		'BEGIN { l = e * 1e6 * p / 100; printf "%d", (l > m ? l : m) }')
	_ev=$(($(evictions) - _ev0))
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	DETAIL="exit_s=$_exit_s max_wake_us=${_max:-none} limit_us=$_limit kernel_local_exiting=$_skip evictions=$_ev attached=$_att"
	[ -n "$_max" ] && [ "$_skip" -eq 0 ] && [ "$_max" -le "$_limit" ] && [ "$_ev" -eq 0 ] && [ "$_att" = yes ]
}
