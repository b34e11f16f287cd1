# SPDX-License-Identifier: GPL-2.0-only
# VM case `lock-holder` (sourced by vm-test.sh; helpers in lib.sh).

# A task preempted inside a kernel lock and then decided as a long task waits in our queues,
# and every task that needs the lock sleeps behind it (BENCHMARKS.md section 21). The
# dispatcher runs such a holder first when a waiter names it (bpf/holders.bpf.h). Here writers
# overwrite one file on tmpfs (each write takes the inode's rwsem for writing) beside two CPU
# hogs: the dispatcher must have found holders in its queues and run them first, with no
# eviction; the writers, woken from their uninterruptible sleeps on the rwsem, must have been
# flagged to user space and decided due at once (d_wakeups, build.rs's
# flag_uninterruptible_wakeups); the dispatcher must have seen
# the writers go to sleep in state D (d_sleeps) and run first a writer preempted inside the
# kernel (kpreempted_run: the 8 MiB copies are kernel time); the counters are printed.
LOCK_HOLDER_S=15
LOCK_HOLDER_WRITERS=4

case_lock_holder() {
	_ev0=$(evictions)
	start_sched /tmp/lock-holder.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	stress-ng --cpu 2 --timeout "${LOCK_HOLDER_S}s" >/dev/null 2>&1 &
	_hogs=$!
	_end=$(awk -v t="$(now)" -v s="$LOCK_HOLDER_S" 'BEGIN { print t + s }')
	_writers=""
	for _w in $(seq "$LOCK_HOLDER_WRITERS"); do
		(
			while ! gt "$(now)" "$_end"; do
				dd if=/dev/zero of=/tmp/lock-holder.dat bs=8M count=1 conv=notrunc 2>/dev/null
			done
		) &
		_writers="$_writers $!"
	done
	# shellcheck disable=SC2086
	wait $_writers
	end_hogs "$_hogs"
	rm -f /tmp/lock-holder.dat
	wait_stats_lines /tmp/lock-holder.log 2 10
	_waits=$(stat_of /tmp/lock-holder.log lock_waits)
	_queued=$(stat_of /tmp/lock-holder.log holders_queued)
	_run=$(stat_of /tmp/lock-holder.log holders_run)
	_dw=$(stat_of /tmp/lock-holder.log d_wakeups)
	_ds=$(stat_of /tmp/lock-holder.log d_sleeps)
	_kp=$(stat_of /tmp/lock-holder.log kpreempted_run)
	_ev=$(($(evictions) - _ev0))
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	DETAIL="lock_waits=${_waits:-none} holders_queued=${_queued:-none} holders_run=${_run:-none} d_wakeups=${_dw:-none} d_sleeps=${_ds:-none} kpreempted_run=${_kp:-none} evictions=$_ev attached=$_att"
	[ "${_run:-0}" -gt 0 ] && [ "${_dw:-0}" -gt 0 ] && [ "${_ds:-0}" -gt 0 ] && [ "${_kp:-0}" -gt 0 ] &&
		[ "$_ev" -eq 0 ] && [ "$_att" = yes ]
}
