// SPDX-License-Identifier: GPL-2.0-only
//
//! Start the live scheduler's helper threads (learner, /proc worker, adapt, stats, reload,
//! recorder) outside sched_ext, in the kernel's deadline class with a small CPU budget.
//!
//! Why: every thread of the worker shares one allocator, scx_rustland_core's buddy heap behind
//! one mutex. A helper that sched_ext preempts while it holds that mutex is queued to OUR
//! loop; the loop's next allocation then waits on the mutex, nobody dispatches the helper, and
//! the kernel evicts us ("watchdog failed to check in", CPUs idle, the helper queued with
//! slice=0: measured in the VM with a helper that allocates in a loop). In SCHED_DEADLINE
//! the kernel runs a helper without asking the loop, so whatever lock it holds is released
//! on its own; the budget keeps a helper (a model refit) from taking more than its share.
//!
//! Helpers stay in the deadline class until the process exits: switching them back to the
//! normal class before exit (to speed up the teardown) leaked their reserved bandwidth in the
//! guest kernel (the root domain's `total_bw` grew by 20-50 % of a CPU per run, until the
//! kernel refused new deadline helpers, CPU hotplug and even sched_ext's own enable with
//! EBUSY). Their bandwidth is returned when they die. At exit they die first, one signal each
//! ([`exit_process`]): the last thread of a process unmaps its memory, and a helper doing that
//! at its budget made a stop take up to 85 s.

use std::io;
use std::thread::JoinHandle;

use log::warn;

/// A helper's CPU reservation: at most `runtime_ns` of CPU in each `period_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuBudget {
    pub runtime_ns: u64,
    pub period_ns: u64,
}

impl CpuBudget {
    /// A share of one CPU (runtime over period), for messages.
    pub fn share_pct(&self) -> f64 {
        100.0 * self.runtime_ns as f64 / self.period_ns as f64
    }
}

// Periods are short on purpose: a helper throttled while it holds the allocator's mutex makes
// the loop wait for its next period, so period - runtime bounds that wait (≤ 4.75 ms).
/// Model refits are CPU-heavy but may take longer: 20 % of a CPU.
pub const LEARNER_BUDGET: CpuBudget = CpuBudget {
    runtime_ns: 1_000_000,
    period_ns: 5_000_000,
};
/// /proc reads come in bursts with process churn: 20 % of a CPU.
pub const PROC_BUDGET: CpuBudget = CpuBudget {
    runtime_ns: 1_000_000,
    period_ns: 5_000_000,
};
/// Model files are parsed and validated whole when they change: 20 % of a CPU. At 5 %, a
/// 27 KB model file took 0.76-1.30 s from write to use in the VM (wall-clock TCG).
pub const RELOAD_BUDGET: CpuBudget = CpuBudget {
    runtime_ns: 1_000_000,
    period_ns: 5_000_000,
};
/// Window classification, stats lines, recording: light, 5 % of a CPU each.
pub const LIGHT_BUDGET: CpuBudget = CpuBudget {
    runtime_ns: 250_000,
    period_ns: 5_000_000,
};

/// Linux's SCHED_DEADLINE policy and the flag that gives a child the normal policy back.
const SCHED_DEADLINE: u32 = 6;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// `struct sched_attr` of sched_setattr(2), first version (48 bytes).
#[repr(C)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

/// Put the calling thread in SCHED_DEADLINE with `budget` (deadline = period).
pub fn enter_deadline_class(budget: CpuBudget) -> io::Result<()> {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: SCHED_DEADLINE,
        sched_flags: SCHED_FLAG_RESET_ON_FORK,
        sched_nice: 0,
        sched_priority: 0,
        sched_runtime: budget.runtime_ns,
        sched_deadline: budget.period_ns,
        sched_period: budget.period_ns,
    };
    // SAFETY: sched_setattr(0 = this thread, a valid sched_attr of the size it declares, 0).
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0u32) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The signal that ends one helper thread where it stands, at exit (see [`exit_process`]).
const SIG_END_THREAD: libc::c_int = libc::SIGUSR2;
/// How long the exiting process waits for its helper threads to end before it exits anyway.
const HELPERS_END_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const HELPERS_END_POLL_US: libc::c_uint = 5_000;

/// SIG_END_THREAD's handler: end the calling thread only (exit(2), not exit_group(2)).
extern "C" fn end_this_thread(_: libc::c_int) {
    // SAFETY: exit(2) ends the calling thread and touches no state of this process.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
}

