# SPDX-License-Identifier: GPL-2.0-only
# VM case `exec-identity` (sourced by vm-test.sh; helpers in lib.sh).

# Identity at exec, end to end: a model trained on this boot's invocations (`--record`, then
# `train`), loaded with `--models`; then a series of invocations beside CPU hogs. Each one's
# slice ends at exec, so its next enqueue is decided as itself, or, once its command line has a
# verdict from the function's model (--exec-finish-us), it keeps the CPU to finish: at least
# 95 % of them must be decided by the function-level model from the exec on (a first decision
# after exec with it, or kept by its verdict).
# Then, without the hogs, a crowd of forks that never exec (hackbench's 80 children): each
# runs its parent's image, so at least half of them must take the exec'd parent's identity
# from the tracer's fork records (stat ident_fork), not from a /proc read.
EI_COUNT=20
EI_MIN_FN=19
EI_FORKS=80
EI_MIN_FORK=40

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
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	_last=$(grep '^stats:' /tmp/ei-sched.log | tail -n 1)
	_forked0=$(stat_of /tmp/ei-sched.log ident_fork)
	_read0=$(stat_of /tmp/ei-sched.log ident_proc)
	hackbench -p -g $((EI_FORKS / 40)) -l 50 >/dev/null 2>&1
	wait_stats_lines /tmp/ei-sched.log 2 10
	stop_sched
	_forked=$(($(stat_of /tmp/ei-sched.log ident_fork) - ${_forked0:-0}))
	_read=$(($(stat_of /tmp/ei-sched.log ident_proc) - ${_read0:-0}))
	_first=$(echo "$_last" | grep -o 'exec_first_fn=[0-9]*/[0-9]*' | cut -d= -f2)
	_kept=$(echo "$_last" | grep -o 'exec_kept=[0-9]*' | cut -d= -f2)
	_fn=$((${_first%/*} + ${_kept:-0}))
	DETAIL="series_rc=$_src invocations=$EI_COUNT first_decisions_fn/after_exec=$_first kept=$_kept need_fn+kept>=$EI_MIN_FN $(echo "$_last" | grep -o 'ident_exec=[0-9]*') $(echo "$_last" | grep -o 'exec_preempted=[0-9]*') $(echo "$_last" | grep -o 'exec_lost=[0-9]*') $(echo "$_last" | grep -o 'fn_models=[0-9]*') forks=$EI_FORKS ident_fork=$_forked ident_proc=$_read need_fork>=$EI_MIN_FORK"
	[ "$_src" -eq 0 ] && [ -n "$_first" ] && [ "$_fn" -ge "$EI_MIN_FN" ] && [ "$_forked" -ge "$EI_MIN_FORK" ]
}
