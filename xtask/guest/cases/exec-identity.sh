# SPDX-License-Identifier: GPL-2.0-only
# VM case `exec-identity` (sourced by vm-test.sh; helpers in lib.sh).

# Identity at exec, end to end: a model trained on this boot's invocations (`--record`, then
# `train`), loaded with `--models`; then a series of invocations beside CPU hogs. Each one's
# slice ends at exec, so its next enqueue is decided as itself, or, once its command line has a
# verdict from the function's model (--exec-finish-us), it keeps the CPU to finish: at least
# 95 % of them must be decided by the function-level model from the exec on (a first decision
# after exec with it, or kept by its verdict).
EI_COUNT=20
EI_MIN_FN=19

case_exec_identity() {
	train_payload ei 24 12 || return 1
	timeout 300 stress-ng --cpu 8 --timeout 120s >/dev/null 2>&1 &
	_hogs=$!
	start_sched /tmp/ei-sched.log --models /tmp/ei.json --stats 1 --stats-format line
	wait_state enabled 30 || { kill "$_hogs"; DETAIL="never enabled"; return 1; }
	"$FS_BIN/foresight_loadgen" series --arg 24 --count "$EI_COUNT" --gap-ms 20 >/tmp/ei-series.log 2>&1
	_src=$?
	# Stats lines come every second (later under this emulator's load): the last one must
	# cover the whole series.
	wait_stats_lines /tmp/ei-sched.log 2 10
	stop_sched
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_last=$(grep '^stats:' /tmp/ei-sched.log | tail -n 1)
	_first=$(echo "$_last" | grep -o 'exec_first_fn=[0-9]*/[0-9]*' | cut -d= -f2)
	_kept=$(echo "$_last" | grep -o 'exec_kept=[0-9]*' | cut -d= -f2)
	_fn=$((${_first%/*} + ${_kept:-0}))
	DETAIL="series_rc=$_src invocations=$EI_COUNT first_decisions_fn/after_exec=$_first kept=$_kept need_fn+kept>=$EI_MIN_FN $(echo "$_last" | grep -o 'ident_exec=[0-9]*') $(echo "$_last" | grep -o 'exec_preempted=[0-9]*') $(echo "$_last" | grep -o 'exec_lost=[0-9]*') $(echo "$_last" | grep -o 'fn_models=[0-9]*')"
	[ "$_src" -eq 0 ] && [ -n "$_first" ] && [ "$_fn" -ge "$EI_MIN_FN" ]
}
