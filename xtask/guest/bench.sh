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
# scx_foresight-b: ours again with these flags (comma separated on the kernel's command line).
VARIANT_ARGS=$(echo "${fs_variant_args:-}" | tr ',' ' ')
# FaaS replays: traces (azure: the Azure 2019 workload; gen: generated; extra: --trace FILE),
# target loads per CPU, with and without CPU hogs (one per CPU), invocations per replay.
TRACES=${fs_traces:-azure,gen}
LOADS=${fs_loads:-0.5,0.7,0.9}
HOGS=${fs_hogs:-0,1}
REPLAY_N=${fs_replay_n:-400}
# Every replayed argument is shifted down (the same steps for a whole replay) so that the
# largest launched is this, per trace: each keeps its shape at a cost the guest can replay.
max_arg_of() {
	case $1 in
	azure) echo "${fs_max_arg_azure:-38}" ;;
	gen) echo "${fs_max_arg_gen:-36}" ;;
	*) echo "${fs_max_arg_extra:-36}" ;;
	esac
}
# Throughput: seconds per stressor, hackbench messages per sender, fixed-work jobs' argument.
STRESS_S=${fs_stress_s:-10}
HACK_LOOPS=${fs_hack_loops:-200}
JOB_ARG=${fs_job_arg:-32}
# Wakeup latency: cyclictest loops (1 ms period) beside one CPU hog per CPU.
CYCLIC_LOOPS=${fs_cyclic_loops:-5000}
CAL_MAX=${fs_cal_max:-40}
# scx_foresight starts from models fitted in this boot on a trace the measured runs never see
# (1), or from none (0: learning online only, every repetition from scratch).
TRAIN=${fs_train:-1}
# 1: record the kernel's scheduling events during every replay (`--sched-trace`).
SCHED_TRACE=${fs_sched_trace:-0}
# 1: with it, scx_foresight also writes each decision here (`--trace-decisions`).
TRACE_DECISIONS=${fs_trace_decisions:-0}
DECISIONS=/tmp/bench-decisions.csv
MODELS=/tmp/bench-models.json
CPUS=$(nproc)

# sched_bin NAME: the executable of scheduler NAME (the variant is ours); is_ours NAME.
sched_bin() { case $1 in scx_foresight-b) echo scx_foresight ;; *) echo "$1" ;; esac; }
is_ours() { [ "$(sched_bin "$1")" = scx_foresight ]; }

bench() {
	held || { dropped "$1 $2"; return; }
	echo "@@BENCH $CUR_SCHED $CUR_REP $1 $2 $3"
}
bench_err() { echo "@@BENCHERR $CUR_SCHED $CUR_REP $*"; }
# run_figure WORKLOAD METRIC VALUE: a figure of the run itself (its wall time, its evictions),
# true whether or not the scheduler stayed attached.
run_figure() { echo "@@BENCH $CUR_SCHED $CUR_REP $1 $2 $3"; }

# held: the scheduler under test has been attached since its run began (the kernel's default
# always is). After an eviction the kernel's default runs everything: what is measured then is
# the default's, not this scheduler's (scx_rustland was evicted in both repetitions of one boot
# and its later figures read as the default's).
held() {
	[ "$CUR_SCHED" = default ] && return 0
	[ "$(evictions)" -eq "$RUN_EV0" ] && [ "$(se_state)" = enabled ]
}
# dropped WHAT: a figure left out because the scheduler was evicted (or had left) before it was
# taken.
dropped() { echo "@@DROPPED $CUR_SCHED $CUR_REP $1 measured after the scheduler was detached"; }

