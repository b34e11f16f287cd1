# SPDX-License-Identifier: GPL-2.0-only
# VM case `signals` (sourced by vm-test.sh; helpers in lib.sh).

# Record labelled signal windows of one workload per class (the classifier's training data);
# the rows go back to the host (@@SIG) as target/vm/results/<run>/signal-windows.csv.
case_signals() {
	setup_disk || echo "@@INFO no block device: I/O phases write to tmpfs"
	rm -f /tmp/sig.csv
	start_sched /tmp/signals-sched.log --record-signals /tmp/sig.csv --classifier thresholds
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	_secs=${fs_phase_s:-20}
	_all="idle:idle cpu-bound:cpu io-heavy:io network-heavy:net faas-burst:fork faas-burst:faas interactive:interactive mixed:mixed idle:idle"
	# Twice: quiet, then with the background noise of the classify case's sampler.
	# shellcheck disable=SC2086
	run_phases /tmp/phases-quiet.txt "$_secs" $_all
	class_sampler /tmp/signals-sched.log >/dev/null &
	_sampler=$!
	# shellcheck disable=SC2086
	run_phases /tmp/phases-noisy.txt "$_secs" $_all
	kill "$_sampler"
	cat /tmp/phases-quiet.txt /tmp/phases-noisy.txt >/tmp/phases.txt
	stop_sched
	label_windows /tmp/sig.csv /tmp/phases.txt >/tmp/sig-labelled.csv
	sed 's/^/@@SIG /' /tmp/sig-labelled.csv
	_rows=$(grep -c ',[a-z-]*,[a-z-][a-z-]*$' /tmp/sig-labelled.csv)
	DETAIL="labelled_windows=$_rows exit_rc=$SCHED_RC"
	[ "$SCHED_RC" -eq 0 ] && [ "$_rows" -ge 20 ]
}
