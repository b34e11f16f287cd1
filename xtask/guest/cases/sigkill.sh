# SPDX-License-Identifier: GPL-2.0-only
# VM case `sigkill` (sourced by vm-test.sh; helpers in lib.sh).

case_sigkill() {
	timeout 300 stress-ng --cpu 4 --timeout 15s >/tmp/stress-kill.log 2>&1 &
	_sp=$!
	start_sched /tmp/sigkill.log
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 2
	ours_attached || { DETAIL="evicted before the kill: $(dmesg | grep -m1 -o 'disabled (.*)')"; wait "$_sp"; return 1; }
	_t0=$(now)
	echo "@@INFO sigkill: kill -9 at uptime $_t0"
	kill -9 "$SCHED_PID"
	wait_state disabled "$WATCHDOG_S"
	_ok=$?
	_fallback=$(since "$_t0")
	sleep "$WATCHDOG_S"
	# When the kernel logged the disable, relative to the kill (dmesg and uptime share a clock).
	_msg=$(dmesg | grep 'sched_ext: BPF scheduler.*disabled' | tail -n 1)
	_why=$(echo "$_msg" | grep -o 'disabled (.*)')
	_msg_s=$(echo "$_msg" | sed 's/^\[ *\([0-9.]*\)\].*/\1/' | awk -v k="$_t0" '{ printf "%.2f", $1 - k }')
	wait "$SCHED_PID" 2>/dev/null
	wait "$_sp"
	_src=$?
	DETAIL="state_disabled_after_s=$_fallback kernel_msg_after_s=$_msg_s state=$(se_state) watchdog_s=$WATCHDOG_S stress_rc=$_src kernel='$_why'"
	[ "$_ok" -eq 0 ] && [ "$_src" -eq 0 ]
}
