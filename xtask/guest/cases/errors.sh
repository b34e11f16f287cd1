# SPDX-License-Identifier: GPL-2.0-only
# VM case `errors` (sourced by vm-test.sh; helpers in lib.sh).

case_errors() {
	# A record file of another format: refused before attaching, named, left untouched.
	printf 'x,y\n1,2\n' >/tmp/foreign.csv
	"$SCHED" --record /tmp/foreign.csv >/tmp/foreign.log 2>&1
	_rcr=$?
	"$SCHED" --record-signals /tmp/foreign.csv >>/tmp/foreign.log 2>&1
	_rcr=$((_rcr * 10 + $?))
	_untouched=no
	[ "$(cat /tmp/foreign.csv)" = "$(printf 'x,y\n1,2')" ] && ! ours_attached && _untouched=yes
	start_sched /tmp/first.log
	wait_state enabled 30 || { DETAIL="never enabled"; return 1; }
	"$SCHED" >/tmp/second.log 2>&1
	_rc2=$?
	"$SCHED" --bogus >/tmp/badflag.log 2>&1
	_rcb=$?
	"$SCHED" --slice-us 100 --slice-us-min 500 >/tmp/badslice.log 2>&1
	_rcs=$?
	su -s /bin/sh nobody -c "$SCHED" >/tmp/nonroot.log 2>&1
	_rcn=$?
	_att=no
	ours_attached && alive "$SCHED_PID" && _att=yes
	stop_sched
	_ok=0
	grep -q 'already attached' /tmp/second.log || _ok=1
	grep -q "unexpected argument '--bogus'" /tmp/badflag.log || _ok=1
	grep -q 'larger than --slice-us' /tmp/badslice.log || _ok=1
	grep -q 'must run as root' /tmp/nonroot.log || _ok=1
	[ "$(grep -c '/tmp/foreign.csv:1: exists and does not start with the header' /tmp/foreign.log)" -eq 2 ] || _ok=1
	DETAIL="second_rc=$_rc2 badflag_rc=$_rcb badslice_rc=$_rcs nonroot_rc=$_rcn foreign_record_rc=$_rcr foreign_untouched=$_untouched first_still_attached=$_att messages_ok=$([ $_ok -eq 0 ] && echo yes || echo no)"
	[ "$_ok" -eq 0 ] && [ "$_rcr" -eq 11 ] && [ "$_untouched" = yes ] && [ "$_rc2" -ne 0 ] && [ "$_rcb" -eq 2 ] && [ "$_rcs" -ne 0 ] && [ "$_rcn" -ne 0 ] && [ "$_att" = yes ] && [ "$SCHED_RC" -eq 0 ]
}
