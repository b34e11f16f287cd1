# SPDX-License-Identifier: GPL-2.0-only
# In-kernel integration cases. Each case is a function case_NAME that sets DETAIL and returns
# 0 (pass) or 1 (fail); every case prints `@@CASE NAME PASS|FAIL SECS DETAIL`.
. "${FS_GUEST:-/guest}/lib.sh"

ALL_CASES="attach stats load sigint sigkill evict-restart restart errors faas-priority record hot-reload classify replay churn stall-guard stall-self ps-top helper-alloc hostile-files bad-inputs soak"
# Also available, opt-in: signals (records labelled windows of every workload class for
# `train --windows`).
# Watchdog timeout the BPF side sets (ms in main.bpf.c): the bound for the kernel's fallback.
WATCHDOG_S=5

case_attach() {
	_t0=$(now)
	start_sched /tmp/attach.log
	wait_state enabled 30 || { DETAIL="never enabled (state=$(se_state)): $(tail -n 3 /tmp/attach.log | tr '\n' ' ')"; return 1; }
	_attach=$(since "$_t0")
	_ops=$(se_ops)
	DETAIL="attach_s=$_attach ops=$_ops"
	echo "$_ops" | grep -q '^scx_foresight' || return 1
	dmesg | grep -q 'sched_ext: BPF scheduler "scx_foresight.*" enabled' || { DETAIL="$DETAIL no-enable-msg"; return 1; }
	stop_sched
}

# Statistics: the line for scripts, `--monitor` (the scx client, grouped deltas) and raw
# requests on the scx_stats socket, all answered while scheduling under CPU and fork load.
case_stats() {
	start_sched /tmp/stats.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	stress-ng --cpu 2 --fork 1 --timeout 40s >/dev/null 2>&1 &
	_st_load=$!
	echo "@@INFO stats: load started at line $(grep -c '^stats:' /tmp/stats.log)"
	# Under this load on 2 emulated CPUs a new process takes seconds to start: 10 s.
	timeout 10 "$SCHED" --monitor 1 >/tmp/monitor.txt 2>&1
	echo "@@INFO stats: raw requests from line $(grep -c '^stats:' /tmp/stats.log)"
	_st_ok=0
	_st_n=0
	while [ "$_st_n" -lt 20 ]; do
		printf '{"req":"stats","args":{"target":"top"}}\n' | timeout 3 socat -t 3 - UNIX-CONNECT:/var/run/scx/root/stats >/tmp/raw.json 2>&1 &&
			grep -q '"errno":0' /tmp/raw.json && grep -q '"user_dispatches":[1-9]' /tmp/raw.json && _st_ok=$((_st_ok + 1))
		_st_n=$((_st_n + 1))
	done
	_st_raw=$(grep -o '"worker_pid":[0-9]*' /tmp/raw.json)
	echo "@@INFO stats: raw requests done at line $(grep -c '^stats:' /tmp/stats.log)"
	kill "$_st_load" 2>/dev/null
	wait "$_st_load"
	_st_help=$("$SCHED" --help-stats 2>&1 | grep -c 'user_dispatches.*Dispatches decided in userspace')
	_st_att=no
	ours_attached && _st_att=yes
	stop_sched
	_lines=$(grep -c '^stats:' /tmp/stats.log)
	_faulty=$(grep '^stats:' /tmp/stats.log | grep -vc ' page_faults=0 ')
	_last=$(grep '^stats:' /tmp/stats.log | tail -n 1)
	# --monitor: grouped blocks, the later ones with dispatch deltas over the interval.
	_st_blocks=$(grep -c '^  scheduling ' /tmp/monitor.txt)
	_st_deltas=$(grep -A1 'over the interval' /tmp/monitor.txt | grep -c 'dispatches +[1-9]')
	echo "@@INFO stats: max_round_us per line: $(grep '^stats:' /tmp/stats.log | grep -o 'max_round_us=[0-9]*' | cut -d= -f2 | tr '\n' ' ')"
	DETAIL="lines=$_lines nonzero_page_faults=$_faulty monitor_blocks=$_st_blocks monitor_deltas=$_st_deltas raw_answers=$_st_ok/20 raw:$_st_raw help_stats=$_st_help attached_under_load=$_st_att rc=$SCHED_RC last: $_last"
	[ "$_lines" -ge 2 ] && [ "$_faulty" -eq 0 ] && [ "$SCHED_RC" -eq 0 ] && [ "$_st_blocks" -ge 2 ] &&
		[ "$_st_deltas" -ge 1 ] && [ "$_st_ok" -eq 20 ] && [ "$_st_help" -eq 1 ] && [ "$_st_att" = yes ] ||
		{ sed 's/^/@@INFO monitor: /' /tmp/monitor.txt | head -n 20; cat /tmp/raw.json; return 1; }
}

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

