# SPDX-License-Identifier: GPL-2.0-only
# VM case `faas-priority` (sourced by vm-test.sh; helpers in lib.sh).

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
	# Stats lines come every second: the last one must cover the whole series.
	wait_stats_lines /tmp/faas-sched.log 2 10
	stop_sched
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_base=$(grep '^series' /tmp/faas-default.log | sed 's/.*mean_ms=\([0-9.]*\).*/\1/')
	_fs=$(grep '^series' /tmp/faas-foresight.log | sed 's/.*mean_ms=\([0-9.]*\).*/\1/')
	[ -n "$_base" ] && [ -n "$_fs" ] || { DETAIL="a series failed"; return 1; }
	_ratio=$(awk -v a="$_fs" -v b="$_base" 'BEGIN { printf "%.3f", a / b }')
	_last="$(stat_of /tmp/faas-sched.log wake_preempts | sed 's/^/wake_preempts=/') $(grep '^stats:' /tmp/faas-sched.log | tail -n 1 | grep -o 'ident_exec=.*fn_models=[0-9]*')"
	DETAIL="default_mean_ms=$_base foresight_mean_ms=$_fs ratio=$_ratio max_ratio=$FAAS_MAX_RATIO attached=$_att $_last"
	[ "$_att" = yes ] && gt "$FAAS_MAX_RATIO" "$_ratio"
}
