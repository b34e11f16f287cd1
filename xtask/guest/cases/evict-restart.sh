# SPDX-License-Identifier: GPL-2.0-only
# VM case `evict-restart` (sourced by vm-test.sh; helpers in lib.sh).

# --restart-on-error: the worker stopped under load is evicted by the watchdog; once it runs
# again it exits with the kernel's reason and the supervisor attaches a fresh worker. Twice.
# -v: the worker logs when it is ready, attaching and attached (ms since it started).
case_evict_restart() {
	timeout 300 stress-ng --cpu 2 --timeout 120s >/tmp/stress-evict.log 2>&1 &
	_esp=$!
	mkdir -p /tmp/er
	cp /models/default.json /tmp/er/models.json
	cp /models/modes.json /tmp/er/modes.json
	cp /models/classifier.json /tmp/er/classifier.json
	start_sched /tmp/evict.log --restart-on-error 3 -v --models /tmp/er/models.json \
		--config /tmp/er/modes.json --classifier /tmp/er/classifier.json
	_ecycles=""
	_eok=0
	for _ei in 1 2; do
		wait_state enabled 30 && ours_attached || { _eok=1; _ecycles="$_ecycles never_attached"; break; }
		sleep 1
		_ew=$(worker_pid)
		[ -n "$_ew" ] || { _eok=1; _ecycles="$_ecycles no_worker"; break; }
		# Before the 2nd eviction all three files break: the restarted worker must attach
		# with the ones accepted before (the 600 s soak once lost its scheduler here).
		if [ "$_ei" -eq 2 ]; then
			echo '{ "format": "scx_foresight-models"' >/tmp/er/models.json
			echo '{ "format": "scx_foresight-modes", "window_ms": ' >/tmp/er/modes.json
			echo '[1, 2' >/tmp/er/classifier.json
		fi
		kill -STOP "$_ew"
		_et0=$(now)
		wait_state disabled 30 || { _eok=1; kill -CONT "$_ew"; _ecycles="$_ecycles not_evicted"; break; }
		_evicted=$(since "$_et0")
		echo "$(date +%T) SIGCONT $_ei" >>/tmp/evict-marks.log
		kill -CONT "$_ew"
		_et1=$(now)
		while [ "$(grep -c 'attaching again in' /tmp/evict.log)" -lt "$_ei" ]; do
			gt "$(since "$_et1")" 30 && break
			sleep 0.05
		done
		_eexit=$(since "$_et1")
		while ! ours_attached; do gt "$(since "$_et1")" 30 && break; sleep 0.05; done
		_back=$(since "$_et1")
		echo "$(date +%T) attached $_ei" >>/tmp/evict-marks.log
		ours_attached || _eok=1
		# The new worker's own start-to-attached time (its -v log); the rest after the old
		# worker ended is the supervisor's: back-off, wait for the detach, spawn.
		_et2=$(now)
		while [ "$(grep -c 'attached after [0-9]* ms' /tmp/evict.log)" -le "$_ei" ]; do
			gt "$(since "$_et2")" 5 && break
			sleep 0.05
		done
		_eown=$(grep -o 'attached after [0-9]* ms' /tmp/evict.log | sed -n "$((_ei + 1))p" | awk '{ printf "%.2f", $3 / 1000 }')
		_esup=$(awk -v b="$_back" -v e="$_eexit" -v o="${_eown:-0}" 'BEGIN { printf "%.2f", b - e - o }')
		# The goal is 5 s in all. Under wall-clock TCG beside 2 hogs the kernel's part has a long
		# tail (measured: an evicted worker's detach 15.5 s, a restarted one's attach 16.6 s in
		# CI, a start 15 s; once each in about ten restarts, 3.5-5 s otherwise), so the verdict
		# holds the supervisor to its own share (under 2 s) and the whole to 30 s; all reported.
		{ [ -n "$_eown" ] && gt 2 "$_esup" && gt 30 "$_back"; } || _eok=1
		_ecycles="$_ecycles evicted_after_s=$_evicted worker_ended_after_cont_s=$_eexit reattached_after_cont_s=$_back new_worker_own_s=${_eown:-none} supervisor_s=$_esup"
	done
	# The files fixed: the restarted worker's watchers load them.
	_em0=$(grep -c 'models reloaded' /tmp/evict.log)
	_ec0=$(grep -c 'modes config and classifier reloaded' /tmp/evict.log)
	cp /models/default.json /tmp/er/models.json
	cp /models/modes.json /tmp/er/modes.json
	cp /models/classifier.json /tmp/er/classifier.json
	_et2=$(now)
	_efixed=0
	while [ "$_efixed" -lt 2 ] && ! gt "$(since "$_et2")" 20; do
		sleep 0.1
		_efixed=0
		[ "$(grep -c 'models reloaded' /tmp/evict.log)" -gt "$_em0" ] && _efixed=$((_efixed + 1))
		[ "$(grep -c 'modes config and classifier reloaded' /tmp/evict.log)" -gt "$_ec0" ] && _efixed=$((_efixed + 1))
	done
	sleep 1
	_eatt=no
	ours_attached && alive "$SCHED_PID" && _eatt=yes
	_estop0=$(now)
	_ew=$(worker_pid)
	kill -INT "$SCHED_PID" 2>/dev/null
	# A stop that takes long (66-85 s beside the hogs, when a throttled helper unmapped the
	# worker's memory): where the worker's threads are 3 s after SIGINT.
	while [ -n "$_ew" ] && [ -d /proc/"$_ew" ] && ! gt "$(since "$_estop0")" 3; do sleep 0.05; done
	if [ -n "$_ew" ] && [ -d /proc/"$_ew" ]; then
		for _et in /proc/"$_ew"/task/*; do
			echo "@@INFO evict: stopping 3 s: thread $(cat "$_et"/comm 2>/dev/null) state $(awk '/^State:/ { print $2 }' "$_et"/status 2>/dev/null) in $(tr '\n' ' ' <"$_et"/stack 2>/dev/null | cut -c1-300)"
		done
	fi
	wait "$SCHED_PID"
	SCHED_RC=$?
	_estop=$(since "$_estop0")
	end_hogs "$_esp"
	grep -h '^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] ' /tmp/evict.log /tmp/evict-marks.log | sort | sed 's/^/@@INFO evict: /'
	rm -f /tmp/evict-marks.log
	_ereasons=$(grep -c 'the kernel ended scx_foresight: EXIT: runnable task stall' /tmp/evict.log)
	_eagain=$(grep -c 'attaching again in' /tmp/evict.log)
	_elast=$(grep -c 'restarted, so using the .* last accepted' /tmp/evict.log)
	# Each worker's own start-to-attached time: the part of a re-attach the emulator's BPF
	# load dominates, apart from the supervisor's back-off and wait.
	_eattach=$(grep -o 'attached after [0-9]* ms' /tmp/evict.log | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $3 }')
	DETAIL="$_ecycles worker_attached_after_ms=[$_eattach] reasons_logged=$_ereasons restarts_logged=$_eagain broken_files_replaced_by_last_accepted=$_elast/3 reloads_once_fixed=$_efixed/2 attached_at_end=$_eatt stop_s=$_estop rc=$SCHED_RC"
	# Stopped beside the hogs: 1.7 s (66-85 s while a throttled helper unmapped the memory).
	gt 15 "$_estop" || _eok=1
	[ "$_eok" -eq 0 ] && [ "$_ereasons" -eq 2 ] && [ "$_eagain" -eq 2 ] && [ "$_elast" -eq 3 ] \
		&& [ "$_efixed" -eq 2 ] && [ "$_eatt" = yes ] && [ "$SCHED_RC" -eq 0 ]
}
