# SPDX-License-Identifier: GPL-2.0-only
# In-kernel integration cases. Each case is a function case_NAME that sets DETAIL and returns
# 0 (pass) or 1 (fail); every case prints `@@CASE NAME PASS|FAIL SECS DETAIL`.
. "${FS_GUEST:-/guest}/lib.sh"

ALL_CASES="attach stats load sigint sigkill errors restart faas-priority"
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
	_faulty=$(grep '^stats:' /tmp/stats.log | grep -vc 'page_faults=0$')
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
	timeout 600 stress-ng --cpu 4 --timeout 400s >/tmp/hogs.log 2>&1 &
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
