# SPDX-License-Identifier: GPL-2.0-only
# VM case `load` (sourced by vm-test.sh; helpers in lib.sh).

case_load() {
	start_sched /tmp/load.log --stats 5 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_ev0=$(evictions)
	timeout 300 stress-ng --cpu 4 --fork 2 --hdd 1 --hdd-bytes 8M --timeout 20s >/tmp/stress.log 2>&1 &
	_sp=$!
	# A loop of short processes beside the stressors.
	(
		_n=0
		_end=$(($(date +%s) + 20))
		while [ "$(date +%s)" -lt "$_end" ]; do
			"$PAYLOAD" 18 >/dev/null || exit 1
			_n=$((_n + 1))
		done
		echo "$_n" >/tmp/short.count
	) &
	_lp=$!
	wait "$_sp"
	_src=$?
	wait "$_lp"
	_lrc=$?
	_n=$(cat /tmp/short.count 2>/dev/null || echo 0)
	_ev=$(($(evictions) - _ev0))
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_user=$(grep '^stats:' /tmp/load.log | tail -n 1 | sed 's/.*user_dispatches=\([0-9]*\).*/\1/')
	stop_sched
	DETAIL="stress_rc=$_src short_runs=$_n short_rc=$_lrc evictions=$_ev still_attached=$_att user_dispatches=$_user exit_rc=$SCHED_RC"
	[ "$_src" -eq 0 ] && [ "$_lrc" -eq 0 ] && [ "$_n" -gt 0 ] && [ "$_ev" -eq 0 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
}