# attach NAME: start scheduler NAME (nothing for the kernel's default); 1 if it never attaches.
attach() {
	PEER_PID=
	[ "$1" = default ] && return 0
	# scx_foresight prints its stats each second: the class (and so the mode) in force during
	# each replay goes to the host, which simulates that mode beside the VM's figures.
	_args=
	_bin=$(sched_bin "$1")
	is_ours "$1" && _args="--stats 1 --stats-format line"
	is_ours "$1" && [ -s "$MODELS" ] && _args="$_args --models $MODELS"
	is_ours "$1" && [ "$TRACE_DECISIONS" = 1 ] && { rm -f "$DECISIONS"; _args="$_args --trace-decisions $DECISIONS"; }
	[ "$1" = scx_foresight-b ] && _args="$_args $VARIANT_ARGS"
	# shellcheck disable=SC2086
	"$FS_BIN/$_bin" $_args >/tmp/bench-"$1".log 2>&1 &
	PEER_PID=$!
	wait_state enabled 60 && se_ops | grep -qE "^(${_bin#scx_}|$_bin)"
}

detach() {
	[ -n "$PEER_PID" ] || return 0
	kill -INT "$PEER_PID" 2>/dev/null
	wait "$PEER_PID"
	wait_state disabled 30
}

hogs_start() {
	stress-ng --cpu "$CPUS" --cpu-method int64 --timeout 3600s >/dev/null 2>&1 &
	HOGS_PID=$!
}
hogs_stop() {
	kill "$HOGS_PID" 2>/dev/null
	wait "$HOGS_PID" 2>/dev/null
}

# stats_after N: scx_foresight's stats lines after the first N (none for the others).
stats_after() {
	grep '^stats:' /tmp/bench-"$CUR_SCHED".log 2>/dev/null | tail -n +"$(($1 + 1))"
}

# stats_count: stats lines scx_foresight printed so far (0 for the others).
stats_count() {
	stats_after 0 | wc -l
}

# mode_since N: the class in force in most of the stats lines after the first N, with counts.
mode_since() {
	stats_after "$1" | grep -o ' class=[a-z-]*' | cut -d= -f2 | sort | uniq -c | sort -rn |
		awk '{ s = s (s ? "," : "") $2 ":" $1 } END { print s }'
}

# mode_timeline N T0: the class of each stats line from the Nth on (the last before a replay,
# `-` when none) with the time its mode took effect, in ms after T0 (the replay's start, ms of
# /proc/uptime): CLASS@MS, comma separated: the host's simulator switches mode as the VM did.
mode_timeline() {
	_tl=$(stats_after "$(($1 > 0 ? $1 - 1 : 0))" |
		sed -n 's/.* class=\([a-z-]*\) .* mode_since_ms=\([0-9]*\) .*/\1 \2/p' |
		awk -v t0="$2" '{ printf "%s%s@%d", (NR > 1 ? "," : ""), $1, $2 - t0 }')
	[ "$1" -gt 0 ] || _tl="-${_tl:+,$_tl}"
	echo "$_tl"
}

# stats_lines N: scx_foresight's dispatch, identity, prediction and model counters (cumulative)
# from each stats line after the first N, one `@@STATS` line each: how each burst was dispatched
# and identified, for reading beside the replay's invocations (the host ignores these lines).
stats_lines() {
	stats_after "$1" | while IFS= read -r _l; do
		echo "@@STATS $CUR_SCHED $CUR_REP $_w$(echo "$_l" |
			grep -oE ' (rounds|empty_rounds|max_round_us|max_batch|user_dispatches|idle_cpu|cpu_searches|kernel_dispatches|migration_disabled|congested|bounces|failed|wake_preempts|wake_idle|rt_preempts|hog_preempts|hog_timers|hog_irq_wakes|hog_resume_preempts|hog_timer_rearms|lock_waits|holders_queued|holders_run|d_wakeups|d_wake_preempts|d_sleeps|kpreempted_run|proc_lost|ident_exec|ident_proc|ident_fork|exec_first_fn|exec_preempted|exec_kept|exec_ended|exec_lost|pred_fn|pred_exe|pred_general|pred_none|model_gen|refits|fn_models|mode_since_ms)=[0-9/]*| decided=[a-z0-9:,]*' |
			tr -d '\n')"
	done
}

