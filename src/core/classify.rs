// SPDX-License-Identifier: GPL-2.0-only
//! What kind of work the machine is doing, window by window.
//!
//! Each window (1 s by default) brings the BPF event counts (switches, block requests, page
//! allocations, packets, new tasks) and what /proc/stat gives cheaply (busy and I/O-wait
//! time, runnable tasks). They become [`Signals`] (rates), then a [`SystemClass`]: from the
//! fitted classifier when one is loaded ([`crate::core::classmodel`]), else from fixed thresholds.
//! [`Hysteresis`] turns the per-window verdicts into the class in force: a new class must
//! hold for a dwell of several windows before the mode changes, so a load sitting on a
//! boundary does not flap.
//!
//! Everything here is plain computation, unit-tested without a kernel.

use std::fmt;
use std::str::FromStr;

/// The system classes, in a fixed order (their index is used in arrays and model files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SystemClass {
    /// Almost nothing runs.
    Idle,
    /// CPU-bound jobs keep every CPU busy.
    CpuBound,
    /// Many short wakeups (latency-sensitive work), CPUs far from saturated.
    Interactive,
    /// Block I/O dominates.
    IoHeavy,
    /// Network traffic dominates.
    NetworkHeavy,
    /// Many short new tasks (function invocations) arrive.
    FaasBurst,
    /// Several of the above at once, or none clearly.
    #[default]
    Mixed,
}

pub const NR_CLASSES: usize = 7;

impl SystemClass {
    pub const ALL: [SystemClass; NR_CLASSES] = [
        SystemClass::Idle,
        SystemClass::CpuBound,
        SystemClass::Interactive,
        SystemClass::IoHeavy,
        SystemClass::NetworkHeavy,
        SystemClass::FaasBurst,
        SystemClass::Mixed,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            SystemClass::Idle => "idle",
            SystemClass::CpuBound => "cpu-bound",
            SystemClass::Interactive => "interactive",
            SystemClass::IoHeavy => "io-heavy",
            SystemClass::NetworkHeavy => "network-heavy",
            SystemClass::FaasBurst => "faas-burst",
            SystemClass::Mixed => "mixed",
        }
    }
}

impl fmt::Display for SystemClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SystemClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.name()).collect();
                format!("unknown class `{s}` (expected one of {})", names.join(", "))
            })
    }
}

/// BPF event counts over one window, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub switches: u64,
    /// Switches where the previous task blocked (voluntary).
    pub sleeps: u64,
    pub block_rqs: u64,
    pub page_allocs: u64,
    pub net_packets: u64,
    pub forks: u64,
    pub execs: u64,
}

/// The cumulative counters of /proc/stat that the classifier reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcStat {
    /// All CPUs' time in clock ticks: not idle nor waiting for I/O, waiting for I/O, total.
    pub busy_ticks: u64,
    pub iowait_ticks: u64,
    pub total_ticks: u64,
    /// Tasks runnable now, and blocked on I/O now.
    pub procs_running: u64,
    pub procs_blocked: u64,
}

impl ProcStat {
    /// Parse the text of /proc/stat (the aggregate `cpu` line and `procs_*`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut st = ProcStat::default();
        let mut seen_cpu = false;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("cpu") => {
                    // user nice system idle iowait irq softirq steal (guest is inside user).
                    let v: Vec<u64> = words.take(8).filter_map(|w| w.parse().ok()).collect();
                    if v.len() < 5 {
                        return None;
                    }
                    let total: u64 = v.iter().sum();
                    st.iowait_ticks = v[4];
                    st.busy_ticks = total - v[3] - v[4];
                    st.total_ticks = total;
                    seen_cpu = true;
                }
                Some("procs_running") => st.procs_running = words.next()?.parse().ok()?,
                Some("procs_blocked") => st.procs_blocked = words.next()?.parse().ok()?,
                _ => {}
            }
        }
        seen_cpu.then_some(st)
    }
}

/// One window's signals, as rates (the classifier's input; also the recorded CSV columns).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// Share of CPU time busy, and waiting for I/O (0..=1).
    pub busy: f64,
    pub iowait: f64,
    /// Runnable tasks per CPU at the window's end (the scheduler's own thread included).
    pub runnable_per_cpu: f64,
    /// All context switches, and the voluntary ones (the task blocked). The classifier reads
    /// only the voluntary ones: preemptions follow the slices of the mode in force, which
    /// would feed the mode back into its own choice.
    pub switches_per_cpu_s: f64,
    pub sleeps_per_cpu_s: f64,
    pub block_rqs_per_s: f64,
    pub page_allocs_per_cpu_s: f64,
    pub net_packets_per_s: f64,
    /// New tasks (forks, threads included) per second.
    pub new_tasks_per_s: f64,
}

