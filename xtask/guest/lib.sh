# SPDX-License-Identifier: GPL-2.0-only
# Helpers shared by the guest scripts (busybox ash). FS_BIN is where our binaries are.
FS_BIN=${FS_BIN:-/usr/bin}
SCHED="$FS_BIN/scx_foresight"
PAYLOAD="$FS_BIN/foresight_payload"
SE=/sys/kernel/sched_ext

# Seconds since boot, two decimals.
now() { cut -d' ' -f1 /proc/uptime; }
# Seconds elapsed since $1.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# Is $1 > $2 (decimals)?
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

se_state() { cat $SE/state 2>/dev/null; }
se_ops() { cat $SE/root/ops 2>/dev/null; }
ours_attached() { [ "$(se_state)" = enabled ] && se_ops | grep -q '^scx_foresight'; }

# wait_state STATE TIMEOUT_S: poll until sched_ext is in STATE; 1 on timeout.
wait_state() {
	_t0=$(now)
	while [ "$(se_state)" != "$1" ]; do
		gt "$(since "$_t0")" "$2" && return 1
		sleep 0.05
	done
	return 0
}

# start_sched LOG ARGS...: run the scheduler in the background; its pid in SCHED_PID.
start_sched() {
	_log=$1
	shift
	"$SCHED" "$@" >"$_log" 2>&1 &
	SCHED_PID=$!
}

# stop_sched: SIGINT and wait; its exit code in SCHED_RC.
stop_sched() {
	kill -INT "$SCHED_PID" 2>/dev/null
	wait "$SCHED_PID"
	SCHED_RC=$?
}

alive() { kill -0 "$1" 2>/dev/null; }

# thread_times PID...: one @@INFO line per thread of each process: name, policy, CPU ms, ms
# waited runnable, slices (/proc schedstat), to show which of our threads starved.
thread_times() {
	for _tp in "$@"; do
		for _tt in /proc/"$_tp"/task/*; do
			read -r _run _wait _n <"$_tt"/schedstat 2>/dev/null || continue
			read -r _tst <"$_tt"/stat 2>/dev/null || continue
			# shellcheck disable=SC2086
			field_41 $_tst
			echo "@@INFO threads $_tp/${_tt##*/} $(cat "$_tt"/comm 2>/dev/null) policy=$_pol cpu_ms=$((_run / 1000000)) waited_ms=$((_wait / 1000000)) slices=$_n"
		done
	done
}

# live_pids PATTERN: pids of running (not zombie) processes whose name matches PATTERN.
live_pids() {
	for _lp in $(pgrep "$1"); do
		grep -qs '^State:[[:space:]]*Z' /proc/"$_lp"/status || echo "$_lp"
	done
}

# end_hogs PID: end a background stress-ng job and every stress-ng process: SIGTERM, then
# SIGKILL to those still running 5 s later, so that no hog outlives its case and slows the
# next one's timings.
end_hogs() {
	kill "$1" 2>/dev/null
	_eh0=$(now)
	while [ -n "$(live_pids stress-ng)" ] && ! gt "$(since "$_eh0")" 5; do sleep 0.1; done
	kill_live_hogs "5 s after SIGTERM"
	wait "$1" 2>/dev/null
}

# kill_live_hogs WHEN: SIGKILL every stress-ng process still running, and say how many.
kill_live_hogs() {
	_klh=$(live_pids stress-ng)
	[ -n "$_klh" ] || return 0
	echo "@@INFO stress-ng still running $1: $(echo $_klh | wc -w) killed"
	# shellcheck disable=SC2086
	kill -KILL $_klh 2>/dev/null
}

# worker_pid: the supervisor's newest child, the worker now attached (after a restart the one
# before may still be tearing down beside it).
worker_pid() { tr ' ' '\n' </proc/"$SCHED_PID"/task/"$SCHED_PID"/children 2>/dev/null | grep . | sort -n | tail -n 1; }

# proc_cpu_ticks NAME: CPU time (clock ticks, 1/100 s) of every process called NAME, all its
# threads, those that exited included (utime+stime of /proc/PID/stat: the kernel scales the
# pair so that its sum is the scheduler's exact runtime). `cargo xtask validate` checks it
# against a BPF-only scheduler (~0).
proc_cpu_ticks() { awk -v n="($1)" '$2 == n { t += $14 + $15 } END { print t + 0 }' /proc/[0-9]*/stat 2>/dev/null; }
# ticks_pct TICKS SECS: TICKS of CPU (1/100 s) over SECS of time, as % of one CPU.
ticks_pct() { awk -v c="$1" -v w="$2" 'BEGIN { printf "%.3f", c / 100 / w * 100 }'; }

# How many times the kernel threw a scheduler out (watchdog, errors): its "disabled (reason)"
# lines, but for the ends asked for (by user space, or the kernel's restart request).
evictions() { dmesg | grep 'sched_ext: BPF scheduler .* disabled (' | grep -vc 'unregistered from'; }

