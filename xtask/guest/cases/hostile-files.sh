# SPDX-License-Identifier: GPL-2.0-only
# VM case `hostile-files` (sourced by vm-test.sh; helpers in lib.sh).

# Corrupt trace, model, classifier and config files and absurd flags: each refused with the
# file (and line) or value named; the running scheduler keeps scheduling with what it had.
# Model and config files replaced by hostile ones while attached: a write caught half way, a
# corrupt file renamed over, a symlink to /dev/zero, a 1 GiB file, a model directory of 10,000
# files. Each one rejected naming it, the worker's memory bounded, the models in use kept.
case_hostile_files() {
	rm -rf /tmp/hf && mkdir -p /tmp/hf/models
	cp /models/default.json /tmp/hf/models/default.json
	cp /models/modes.json /tmp/hf/modes.json
	_h0=$("$SCHED" model show /tmp/hf/models/default.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	start_sched /tmp/hf.log --stats 0.5 --stats-format line --models /tmp/hf/models --config /tmp/hf/modes.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	( while :; do "$FS_BIN/foresight_loadgen" series --arg 20 --count 5 --gap-ms 10 >/dev/null 2>&1; done ) &
	_hload=$!
	sleep 1
	_hw=$(worker_pid)
	_rss0=$(awk '/^VmRSS/ { print $2 }' /proc/"$_hw"/status)
	_hbad=""
	# hostile_mark KIND: remember how many KIND (model|config) rejections there were before
	# a hostile change; hostile_wait NAME EXPECTED KIND: one after it must name the file and
	# say EXPECTED (a change caught in several states may be rejected more than once).
	hostile_mark() { _hb=$(grep -c "$1 reload rejected" /tmp/hf.log); }
	hostile_wait() {
		_ht=$(now)
		until grep "$3 reload rejected" /tmp/hf.log | tail -n +"$((_hb + 1))" | grep -q "$2"; do
			gt "$(since "$_ht")" 10 && { _hbad="$_hbad $1"; break; }
			sleep 0.1
		done
	}
	# 1. A write caught half way (then completed: applied again).
	hostile_mark model
	head -c 9000 /models/default.json >/tmp/hf/models/default.json
	hostile_wait partial-write 'default.json: not a valid model file' model
	cat /models/default.json >/tmp/hf/models/default.json
	_ht=$(now)
	while ! grep -q 'models reloaded' /tmp/hf.log; do gt "$(since "$_ht")" 10 && break; sleep 0.1; done
	# 2. A corrupt file renamed over the good one (then the good one back).
	hostile_mark model
	echo '{ "format": "scx_foresight-models" ' >/tmp/hf/junk && mv /tmp/hf/junk /tmp/hf/models/default.json
	hostile_wait rename-over 'default.json: not a valid model file' model
	cp /models/default.json /tmp/hf/models/default.json
	sleep 0.5
	# 3. A symlink to /dev/zero beside it.
	hostile_mark model
	ln -s /dev/zero /tmp/hf/models/zero.json
	hostile_wait dev-zero 'zero.json: not a regular file (a character device)' model
	rm /tmp/hf/models/zero.json
	# 4. A 1 GiB file (sparse).
	hostile_mark model
	truncate -s 1073741824 /tmp/hf/models/big.json
	hostile_wait 1GiB 'big.json: larger than 16777216 bytes' model
	rm /tmp/hf/models/big.json
	# 5. 10,000 files in the model directory (not *.json: ignored until there are too many).
	hostile_mark model
	_hi=0
	while [ "$_hi" -lt 10000 ]; do : >/tmp/hf/models/"$_hi".x; _hi=$((_hi + 1)); done
	hostile_wait 10k-files 'models: more than 1024 entries' model
	rm -f /tmp/hf/models/*.x
	# 6. The modes config: a symlink to /dev/zero, then 1 GiB.
	hostile_mark config
	ln -sf /dev/zero /tmp/hf/modes.json
	hostile_wait config-dev-zero 'modes.json: not a regular file (a character device)' config
	hostile_mark config
	rm /tmp/hf/modes.json && truncate -s 1073741824 /tmp/hf/modes.json
	hostile_wait config-1GiB 'modes.json: larger than 16777216 bytes' config
	rm /tmp/hf/modes.json && cp /models/modes.json /tmp/hf/modes.json
	sleep 1.5
	_rss1=$(awk '/^VmRSS/ { print $2 }' /proc/"$_hw"/status)
	_hf=$(stat_of /tmp/hf.log model_file)
	_hatt=no
	ours_attached && alive "$SCHED_PID" && _hatt=yes
	kill "$_hload" 2>/dev/null
	wait "$_hload" 2>/dev/null
	stop_sched
	_hrej=$(grep -c 'reload rejected' /tmp/hf.log)
	DETAIL="unmet:[${_hbad# }] rejected=$_hrej model_file=$_hf expected=$_h0 rss_kb=$_rss0->$_rss1 attached=$_hatt rc=$SCHED_RC"
	[ -z "$_hbad" ] && [ "$_hf" = "$_h0" ] && [ -n "$_rss1" ] && [ "$((_rss1 - _rss0))" -lt 16384 ] && [ "$_hatt" = yes ] && [ "$SCHED_RC" -eq 0 ]
}