case_sigint() {
	start_sched /tmp/sigint.log
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_t0=$(now)
	stop_sched
	wait_state disabled 15
	_det=$(since "$_t0")
	_reason=$(grep -m1 'EXIT' /tmp/sigint.log)
	DETAIL="rc=$SCHED_RC state=$(se_state) detach_s=$_det reason='$_reason'"
	[ "$SCHED_RC" -eq 0 ] && [ "$(se_state)" = disabled ] && [ -n "$_reason" ]
}

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
		# The goal is 5 s; under wall-clock TCG attaching alone takes 2.2-3.4 s (measured), so
		# the verdict allows 10 s and the times are reported.
		gt 10 "$_back" || _eok=1
		_ecycles="$_ecycles evicted_after_s=$_evicted worker_ended_after_cont_s=$_eexit reattached_after_cont_s=$_back"
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
	stop_sched
	kill "$_esp" 2>/dev/null
	wait "$_esp" 2>/dev/null
	grep -h '^[0-9][0-9]:[0-9][0-9]:[0-9][0-9] ' /tmp/evict.log /tmp/evict-marks.log | sort | sed 's/^/@@INFO evict: /'
	rm -f /tmp/evict-marks.log
	_ereasons=$(grep -c 'the kernel ended scx_foresight: EXIT: runnable task stall' /tmp/evict.log)
	_eagain=$(grep -c 'attaching again in' /tmp/evict.log)
	_elast=$(grep -c 'restarted, so using the .* last accepted' /tmp/evict.log)
	DETAIL="$_ecycles reasons_logged=$_ereasons restarts_logged=$_eagain broken_files_replaced_by_last_accepted=$_elast/3 reloads_once_fixed=$_efixed/2 attached_at_end=$_eatt rc=$SCHED_RC"
	[ "$_eok" -eq 0 ] && [ "$_ereasons" -eq 2 ] && [ "$_eagain" -eq 2 ] && [ "$_elast" -eq 3 ] \
		&& [ "$_efixed" -eq 2 ] && [ "$_eatt" = yes ] && [ "$SCHED_RC" -eq 0 ]
}