# uptime_ms: now, in ms of /proc/uptime (CLOCK_BOOTTIME: CLOCK_MONOTONIC in a guest never
# suspended), the clock of the scheduler's mode_since_ms.
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# The kernel's events that tell where an invocation waited: each context switch (with the
# state it left in: D = blocked in the kernel), wakeup, fork, exec, exit, and a sleeping lock's
# contention (which lock, how long), on CLOCK_MONOTONIC like the replay's own timestamps; and
# bpf_printk output of our BPF programs (bpf_trace_printk), when a debug build adds any.
TRACE_DIR=/sys/kernel/tracing
TRACE_EVENTS="bpf_trace/bpf_trace_printk sched/sched_switch sched/sched_wakeup sched/sched_wakeup_new sched/sched_process_exec sched/sched_process_exit lock/contention_begin lock/contention_end"

# sched_trace_start: clear the buffer and record TRACE_EVENTS (those this kernel has).
sched_trace_start() {
	[ "$SCHED_TRACE" = 1 ] || return 0
	echo 0 >"$TRACE_DIR/tracing_on"
	echo mono >"$TRACE_DIR/trace_clock"
	echo 65536 >"$TRACE_DIR/buffer_size_kb"
	echo >"$TRACE_DIR/trace"
	echo 0 >"$TRACE_DIR/events/enable"
	for _e in $TRACE_EVENTS; do
		[ -e "$TRACE_DIR/events/$_e/enable" ] && echo 1 >"$TRACE_DIR/events/$_e/enable"
	done
	echo 1 >"$TRACE_DIR/tracing_on"
	_dec0=0
	[ "$TRACE_DECISIONS" = 1 ] && [ -f "$DECISIONS" ] && _dec0=$(wc -l <"$DECISIONS")
}

# sched_trace_dump: stop recording and print every event as `@@TRC sched rep workload EVENT`
# (read them beside the @@INV lines, same clock), then scx_foresight's decisions made
# since the last dump as `@@DEC sched rep workload ROW` (--trace-decisions' CSV, its time on the
# same clock; the writer lags, by seconds in one boot: rows not yet written come in a later dump).
sched_trace_dump() {
	[ "$SCHED_TRACE" = 1 ] || return 0
	echo 0 >"$TRACE_DIR/tracing_on"
	grep -v '^#' "$TRACE_DIR/trace" | sed "s/^ *//; s/^/@@TRC $CUR_SCHED $CUR_REP $_w /"
	[ "$TRACE_DECISIONS" = 1 ] && [ -f "$DECISIONS" ] && is_ours "$CUR_SCHED" &&
		tail -n +"$((_dec0 + 1))" "$DECISIONS" | sed "s/^/@@DEC $CUR_SCHED $CUR_REP $_w /"
	echo "@@INFO sched-trace $CUR_SCHED $CUR_REP $_w lost: $(grep -h 'overrun' "$TRACE_DIR"/per_cpu/cpu*/stats | tr -s ' \n' ' ')"
	echo 0 >"$TRACE_DIR/events/enable"
	echo >"$TRACE_DIR/trace"
}

# replay TRACE LOAD HOGS: the trace's first REPLAY_N invocations at that load per CPU.
replay() {
	_w="faas-$1-$2"
	[ "$3" = 1 ] && { _w="$_w-hogs"; hogs_start; }
	_st0=$(stats_count)
	_t0=$(uptime_ms)
	sched_trace_start
	"$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/trace-"$1".csv --calibration /tmp/cal.csv \
		--limit "$REPLAY_N" --max-arg "$(max_arg_of "$1")" --load "$2" --cpus "$CPUS" --json /tmp/r.json --out /tmp/r.csv >/tmp/r.log 2>&1
	_rc=$?
	sched_trace_dump
	[ "$3" = 1 ] && hogs_stop
	held || { dropped "$_w replay"; return; }
	[ "$_rc" -eq 0 ] || { bench_err "$_w rc=$_rc $(tail -n 1 /tmp/r.log)"; return; }
	tail -n +2 /tmp/r.csv | sed "s/^/@@INV $CUR_SCHED $CUR_REP $_w /"
	is_ours "$CUR_SCHED" && echo "@@MODE $CUR_SCHED $CUR_REP $_w $(mode_since "$_st0") $(mode_timeline "$_st0" "$_t0")"
	is_ours "$CUR_SCHED" && stats_lines "$_st0"
	bench "$_w" summary "$(tr -d '\n ' </tmp/r.json)"
}

