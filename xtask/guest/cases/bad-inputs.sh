# SPDX-License-Identifier: GPL-2.0-only
# VM case `bad-inputs` (sourced by vm-test.sh; helpers in lib.sh).

case_bad_inputs() {
	cp /models/modes.json /tmp/bi-modes.json
	cp /models/classifier.json /tmp/bi-cls.json
	start_sched /tmp/bi.log --stats 0.5 --stats-format line --config /tmp/bi-modes.json --classifier /tmp/bi-cls.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	sleep 1
	_bad=""
	echo '{ "format": "scx_foresight-modes", "schema_version": 1, "window_ms": 5' >/tmp/bi-modes.json
	_t0=$(now)
	while ! grep -q 'config reload rejected' /tmp/bi.log; do gt "$(since "$_t0")" 5 && break; sleep 0.1; done
	grep -q 'config reload rejected.*bi-modes.json' /tmp/bi.log || _bad="$_bad config"
	cp /models/modes.json /tmp/bi-modes.json
	sleep 1
	sed 's/"scale"/"scales"/' /models/classifier.json >/tmp/bi-cls.json
	_t0=$(now)
	while [ "$(grep -c 'config reload rejected' /tmp/bi.log)" -lt 2 ]; do gt "$(since "$_t0")" 5 && break; sleep 0.1; done
	grep -q 'config reload rejected.*bi-cls.json' /tmp/bi.log || _bad="$_bad classifier"
	printf 'arrival_us,function,args,cpu_us\n0,f,1,12\n5,f,2,abc\n' >/tmp/bad-trace.csv
	"$SCHED" simulate --trace /tmp/bad-trace.csv >/tmp/bi-o.txt 2>&1 && _bad="$_bad sim-rc"
	grep -q 'bad-trace.csv:3' /tmp/bi-o.txt || _bad="$_bad simulate"
	"$FS_BIN/foresight_loadgen" replay --trace /tmp/bad-trace.csv --calibration /tmp/bad-trace.csv >/tmp/bi-o.txt 2>&1 && _bad="$_bad replay-rc"
	grep -q 'bad-trace.csv:1' /tmp/bi-o.txt || _bad="$_bad replay"
	echo '{"format": "scx_foresight-models", "schema_version": 1' >/tmp/bad-model.json
	"$SCHED" model show /tmp/bad-model.json >/tmp/bi-o.txt 2>&1 && _bad="$_bad model-rc"
	grep -q 'bad-model.json' /tmp/bi-o.txt || _bad="$_bad model"
	"$SCHED" train --windows /tmp/bad-trace.csv --out /tmp/never.json >/tmp/bi-o.txt 2>&1 && _bad="$_bad train-rc"
	grep -q 'bad-trace.csv:1' /tmp/bi-o.txt || _bad="$_bad train"
	[ -e /tmp/never.json ] && _bad="$_bad train-wrote"
	for _f in "--slice-us 99999999999:exceeds" "--stats 0:between" "--boost-cgroup /:root" "--boost-cgroup /x:1e9:outside" "--monitor nan:between"; do
		# shellcheck disable=SC2086
		"$SCHED" ${_f%:*} >/tmp/bi-o.txt 2>&1 && _bad="$_bad flag-rc(${_f%:*})"
		grep -q "${_f##*:}" /tmp/bi-o.txt || _bad="$_bad flag(${_f%:*})"
	done
	_n1=$(grep -c '^stats:' /tmp/bi.log)
	sleep 1.5
	_n2=$(grep -c '^stats:' /tmp/bi.log)
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_rej=$(stat_of /tmp/bi.log config_rejected)
	stop_sched
	DETAIL="unmet:[${_bad# }] config_rejected=$_rej stats_lines_still_growing=$_n1->$_n2 attached=$_att rc=$SCHED_RC"
	[ -z "$_bad" ] && [ "$_att" = yes ] && [ "$_n2" -gt "$_n1" ] && [ "$_rej" -ge 2 ] && [ "$SCHED_RC" -eq 0 ]
}