case_errors() {
	# A record file of another format: refused before attaching, named, left untouched.
	printf 'x,y\n1,2\n' >/tmp/foreign.csv
	"$SCHED" --record /tmp/foreign.csv >/tmp/foreign.log 2>&1
	_rcr=$?
	"$SCHED" --record-signals /tmp/foreign.csv >>/tmp/foreign.log 2>&1
	_rcr=$((_rcr * 10 + $?))
	_untouched=no
	[ "$(cat /tmp/foreign.csv)" = "$(printf 'x,y\n1,2')" ] && ! ours_attached && _untouched=yes
	start_sched /tmp/first.log
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	"$SCHED" >/tmp/second.log 2>&1
	_rc2=$?
	"$SCHED" --bogus >/tmp/badflag.log 2>&1
	_rcb=$?
	"$SCHED" --slice-us 100 --slice-us-min 500 >/tmp/badslice.log 2>&1
	_rcs=$?
	su -s /bin/sh nobody -c "$SCHED" >/tmp/nonroot.log 2>&1
	_rcn=$?
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	stop_sched
	_ok=0
	grep -q 'already attached' /tmp/second.log || _ok=1
	grep -q "unexpected argument '--bogus'" /tmp/badflag.log || _ok=1
	grep -q 'larger than --slice-us' /tmp/badslice.log || _ok=1
	grep -q 'must run as root' /tmp/nonroot.log || _ok=1
	[ "$(grep -c '/tmp/foreign.csv:1: exists and does not start with the header' /tmp/foreign.log)" -eq 2 ] || _ok=1
	DETAIL="second_rc=$_rc2 badflag_rc=$_rcb badslice_rc=$_rcs nonroot_rc=$_rcn foreign_record_rc=$_rcr foreign_untouched=$_untouched first_still_attached=$_att messages_ok=$([ $_ok -eq 0 ] && echo yes || echo no)"
	[ "$_ok" -eq 0 ] && [ "$_rcr" -eq 11 ] && [ "$_untouched" = yes ] && [ "$_rc2" -ne 0 ] && [ "$_rcb" -eq 2 ] && [ "$_rcs" -ne 0 ] && [ "$_rcn" -ne 0 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
}

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

# Short FaaS invocations beside CPU hogs on every vCPU: the same series under the kernel's
# default scheduler and under scx_foresight, in this boot; foresight must be clearly faster.
FAAS_ARG=${fs_faas_arg:-24}
FAAS_COUNT=${fs_faas_count:-30}
FAAS_MAX_RATIO=0.75
case_faas_priority() {
	timeout 600 stress-ng --cpu 8 --timeout 400s >/tmp/hogs.log 2>&1 &
	_hogs=$!
	sleep 2
	"$FS_BIN/foresight_loadgen" series --arg "$FAAS_ARG" --count "$FAAS_COUNT" --gap-ms 50 >/tmp/faas-default.log 2>&1
	start_sched /tmp/faas-sched.log --stats 1 --stats-format line
	wait_state enabled 30 || { kill "$_hogs"; DETAIL="never enabled"; return 1; }
	"$FS_BIN/foresight_loadgen" series --arg "$FAAS_ARG" --count "$FAAS_COUNT" --gap-ms 50 >/tmp/faas-foresight.log 2>&1
	_att=no
	ours_attached && _att=yes
	stop_sched
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_base=$(grep '^series' /tmp/faas-default.log | sed 's/.*mean_ms=\([0-9.]*\).*/\1/')
	_fs=$(grep '^series' /tmp/faas-foresight.log | sed 's/.*mean_ms=\([0-9.]*\).*/\1/')
	[ -n "$_base" ] && [ -n "$_fs" ] || { DETAIL="a series failed"; return 1; }
	_ratio=$(awk -v a="$_fs" -v b="$_base" 'BEGIN { printf "%.3f", a / b }')
	_last=$(grep '^stats:' /tmp/faas-sched.log | tail -n 1 | grep -o 'ident_exec=.*fn_models=[0-9]*')
	DETAIL="default_mean_ms=$_base foresight_mean_ms=$_fs ratio=$_ratio max_ratio=$FAAS_MAX_RATIO attached=$_att $_last"
	[ "$_att" = yes ] && gt "$FAAS_MAX_RATIO" "$_ratio"
}

# --record while payload invocations run: rows for them, with their argument, land in the
# file; `train` fits them (held-out MAPE printed). The file goes back to the host (@@REC).
case_record() {
	rm -f /tmp/rec.csv
	start_sched /tmp/record-sched.log --record /tmp/rec.csv
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	for _a in 24 26 28 29 30 31 32 33; do
		"$FS_BIN/foresight_loadgen" series --arg "$_a" --count 6 --gap-ms 20 >/dev/null 2>&1
	done
	stop_sched
	_rows=$(grep -c 'foresight_payload' /tmp/rec.csv)
	sed 's/^/@@REC /' /tmp/rec.csv
	"$SCHED" train --samples /tmp/rec.csv --out /tmp/rec-model.json --min-samples 8 >/tmp/record-train.log 2>&1
	_trc=$?
	_line=$(grep 'foresight_payload |' /tmp/record-train.log | head -n 1)
	_mape=$(echo "$_line" | awk -F'|' '{ gsub(/[ %]/, "", $6); print $6 }')
	_pred=$("$SCHED" model predict /tmp/rec-model.json --function "$FS_BIN/foresight_payload" --args 24 2>&1)
	DETAIL="exit_rc=$SCHED_RC payload_rows=$_rows train_rc=$_trc payload_model='$_line' predict_fib24_us=$_pred"
	# Under TCG the measured CPU times are noisy: held-out MAPE of this live model was 8.9-18 %
	# over runs; 30 % still catches wrong identities or arguments.
	[ "$SCHED_RC" -eq 0 ] && [ "$_rows" -ge 20 ] && [ "$_trc" -eq 0 ] && [ -n "$_mape" ] && gt 30 "$_mape"
}

# Replace the model file twice while scheduling a FaaS-like load: a valid one (applied, its
# hash in the stats), then a corrupt one (rejected with the file named, previous kept).
case_hot_reload() {
	mkdir -p /tmp/hr
	cp /models/default.json /tmp/hr/models.json
	_h0=$("$SCHED" model show /tmp/hr/models.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	start_sched /tmp/hr.log --stats 0.5 --stats-format line --models /tmp/hr/models.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	( while :; do "$FS_BIN/foresight_loadgen" series --arg 20 --count 5 --gap-ms 10 >/dev/null 2>&1; done ) &
	_load=$!
	sleep 2
	# A valid, different file: the model trained in the record case, else a re-stamped copy.
	if [ -s /tmp/rec-model.json ]; then cp /tmp/rec-model.json /tmp/hr/next.json; else sed 's/"created_unix": [0-9]*/"created_unix": 1/' /models/default.json >/tmp/hr/next.json; fi
	_h1=$("$SCHED" model show /tmp/hr/next.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	_t0=$(now)
	cp /tmp/hr/next.json /tmp/hr/models.json.new && mv /tmp/hr/models.json.new /tmp/hr/models.json
	while ! grep -q 'models reloaded' /tmp/hr.log; do gt "$(since "$_t0")" 5 && break; sleep 0.05; done
	_seen=$(since "$_t0")
	# The latency the scheduler measured (file mtime → applied); _seen adds this loop's own forks.
	_lat=$(grep -m1 'models reloaded' /tmp/hr.log | sed -n 's/.*applied \([0-9.]*\) s after.*/\1/p')
	_t4=$(now)
	while ! grep '^stats:' /tmp/hr.log | tail -n 1 | grep -q "model_file=$_h1"; do gt "$(since "$_t4")" 5 && break; sleep 0.1; done
	_stats1=$(grep '^stats:' /tmp/hr.log | tail -n 1)
	# SIGHUP (to the supervisor, forwarded to the worker) reloads the same file once more.
	kill -HUP "$SCHED_PID"
	_t2=$(now)
	while [ "$(grep -c 'models reloaded' /tmp/hr.log)" -lt 2 ]; do gt "$(since "$_t2")" 5 && break; sleep 0.05; done
	_hup=$(grep -c 'models reloaded' /tmp/hr.log)
	_t1=$(now)
	echo '{ "format": "scx_foresight-models", "schema_version": ' >/tmp/hr/models.json
	while ! grep -q 'model reload rejected' /tmp/hr.log; do gt "$(since "$_t1")" 5 && break; sleep 0.05; done
	# The stats lines (every 0.5 s) must come to show the rejection, the hash kept.
	_t3=$(now)
	while ! grep '^stats:' /tmp/hr.log | tail -n 1 | grep -q 'rejected_reloads=1'; do gt "$(since "$_t3")" 5 && break; sleep 0.1; done
	_lag=$(since "$_t3")
	_stats2=$(grep '^stats:' /tmp/hr.log | tail -n 1)
	_why=$(grep -m1 'model reload rejected' /tmp/hr.log | sed 's/.*rejected, //')
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	kill "$_load" 2>/dev/null
	wait "$_load" 2>/dev/null
	stop_sched
	_f1=$(echo "$_stats1" | grep -o 'model_file=[0-9a-f]*' | cut -d= -f2)
	_f2=$(echo "$_stats2" | grep -o 'model_file=[0-9a-f]*' | cut -d= -f2)
	_r2=$(echo "$_stats2" | grep -o 'reloads=[0-9]* rejected_reloads=[0-9]*')
	DETAIL="initial=$_h0 valid=$_h1 stats_after_valid=$_f1 reload_latency_s=$_lat seen_by_watcher_s=$_seen reloads_after_sighup=$_hup stats_after_corrupt=$_f2 $_r2 stats_showed_it_after_s=$_lag attached=$_att message='$_why'"
	[ "$_att" = yes ] && [ "$_f1" = "$_h1" ] && [ "$_f2" = "$_h1" ] && [ "$_h0" != "$_h1" ] && [ "$_hup" -ge 2 ] \
		&& echo "$_r2" | grep -q 'reloads=2 rejected_reloads=1' && echo "$_why" | grep -q '/tmp/hr/models.json' \
		&& [ -n "$_lat" ] && gt 1 "$_lat" && gt 5 "$_seen"
}

# Record labelled signal windows of one workload per class (the classifier's training data);
# the rows go back to the host (@@SIG) as target/vm/results/<run>/signal-windows.csv.
case_signals() {
	setup_disk || echo "@@INFO no block device: I/O phases write to tmpfs"
	rm -f /tmp/sig.csv
	start_sched /tmp/signals-sched.log --record-signals /tmp/sig.csv --classifier thresholds
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_secs=${fs_phase_s:-20}
	_all="idle:idle cpu-bound:cpu io-heavy:io network-heavy:net faas-burst:fork faas-burst:faas interactive:interactive mixed:mixed idle:idle"
	# Twice: quiet, then with the background noise of the classify case's sampler.
	# shellcheck disable=SC2086
	run_phases /tmp/phases-quiet.txt "$_secs" $_all
	class_sampler /tmp/signals-sched.log >/dev/null &
	_sampler=$!
	# shellcheck disable=SC2086
	run_phases /tmp/phases-noisy.txt "$_secs" $_all
	kill "$_sampler"
	cat /tmp/phases-quiet.txt /tmp/phases-noisy.txt >/tmp/phases.txt
	stop_sched
	label_windows /tmp/sig.csv /tmp/phases.txt >/tmp/sig-labelled.csv
	sed 's/^/@@SIG /' /tmp/sig-labelled.csv
	_rows=$(grep -c ',[a-z-]*,[a-z-][a-z-]*$' /tmp/sig-labelled.csv)
	DETAIL="labelled_windows=$_rows exit_rc=$SCHED_RC"
	[ "$SCHED_RC" -eq 0 ] && [ "$_rows" -ge 20 ]
}

# The class in force must follow an idle phase, a CPU hog phase, an I/O phase and a fork
# storm, with at most one switch per phase; then a hog in a boosted cgroup must get more CPU than one beside it.
case_classify() {
	setup_disk || echo "@@INFO no block device: the I/O phase writes to tmpfs"
	_secs=${fs_phase_s:-20}
	_ev0=$(evictions)
	start_sched /tmp/classify-sched.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	class_sampler /tmp/classify-sched.log >/tmp/classify-timeline.txt &
	_sampler=$!
	run_phases /tmp/phases.txt "$_secs" idle:idle cpu-bound:cpu io-heavy:io faas-burst:fork
	kill "$_sampler"
	_monitor=$(timeout 5 "$SCHED" --monitor 1 --stats-format line 2>&1 | grep -m 1 -o ' class=[a-z-]*')
	stop_sched
	# Timeline: one `uptime class` per stats line, then per phase the switches and last class.
	_tl=""
	_ok=0
	_failed=""
	while read -r _name _s _e; do
		_cls=$(awk -v s="$_s" -v e="$_e" '$1 >= s && $1 <= e { print $2 }' /tmp/classify-timeline.txt)
		_sw=$(echo "$_cls" | awk 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }')
		_last=$(echo "$_cls" | tail -n 1)
		_tl="$_tl $_name:[$(echo "$_cls" | uniq -c | awk '{ printf "%s%sx%s", sep, $2, $1; sep = "," }')]->$_last/sw=$_sw"
		[ "$_last" = "$_name" ] && [ "$_sw" -le 1 ] || { _ok=1; _failed="$_failed $_name"; }
	done </tmp/phases.txt
	# cgroup shares: 2 hogs in a boosted cgroup (x4), 2 in a plain one, on 2 CPUs.
	mkdir -p /sys/fs/cgroup/boosted /sys/fs/cgroup/plain
	start_sched /tmp/boost-sched.log --stats 1 --stats-format line --boost-cgroup /boosted:4
	wait_state enabled 30 || { DETAIL="never enabled (boost)"; return 1; }
	_u0b=$(cg_usage boosted)
	_u0p=$(cg_usage plain)
	sh -c 'echo $$ >/sys/fs/cgroup/boosted/cgroup.procs; exec stress-ng --cpu 2 --timeout 15s' >/dev/null 2>&1 &
	_hb=$!
	sh -c 'echo $$ >/sys/fs/cgroup/plain/cgroup.procs; exec stress-ng --cpu 2 --timeout 15s' >/dev/null 2>&1 &
	_hp=$!
	wait "$_hb" "$_hp"
	_ub=$(($(cg_usage boosted) - _u0b))
	_up=$(($(cg_usage plain) - _u0p))
	_boosted=$(grep '^stats:' /tmp/boost-sched.log | tail -n 1 | grep -o 'boosted=[0-9]*')
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_ev=$(($(evictions) - _ev0))
	stop_sched
	_ratio=$(awk -v b="$_ub" -v p="$_up" 'BEGIN { printf "%.2f", (p > 0 ? b / p : 0) }')
	DETAIL="timeline:$_tl monitor:$_monitor boosted_cpu_ms=$((_ub / 1000)) plain_cpu_ms=$((_up / 1000)) share_ratio=$_ratio $_boosted attached=$_att evictions=$_ev disk=$DISK_DIR"
	[ "$_ok" -eq 0 ] && gt "$_ratio" 1.3 && [ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ -n "$_monitor" ] || {
		# Which signals the classifier saw, second by second, in the phases that failed.
		while read -r _name _s _e; do
			case " $_failed " in *" $_name "*) ;; *) continue ;; esac
			awk -v s="$_s" -v e="$_e" -v n="$_name" '$1 >= s && $1 <= e {
				o = "@@INFO signals in " n ": " $1 " " $2
				for (i = 3; i <= NF; i++) if ($i ~ /^(seen|busy|iowait|runnable|switches_s|sleeps_s|blk_s|pages_s|net_s|new_s)=/) o = o " " $i
				print o }' /tmp/classify-timeline.txt
		done </tmp/phases.txt
		return 1
	}
}

