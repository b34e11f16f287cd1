# SPDX-License-Identifier: GPL-2.0-only
# VM case `hot-reload` (sourced by vm-test.sh; helpers in lib.sh).

# Replace the model file twice while scheduling a FaaS-like load: a valid one (applied, its
# hash in the stats), then a corrupt one (rejected with the file named, previous kept).
case_hot_reload() {
	mkdir -p /tmp/hr
	cp /models/default.json /tmp/hr/models.json
	_h0=$("$SCHED" model show /tmp/hr/models.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	start_sched /tmp/hr.log --stats 0.5 --stats-format line --models /tmp/hr/models.json
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	( while :; do "$FS_BIN/foresight_loadgen" series --arg 20 --count 5 --gap-ms 10 >/dev/null 2>&1; done ) &
	_load=$!
	sleep 2
	# A valid, different file: the model trained in the record case, else a re-stamped copy.
	if [ -s /tmp/rec-model.json ]; then cp /tmp/rec-model.json /tmp/hr/next.json; else sed 's/"created_unix": [0-9]*/"created_unix": 1/' /models/default.json >/tmp/hr/next.json; fi
	_h1=$("$SCHED" model show /tmp/hr/next.json | sed -n 's/.*(hash \([0-9a-f]*\)).*/\1/p')
	_t0=$(now)
	cp /tmp/hr/next.json /tmp/hr/models.json.new && mv /tmp/hr/models.json.new /tmp/hr/models.json
	while ! grep -q 'models reloaded' /tmp/hr.log; do gt "$(since "$_t0")" 5 && break; sleep 0.05; done
	_seen=$(since "$_t0")
	# The latency the scheduler measured (file mtime → applied); _seen adds this loop's own forks.
	_lat=$(grep -m1 'models reloaded' /tmp/hr.log | sed -n 's/.*applied \([0-9.]*\) s after.*/\1/p')
	_t4=$(now)
	while ! grep '^stats:' /tmp/hr.log | tail -n 1 | grep -q "model_file=$_h1"; do gt "$(since "$_t4")" 5 && break; sleep 0.1; done
	_stats1=$(grep '^stats:' /tmp/hr.log | tail -n 1)
	# SIGHUP (to the supervisor, forwarded to the worker) reloads the same file once more.
	kill -HUP "$SCHED_PID"
	_t2=$(now)
	while [ "$(grep -c 'models reloaded' /tmp/hr.log)" -lt 2 ]; do gt "$(since "$_t2")" 5 && break; sleep 0.05; done
	_hup=$(grep -c 'models reloaded' /tmp/hr.log)
	_t1=$(now)
	echo '{ "format": "scx_foresight-models", "schema_version": ' >/tmp/hr/models.json
	while ! grep -q 'model reload rejected' /tmp/hr.log; do gt "$(since "$_t1")" 5 && break; sleep 0.05; done
	# The stats lines (every 0.5 s) must come to show the rejection, the hash kept.
	_t3=$(now)
	while ! grep '^stats:' /tmp/hr.log | tail -n 1 | grep -q 'rejected_reloads=1'; do gt "$(since "$_t3")" 5 && break; sleep 0.1; done
	_lag=$(since "$_t3")
	_stats2=$(grep '^stats:' /tmp/hr.log | tail -n 1)
	_why=$(grep -m1 'model reload rejected' /tmp/hr.log | sed 's/.*rejected, //')
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	kill "$_load" 2>/dev/null
	wait "$_load" 2>/dev/null
	stop_sched
	_f1=$(echo "$_stats1" | grep -o 'model_file=[0-9a-f]*' | cut -d= -f2)
	_f2=$(echo "$_stats2" | grep -o 'model_file=[0-9a-f]*' | cut -d= -f2)
	_r2=$(echo "$_stats2" | grep -o 'reloads=[0-9]* rejected_reloads=[0-9]*')
	DETAIL="initial=$_h0 valid=$_h1 stats_after_valid=$_f1 reload_latency_s=$_lat seen_by_watcher_s=$_seen reloads_after_sighup=$_hup stats_after_corrupt=$_f2 $_r2 stats_showed_it_after_s=$_lag attached=$_att message='$_why'"
	[ "$_att" = yes ] && [ "$_f1" = "$_h1" ] && [ "$_f2" = "$_h1" ] && [ "$_h0" != "$_h1" ] && [ "$_hup" -ge 2 ] \
		&& echo "$_r2" | grep -q 'reloads=2 rejected_reloads=1' && echo "$_why" | grep -q '/tmp/hr/models.json' \
		&& [ -n "$_lat" ] && gt 1 "$_lat" && gt 5 "$_seen"
}
