#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# The guest's /init: mount the pseudo filesystems, run the script named by fs_script= on the
# kernel command line (the kernel passes unknown key=value words to init as environment),
# print the kernel log for the host, power off.
/bin/busybox --install -s /bin
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# Keep the tracepoints our BPF programs use enabled (not recording): attaching them then
# flips no static key. Under multi-threaded TCG, kernel text patching while another
# vCPU runs that text occasionally dies of an int3 Oops; this leaves sched_ext's own patching.
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo 0 >/sys/kernel/tracing/tracing_on 2>/dev/null
for _ev in sched/sched_process_exit sched/sched_switch sched/sched_process_fork \
	sched/sched_process_exec block/block_rq_issue kmem/mm_page_alloc net/net_dev_queue; do
	echo 1 >/sys/kernel/tracing/events/$_ev/enable 2>/dev/null
done
# Loopback up: the network workloads talk over it.
ip link set lo up 2>/dev/null
# The scheduler locks its memory: lift the limit as a root shell would have it.
ulimit -l unlimited 2>/dev/null
echo "@@BOOTED $(cut -d' ' -f1 /proc/uptime)"
cd /tmp
sh /guest/"${fs_script:-demo.sh}"
echo "@@GUEST-DONE rc=$?"
dmesg | sed 's/^/@@KMSG /'
sync
poweroff -f
