# SPDX-License-Identifier: GPL-2.0-only
# VM case `sigint` (sourced by vm-test.sh; helpers in lib.sh).

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
