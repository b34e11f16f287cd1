# SPDX-License-Identifier: GPL-2.0-only
# VM case `soak` (sourced by vm-test.sh; helpers in lib.sh).

# The long drill (fs_soak_s, 60 s in CI, 1800 s documented): the stress-ng mix, the FaaS
# replay in a loop, process churn, ps/top/pgrep loops, a model file and the modes config
# rewritten every reload period (valid and corrupt in turn), a CPU offline and online every
# 300 s (once, half way, in a soak shorter than 600 s). Verdict: 0 evictions outside the hotplug
# events, the worker's RSS flat (±10 % from 10 % of the run to the end), every replay and
# series completed, every reload applied or rejected with its reason.
case_soak() {
	_secs=${fs_soak_s:-600}
	_hp_every=$((_secs >= 600 ? 300 : _secs / 2))
	_reload_every=$((_secs / 3 < 60 ? _secs / 3 : 60))
	rm -rf /tmp/soak && mkdir -p /tmp/soak/models
	cp /models/default.json /tmp/soak/models/default.json
	cp /models/modes.json /tmp/soak/modes.json
	"$FS_BIN/foresight_loadgen" calibrate --args 20,24,26 --reps 1 --out /tmp/soak/cal.csv 2>/dev/null
	"$SCHED" trace gen --cpus 2 --load 0.3 --duration-s 20 --seed 9 -o /tmp/soak/trace.csv
	_ev0=$(evictions)
	start_sched /tmp/soak.log --stats 5 --stats-format line --models /tmp/soak/models --config /tmp/soak/modes.json --restart-on-error 10
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_sk_t0=$(now)
	_sk_end=$(awk -v t="$_sk_t0" -v s="$_secs" 'BEGIN { print t + s }')
	# Guest time from /proc/uptime throughout (as `since`): `date` drifted from it here.
	soak_running() { gt "$_sk_end" "$(now)"; }
	setup_disk || true
	stress-ng --cpu 2 --fork 1 --hdd 1 --hdd-bytes 8M --temp-path "$DISK_DIR" --sock 1 --switch 1 --timeout "${_secs}s" >/tmp/soak-stress.log 2>&1 &
	_sk_stress=$!
	# soak_loop NAME COMMAND...: run COMMAND until the end; counts runs and failures.
	soak_loop() {
		_sl_name=$1
		shift
		_sl_n=0
		_sl_f=0
		while soak_running; do
			"$@" >/dev/null 2>&1 || _sl_f=$((_sl_f + 1))
			_sl_n=$((_sl_n + 1))
		done
		echo "$_sl_n $_sl_f" >/tmp/soak/"$_sl_name".count
	}
	soak_loop replay "$FS_BIN/foresight_loadgen" replay --trace /tmp/soak/trace.csv --calibration /tmp/soak/cal.csv --limit 40 &
	_sk_replay=$!
	soak_loop series "$FS_BIN/foresight_loadgen" series --arg 20 --count 10 --gap-ms 50 &
	_sk_series=$!
	soak_loop churn "$FS_BIN/foresight_loadgen" churn --count 500 &
	_sk_churn=$!
	soak_loop ps /usr/bin/ps aux &
	_sk_ps=$!
	soak_loop top busybox top -b -n 1 &
	_sk_top=$!
	soak_loop pgrep /usr/bin/pgrep -f scx_foresight &
	_sk_pgrep=$!
	_sk_rss0=""
	_sk_writes=0
	_sk_hp=0
	_sk_hp_ev=0
	_sk_next_reload=$(($(now | cut -d. -f1) + _reload_every))
	_sk_next_hp=$(($(now | cut -d. -f1) + _hp_every))
	while soak_running; do
		sleep 1
		_sk_now=$(now | cut -d. -f1)
		if [ -z "$_sk_rss0" ] && gt "$(since "$_sk_t0")" "$((_secs / 10))"; then
			_sk_w=$(worker_pid)
			_sk_rss0=$(awk '/^VmRSS/ { print $2 }' /proc/"$_sk_w"/status 2>/dev/null)
		fi
		if [ "$_sk_now" -ge "$_sk_next_reload" ]; then
			_sk_writes=$((_sk_writes + 1))
			if [ $((_sk_writes % 2)) -eq 1 ]; then
				sed "s/\"created_unix\": [0-9]*/\"created_unix\": $_sk_now/" /models/default.json >/tmp/soak/m.tmp
				mv /tmp/soak/m.tmp /tmp/soak/models/default.json
				cp /models/modes.json /tmp/soak/c.tmp && echo >>/tmp/soak/c.tmp && mv /tmp/soak/c.tmp /tmp/soak/modes.json
			else
				echo '{ "format": ' >/tmp/soak/models/default.json
				echo '{ "format": ' >/tmp/soak/modes.json
			fi
			_sk_next_reload=$((_sk_now + _reload_every))
		fi
		# A hotplug only with 20 s left after it: the run ends attached, not mid-restart.
		if [ "$_sk_now" -ge "$_sk_next_hp" ] && gt "$_sk_end" "$((_sk_now + 20))" && [ -w /sys/devices/system/cpu/cpu1/online ]; then
			_sk_e0=$(evictions)
			echo 0 >/sys/devices/system/cpu/cpu1/online 2>/dev/null && sleep 5
			echo 1 >/sys/devices/system/cpu/cpu1/online 2>/dev/null || { sleep 2; echo 1 >/sys/devices/system/cpu/cpu1/online; }
			wait_state enabled 60
			_sk_hp=$((_sk_hp + 1))
			_sk_hp_ev=$((_sk_hp_ev + $(evictions) - _sk_e0))
			_sk_next_hp=$((_sk_now + _hp_every))
		fi
	done
	wait "$_sk_stress"
	_src=$?
	wait "$_sk_replay" "$_sk_series" "$_sk_churn" "$_sk_ps" "$_sk_top" "$_sk_pgrep" 2>/dev/null
	wait_state enabled 30
	sleep 2
	_sk_w=$(worker_pid)
	_sk_rss1=$(awk '/^VmRSS/ { print $2 }' /proc/"$_sk_w"/status 2>/dev/null)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_pf=$(stat_of /tmp/soak.log page_faults)
	_cs=$(stat_of /tmp/soak.log class_s)
	stop_sched
	_ev=$(($(evictions) - _ev0 - _sk_hp_ev))
	_mrel=$(grep -c 'models reloaded' /tmp/soak.log)
	_mrej=$(grep -c 'model reload rejected.*default.json' /tmp/soak.log)
	_crel=$(grep -c 'modes config and classifier reloaded' /tmp/soak.log)
	_crej=$(grep -c 'config reload rejected.*modes.json' /tmp/soak.log)
	_loops=""
	_lfail=0
	for _sl in replay series churn ps top pgrep; do
		read -r _n _f </tmp/soak/$_sl.count
		_loops="$_loops $_sl=$_n/${_f}fail"
		_lfail=$((_lfail + _f))
	done
	_rss_ok=$(awk -v a="${_sk_rss0:-0}" -v b="${_sk_rss1:-0}" 'BEGIN { print (a > 0 && b >= a * 0.9 && b <= a * 1.1) ? "yes" : "no" }')
	_valid=$(((_sk_writes + 1) / 2))
	_corrupt=$((_sk_writes / 2))
	DETAIL="soak_s=$_secs ran_s=$(since "$_sk_t0") stress_rc=$_src evictions=$_ev hotplugs=$_sk_hp hotplug_evictions=$_sk_hp_ev attached=$_att rss_kb=$_sk_rss0->$_sk_rss1 rss_flat=$_rss_ok loops:[${_loops# }] writes=${_valid}valid+${_corrupt}corrupt models=${_mrel}applied+${_mrej}rejected config=${_crel}applied+${_crej}rejected page_faults=$_pf class_s=$_cs"
	[ "$_src" -eq 0 ] && [ "$_ev" -eq 0 ] && [ "$_att" = yes ] && [ "$_pf" = 0 ] && [ "$_rss_ok" = yes ] && [ "$_lfail" -eq 0 ] \
		&& [ "$_mrel" -ge "$_valid" ] && [ "$_mrej" -ge "$_corrupt" ] && [ "$_crel" -ge "$_valid" ] && [ "$_crej" -ge "$_corrupt" ]
}
