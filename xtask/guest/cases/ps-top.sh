# SPDX-License-Identifier: GPL-2.0-only
# VM case `ps-top` (sourced by vm-test.sh; helpers in lib.sh).

# What every machine runs: `ps aux`, `top -b -n 1` and `pgrep -f` in a loop (they read every
# process's /proc, ours included) during process churn and a FaaS series: 0 evictions. ps and
# pgrep are procps'; top is busybox's (procps' top exits 1 without a word in this guest).
case_ps_top() {
	_ev0=$(evictions)
	start_sched /tmp/pstop.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	(
		_pt_n=0
		_pt_end=$(($(date +%s) + 20))
		while [ "$(date +%s)" -lt "$_pt_end" ]; do
			/usr/bin/ps aux >/dev/null 2>>/tmp/pstop-tools.log || exit 1
			busybox top -b -n 1 >/dev/null 2>>/tmp/pstop-tools.log || exit 2
			/usr/bin/pgrep -f scx_foresight >/dev/null 2>>/tmp/pstop-tools.log || exit 3
			_pt_n=$((_pt_n + 1))
		done
		echo "$_pt_n" >/tmp/pstop.count
	) &
	_pt_mon=$!
	"$FS_BIN/foresight_loadgen" churn --count 3000 >/tmp/pstop-churn.txt 2>&1 &
	_pt_churn=$!
	"$FS_BIN/foresight_loadgen" series --arg 16 --count 200 --gap-ms 20 >/tmp/pstop-series.txt 2>&1
	_pt_src=$?
	wait "$_pt_churn"
	_pt_crc=$?
	wait "$_pt_mon"
	_pt_mrc=$?
	_pt_loops=$(cat /tmp/pstop.count 2>/dev/null || echo 0)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_max=$(stat_of /tmp/pstop.log max_round_us)
	stop_sched
	_ev=$(($(evictions) - _ev0))
	DETAIL="monitor_loops=$_pt_loops monitor_rc=$_pt_mrc churn_rc=$_pt_crc series_rc=$_pt_src max_round_us=$_max evictions=$_ev attached=$_att"
	[ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ "$_pt_mrc" -eq 0 ] && [ "$_pt_loops" -gt 0 ] && [ "$_pt_crc" -eq 0 ] && [ "$_pt_src" -eq 0 ]
}
