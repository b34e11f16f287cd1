# SPDX-License-Identifier: GPL-2.0-only
# VM case `churn` (sourced by vm-test.sh; helpers in lib.sh).

# 100,000 short-lived processes (fork + exit; fs_churn changes the count): memory and the
# task table must not grow with them.
case_churn() {
	start_sched /tmp/churn.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_w=$(worker_pid)
	_n=${fs_churn:-100000}
	"$FS_BIN/foresight_loadgen" churn --count $((_n / 10)) >/tmp/churn1.txt 2>&1
	sleep 3
	_rss1=$(awk '/^VmRSS/ { print $2 }' /proc/"$_w"/status)
	_t1=$(stat_of /tmp/churn.log tasks)
	_live1=$(live_threads)
	_e1=$(stat_of /tmp/churn.log exits)
	"$FS_BIN/foresight_loadgen" churn --count $((_n - _n / 10)) >/tmp/churn2.txt 2>&1
	sleep 3
	_rss2=$(awk '/^VmRSS/ { print $2 }' /proc/"$_w"/status)
	_t2=$(stat_of /tmp/churn.log tasks)
	_live2=$(live_threads)
	_e2=$(stat_of /tmp/churn.log exits)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	stop_sched
	DETAIL="processes=$_n after_first_10%: rss_kb=$_rss1 tasks=$_t1 live_threads=$_live1 exits=$_e1 | after_all: rss_kb=$_rss2 tasks=$_t2 live_threads=$_live2 exits=$_e2 | $(cat /tmp/churn2.txt) | attached=$_att"
	# RSS within 10 %. The table holds only the ~15 tasks alive at rest, so which of them
	# happen to run decides its size: within 10 %, or no more entries than live threads.
	[ "$_att" = yes ] && [ "$_e2" -ge "$_n" ] && [ "$_rss2" -le $((_rss1 + _rss1 / 10)) ] \
		&& { [ "$_t2" -le $((_t1 + _t1 / 10)) ] || [ "$_t2" -le "$_live2" ]; }
}