hackbench_run() {
	_out=$(hackbench -p -g 4 -l "$HACK_LOOPS" 2>&1)
	_t=$(echo "$_out" | awk '/^Time:/ { print $2 }')
	[ -n "$_t" ] || { bench_err "hackbench $(echo "$_out" | tail -n 1)"; return; }
	bench hackbench time_s "$_t"
}

# Each stressor alone, one worker per CPU: bogo ops per second of real time. The vm worker keeps
# its mapping (--vm-keep): remapping it each pass made the run's own kernel time vary with the
# memory's state (0.10-0.23 s of a 1 s run under the default alone, 3759-4277 ops/s in 11 runs;
# 5022-5043 in 7 with it kept, BENCHMARKS.md section 37), noise no scheduler causes.
stress_run() {
	for _s in cpu matrix vm switch pipe; do
		_extra=
		[ "$_s" = vm ] && _extra="--vm-bytes 32M --vm-keep"
		# shellcheck disable=SC2086
		stress-ng --"$_s" "$CPUS" $_extra --timeout "${STRESS_S}s" --metrics-brief >/tmp/st.log 2>&1 ||
			bench_err "stress-ng $_s rc=$?"
		_v=$(awk -v s="$_s" '$2 == "metrc:" && $4 == s && NF == 10 { print $9 }' /tmp/st.log)
		[ -n "$_v" ] && bench "stress-$_s" ops_s "$_v"
	done
}

# Fixed work: 4 compile-like CPU jobs per CPU started at once; time until all finished.
jobs_run() {
	_jt0=$(now)
	_ji=0
	_jpids=
	while [ "$_ji" -lt $((4 * CPUS)) ]; do
		"$PAYLOAD" "$JOB_ARG" >/dev/null &
		_jpids="$_jpids $!"
		_ji=$((_ji + 1))
	done
	# Only these: a bare `wait` would also wait for the scheduler under test.
	for _jp in $_jpids; do wait "$_jp"; done
	bench jobs time_s "$(since "$_jt0")"
}

# cyclic_one WORKLOAD PRIO POLICY CODE: wakeup latency of cyclictest's measuring thread (a 1 ms
# period, under POLICY, the kernel's policy number CODE) beside one CPU hog per CPU: p50, p99
# and max from its histogram (µs).
cyclic_one() {
	_w=$1
	hogs_start
	sched_trace_start
	cyc_start -p "$2" --policy="$3" -l "$CYCLIC_LOOPS"
	cyc_policy "$_cyc" "$4"
	wait "$_cyc" || bench_err "$_w: cyclictest rc=$?"
	sched_trace_dump
	hogs_stop
	[ "$_pol" = "$4" ] || { bench_err "$_w: the measuring thread's policy was '$_pol', not $4 ($3)"; return; }
	cyc_latencies /tmp/cyc.log >/tmp/cyc.txt || { bench_err "$_w: no histogram"; return; }
	read -r _p50 _p99 _max </tmp/cyc.txt
	bench "$_w" p50_us "$_p50"
	bench "$_w" p99_us "$_p99"
	bench "$_w" max_us "$_max"
}

# Wakeup latency of a normal task, which the scheduler under test schedules (the target), and of
# a real-time one, which it does not (what its programs add to the kernel's own paths).
cyclic_run() {
	cyclic_one cyclictest 0 other 0
	cyclic_one cyclictest-rt 2 fifo 1
}