# setup_disk: ext4 on a loop device (backed by a tmpfs file) at /mnt/disk, so I/O workloads
# issue real block requests. DISK_DIR is where they write: /mnt/disk, else /tmp (no modules).
setup_disk() {
	DISK_DIR=/tmp
	[ -f /lib/modules/loop.ko ] || return 1
	if ! grep -q ' /mnt/disk ' /proc/mounts; then
		for _m in crc16 mbcache jbd2 ext4 loop; do insmod /lib/modules/$_m.ko 2>/dev/null; done
		dd if=/dev/zero of=/tmp/disk.img bs=1M count=128 2>/dev/null
		losetup /dev/loop0 /tmp/disk.img || return 1
		mke2fs -q /dev/loop0 >/dev/null 2>&1 || return 1
		mkdir -p /mnt/disk
		mount -t ext4 /dev/loop0 /mnt/disk || return 1
	fi
	DISK_DIR=/mnt/disk
}

# Workloads of the classification phases; each runs for $1 seconds.
wl_idle() { sleep "$1"; }
wl_cpu() { stress-ng --cpu 4 --timeout "${1}s" >/dev/null 2>&1; }
wl_io() { stress-ng --hdd 2 --hdd-bytes 16M --hdd-opts direct --temp-path "$DISK_DIR" --timeout "${1}s" >/dev/null 2>&1; }
wl_net() { stress-ng --sock 2 --timeout "${1}s" >/dev/null 2>&1; }
wl_fork() { stress-ng --fork 2 --timeout "${1}s" >/dev/null 2>&1; }
wl_faas() {
	_end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$_end" ]; do
		"$FS_BIN/foresight_loadgen" series --arg 16 --count 10 --gap-ms 0 >/dev/null 2>&1 &
		_lg=$!
		"$FS_BIN/foresight_loadgen" series --arg 16 --count 10 --gap-ms 0 >/dev/null 2>&1
		wait "$_lg"
	done
}
wl_interactive() { stress-ng --sleep 2 --sleep-max 64 --timeout "${1}s" >/dev/null 2>&1; }
wl_mixed() { stress-ng --cpu 1 --hdd 1 --hdd-bytes 16M --hdd-opts direct --temp-path "$DISK_DIR" --sock 1 --timeout "${1}s" >/dev/null 2>&1; }

# run_phases LOG SECS "label:workload" ...: run each workload for SECS, printing
# `@@PHASE label start end` (uptime seconds); the windows recorded meanwhile can be labelled.
run_phases() {
	_plog=$1
	_psecs=$2
	shift 2
	: >"$_plog"
	for _p in "$@"; do
		_s=$(now)
		"wl_${_p#*:}" "$_psecs"
		echo "${_p%%:*} $_s $(now)" >>"$_plog"
		echo "@@PHASE ${_p%%:*} $_s $(now)"
	done
}

# label_windows WINDOWS PHASES: fill the label column of each recorded window that lies
# inside a phase (skipping the phase's first 2 s, the transition).
label_windows() {
	awk -F, -v OFS=, -v phases="$2" '
		BEGIN { while ((getline l < phases) > 0) { split(l, p, " "); n++; name[n] = p[1]; s[n] = p[2]; e[n] = p[3] } }
		NR == 1 { print; next }
		{ for (i = 1; i <= n; i++) if ($1 - $2 >= s[i] + 2 && $1 <= e[i]) $NF = name[i]; print }' "$1"
}

