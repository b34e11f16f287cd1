# SPDX-License-Identifier: GPL-2.0-only
# Known-answer measurements (`cargo xtask validate`): workloads whose right figures follow from
# the machine alone, with no scheduler cleverness. The guest only measures; the host judges.
#   @@VAL name value...
. "${FS_GUEST:-/guest}/lib.sh"

# Calibration range: the start-up floor (arg 0), then every argument CAL_MIN..CAL_MAX.
CAL_MIN=${fs_cal_min:-18}
CAL_MAX=${fs_cal_max:-40}
CAL_REPS=${fs_cal_reps:-3}
# The known-answer invocations' payload argument and how many of them per case.
ARG=${fs_val_arg:-34}
COUNT=${fs_val_count:-3}
# The BPF-only scheduler whose userspace CPU must be ~0, and how long it is measured.
BPF_PEER=${fs_bpf_peer:-scx_bpfland}
PEER_S=${fs_peer_s:-10}
# Invocations of the replay that times the load generator itself.
REPLAY_N=${fs_replay_n:-400}
# Replays of those same invocations (the host compares their median across boots).
REPLAY_REPS=${fs_replay_reps:-3}
CPUS=$(nproc)

val() { echo "@@VAL $*"; }

# series_ms ARG COUNT: the response (launch → exit, ms) of COUNT runs in a row, one per line.
series_ms() {
	"$FS_BIN/foresight_loadgen" series --arg "$1" --count "$2" | awk '/^invocation / { sub("ms=", "", $4); print $4 }'
}

# sched_cpu_ns NAME: CPU time (ns, schedstat) of the live threads of every process called NAME:
# a cross-check of proc_cpu_ticks (which the bench uses, and which keeps exited threads).
sched_cpu_ns() {
	for _p in $(pidof "$1"); do cat /proc/"$_p"/task/*/schedstat 2>/dev/null; done | awk '{ t += $1 } END { printf "%d\n", t }'
}

echo "@@INFO validate: cpus=$CPUS cal=$CAL_MIN..$CAL_MAX reps=$CAL_REPS arg=$ARG count=$COUNT peer=$BPF_PEER replay_n=$REPLAY_N replay_reps=$REPLAY_REPS"

# 1. Calibration: monotone, golden-ratio steps above the start-up floor.
_args=0
_a=$CAL_MIN
while [ "$_a" -le "$CAL_MAX" ]; do
	_args="$_args,$_a"
	_a=$((_a + 1))
done
"$FS_BIN/foresight_loadgen" calibrate --args "$_args" --reps "$CAL_REPS" --out /tmp/cal.csv 2>/tmp/calibrate.log ||
	{ echo "@@VALERR calibrate $(tail -n 1 /tmp/calibrate.log)"; exit 1; }
tail -n +2 /tmp/cal.csv | tr ',' ' ' | while read -r _a _c; do val cal "$_a" "$_c"; done

# 2. An idle guest: one CPU-bound invocation's response = its demand.
for _ms in $(series_ms "$ARG" "$COUNT"); do val idle_ms "$_ms"; done

# 3. Fair share under the kernel's scheduler: 2N-1 CPU hogs on N CPUs, so the invocation is
# one of 2N equal tasks: response = demand × 2.
_k=$((2 * CPUS - 1))
stress-ng --cpu "$_k" --cpu-method int64 --timeout 600s >/dev/null 2>&1 &
_hogs=$!
sleep 2
val fair_hogs "$_k"
for _ms in $(series_ms "$ARG" "$COUNT"); do val fair_ms "$_ms"; done

# 4. A BPF-only scheduler's userspace CPU (its scheduling runs in BPF, charged to the tasks
# it schedules): ~0 if "scheduler's own CPU" measures what it says. Hogs still running.
if [ -x "$FS_BIN/$BPF_PEER" ]; then
	"$FS_BIN/$BPF_PEER" >/tmp/peer.log 2>&1 &
	_peer=$!
	if wait_state enabled 60; then
		sleep 1
		_c0=$(sched_cpu_ns "$BPF_PEER")
		_k0=$(proc_cpu_ticks "$BPF_PEER")
		_t0=$(now)
		series_ms "$ARG" "$COUNT" >/dev/null
		while gt "$PEER_S" "$(since "$_t0")"; do sleep 0.5; done
		_w=$(since "$_t0")
		_c1=$(sched_cpu_ns "$BPF_PEER")
		_k1=$(proc_cpu_ticks "$BPF_PEER")
		val peer_cpu_pct "$(ticks_pct $((_k1 - _k0)) "$_w")"
		val peer_schedstat_pct "$(awk -v c=$((_c1 - _c0)) -v w="$_w" 'BEGIN { printf "%.3f", c / 1e9 / w * 100 }')"
	else
		echo "@@VALERR $BPF_PEER never attached: $(tail -n 2 /tmp/peer.log | tr '\n' ' ')"
	fi
	kill -INT "$_peer" 2>/dev/null
	wait "$_peer"
	wait_state disabled 30
else
	echo "@@VALERR no $BPF_PEER in the guest"
fi
kill "$_hogs" 2>/dev/null
wait "$_hogs" 2>/dev/null

# 5. The load generator's own timing error: REPLAY_REPS replays at half load, idle guest, default
# scheduler: its launch lag and its own CPU against the responses it measures. After the first
# boot the host gives that boot's calibration (fs_replay_cal=ARG:US,...), so every boot replays
# the same invocations with the same demands.
_rcal=/tmp/cal.csv
if [ -n "${fs_replay_cal:-}" ]; then
	{ echo "arg,cpu_us"; echo "$fs_replay_cal" | tr ',' '\n' | tr ':' ','; } >/tmp/replay-cal.csv
	_rcal=/tmp/replay-cal.csv
fi
"$SCHED" trace gen --cpus "$CPUS" --load 0.5 --duration-s 3600 --seed 11 -o /tmp/val-trace.csv ||
	echo "@@VALERR trace gen"
_rep=1
while [ "$_rep" -le "$REPLAY_REPS" ]; do
	rm -f /tmp/val-replay.json
	"$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/val-trace.csv --limit "$REPLAY_N" --max-arg 34 --load 0.5 \
		--calibration "$_rcal" --json /tmp/val-replay.json >/tmp/val-replay.log 2>&1 ||
		echo "@@VALERR replay $_rep: $(tail -n 1 /tmp/val-replay.log)"
	[ -s /tmp/val-replay.json ] && val replay "$(tr -d '\n ' </tmp/val-replay.json)"
	_rep=$((_rep + 1))
done
echo "@@VAL-DONE"
