# SPDX-License-Identifier: GPL-2.0-only
# In-kernel integration cases. Each case is a function case_NAME that sets DETAIL and returns
# 0 (pass) or 1 (fail); every case prints `@@CASE NAME PASS|FAIL SECS DETAIL`.
. "${FS_GUEST:-/guest}/lib.sh"

ALL_CASES="attach stats load sigint sigkill errors faas-priority record hot-reload classify"
# Also available, opt-in: restart (`cargo xtask vm-test --case restart`, see its comment) and
# signals (records labelled windows of every workload class for `train --windows`).
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

case_stats() {
	start_sched /tmp/stats.log --stats 1
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 5
	stop_sched
	_lines=$(grep -c '^stats:' /tmp/stats.log)
	_faulty=$(grep '^stats:' /tmp/stats.log | grep -vc ' page_faults=0 ')
	_last=$(grep '^stats:' /tmp/stats.log | tail -n 1)
	DETAIL="lines=$_lines nonzero_page_faults=$_faulty rc=$SCHED_RC last: $_last"
	[ "$_lines" -ge 2 ] && [ "$_faulty" -eq 0 ] && [ "$SCHED_RC" -eq 0 ]
}

case_load() {
	start_sched /tmp/load.log --stats 5
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

case_errors() {
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
	DETAIL="second_rc=$_rc2 badflag_rc=$_rcb badslice_rc=$_rcs nonroot_rc=$_rcn first_still_attached=$_att messages_ok=$([ $_ok -eq 0 ] && echo yes || echo no)"
	[ "$_ok" -eq 0 ] && [ "$_rc2" -ne 0 ] && [ "$_rcb" -eq 2 ] && [ "$_rcs" -ne 0 ] && [ "$_rcn" -ne 0 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
}

# Bringing a CPU online makes the kernel unregister a scheduler that has no cpu_online
# callback, with a restart request (SCX_ECODE_ACT_RESTART): we must come back by ourselves.
# Opt-in, not in the default run: on this TCG testbed the hotplug itself is racy. Measured
# over 13 attempts: 5 passed (re-attached 1.2-2.8 s after the event); 6 failed with a
# runnable-task stall while CPU 1 was coming up (CPU 0 idle with runnable tasks queued), and
# 2 boots died of an int3 Oops while the kernel patched its text under multi-threaded TCG.
case_restart() {
	_cpu=/sys/devices/system/cpu/cpu1/online
	[ -w "$_cpu" ] || { DETAIL="no hotpluggable cpu1"; return 1; }
	# Offline under the kernel's default scheduler, then online with ours attached.
	echo 0 >"$_cpu"
	start_sched /tmp/restart.log
	wait_state enabled 30 || { echo 1 >"$_cpu"; DETAIL="never enabled"; return 1; }
	_t0=$(now)
	echo 1 >"$_cpu"
	while ! { grep -q 'asked for a restart' /tmp/restart.log && ours_attached; }; do
		gt "$(since "$_t0")" 30 && break
		sleep 0.1
	done
	_reattach=$(since "$_t0")
	sleep 1
	_restarts=$(grep -c 'asked for a restart' /tmp/restart.log)
	_why=$(grep -m1 -o 'EXIT: .*going online[^)]*' /tmp/restart.log)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	stop_sched
	DETAIL="restarts=$_restarts reattach_s=$_reattach attached_after=$_att rc=$SCHED_RC kernel='$_why'"
	[ "$_restarts" -ge 1 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
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
	start_sched /tmp/faas-sched.log --stats 1
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
	_last=$(grep '^stats:' /tmp/faas-sched.log | tail -n 1 | grep -o 'samples=[0-9]* .*fn_models=[0-9]*')
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
	start_sched /tmp/hr.log --stats 0.5 --models /tmp/hr/models.json
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
	_lat=$(since "$_t0")
	sleep 1.2
	_stats1=$(grep '^stats:' /tmp/hr.log | tail -n 1)
	# SIGHUP (to the supervisor, forwarded to the worker) reloads the same file once more.
	kill -HUP "$SCHED_PID"
	_t2=$(now)
	while [ "$(grep -c 'models reloaded' /tmp/hr.log)" -lt 2 ]; do gt "$(since "$_t2")" 5 && break; sleep 0.05; done
	_hup=$(grep -c 'models reloaded' /tmp/hr.log)
	_t1=$(now)
	echo '{ "format": "scx_foresight-models", "schema_version": ' >/tmp/hr/models.json
	while ! grep -q 'model reload rejected' /tmp/hr.log; do gt "$(since "$_t1")" 5 && break; sleep 0.05; done
	sleep 1.2
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
	DETAIL="initial=$_h0 valid=$_h1 stats_after_valid=$_f1 reload_latency_s=$_lat reloads_after_sighup=$_hup stats_after_corrupt=$_f2 $_r2 attached=$_att message='$_why'"
	[ "$_att" = yes ] && [ "$_f1" = "$_h1" ] && [ "$_f2" = "$_h1" ] && [ "$_h0" != "$_h1" ] && [ "$_hup" -ge 2 ] \
		&& echo "$_r2" | grep -q 'reloads=2 rejected_reloads=1' && echo "$_why" | grep -q '/tmp/hr/models.json' && gt 1 "$_lat"
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
	class_sampler >/dev/null &
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
	start_sched /tmp/classify-sched.log --stats 1
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	class_sampler >/tmp/classify-timeline.txt &
	_sampler=$!
	run_phases /tmp/phases.txt "$_secs" idle:idle cpu-bound:cpu io-heavy:io faas-burst:fork
	kill "$_sampler"
	_monitor=$(timeout 5 "$SCHED" --monitor 1 2>&1 | head -n 1 | grep -o ' class=[a-z-]*')
	stop_sched
	# Timeline: one `uptime class` per stats line, then per phase the switches and last class.
	_tl=""
	_ok=0
	while read -r _name _s _e; do
		_cls=$(awk -v s="$_s" -v e="$_e" '$1 >= s && $1 <= e { print $2 }' /tmp/classify-timeline.txt)
		_sw=$(echo "$_cls" | awk 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }')
		_last=$(echo "$_cls" | tail -n 1)
		_tl="$_tl $_name:[$(echo "$_cls" | uniq -c | awk '{ printf "%s%sx%s", sep, $2, $1; sep = "," }')]->$_last/sw=$_sw"
		[ "$_last" = "$_name" ] && [ "$_sw" -le 1 ] || _ok=1
	done </tmp/phases.txt
	# cgroup shares: 2 hogs in a boosted cgroup (x4), 2 in a plain one, on 2 CPUs.
	mkdir -p /sys/fs/cgroup/boosted /sys/fs/cgroup/plain
	start_sched /tmp/boost-sched.log --stats 1 --boost-cgroup /boosted:4
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
	[ "$_ok" -eq 0 ] && gt "$_ratio" 1.3 && [ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ -n "$_monitor" ]
}

# cg_usage NAME: CPU used by the tasks of /sys/fs/cgroup/NAME so far (µs).
cg_usage() { awk '$1 == "usage_usec" { print $2 }' /sys/fs/cgroup/"$1"/cpu.stat; }

CASES=$(echo "${fs_cases:-$ALL_CASES}" | tr ',' ' ')
echo "@@PLAN $CASES"
for c in $CASES; do
	DETAIL=""
	_start=$(now)
	echo "@@INFO case $c starting"
	if "case_$(echo "$c" | tr '-' '_')"; then _r=PASS; else _r=FAIL; fi
	echo "@@CASE $c $_r $(since "$_start") $DETAIL"
	# Leave a clean slate for the next case; its logs go to the host's console log.
	if [ -n "$SCHED_PID" ] && alive "$SCHED_PID"; then stop_sched; fi
	for _f in /tmp/*.log; do
		[ -f "$_f" ] && sed "s|^|@@LOG $c ${_f##*/}: |" "$_f" && rm -f "$_f"
	done
	wait_state disabled 15 || echo "@@INFO sched_ext still $(se_state) after $c"
	SCHED_PID=""
done
