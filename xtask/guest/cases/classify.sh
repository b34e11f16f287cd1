# SPDX-License-Identifier: GPL-2.0-only
# VM case `classify` (sourced by vm-test.sh; helpers in lib.sh).

# The class in force must follow an idle phase, a CPU hog phase, an I/O phase and a fork
# storm, with at most one switch per phase; then a hog in a boosted cgroup must get more CPU than one beside it.
case_classify() {
	setup_disk || echo "@@INFO no block device: the I/O phase writes to tmpfs"
	_secs=${fs_phase_s:-20}
	_ev0=$(evictions)
	start_sched /tmp/classify-sched.log --stats 1 --stats-format line
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	class_sampler /tmp/classify-sched.log >/tmp/classify-timeline.txt &
	_sampler=$!
	run_phases /tmp/phases.txt "$_secs" idle:idle cpu-bound:cpu io-heavy:io faas-burst:fork
	kill "$_sampler"
	_monitor=$(timeout 5 "$SCHED" --monitor 1 --stats-format line 2>&1 | grep -m 1 -o ' class=[a-z-]*')
	stop_sched
	# Timeline: one `uptime class` per stats line, then per phase the switches and last class.
	_tl=""
	_ok=0
	_failed=""
	while read -r _name _s _e; do
		_cls=$(awk -v s="$_s" -v e="$_e" '$1 >= s && $1 <= e { print $2 }' /tmp/classify-timeline.txt)
		_sw=$(echo "$_cls" | awk 'NR > 1 && $1 != prev { n++ } { prev = $1 } END { print n + 0 }')
		_last=$(echo "$_cls" | tail -n 1)
		_tl="$_tl $_name:[$(echo "$_cls" | uniq -c | awk '{ printf "%s%sx%s", sep, $2, $1; sep = "," }')]->$_last/sw=$_sw"
		[ "$_last" = "$_name" ] && [ "$_sw" -le 1 ] || { _ok=1; _failed="$_failed $_name"; }
	done </tmp/phases.txt
	# cgroup shares: 2 hogs in a boosted cgroup (x4), 2 in a plain one, on 2 CPUs.
	mkdir -p /sys/fs/cgroup/boosted /sys/fs/cgroup/plain
	start_sched /tmp/boost-sched.log --stats 1 --stats-format line --boost-cgroup /boosted:4
	wait_state enabled 30 || { DETAIL="never enabled (boost)"; return 1; }
	_u0b=$(cg_usage boosted)
	_u0p=$(cg_usage plain)
	sh -c 'echo $$ >/sys/fs/cgroup/boosted/cgroup.procs; exec stress-ng --cpu 2 --timeout 15s' >/dev/null 2>&1 &
	_hb=$!
	sh -c 'echo $$ >/sys/fs/cgroup/plain/cgroup.procs; exec stress-ng --cpu 2 --timeout 15s' >/dev/null 2>&1 &
	_hp=$!
	wait "$_hb" "$_hp"
	_ub=$(($(cg_usage boosted) - _u0b))
	_up=$(($(cg_usage plain) - _u0p))
	_boosted=$(grep '^stats:' /tmp/boost-sched.log | tail -n 1 | grep -o 'boosted=[0-9]*')
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	_ev=$(($(evictions) - _ev0))
	stop_sched
	_ratio=$(awk -v b="$_ub" -v p="$_up" 'BEGIN { printf "%.2f", (p > 0 ? b / p : 0) }')
	DETAIL="timeline:$_tl monitor:$_monitor boosted_cpu_ms=$((_ub / 1000)) plain_cpu_ms=$((_up / 1000)) share_ratio=$_ratio $_boosted attached=$_att evictions=$_ev disk=$DISK_DIR"
	[ "$_ok" -eq 0 ] && gt "$_ratio" 1.3 && [ "$_att" = yes ] && [ "$_ev" -eq 0 ] && [ -n "$_monitor" ] || {
		# Which signals the classifier saw, second by second, in the phases that failed.
		while read -r _name _s _e; do
			case " $_failed " in *" $_name "*) ;; *) continue ;; esac
			awk -v s="$_s" -v e="$_e" -v n="$_name" '$1 >= s && $1 <= e {
				o = "@@INFO signals in " n ": " $1 " " $2
				for (i = 3; i <= NF; i++) if ($i ~ /^(seen|busy|iowait|runnable|switches_s|sleeps_s|blk_s|pages_s|net_s|new_s)=/) o = o " " $i
				print o }' /tmp/classify-timeline.txt
		done </tmp/phases.txt
		return 1
	}
}