# train_models: scx_foresight as on a host that has run its functions before: it replays a
# generated trace of another seed than the measured one, with --record, and `train` fits the
# models each measured run starts from (online learning goes on from them). The fitted file
# goes to the host, whose simulator starts from it too.
train_models() {
	CUR_SCHED=scx_foresight
	CUR_REP=0
	echo "@@STEP train"
	"$SCHED" trace gen --cpus "$CPUS" --load 0.7 --duration-s 7200 --seed 7 -o /tmp/trace-train.csv ||
		{ bench_err "train: trace gen failed"; return; }
	rm -f /tmp/train-samples.csv "$MODELS"
	"$SCHED" --record /tmp/train-samples.csv >/tmp/bench-train.log 2>&1 &
	PEER_PID=$!
	if ! wait_state enabled 60; then
		bench_err "train: never attached: $(tail -n 2 /tmp/bench-train.log | tr '\n' ' ')"
		detach
		return
	fi
	"$FS_BIN/foresight_loadgen" replay --rt-prio 50 --trace /tmp/trace-train.csv --calibration /tmp/cal.csv \
		--limit "$REPLAY_N" --max-arg "$(max_arg_of gen)" --load 0.7 --cpus "$CPUS" >/tmp/r-train.log 2>&1 ||
		bench_err "train: replay failed: $(tail -n 1 /tmp/r-train.log)"
	detach
	if ! "$SCHED" train --samples /tmp/train-samples.csv --out "$MODELS" >/tmp/train.log 2>&1; then
		bench_err "train: $(tail -n 1 /tmp/train.log)"
		rm -f "$MODELS"
		return
	fi
	echo "@@INFO training: scx_foresight replayed $REPLAY_N invocations of a held-out generated trace (seed 7, load 0.7) with --record, $(($(wc -l </tmp/train-samples.csv) - 1)) samples; its measured runs start from the fitted models ($(grep '^level function' /tmp/train.log))"
	echo "@@MODELS $(tr -d '\n' <"$MODELS")"
}

run_one() {
	CUR_SCHED=$1
	echo "@@STEP $1/$CUR_REP"
	RUN_EV0=$(evictions)
	if ! attach "$1"; then
		bench_err "never attached: $(grep -v '^ *$' /tmp/bench-"$1".log | tail -n 3 | tr -s '\n ' '  ')"
		head -n 60 /tmp/bench-"$1".log | sed "s/^/@@INFO $1 log: /"
		detach
		return
	fi
	# Shell variables are global: names of their own, no helper may clobber them.
	_run_c0=$(proc_cpu_ticks "$(sched_bin "$1")")
	_run_t0=$(now)
	for _tr in $(echo "$TRACES" | tr ',' ' '); do
		for _ld in $(echo "$LOADS" | tr ',' ' '); do
			for _h in $(echo "$HOGS" | tr ',' ' '); do replay "$_tr" "$_ld" "$_h"; done
		done
	done
	hackbench_run
	stress_run
	jobs_run
	cyclic_run
	_wall=$(since "$_run_t0")
	_run_c1=$(proc_cpu_ticks "$(sched_bin "$1")")
	_att=no
	[ "$1" = default ] || { [ "$(se_state)" = enabled ] && _att=yes; }
	# The scheduler's CPU over the run: only when it ran the whole run (an evicted process may
	# be gone, and its ticks with it).
	_run_held=no
	held && _run_held=yes
	_run_evs=$(($(evictions) - RUN_EV0))
	[ "$_run_evs" -gt 0 ] && echo "@@INFO eviction $1/$CUR_REP: $(dmesg | grep 'sched_ext: ' | grep -v 'enabled$\|unregistered from' | tail -n $((2 * _run_evs)) | sed 's/^\[[^]]*\] //' | tr '\n' ' ')"
	detach
	run_figure all wall_s "$_wall"
	if [ "$_run_held" = yes ]; then
		run_figure all sched_cpu_pct "$(ticks_pct $((_run_c1 - _run_c0)) "$_wall")"
	else
		dropped "all sched_cpu_pct"
	fi
	# Ours counts its decisions: the whole process's CPU (loop and helpers) per decision.
	if [ "$_run_held" = yes ] && is_ours "$1"; then
		_run_dec=$(grep '^stats:' /tmp/bench-"$1".log | tail -n 1 | grep -o 'user_dispatches=[0-9]*' | cut -d= -f2)
		[ -n "$_run_dec" ] && [ "$_run_dec" -gt 0 ] &&
			run_figure all sched_us_per_decision "$(awk -v t=$((_run_c1 - _run_c0)) -v h=100 -v d="$_run_dec" 'BEGIN { printf "%.2f", t * 1e6 / h / d }')"
	fi
	run_figure all evictions "$_run_evs"
	[ "$1" = default ] || run_figure all still_attached "$_att"
}