/// The classifier's input features.
pub const NR_SIGNALS: usize = 8;
/// Columns of a signals CSV (the features' sources plus all switches).
pub const NR_SIGNAL_COLUMNS: usize = 9;
/// The classifier's input features, in order (model files name them).
pub const SIGNAL_FEATURE_NAMES: [&str; NR_SIGNALS] = [
    "busy",
    "iowait",
    "runnable_per_cpu",
    "ln1p_sleeps_per_cpu_s",
    "ln1p_block_rqs_per_s",
    "ln1p_page_allocs_per_cpu_s",
    "ln1p_net_packets_per_s",
    "ln1p_new_tasks_per_s",
];
/// The rate columns of a signals CSV, in the order of [`Signals::rates`].
pub const SIGNAL_COLUMNS: [&str; NR_SIGNAL_COLUMNS] = [
    "busy",
    "iowait",
    "runnable_per_cpu",
    "switches_per_cpu_s",
    "sleeps_per_cpu_s",
    "block_rqs_per_s",
    "page_allocs_per_cpu_s",
    "net_packets_per_s",
    "new_tasks_per_s",
];

impl Signals {
    /// Rates from one window: its BPF counts, /proc/stat at its start and end, its length.
    pub fn from_window(
        ev: &EventCounts,
        before: &ProcStat,
        after: &ProcStat,
        window_s: f64,
        nr_cpus: u64,
    ) -> Self {
        let secs = window_s.max(1e-3);
        let cpus = nr_cpus.max(1) as f64;
        let ticks = after.total_ticks.saturating_sub(before.total_ticks).max(1) as f64;
        Self {
            busy: after.busy_ticks.saturating_sub(before.busy_ticks) as f64 / ticks,
            iowait: after.iowait_ticks.saturating_sub(before.iowait_ticks) as f64 / ticks,
            runnable_per_cpu: after.procs_running as f64 / cpus,
            switches_per_cpu_s: ev.switches as f64 / secs / cpus,
            sleeps_per_cpu_s: ev.sleeps as f64 / secs / cpus,
            block_rqs_per_s: ev.block_rqs as f64 / secs,
            page_allocs_per_cpu_s: ev.page_allocs as f64 / secs / cpus,
            net_packets_per_s: ev.net_packets as f64 / secs,
            new_tasks_per_s: ev.forks as f64 / secs,
        }
    }

    /// The raw rates, in [`SIGNAL_COLUMNS`] order.
    pub fn rates(&self) -> [f64; NR_SIGNAL_COLUMNS] {
        [
            self.busy,
            self.iowait,
            self.runnable_per_cpu,
            self.switches_per_cpu_s,
            self.sleeps_per_cpu_s,
            self.block_rqs_per_s,
            self.page_allocs_per_cpu_s,
            self.net_packets_per_s,
            self.new_tasks_per_s,
        ]
    }

    pub fn from_rates(r: [f64; NR_SIGNAL_COLUMNS]) -> Self {
        Self {
            busy: r[0],
            iowait: r[1],
            runnable_per_cpu: r[2],
            switches_per_cpu_s: r[3],
            sleeps_per_cpu_s: r[4],
            block_rqs_per_s: r[5],
            page_allocs_per_cpu_s: r[6],
            net_packets_per_s: r[7],
            new_tasks_per_s: r[8],
        }
    }

    /// The classifier's features ([`SIGNAL_FEATURE_NAMES`]): fractions as they are, rates on
    /// a log scale (they span orders of magnitude).
    pub fn features(&self) -> [f64; NR_SIGNALS] {
        let ln = |v: f64| v.max(0.0).ln_1p();
        [
            self.busy,
            self.iowait,
            self.runnable_per_cpu,
            ln(self.sleeps_per_cpu_s),
            ln(self.block_rqs_per_s),
            ln(self.page_allocs_per_cpu_s),
            ln(self.net_packets_per_s),
            ln(self.new_tasks_per_s),
        ]
    }
}

/// Fallback thresholds (used while no classifier model is loaded). Rates are per second.
pub const IDLE_BUSY_MAX: f64 = 0.15;
pub const CPU_BOUND_BUSY_MIN: f64 = 0.85;
pub const CPU_BOUND_RUNNABLE_PER_CPU_MIN: f64 = 1.0;
pub const IO_BLOCK_RQS_PER_S_MIN: f64 = 50.0;
pub const IO_WAIT_MIN: f64 = 0.2;
pub const NET_PACKETS_PER_S_MIN: f64 = 1_000.0;
pub const FAAS_NEW_TASKS_PER_S_MIN: f64 = 20.0;
pub const INTERACTIVE_SLEEPS_PER_CPU_S_MIN: f64 = 500.0;