# class_sampler LOG: every second, `uptime class signals...` of the scheduler in force (from the last
# stats line in LOG, of `--stats 1 --stats-format line`). Its two processes per second are
# background noise the classifier must live with, so the training run records a pass with it
# too (keep it at two: more new tasks per second can pass for a FaaS burst).
class_sampler() {
	while :; do
		# No line yet (the first is a second away) is no class: skip it.
		_sampled_line=$(grep '^stats: .* class=' "$1" 2>/dev/null | tail -n 1)
		_sampled_class=${_sampled_line##* class=}
		_sampled_class=${_sampled_class%% *}
		# The whole line after it: the window signals the class came from (read on failure).
		[ -n "$_sampled_class" ] && echo "$(now) $_sampled_class ${_sampled_line#stats: }"
		sleep 1
	done
}

# dl_total_bw: the deadline bandwidth admitted in each root domain (1048576 = one CPU).
dl_total_bw() {
	[ -d /sys/kernel/debug/sched ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	grep 'dl_bw->total_bw' /sys/kernel/debug/sched/debug 2>/dev/null | awk '{ printf "%s ", $NF }'
}

# dl_bandwidth: the deadline class's bandwidth per root domain (admission control: a CPU
# cannot go offline when the deadline tasks admitted would not fit on the CPUs left) and the
# deadline tasks now.
dl_bandwidth() {
	[ -d /sys/kernel/debug/sched ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	grep -E '^dl_rq|dl_bw->(bw|total_bw)|dl_nr_running' /sys/kernel/debug/sched/debug 2>/dev/null
	for _dlt in /proc/[0-9]*/task/[0-9]*; do
		grep -q '^policy *: *6$' "$_dlt"/sched 2>/dev/null && echo "deadline task $(basename "$_dlt") $(cat "$_dlt"/comm 2>/dev/null) $(grep -E '^dl\.(runtime|period)' "$_dlt"/sched 2>/dev/null | tr -s ' \n' ' ')"
	done
}

# Helpers of the VM cases (xtask/guest/cases/).
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
# wait_stats_lines LOG N TIMEOUT_S: wait until N more stats lines reach LOG (so that the last
# one covers what ran before the call), at most TIMEOUT_S seconds; 1 on timeout.
wait_stats_lines() {
	_wsl_want=$(($(grep -c '^stats:' "$1") + $2))
	_wsl_end=$(awk -v t="$(now)" -v s="$3" 'BEGIN { print t + s }')
	while [ "$(complete_lines "$1" | grep -c '^stats:')" -lt "$_wsl_want" ]; do
		gt "$_wsl_end" "$(now)" || return 1
		sleep 0.25
	done
}

# train_payload NAME ARG COUNT: fit models on this boot's invocations of `foresight_payload ARG`
# (COUNT of them recorded with --record, then `train`) into /tmp/NAME.json; DETAIL says why not.
train_payload() {
	rm -f /tmp/"$1".csv /tmp/"$1".json
	start_sched /tmp/"$1"-train.log --record /tmp/"$1".csv
	wait_state enabled 30 || { DETAIL="never enabled (training run)"; return 1; }
	"$FS_BIN/foresight_loadgen" series --arg "$2" --count "$3" --gap-ms 20 >/dev/null 2>&1
	stop_sched
	"$SCHED" train --samples /tmp/"$1".csv --out /tmp/"$1".json --min-samples 8 >/tmp/"$1"-fit.log 2>&1 ||
		{ DETAIL="train failed: $(tail -n 1 /tmp/"$1"-fit.log)"; return 1; }
}

# cg_usage NAME: CPU used by the tasks of /sys/fs/cgroup/NAME so far (µs).
cg_usage() { awk '$1 == "usage_usec" { print $2 }' /sys/fs/cgroup/"$1"/cpu.stat; }

# cyc_latencies FILE: p50, p99 and max (µs) of the histogram in cyclictest's output FILE; 1 if it
# holds none. Wakeups past the histogram's last bucket count as overflows: at the max. cyclictest
# pads its numbers with zeros, which busybox awk reads as octal ("000442" as 290): each goes
# through dec() (until section 35 the counts and buckets of 8 and up were misread).
cyc_latencies() {
	awk 'function dec(s) { sub(/^0+/, "", s); return s + 0 }
		/^[0-9]/ { k = dec($1); n += dec($2); c[k] = dec($2); if (k > top) top = k }
		/Max Latencies/ { max = dec($NF) }
		/Histogram Overflows/ { n += dec($NF) }
		END {
			if (n == 0) exit 1
			for (i = 0; i <= top; i++) { s += c[i]; if (p50 == "" && s >= n * 0.5) p50 = i; if (p99 == "" && s >= n * 0.99) p99 = i }
			if (p50 == "") p50 = max
			if (p99 == "") p99 = max
			printf "%d %d %d\n", p50, p99, max
		}' "$1"
}

# cyc_start ARGS...: cyclictest in the background (pid in _cyc, output in /tmp/cyc.log) with a
# 1 ms period, a histogram and ARGS. Its timer slack is 1 ns: with the 50 µs default a normal
# task's timer fires anywhere in that window, with the next interrupt, whatever the scheduler.
cyc_start() {
	(echo 1 >/proc/self/timerslack_ns && exec cyclictest -q -m -i 1000 -h 100000 --default-system "$@") >/tmp/cyc.log 2>&1 &
	_cyc=$!
}

# cyc_policy PID CODE: _pol := the policy of cyclictest PID's measuring thread, polled until it
# reads CODE, for 2 s at most. The instrument's known answer: the thread measured runs under the
# policy asked for. With `-p 0` alone cyclictest made it SCHED_FIFO 2, a class sched_ext never
# schedules, and sections 1–34 measured that (BENCHMARKS.md section 35). The thread sets its
# policy itself once it runs: read before that, a real-time one read 0 (under scx_bpfland,
# section 36), so the first policy read is not the answer.
cyc_policy() {
	_pol=
	_polls=0
	while [ "$_pol" != "$2" ] && [ "$_polls" -lt 200 ]; do
		sleep 0.01
		measuring_policy "$1"
		_polls=$((_polls + 1))
	done
}

# measuring_policy PID: _pol := the scheduling policy (field 41 of stat) of cyclictest's
# measuring thread (any thread but its first), empty until it exists. Shell builtins only: a
# process forked here would run beside the wakeups measured (awk and sort did, for 0.1–0.7 ms).
measuring_policy() {
	_pol=
	for _mt in /proc/"$1"/task/*; do
		[ "${_mt##*/}" = "$1" ] && continue
		read -r _mst <"$_mt/stat" 2>/dev/null || continue
		# shellcheck disable=SC2086
		field_41 $_mst
	done
}
field_41() {
	shift 40
	_pol=$1
}
