# SPDX-License-Identifier: GPL-2.0-only
# The demo: attach scx_foresight, run a short mixed workload (CPU hogs, forks, disk I/O and a
# stream of short function invocations), print its statistics and the kernel's messages.
. "${FS_GUEST:-/guest}/lib.sh"
DUR=${fs_duration:-10}
cd /tmp 2>/dev/null || true

echo "== sched_ext state before: $(se_state)"
_t0=$(now)
"$SCHED" --stats 2 &
_pid=$!
wait_state enabled 30 || { echo "scx_foresight did not attach"; exit 1; }
echo "== attached in $(since "$_t0") s: $(se_ops) (state $(se_state))"

echo "== workload: stress-ng --cpu 2 --fork 1 --hdd 1 for ${DUR}s + short invocations of foresight_payload"
stress-ng --cpu 2 --fork 1 --hdd 1 --hdd-bytes 8M --timeout "${DUR}s" --metrics-brief 2>&1 | sed 's/^/   stress-ng: /' &
_sp=$!
_n=0
_end=$(($(date +%s) + DUR))
while [ "$(date +%s)" -lt "$_end" ]; do
	"$PAYLOAD" 20 >/dev/null
	_n=$((_n + 1))
done
wait "$_sp"
echo "== $_n short invocations completed"

kill -INT "$_pid"
wait "$_pid"
_rc=$?
echo "== scx_foresight exited with $_rc; sched_ext state after: $(se_state)"
echo "== kernel messages:"
dmesg | grep -i 'sched_ext' | sed 's/^/   kernel: /'
[ "$_rc" -eq 0 ] && [ "$(se_state)" = disabled ] && echo "@@DEMO-OK"