/// The class fixed thresholds give: specific signals first (several at once is `mixed`),
/// then how busy the CPUs are.
pub fn classify_by_thresholds(s: &Signals) -> SystemClass {
    let io = s.block_rqs_per_s >= IO_BLOCK_RQS_PER_S_MIN || s.iowait >= IO_WAIT_MIN;
    let net = s.net_packets_per_s >= NET_PACKETS_PER_S_MIN;
    let faas = s.new_tasks_per_s >= FAAS_NEW_TASKS_PER_S_MIN;
    match (io, net, faas) {
        (true, false, false) => SystemClass::IoHeavy,
        (false, true, false) => SystemClass::NetworkHeavy,
        (false, false, true) => SystemClass::FaasBurst,
        (false, false, false) => {
            if s.busy < IDLE_BUSY_MAX {
                SystemClass::Idle
            } else if s.busy >= CPU_BOUND_BUSY_MIN
                && s.runnable_per_cpu >= CPU_BOUND_RUNNABLE_PER_CPU_MIN
            {
                SystemClass::CpuBound
            } else if s.sleeps_per_cpu_s >= INTERACTIVE_SLEEPS_PER_CPU_S_MIN {
                SystemClass::Interactive
            } else {
                SystemClass::Mixed
            }
        }
        _ => SystemClass::Mixed,
    }
}

/// Windows a new class must hold before the mode changes (default of the config file). With 3,
/// the start of `stress-ng --cpu 4` (10–13 new tasks/s, 2–5× the phase's page allocations) was
/// seen as a FaaS burst for 3 windows in a row, and the mode flapped to `faas-burst` for 2 s
/// before `cpu-bound` (VM case classify in a fresh-clone CI rehearsal: 1 of the 6 runs whose
/// logs were kept); 4 costs a second of reaction.
pub const DWELL_WINDOWS_DEFAULT: u32 = 4;

/// The class in force, changed only when another one held for `dwell` windows in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Hysteresis {
    current: SystemClass,
    candidate: SystemClass,
    streak: u32,
    dwell: u32,
    /// Mode changes so far.
    pub switches: u64,
    /// Seconds spent with each class in force.
    pub seconds: [f64; NR_CLASSES],
}

impl Hysteresis {
    pub fn new(start: SystemClass, dwell: u32) -> Self {
        Self {
            current: start,
            candidate: start,
            streak: 0,
            dwell: dwell.max(1),
            switches: 0,
            seconds: [0.0; NR_CLASSES],
        }
    }

    pub fn current(&self) -> SystemClass {
        self.current
    }

    pub fn set_dwell(&mut self, dwell: u32) {
        self.dwell = dwell.max(1);
    }