# The load generator end to end: calibrate the payload here, replay a generated trace (2 CPU
# hogs beside it) under the kernel's default scheduler and under scx_foresight, same boot.
case_replay() {
	"$FS_BIN/foresight_loadgen" calibrate --args 20,24,26,28,30,32 --reps 3 --out /tmp/cal.csv 2>/tmp/calibrate.log || { DETAIL="calibrate failed: $(tail -n 1 /tmp/calibrate.log)"; return 1; }
	"$SCHED" trace gen --cpus 2 --load 0.5 --duration-s 30 --seed 5 -o /tmp/replay-trace.csv || { DETAIL="trace gen failed"; return 1; }
	stress-ng --cpu 2 --timeout 600s >/dev/null 2>&1 &
	_hogs=$!
	_rp() { "$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/replay-trace.csv --calibration /tmp/cal.csv --limit 120 --json "$1" >"$1.log" 2>&1; }
	_rp /tmp/replay-default.json
	_rcd=$?
	start_sched /tmp/replay-sched.log
	wait_state enabled 30 || { kill "$_hogs"; DETAIL="never enabled"; return 1; }
	_rp /tmp/replay-foresight.json
	_rcf=$?
	stop_sched
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_j() { tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.]*\).*/\1/p" | cut -c1-7; }
	_js() { tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" | cut -c1-7; }
	_sd=$(_j /tmp/replay-default.json short mean_slowdown)
	_sf=$(_j /tmp/replay-foresight.json short mean_slowdown)
	_ld=$(_j /tmp/replay-default.json long mean_slowdown)
	_lf=$(_j /tmp/replay-foresight.json long mean_slowdown)
	_ratio=$(awk -v a="$_sf" -v b="$_sd" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	DETAIL="calibration=$(tail -n +2 /tmp/cal.csv | tr '\n' ' ') short/long counts=$(_j /tmp/replay-default.json short count)/$(_j /tmp/replay-default.json long count) default: short_mean=$_sd short_p99=$(_j /tmp/replay-default.json short p99_slowdown) long_mean=$_ld startup_us=$(_js /tmp/replay-default.json startup_mean_us) | foresight: short_mean=$_sf short_p99=$(_j /tmp/replay-foresight.json short p99_slowdown) long_mean=$_lf startup_us=$(_js /tmp/replay-foresight.json startup_mean_us) | short_ratio=$_ratio rc=$_rcd/$_rcf"
	[ "$_rcd" -eq 0 ] && [ "$_rcf" -eq 0 ] && [ -n "$_sd" ] && [ -n "$_sf" ]
}

# live_threads: threads alive in the guest now.
live_threads() { ls -d /proc/[0-9]*/task/[0-9]* 2>/dev/null | wc -l; }
# loop_waits: voluntary context switches of the worker's main thread (the dispatch loop):
# each one is a time the loop blocked (I/O, a lock, a sleep); yielding is not counted.
# loop_sleeps_trace_start TID / _stop: the kernel records where thread TID goes to sleep (its
# kernel and user stacks at every voluntary switch), with ftrace: nothing we schedule has to
# run for it. _stop prints what was recorded.
_lst=/sys/kernel/tracing/instances/foresight-loop
loop_sleeps_trace_start() {
	[ -d /sys/kernel/tracing/instances ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || return 0
	# An instance of our own: only this event, whatever else is traced.
	mkdir -p "$_lst" 2>/dev/null || return 0
	echo "prev_pid == $1 && prev_state & 3" >"$_lst/events/sched/sched_switch/filter" || return 0
	echo 1 >"$_lst/options/stacktrace"
	echo 1 >"$_lst/options/userstacktrace" 2>/dev/null
	echo 1 >"$_lst/options/sym-userobj" 2>/dev/null
	echo 1 >"$_lst/events/sched/sched_switch/enable"
	echo 1 >"$_lst/tracing_on"
}
loop_sleeps_trace_stop() {
	[ -d "$_lst" ] || return 0
	echo 0 >"$_lst/tracing_on"
	grep -v '^#' "$_lst/trace" | head -n 60 | sed 's/^/@@INFO loop sleep: /'
	echo 0 >"$_lst/events/sched/sched_switch/enable"
	rmdir "$_lst" 2>/dev/null
}
loop_waits() { awk '/^voluntary_ctxt_switches/ { print $2 }' /proc/"$1"/task/"$1"/status; }
# stat_of LOG KEY: KEY's value in the last stats line of LOG.
# A line still being written (no newline yet) is left out.
stat_of() { complete_lines "$1" | grep "^stats:" | tail -n 1 | grep -o " $2=[^ ]*" | head -n 1 | cut -d= -f2; }
complete_lines() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }

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

# Processes that exit while the /proc worker reads them, and /proc itself kept busy: the
# dispatch loop must never block (it never waits for /proc) and nothing is evicted.
case_stall_guard() {
	_ev0=$(evictions)
	start_sched /tmp/stall.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 1
	_w=$(worker_pid)
	loop_sleeps_trace_start "$_w"
	_v0=$(loop_waits "$_w")
	# Every process's command line read in a loop, the scheduler's own too with STALL_SELF=1.
	( _end=$(($(date +%s) + 20)); while [ "$(date +%s)" -lt "$_end" ]; do for _p in /proc/[0-9]*; do
		if [ -z "$STALL_SELF" ] && { [ "${_p#/proc/}" = "$_w" ] || [ "${_p#/proc/}" = "$SCHED_PID" ]; }; then continue; fi
		cat "$_p/cmdline" >/dev/null 2>&1
	done; done ) &
	_reader=$!
	stress-ng --fork 2 --timeout 20s >/dev/null 2>&1 &
	_forks=$!
	"$FS_BIN/foresight_loadgen" series --arg 1 --count 200 >/dev/null 2>&1
	wait "$_forks" "$_reader"
	sleep 1.5
	_v1=$(loop_waits "$_w")
	loop_sleeps_trace_stop
	_max=$(stat_of /tmp/stall.log max_round_us)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_line="proc=$(stat_of /tmp/stall.log proc) proc_lost=$(stat_of /tmp/stall.log proc_lost) exits=$(stat_of /tmp/stall.log exits) congested=$(stat_of /tmp/stall.log congested)"
	stop_sched
	_ev=$(($(evictions) - _ev0))
	DETAIL="loop_blocked=$((_v1 - _v0)) max_round_us=$_max $_line evictions=$_ev attached=$_att"
	# The loop thread must never have blocked (kernel-counted voluntary switches). The
	# longest round is printed too: under TCG it includes time the loop was preempted.
	[ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ -n "$_v1" ] && [ "$_v1" -eq "$_v0" ]
}

# A helper that allocates without pause beside CPU hogs: every thread shares the core's
# allocator mutex, so a helper preempted inside it (queued to our own loop) stalled us within
# seconds before the helpers left sched_ext (helper_thread.rs). Now: no eviction, loop live.
case_helper_alloc() {
	_ev0=$(evictions)
	export FORESIGHT_TEST_ALLOC_STORM=1
	start_sched /tmp/helper-alloc.log --stats 1 --stats-format line
	unset FORESIGHT_TEST_ALLOC_STORM
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	stress-ng --cpu 2 --fork 1 --timeout 20s >/dev/null 2>&1
	_ev=$(($(evictions) - _ev0))
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_last=$(grep '^stats:' /tmp/helper-alloc.log | tail -n 1)
	_max=$(echo "$_last" | grep -o 'max_round_us=[0-9]*')
	_dl=$(grep -c 'stays under sched_ext' /tmp/helper-alloc.log)
	DETAIL="evictions=$_ev attached=$_att $_max helpers_refused_deadline=$_dl"
	[ "$_ev" -eq 0 ] && [ "$_att" = yes ] && [ "$_dl" -eq 0 ]
}

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

# The stall guard with the scheduler's OWN /proc/<pid>/cmdline read in the loop too.
# Evicted once before the helper threads left sched_ext (helper_thread.rs); passes since.
case_stall_self() {
	STALL_SELF=1 case_stall_guard
}

# Corrupt trace, model, classifier and config files and absurd flags: each refused with the
# file (and line) or value named; the running scheduler keeps scheduling with what it had.
# Model and config files replaced by hostile ones while attached: a write caught half way, a
# corrupt file renamed over, a symlink to /dev/zero, a 1 GiB file, a model directory of 10,000
# files. Each one rejected naming it, the worker's memory bounded, the models in use kept.
case_hostile_files() {
	rm -rf /tmp/hf && mkdir -p /tmp/hf/models
	cp /models/default.json /tmp/hf/models/default.json
	cp /models/modes.json /tmp/hf/modes.json
	_h0=$("$SCHED" model show /tmp/hf/models/default.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	start_sched /tmp/hf.log --stats 0.5 --stats-format line --models /tmp/hf/models --config /tmp/hf/modes.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	( while :; do "$FS_BIN/foresight_loadgen" series --arg 20 --count 5 --gap-ms 10 >/dev/null 2>&1; done ) &
	_hload=$!
	sleep 1
	_hw=$(worker_pid)
	_rss0=$(awk '/^VmRSS/ { print $2 }' /proc/"$_hw"/status)
	_hbad=""
	# hostile_mark KIND: remember how many KIND (model|config) rejections there were before
	# a hostile change; hostile_wait NAME EXPECTED KIND: one after it must name the file and
	# say EXPECTED (a change caught in several states may be rejected more than once).
	hostile_mark() { _hb=$(grep -c "$1 reload rejected" /tmp/hf.log); }
	hostile_wait() {
		_ht=$(now)
		until grep "$3 reload rejected" /tmp/hf.log | tail -n +"$((_hb + 1))" | grep -q "$2"; do
			gt "$(since "$_ht")" 10 && { _hbad="$_hbad $1"; break; }
			sleep 0.1
		done
	}
	# 1. A write caught half way (then completed: applied again).
	hostile_mark model
	head -c 9000 /models/default.json >/tmp/hf/models/default.json
	hostile_wait partial-write 'default.json: not a valid model file' model
	cat /models/default.json >/tmp/hf/models/default.json
	_ht=$(now)
	while ! grep -q 'models reloaded' /tmp/hf.log; do gt "$(since "$_ht")" 10 && break; sleep 0.1; done
	# 2. A corrupt file renamed over the good one (then the good one back).
	hostile_mark model
	echo '{ "format": "scx_foresight-models" ' >/tmp/hf/junk && mv /tmp/hf/junk /tmp/hf/models/default.json
	hostile_wait rename-over 'default.json: not a valid model file' model
	cp /models/default.json /tmp/hf/models/default.json
	sleep 0.5
	# 3. A symlink to /dev/zero beside it.
	hostile_mark model
	ln -s /dev/zero /tmp/hf/models/zero.json
	hostile_wait dev-zero 'zero.json: not a regular file (a character device)' model
	rm /tmp/hf/models/zero.json
	# 4. A 1 GiB file (sparse).
	hostile_mark model
	truncate -s 1073741824 /tmp/hf/models/big.json
	hostile_wait 1GiB 'big.json: larger than 16777216 bytes' model
	rm /tmp/hf/models/big.json
	# 5. 10,000 files in the model directory (not *.json: ignored until there are too many).
	hostile_mark model
	_hi=0
	while [ "$_hi" -lt 10000 ]; do : >/tmp/hf/models/"$_hi".x; _hi=$((_hi + 1)); done
	hostile_wait 10k-files 'models: more than 1024 entries' model
	rm -f /tmp/hf/models/*.x
	# 6. The modes config: a symlink to /dev/zero, then 1 GiB.
	hostile_mark config
	ln -sf /dev/zero /tmp/hf/modes.json
	hostile_wait config-dev-zero 'modes.json: not a regular file (a character device)' config
	hostile_mark config
	rm /tmp/hf/modes.json && truncate -s 1073741824 /tmp/hf/modes.json
	hostile_wait config-1GiB 'modes.json: larger than 16777216 bytes' config
	rm /tmp/hf/modes.json && cp /models/modes.json /tmp/hf/modes.json
	sleep 1.5
	_rss1=$(awk '/^VmRSS/ { print $2 }' /proc/"$_hw"/status)
	_hf=$(stat_of /tmp/hf.log model_file)
	_hatt=no
	ours_attached && alive "$SCHED_PID" && _hatt=yes
	kill "$_hload" 2>/dev/null
	wait "$_hload" 2>/dev/null
	stop_sched
	_hrej=$(grep -c 'reload rejected' /tmp/hf.log)
	DETAIL="unmet:[${_hbad# }] rejected=$_hrej model_file=$_hf expected=$_h0 rss_kb=$_rss0->$_rss1 attached=$_hatt rc=$SCHED_RC"
	[ -z "$_hbad" ] && [ "$_hf" = "$_h0" ] && [ -n "$_rss1" ] && [ "$((_rss1 - _rss0))" -lt 16384 ] && [ "$_hatt" = yes ] && [ "$SCHED_RC" -eq 0 ]
}

case_bad_inputs() {
	cp /models/modes.json /tmp/bi-modes.json
	cp /models/classifier.json /tmp/bi-cls.json
	start_sched /tmp/bi.log --stats 0.5 --stats-format line --config /tmp/bi-modes.json --classifier /tmp/bi-cls.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 1
	_bad=""
	echo '{ "format": "scx_foresight-modes", "schema_version": 1, "window_ms": 5' >/tmp/bi-modes.json
	_t0=$(now)
	while ! grep -q 'config reload rejected' /tmp/bi.log; do gt "$(since "$_t0")" 5 && break; sleep 0.1; done
	grep -q 'config reload rejected.*bi-modes.json' /tmp/bi.log || _bad="$_bad config"
	cp /models/modes.json /tmp/bi-modes.json
	sleep 1
	sed 's/"scale"/"scales"/' /models/classifier.json >/tmp/bi-cls.json
	_t0=$(now)
	while [ "$(grep -c 'config reload rejected' /tmp/bi.log)" -lt 2 ]; do gt "$(since "$_t0")" 5 && break; sleep 0.1; done
	grep -q 'config reload rejected.*bi-cls.json' /tmp/bi.log || _bad="$_bad classifier"
	printf 'arrival_us,function,args,cpu_us\n0,f,1,12\n5,f,2,abc\n' >/tmp/bad-trace.csv
	"$SCHED" simulate --trace /tmp/bad-trace.csv >/tmp/bi-o.txt 2>&1 && _bad="$_bad sim-rc"
	grep -q 'bad-trace.csv:3' /tmp/bi-o.txt || _bad="$_bad simulate"
	"$FS_BIN/foresight_loadgen" replay --trace /tmp/bad-trace.csv --calibration /tmp/bad-trace.csv >/tmp/bi-o.txt 2>&1 && _bad="$_bad replay-rc"
	grep -q 'bad-trace.csv:1' /tmp/bi-o.txt || _bad="$_bad replay"
	echo '{"format": "scx_foresight-models", "schema_version": 1' >/tmp/bad-model.json
	"$SCHED" model show /tmp/bad-model.json >/tmp/bi-o.txt 2>&1 && _bad="$_bad model-rc"
	grep -q 'bad-model.json' /tmp/bi-o.txt || _bad="$_bad model"
	"$SCHED" train --windows /tmp/bad-trace.csv --out /tmp/never.json >/tmp/bi-o.txt 2>&1 && _bad="$_bad train-rc"
	grep -q 'bad-trace.csv:1' /tmp/bi-o.txt || _bad="$_bad train"
	[ -e /tmp/never.json ] && _bad="$_bad train-wrote"
	for _f in "--slice-us 99999999999:exceeds" "--stats 0:between" "--boost-cgroup /:root" "--boost-cgroup /x:1e9:outside" "--monitor nan:between"; do
		# shellcheck disable=SC2086
		"$SCHED" ${_f%:*} >/tmp/bi-o.txt 2>&1 && _bad="$_bad flag-rc(${_f%:*})"
		grep -q "${_f##*:}" /tmp/bi-o.txt || _bad="$_bad flag(${_f%:*})"
	done
	_n1=$(grep -c '^stats:' /tmp/bi.log)
	sleep 1.5
	_n2=$(grep -c '^stats:' /tmp/bi.log)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_rej=$(stat_of /tmp/bi.log config_rejected)
	stop_sched
	DETAIL="unmet:[${_bad# }] config_rejected=$_rej stats_lines_still_growing=$_n1->$_n2 attached=$_att rc=$SCHED_RC"
	[ -z "$_bad" ] && [ "$_att" = yes ] && [ "$_n2" -gt "$_n1" ] && [ "$_rej" -ge 2 ] && [ "$SCHED_RC" -eq 0 ]
}

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

# cg_usage NAME: CPU used by the tasks of /sys/fs/cgroup/NAME so far (µs).
cg_usage() { awk '$1 == "usage_usec" { print $2 }' /sys/fs/cgroup/"$1"/cpu.stat; }

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
	for _f in /tmp/*.log; do
		[ -f "$_f" ] && sed "s|^|@@LOG $c ${_f##*/}: |" "$_f" && rm -f "$_f"
	done
	wait_state disabled 15 || echo "@@INFO sched_ext still $(se_state) after $c"
	SCHED_PID=""
done
