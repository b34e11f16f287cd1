# SPDX-License-Identifier: GPL-2.0-only
# VM case `attach` (sourced by vm-test.sh; helpers in lib.sh).

case_attach() {
	_t0=$(now)
	start_sched /tmp/attach.log
	wait_state enabled 30 || { DETAIL="never enabled (state=$(se_state)): $(tail -n 3 /tmp/attach.log | tr '\n' ' ')"; return 1; }
	_attach=$(since "$_t0")
	_ops=$(se_ops)
	DETAIL="attach_s=$_attach ops=$_ops"
	echo "$_ops" | grep -q '^scx_foresight' || return 1
	dmesg | grep -q 'sched_ext: BPF scheduler "scx_foresight.*" enabled' || { DETAIL="$DETAIL no-enable-msg"; return 1; }
	stop_sched
}
