# SPDX-License-Identifier: GPL-2.0-only
# VM case `restart` (sourced by vm-test.sh; helpers in lib.sh).

# A CPU going offline or online makes the kernel unregister a scheduler that has no hotplug
# callbacks, with a restart request (SCX_ECODE_ACT_RESTART): we must come back by ourselves
# every time, while a load runs (its every invocation completing). CPU 1 goes offline and
# online again, fs_hotplug_cycles times (default 3). On this TCG test bed a CPU going offline
# while we are attached can also get us evicted first ("watchdog failed to check in" while the
# hotplug runs): --restart-on-error brings us back then too; both counts are reported.
case_restart() {
	_cpu=/sys/devices/system/cpu/cpu1/online
	[ -w "$_cpu" ] || { DETAIL="no hotpluggable cpu1"; return 1; }
	start_sched /tmp/restart.log --restart-on-error 20
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	rm -f /tmp/restart.fails /tmp/restart.stop
	( _rn=0; while [ ! -e /tmp/restart.stop ]; do
		"$FS_BIN/foresight_loadgen" series --arg 22 --count 4 --gap-ms 20 >/dev/null 2>&1 || echo fail >>/tmp/restart.fails
		_rn=$((_rn + 1)); done; echo "$_rn" >/tmp/restart.series ) &
	_rload=$!
	_rtimes=""
	_rbusy=0
	_rok=0
	_rwant=0
	for _rc in $(seq 1 "${fs_hotplug_cycles:-3}"); do
		for _rstate in 0 1; do
			sleep 1
			_rwant=$((_rwant + 1))
			_rt0=$(now)
			# The kernel refuses a hotplug now and then (EBUSY, e.g. while we attach): retry.
			_rtry=0
			until echo "$_rstate" >"$_cpu" 2>/dev/null; do
				# Once: the deadline bandwidth the kernel checks before taking a CPU down.
				[ "$_rbusy" -eq 0 ] && [ "$_rtry" -eq 0 ] && dl_bandwidth | sed 's/^/@@INFO restart EBUSY: /'
				_rtry=$((_rtry + 1))
				[ "$_rtry" -ge 10 ] && break
				sleep 1
			done
			_rbusy=$((${_rbusy:-0} + _rtry))
			while ! { [ "$(grep -c 'asked for a restart\|attaching again in' /tmp/restart.log)" -ge "$_rwant" ] && ours_attached; }; do
				gt "$(since "$_rt0")" 30 && break
				sleep 0.1
			done
			_rtimes="$_rtimes $(since "$_rt0")"
			ours_attached || { _rok=1; break 2; }
		done
	done
	[ "$(cat "$_cpu")" = 1 ] || echo 1 >"$_cpu"
	sleep 1
	touch /tmp/restart.stop
	wait "$_rload"
	_restarts=$(grep -c 'asked for a restart' /tmp/restart.log)
	_rerrors=$(grep -c 'attaching again in' /tmp/restart.log)
	_rstalls=$(grep -c 'the kernel ended scx_foresight: EXIT: runnable task stall' /tmp/restart.log)
	_why=$(grep -m1 -o 'EXIT: .*going o[nf]*line[^)]*' /tmp/restart.log)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	stop_sched
	_rfails=$(cat /tmp/restart.fails 2>/dev/null | wc -l)
	DETAIL="events=$_rwant restart_requests=$_restarts error_restarts=$_rerrors (stalls=$_rstalls) reattach_s=[${_rtimes# }] series_run=$(cat /tmp/restart.series) series_failed=$_rfails busy_retries=$_rbusy attached_after=$_att rc=$SCHED_RC kernel='$_why'"
	[ "$_rok" -eq 0 ] && [ "$((_restarts + _rerrors))" -ge "$_rwant" ] && [ "$_rfails" -eq 0 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
}