/// Exit the process with `code`, the calling thread last. The last thread of a process to go
/// unmaps its memory (the core's 64 MiB locked heap among it): that was a helper at its
/// deadline budget — measured in the VM beside 2 CPU hogs, a stop took up to 85 s with the
/// `adapt` thread in `exit_mmap` 3 s after SIGINT. So each helper first ends at once where it
/// stands (nothing of theirs is needed any more; each returns its bandwidth as it dies) and this
/// thread unmaps at its own priority. Nothing here allocates after the signals: a helper may
/// have died holding the allocator's lock.
pub fn exit_process(code: i32) -> ! {
    log::logger().flush();
    let _ = io::Write::flush(&mut io::stdout());
    // SAFETY: getpid/gettid have no preconditions.
    let (pid, me) = unsafe { (libc::getpid(), libc::gettid()) };
    let others: Vec<libc::pid_t> = std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|tid| *tid != me)
                .collect()
        })
        .unwrap_or_default();
    // SAFETY: the handler only makes a raw syscall; tgkill targets threads of this process.
    unsafe {
        let handler: extern "C" fn(libc::c_int) = end_this_thread;
        libc::signal(SIG_END_THREAD, handler as libc::sighandler_t);
        for &tid in &others {
            libc::syscall(libc::SYS_tgkill, pid, tid, SIG_END_THREAD);
        }
    }
    let start = std::time::Instant::now();
    // SAFETY: signal 0 only checks whether the thread still exists.
    let alive = |tid: libc::pid_t| unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) } == 0;
    while others.iter().any(|&tid| alive(tid)) && start.elapsed() < HELPERS_END_WAIT {
        // SAFETY: usleep has no preconditions.
        unsafe { libc::usleep(HELPERS_END_POLL_US) };
    }
    // SAFETY: _exit ends the process without running anything that could take a lock.
    unsafe { libc::_exit(code) }
}

/// Whether the calling thread runs in SCHED_DEADLINE now.
pub fn in_deadline_class() -> bool {
    // SAFETY: sched_getscheduler(0) reads this thread's policy.
    unsafe { libc::sched_getscheduler(0) == SCHED_DEADLINE as i32 }
}

/// Set the calling thread's nice value (threads created later inherit it).
pub fn set_own_nice(nice: i32) -> io::Result<()> {
    // SAFETY: setpriority(2) on the calling thread (who = 0); no memory is passed.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Spawn a named helper that first leaves sched_ext for the deadline class. If the kernel
/// refuses (not root, no bandwidth left), the helper still runs, under sched_ext, and the
/// reason is logged: scheduling goes on, with the stall risk described above.
pub fn spawn<T, F>(name: &str, budget: CpuBudget, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_after_setup(name, budget, || (), |()| f())
}

/// Like [`spawn`], but `setup` runs first, in the class the thread was born in: for one-off
/// work before attaching that the budget would slow down. Measured in the VM: loading and
/// attaching the exec tracer inside the /proc worker's 20 % budget took 5 s of the 6-7 s a
/// restart took.
pub fn spawn_after_setup<S, T, Setup, F>(
    name: &str,
    budget: CpuBudget,
    setup: Setup,
    f: F,
) -> io::Result<JoinHandle<T>>
where
    Setup: FnOnce() -> S + Send + 'static,
    F: FnOnce(S) -> T + Send + 'static,
    T: Send + 'static,
{
    let label = name.to_string();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let ready = setup();
            if let Err(err) = enter_deadline_class(budget) {
                warn!(
                    "helper thread `{label}` stays under sched_ext (SCHED_DEADLINE {:.0} % refused: {err})",
                    budget.share_pct()
                );
                // Not the worker's raised priority (see set_own_nice): an ordinary task.
                let _ = set_own_nice(0);
            }
            f(ready)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_attr_has_the_kernels_first_size() {
        assert_eq!(std::mem::size_of::<SchedAttr>(), 48);
    }

    #[test]
    fn budgets_leave_room_on_one_cpu() {
        // Admission control refuses more than 95 % of a CPU (also when a CPU goes offline and
        // one is left): all helpers together (adapt, stats, recorder: three light ones) plus
        // the kernel's own deadline servers (10 % of a CPU measured on 2 CPUs) stay below.
        let total = LEARNER_BUDGET.share_pct()
            + PROC_BUDGET.share_pct()
            + RELOAD_BUDGET.share_pct()
            + 3.0 * LIGHT_BUDGET.share_pct();
        assert!(total <= 75.0 + 1e-9, "{total}");
    }

    #[test]
    fn a_helper_runs_its_work_even_when_the_class_is_refused_or_granted() {
        let h = spawn("test-helper", LIGHT_BUDGET, || {
            (in_deadline_class(), 41 + 1)
        })
        .unwrap();
        let (deadline, v) = h.join().unwrap();
        assert_eq!(v, 42);
        // As root the kernel grants the class; otherwise the thread stays where it was.
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            assert!(!deadline);
        }
    }
}
