# SPDX-License-Identifier: GPL-2.0-only
# The benchmark run (`cargo xtask bench`): every workload under every scheduler, several
# repetitions, the schedulers' order rotated each repetition so slow drift of the guest does
# not favour one. Prints machine-readable lines the host turns into tables and plots:
#   @@BENCH sched rep workload metric value
#   @@INV sched rep workload <per-invocation CSV line of foresight_loadgen replay --out>
#   @@BENCHERR sched rep what
. "${FS_GUEST:-/guest}/lib.sh"

REPS=${fs_reps:-3}
SCHEDS=${fs_scheds:-default,scx_rustland,scx_bpfland,scx_foresight}
# Lengths: the replayed trace (s), the stress-ng mix (s), hackbench messages per sender.
REPLAY_S=${fs_replay_s:-30}
MIX_S=${fs_mix_s:-15}
HACK_LOOPS=${fs_hack_loops:-200}
# Offered FaaS load per CPU of the two levels, beside two CPU hogs.
LOADS="low:0.3 high:0.6"

bench() { echo "@@BENCH $CUR_SCHED $CUR_REP $1 $2 $3"; }
bench_err() { echo "@@BENCHERR $CUR_SCHED $CUR_REP $*"; }

# sched_ticks NAME: CPU time (clock ticks) of every process called NAME, all threads.
sched_ticks() { awk -v n="($1)" '$2 == n { t += $14 + $15 } END { print t + 0 }' /proc/[0-9]*/stat 2>/dev/null; }

# attach NAME: start scheduler NAME (nothing for the kernel's default); 1 if it never attaches.
attach() {
	PEER_PID=
	[ "$1" = default ] && return 0
	"$FS_BIN/$1" >/tmp/bench-"$1".log 2>&1 &
	PEER_PID=$!
	wait_state enabled 30 && se_ops | grep -qE "^(${1#scx_}|$1)"
}

detach() {
	[ -n "$PEER_PID" ] || return 0
	kill -INT "$PEER_PID" 2>/dev/null
	wait "$PEER_PID"
	wait_state disabled 30
}

# replay LABEL LOAD: the trace of that load with two CPU hogs beside it.
replay() {
	stress-ng --cpu 2 --timeout 600s >/dev/null 2>&1 &
	_hogs=$!
	"$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/trace-"$1".csv --calibration /tmp/cal.csv \
		--json /tmp/r.json --out /tmp/r.csv >/tmp/r.log 2>&1
	_rc=$?
	kill "$_hogs" 2>/dev/null
	wait "$_hogs" 2>/dev/null
	[ "$_rc" -eq 0 ] || { bench_err "replay-$1 rc=$_rc $(tail -n 1 /tmp/r.log)"; return; }
	tail -n +2 /tmp/r.csv | sed "s/^/@@INV $CUR_SCHED $CUR_REP replay-$1 /"
	bench replay-"$1" summary "$(tr -d '\n' </tmp/r.json)"
}

hackbench_run() {
	_out=$(hackbench -p -g 4 -l "$HACK_LOOPS" 2>&1)
	_t=$(echo "$_out" | awk '/^Time:/ { print $2 }')
	[ -n "$_t" ] || { bench_err "hackbench $(echo "$_out" | tail -n 1)"; return; }
	bench hackbench time_s "$_t"
}

# The stress-ng throughput mix: CPU, context switches, pipes, memory; bogo ops/s (real time).
mix_run() {
	stress-ng --cpu 2 --switch 1 --pipe 1 --matrix 1 --vm 1 --vm-bytes 64M \
		--timeout "${MIX_S}s" --metrics-brief >/tmp/mix.log 2>&1 || bench_err "stress-ng rc=$?"
	awk '$2 == "metrc:" && $5 ~ /^[0-9]+$/ && NF == 10 { print $4, $9 }' /tmp/mix.log |
		while read -r _s _v; do bench stress-ng "$_s" "$_v"; done
}

run_one() {
	CUR_SCHED=$1
	_ev0=$(evictions)
	if ! attach "$1"; then
		bench_err "never attached: $(grep -v '^ *$' /tmp/bench-"$1".log | tail -n 3 | tr -s '\n ' '  ')"
		head -n 60 /tmp/bench-"$1".log | sed "s/^/@@INFO $1 log: /"
		detach
		return
	fi
	_c0=$(sched_ticks "$1")
	_t0=$(now)
	for _l in $LOADS; do replay "${_l%%:*}"; done
	hackbench_run
	mix_run
	_wall=$(since "$_t0")
	_c1=$(sched_ticks "$1")
	_att=no
	[ "$1" = default ] || { [ "$(se_state)" = enabled ] && _att=yes; }
	detach
	bench all wall_s "$_wall"
	bench all sched_cpu_pct "$(awk -v t=$((_c1 - _c0)) -v w="$_wall" 'BEGIN { printf "%.2f", t / 100 / w * 100 }')"
	bench all evictions "$(($(evictions) - _ev0))"
	[ "$1" = default ] || bench all still_attached "$_att"
}

setup_disk
echo "@@INFO bench: reps=$REPS schedulers=$SCHEDS replay_s=$REPLAY_S mix_s=$MIX_S hackbench_loops=$HACK_LOOPS"
"$FS_BIN/foresight_loadgen" calibrate --args 20,24,26,28,30,32 --reps 3 --out /tmp/cal.csv 2>/tmp/calibrate.log ||
	{ echo "@@BENCHERR - - calibrate $(tail -n 1 /tmp/calibrate.log)"; exit 1; }
echo "@@INFO calibration $(tail -n +2 /tmp/cal.csv | tr '\n' ' ')"
for _l in $LOADS; do
	"$SCHED" trace gen --cpus 2 --load "${_l#*:}" --duration-s "$REPLAY_S" --seed 5 -o /tmp/trace-"${_l%%:*}".csv ||
		{ echo "@@BENCHERR - - trace gen"; exit 1; }
done
echo "@@INFO kernel $(uname -r) cpus $(nproc) guest_mem_kb $(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
_list=$(echo "$SCHEDS" | tr ',' ' ')
_n=$(echo "$_list" | wc -w)
CUR_REP=1
while [ "$CUR_REP" -le "$REPS" ]; do
	# Rotate the order by one each repetition.
	_i=0
	while [ "$_i" -lt "$_n" ]; do
		_k=$(((_i + CUR_REP - 1) % _n + 1))
		run_one "$(echo "$_list" | cut -d' ' -f"$_k")"
		_i=$((_i + 1))
	done
	CUR_REP=$((CUR_REP + 1))
done
echo "@@BENCH-DONE"
