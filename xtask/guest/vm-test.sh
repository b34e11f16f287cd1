# SPDX-License-Identifier: GPL-2.0-only
# In-kernel integration cases. Each case is a function case_NAME that sets DETAIL and returns
# 0 (pass) or 1 (fail); every case prints `@@CASE NAME PASS|FAIL SECS DETAIL`.
. "${FS_GUEST:-/guest}/lib.sh"
# One file per case, each defining case_NAME.
for _case_file in "${FS_GUEST:-/guest}"/cases/*.sh; do
	. "$_case_file"
done

ALL_CASES="attach stats load sigint sigkill evict-restart restart errors faas-priority record exec-identity exec-end-long slice-timer hog-wakeup hot-reload classify replay churn stall-guard stall-self ps-top helper-alloc exit-hog lock-holder hostile-files bad-inputs soak"
# Also available, opt-in: signals (records labelled windows of every workload class for
# `train --windows`).
# Watchdog timeout the BPF side sets (ms in main.bpf.c): the bound for the kernel's fallback.
WATCHDOG_S=5

CASES=$(echo "${fs_cases:-$ALL_CASES}" | tr ',' ' ')
# fs_skip: cases the host runs in another boot (on another machine shape).
for _s in $(echo "${fs_skip:-}" | tr ',' ' '); do
	CASES=$(echo " $CASES " | sed "s/ $_s / /g")
done
echo "@@PLAN $CASES"
for c in $CASES; do
	DETAIL=""
	_start=$(now)
	echo "@@INFO case $c starting"
	echo "@@STEP $c"
	if "case_$(echo "$c" | tr '-' '_')"; then _r=PASS; else _r=FAIL; fi
	echo "@@CASE $c $_r $(since "$_start") $DETAIL"
	# Deadline bandwidth must come back to the kernel's own after every case (a leak once
	# made the kernel refuse our helpers, CPU hotplug and sched_ext's enable).
	echo "@@INFO after $c: deadline total_bw $(dl_total_bw)"
	# Leave a clean slate for the next case; its logs go to the host's console log.
	if [ -n "$SCHED_PID" ] && alive "$SCHED_PID"; then stop_sched; fi
	kill_live_hogs "after $c"
	for _f in /tmp/*.log; do
		[ -f "$_f" ] && sed "s|^|@@LOG $c ${_f##*/}: |" "$_f" && rm -f "$_f"
	done
	wait_state disabled 15 || echo "@@INFO sched_ext still $(se_state) after $c"
	SCHED_PID=""
done
