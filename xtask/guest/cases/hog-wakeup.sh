# SPDX-License-Identifier: GPL-2.0-only
# VM case `hog-wakeup` (sourced by vm-test.sh; helpers in lib.sh).

# The hog rule (bpf/hogpreempt.bpf.h, --hog-preempt-cpu-us), end to end: a periodic normal task
# (cyclictest, SCHED_OTHER, 1 ms period) beside one CPU hog per CPU, as in the bench's wakeup row,
# once with the rule and once without (--hog-preempt-cpu-us 0). Every wakeup is queued to user
# space, which runs only when a CPU asks for work: without the rule the sleeper waits for the
# hog's slice to end. With it, the dispatcher must count preempts (stat hog_preempts; 0 without)
# and wakeups from a hardware interrupt (hog_irq_wakes: cyclictest's timer; the rule's own least
# sleep applies to them, so a count of 0 means it cannot tell them apart), the sleeper's median
# wakeup latency must be under 2/3 of that without the rule and its p99 lower. On the suite's machine (2 vCPUs, wall-clock emulation, 3 runs in one boot) the medians
# were 2.6-3.5 ms with the rule against 7.6-7.9 ms without (p99 8.6-9.5 against 16.5-19.8 ms;
# the default scheduler's 1.3-1.8 and 3.4-4.2 ms): every wakeup is a round of the emulated loop.
# The bench measures it on the instruction-count clock (BENCHMARKS.md section 35). The default
# scheduler's figures are printed, not judged. Pinning the sleeper and a hog to one CPU (taskset,
# cyclictest -a) counted no preempts in three tries of an earlier version of the rule, then 2239
# and 2208 in two tries of this one; the cause of those 0s was not found. One hog per CPU,
# unpinned, is what the bench measures.
HW_LOOPS=2000

# hw_cyc: _lat := "p50 p99 max policy" of cyclictest beside one hog per CPU, whoever schedules.
hw_cyc() {
	stress-ng --cpu "$(nproc)" --cpu-method int64 --timeout 600s >/dev/null 2>&1 &
	_hw_job=$!
	sleep 1
	cyc_start -p 0 --policy=other -l "$HW_LOOPS"
	cyc_policy "$_cyc" 0
	wait "$_cyc"
	end_hogs "$_hw_job"
	_lat=$(cyc_latencies /tmp/cyc.log) || _lat="- - -"
	_lat="$_lat ${_pol:--}"
}

# hw_run LOG ARGS...: "preempts irq_wakes p50 p99 max policy" of a cyclictest run beside the hogs
# under the scheduler with ARGS.
hw_run() {
	_log=$1
	shift
	start_sched "$_log" --stats 1 --stats-format line "$@"
	wait_state enabled 30 || return 1
	wait_stats_lines "$_log" 1 20
	_hw0=$(stat_of "$_log" hog_preempts)
	_hi0=$(stat_of "$_log" hog_irq_wakes)
	hw_cyc
	wait_stats_lines "$_log" 2 20
	_hw1=$(stat_of "$_log" hog_preempts)
	_hi1=$(stat_of "$_log" hog_irq_wakes)
	stop_sched
	echo "@@INFO hog-wakeup $*: timers for tasks about to be hogs: $(stat_of "$_log" hog_timers), preempted on resume: $(stat_of "$_log" hog_resume_preempts), timers armed again after a higher class: $(stat_of "$_log" hog_timer_rearms)" >&2
	echo "$((${_hw1:-0} - ${_hw0:-0})) $((${_hi1:-0} - ${_hi0:-0})) $_lat"
}

case_hog_wakeup() {
	_on=$(hw_run /tmp/hw-on.log) || { DETAIL="never enabled (with the rule)"; return 1; }
	_off=$(hw_run /tmp/hw-off.log --hog-preempt-cpu-us 0) || { DETAIL="never enabled (without the rule)"; return 1; }
	hw_cyc
	_def=$_lat
	# shellcheck disable=SC2086
	set -- $_on $_off
	DETAIL="default: p50/p99/max_us/policy=$(echo "$_def" | tr ' ' /) with_rule: preempts=$1 irq_wakes=$2 p50/p99/max_us=$3/$4/$5 policy=$6 without: preempts=$7 p50/p99/max_us=$9/${10}/${11} policy=${12} need irq_wakes>0, p50_with*3<p50_without*2, p99_with<p99_without"
	[ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$7" -eq 0 ] && [ "$6" = 0 ] && [ "${12}" = 0 ] &&
		[ "$4" != - ] && [ "${10}" != - ] && [ $(($3 * 3)) -lt $(($9 * 2)) ] && [ "$4" -lt "${10}" ]
}