setup_disk
echo "@@INFO bench: reps=$REPS schedulers=$SCHEDS variant_args=${VARIANT_ARGS:-none} traces=$TRACES loads=$LOADS hogs=$HOGS replay_n=$REPLAY_N train=$TRAIN max_arg=azure:$(max_arg_of azure),gen:$(max_arg_of gen) stress_s=$STRESS_S hackbench_loops=$HACK_LOOPS cyclic_loops=$CYCLIC_LOOPS cpus=$CPUS"
_args=0
_a=16
while [ "$_a" -le "$CAL_MAX" ]; do
	_args="$_args,$_a"
	_a=$((_a + 1))
done
# The runs, `scheduler/repetition` in the order they happen: the order of the schedulers is
# rotated by one each repetition. The host's progress bar gets them as the plan's steps.
_list=$(echo "$SCHEDS" | tr ',' ' ')
_n=$(echo "$_list" | wc -w)
_runs=""
_pr=1
while [ "$_pr" -le "$REPS" ]; do
	_rot=0
	while [ "$_rot" -lt "$_n" ]; do
		_runs="$_runs $(echo "$_list" | cut -d' ' -f$(((_rot + _pr - 1) % _n + 1)))/$_pr"
		_rot=$((_rot + 1))
	done
	_pr=$((_pr + 1))
done
_train=
[ "$TRAIN" = 1 ] && [ -n "$TRACES" ] && echo ",$SCHEDS," | grep -q ',scx_foresight,' && _train=" train"
echo "@@PLAN calibrate$_train$_runs"
echo "@@STEP calibrate"
"$FS_BIN/foresight_loadgen" calibrate --args "$_args" --reps 3 --out /tmp/cal.csv 2>/tmp/calibrate.log ||
	{ echo "@@BENCHERR - - calibrate $(tail -n 1 /tmp/calibrate.log)"; exit 1; }
echo "@@INFO calibration $(tail -n +2 /tmp/cal.csv | tr '\n' ' ')"
for _tr in $(echo "$TRACES" | tr ',' ' '); do
	case $_tr in
	azure) "$SCHED" trace from-azure --input /guest/azure.txt --calibration /tmp/cal.csv -o /tmp/trace-azure.csv ;;
	gen) "$SCHED" trace gen --cpus "$CPUS" --load 0.7 --duration-s 7200 --seed 5 -o /tmp/trace-gen.csv ;;
	extra) cp /guest/extra-trace.csv /tmp/trace-extra.csv ;;
	esac || { echo "@@BENCHERR - - trace $_tr"; exit 1; }
done
echo "@@INFO kernel $(uname -r) cpus $CPUS guest_mem_kb $(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
[ -n "$_train" ] && train_models
for _run in $_runs; do
	CUR_REP=${_run#*/}
	run_one "${_run%/*}"
done
echo "@@BENCH-DONE"
