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

# Kernel log lines that mean the scheduler was thrown out (watchdog, errors).
evictions() { dmesg | grep -ciE 'runnable task stall|watchdog failed|scheduler.*(error|stall)'; }