    /// Account a window of `window_s` classified `seen`; true when the class in force changed.
    pub fn observe(&mut self, seen: SystemClass, window_s: f64) -> bool {
        self.seconds[self.current.index()] += window_s.max(0.0);
        if seen == self.current {
            self.candidate = seen;
            self.streak = 0;
            return false;
        }
        if seen == self.candidate {
            self.streak += 1;
        } else {
            self.candidate = seen;
            self.streak = 1;
        }
        if self.streak < self.dwell {
            return false;
        }
        self.current = seen;
        self.streak = 0;
        self.switches += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n\
                        intr 1\nctxt 99\nprocs_running 3\nprocs_blocked 1\n";

    #[test]
    fn proc_stat_is_parsed() {
        let st = ProcStat::parse(STAT).unwrap();
        assert_eq!(st.total_ticks, 1000);
        assert_eq!(st.iowait_ticks, 40);
        assert_eq!(st.busy_ticks, 160);
        assert_eq!((st.procs_running, st.procs_blocked), (3, 1));
        assert!(ProcStat::parse("intr 1\n").is_none());
        assert!(ProcStat::parse("cpu 1 2\n").is_none());
    }

    #[test]
    fn window_rates() {
        let before = ProcStat::parse(STAT).unwrap();
        let after = ProcStat {
            busy_ticks: before.busy_ticks + 150,
            iowait_ticks: before.iowait_ticks + 10,
            total_ticks: before.total_ticks + 200,
            procs_running: 4,
            procs_blocked: 0,
        };
        let ev = EventCounts {
            switches: 4000,
            sleeps: 3000,
            block_rqs: 100,
            forks: 60,
            ..Default::default()
        };
        let s = Signals::from_window(&ev, &before, &after, 2.0, 2);
        assert!((s.busy - 0.75).abs() < 1e-9);
        assert!((s.iowait - 0.05).abs() < 1e-9);
        assert_eq!(s.runnable_per_cpu, 2.0);
        assert_eq!(s.switches_per_cpu_s, 1000.0);
        assert_eq!(s.sleeps_per_cpu_s, 750.0);
        assert_eq!(s.block_rqs_per_s, 50.0);
        assert_eq!(s.new_tasks_per_s, 30.0);
        assert_eq!(Signals::from_rates(s.rates()), s);
        assert!((s.features()[3] - 751f64.ln()).abs() < 1e-9);
    }

    fn sig(busy: f64, runnable: f64, sleeps: f64, blk: f64, net: f64, new: f64) -> Signals {
        Signals {
            busy,
            runnable_per_cpu: runnable,
            sleeps_per_cpu_s: sleeps,
            block_rqs_per_s: blk,
            net_packets_per_s: net,
            new_tasks_per_s: new,
            ..Default::default()
        }
    }

    #[test]
    fn thresholds_name_each_class() {
        use SystemClass::*;
        assert_eq!(
            classify_by_thresholds(&sig(0.02, 0.5, 50.0, 0.0, 0.0, 0.0)),
            Idle
        );
        assert_eq!(
            classify_by_thresholds(&sig(1.0, 2.0, 100.0, 0.0, 0.0, 1.0)),
            CpuBound
        );
        assert_eq!(
            classify_by_thresholds(&sig(0.4, 0.5, 3000.0, 0.0, 0.0, 0.0)),
            Interactive
        );
        assert_eq!(
            classify_by_thresholds(&sig(0.5, 1.0, 100.0, 400.0, 0.0, 0.0)),
            IoHeavy
        );
        assert_eq!(
            classify_by_thresholds(&sig(0.5, 1.0, 100.0, 0.0, 9e4, 0.0)),
            NetworkHeavy
        );
        assert_eq!(
            classify_by_thresholds(&sig(0.9, 2.0, 900.0, 0.0, 0.0, 200.0)),
            FaasBurst
        );
        assert_eq!(
            classify_by_thresholds(&sig(0.9, 2.0, 900.0, 400.0, 9e4, 0.0)),
            Mixed
        );
    }

    #[test]
    fn class_names_round_trip() {
        for c in SystemClass::ALL {
            assert_eq!(c.name().parse::<SystemClass>(), Ok(c));
            assert_eq!(SystemClass::ALL[c.index()], c);
        }
        assert!("bursty"
            .parse::<SystemClass>()
            .unwrap_err()
            .contains("bursty"));
    }

    #[test]
    fn hysteresis_switches_once_after_the_dwell() {
        use SystemClass::*;
        let mut h = Hysteresis::new(Idle, 3);
        assert!(!h.observe(CpuBound, 1.0));
        assert!(!h.observe(CpuBound, 1.0));
        assert!(h.observe(CpuBound, 1.0));
        assert_eq!(h.current(), CpuBound);
        for _ in 0..10 {
            assert!(!h.observe(CpuBound, 1.0));
        }
        assert_eq!(h.switches, 1);
        assert_eq!(h.seconds[Idle.index()], 3.0);
        assert_eq!(h.seconds[CpuBound.index()], 10.0);
    }

    /// A load on a boundary: the per-window verdict alternates; the mode must not follow.
    #[test]
    fn no_flapping_on_a_boundary() {
        use SystemClass::*;
        let mut h = Hysteresis::new(CpuBound, 3);
        let on_edge = |i: usize| {
            let busy = if i.is_multiple_of(2) {
                CPU_BOUND_BUSY_MIN + 0.01
            } else {
                CPU_BOUND_BUSY_MIN - 0.01
            };
            classify_by_thresholds(&sig(busy, 1.5, 100.0, 0.0, 0.0, 0.0))
        };
        assert_ne!(on_edge(0), on_edge(1), "the test must sit on the boundary");
        for i in 0..100 {
            h.observe(on_edge(i), 1.0);
        }
        assert_eq!(h.switches, 0);
        // Two-window blips of another class, again and again: still no switch.
        for _ in 0..20 {
            h.observe(IoHeavy, 1.0);
            h.observe(IoHeavy, 1.0);
            h.observe(CpuBound, 1.0);
        }
        assert_eq!(h.switches, 0);
        assert_eq!(h.current(), CpuBound);
    }
}
