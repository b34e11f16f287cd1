// SPDX-License-Identifier: GPL-2.0-only
//! `cargo xtask`: the VM and benchmark harness of scx_foresight.
//!
//! The host side is Rust; what runs inside the guest is shell (`xtask/guest/`).

mod bench;
mod cmd;
mod fuzz;
mod host_deps;
mod initramfs;
mod kernel;
mod package;
mod peers;
mod progress;
mod protocol;
mod stats;
mod suites;
mod validate;
mod vm;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Build, boot and test scx_foresight in a sched_ext virtual machine.
///
/// Everything it needs (QEMU, busybox, stress-ng, clang, libraries, the kernel) is installed
/// or downloaded on first use; the kernel is cached under ~/.cache/scx_foresight.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Boot the VM, attach scx_foresight, run a short mixed workload, print its stats lines
    /// and the kernel's enable/disable messages.
    Demo(DemoArgs),
    /// Benchmark the kernel's default scheduler, scx_rustland, scx_bpfland (crates.io,
    /// pinned) and scx_foresight in one VM boot: FaaS replay at two loads beside CPU hogs,
    /// hackbench, a stress-ng mix; several interleaved repetitions. Writes results.md,
    /// results.json and completion-time CDF plots (PNG).
    Bench(BenchArgs),
    /// Check the instrument against answers known in advance: an idle guest's response equals
    /// the calibrated demand, fair share beside CPU hogs, fib's golden-ratio calibration, a
    /// BPF-only scheduler's userspace CPU ~0, the load generator's own timing error, and every
    /// headline figure repeated across two boots. Ends with `N passed, N failed`.
    Validate(ValidateArgs),
    /// Every test: `cargo test` (no kernel needed) and then the VM cases.
    Test(VmArgs),
    /// The in-kernel integration cases only, each with a verdict.
    VmTest(VmTestArgs),
    /// Fetch (or reuse) a sched_ext kernel and print its path.
    Kernel(KernelArgs),
    /// Fuzz every parser of outside input (`cargo fuzz` targets in fuzz/, stable toolchain,
    /// no sanitizer) for --seconds each; crashes are kept in fuzz/regressions/ and fail.
    Fuzz(fuzz::FuzzArgs),
    /// Install the host packages the build and the VM need (apt), if missing.
    Deps,
    /// Build the Debian package (cargo-deb): binary, systemd unit and /etc/default file,
    /// shipped models, man page, shell completions; then check its contents.
    Package(package::PackageArgs),
}

#[derive(Debug, Args, Clone)]
pub struct KernelArgs {
    /// Use this kernel image (bzImage/vmlinuz) instead of downloading Debian's.
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct VmArgs {
    #[command(flatten)]
    pub kernel: KernelArgs,
    /// Guest clock under software emulation: `icount` (guest time = instructions executed,
    /// 1 ns each, idle skipped: repeatable costs, but one counter for all vCPUs, so only a
    /// 1-vCPU guest is an exact machine) or `wall` (the host's time). Default: icount for
    /// `validate` and `bench` (see BENCHMARKS.md for the validation), wall for the VM cases.
    #[arg(long, value_enum)]
    pub clock: Option<vm::Clock>,
    /// TCG threading with the wall clock: `single` (one host thread for all vCPUs) or `multi`
    /// (a thread per vCPU; QEMU >= 10). Default single. icount is always single-threaded.
    #[arg(long, value_enum)]
    pub tcg: Option<vm::Tcg>,
    /// Guest vCPUs. Default: 1 for `validate` and `bench` under icount, else 2.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub cpus: Option<u32>,
    /// Keep the guest console log and results here (default: target/vm/results/<run>).
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
}

impl VmArgs {
    /// The machine these flags ask for, the rest from `default`.
    pub fn machine(&self, default: vm::Machine) -> Result<vm::Machine, anyhow::Error> {
        let clock = self.clock.unwrap_or(default.clock);
        let m = vm::Machine {
            clock,
            tcg: self.tcg.unwrap_or(default.tcg),
            cpus: self.cpus.unwrap_or(match (self.clock, clock) {
                // A clock asked for without a vCPU count: that clock's own default.
                (Some(vm::Clock::Icount), _) => 1,
                (Some(vm::Clock::Wall), _) => 2,
                (None, _) => default.cpus,
            }),
        };
        m.check()?;
        Ok(m)
    }
}

#[derive(Debug, Args, Clone)]
pub struct VmTestArgs {
    #[command(flatten)]
    pub vm: VmArgs,
    /// Run only these cases (comma separated); default all.
    #[arg(long, value_delimiter = ',', value_name = "CASES")]
    pub case: Vec<String>,
    /// Length of the soak drill in seconds (`cargo xtask test` uses 60).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub soak_s: u32,
    /// Processes created by the churn drill (`cargo xtask test` uses 10,000).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(100..=10_000_000))]
    pub churn: u32,
}

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    #[command(flatten)]
    pub vm: VmArgs,
    /// A short run (CI): 2 repetitions of shorter workloads, about a third of the full time.
    #[arg(long)]
    pub quick: bool,
    /// Repetitions of every workload under every scheduler (default 3, 2 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub reps: Option<u32>,
    /// Only these schedulers (comma separated: default, scx_rustland, scx_bpfland,
    /// scx_foresight, scx_foresight-b); default all but scx_foresight-b.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub schedulers: Vec<String>,
    /// A/B in one boot: also run scx_foresight with these flags, as the column
    /// scx_foresight-b, from the same models (comma separated, each `--flag` or
    /// `--flag=value`), e.g. `--variant=--no-uninterruptible-first`.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "FLAGS",
        allow_hyphen_values = true
    )]
    pub variant: Vec<String>,
    /// Only these FaaS traces (comma separated: azure, gen); default both (plus `extra`
    /// with --trace).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = ["azure", "gen", "extra"])]
    pub traces: Vec<String>,
    /// Offered FaaS loads per CPU (comma separated; default 0.5,0.7,0.9, 0.7 with --quick).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_load)]
    pub loads: Vec<f64>,
    /// CPU hogs beside each replay: 0 (none), 1 (one per CPU) or both (default 0,1).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub hogs: Vec<u8>,
    /// scx_foresight without models fitted beforehand: by default it first replays a generated
    /// trace the measured runs never see (another seed) with --record, and every measured run
    /// starts from the models `scx_foresight train` fits on it (as on a host that has run its
    /// functions before); with --cold it learns online only, from scratch each repetition.
    #[arg(long)]
    pub cold: bool,
    /// Invocations per replay (default 400, 50 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub replay_n: Option<u32>,
    /// Also replay this trace (the simulator's CSV: `arrival_us,function,args,cpu_us`) at
    /// every load, beside the Azure workload and the generated trace.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Record the kernel's scheduling events (ftrace: context switches, wakeups, forks, execs,
    /// exits, sleeping-lock contention) during every replay and cyclictest run into the
    /// console log as `@@TRC` lines, on the replay's clock: where each invocation waited; the
    /// results then have each replay's sleep on contended kernel locks, and cyclictest's
    /// slowest wakeup in each run with the tasks that ran meanwhile. Diagnostic; a few MB per
    /// replay, and the events cost the guest some CPU.
    #[arg(long)]
    pub sched_trace: bool,
    /// With --sched-trace, scx_foresight also writes each decision (`--trace-decisions`) and
    /// the console gets those made during each traced run as `@@DEC` lines, same clock: what
    /// the loop saw and decided for a task that waited. Its writer thread (deadline class)
    /// runs beside the workload and delays wakeups itself: for finding causes, not figures.
    #[arg(long, requires = "sched_trace")]
    pub trace_decisions: bool,
    /// Write results.md, results.json and the plots here (default: the run's results
    /// directory, target/vm/results/bench-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vm: VmArgs,
    /// A short run (CI): calibration up to fib(36), 3 replays of 150 invocations per boot (400
    /// without it).
    #[arg(long)]
    pub quick: bool,
    /// Boots (the repeatability case needs 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub boots: Option<u32>,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub vm: VmArgs,
    /// Run on this host's own kernel (needs sched_ext and root) instead of the VM.
    #[arg(long)]
    pub native: bool,
    /// Seconds of workload.
    #[arg(long, default_value_t = 10)]
    pub duration_s: u32,
}

/// A load per CPU in (0, 4].
fn parse_load(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(l) if l > 0.0 && l <= 4.0 => Ok(l),
        _ => Err(format!("`{s}` is not a load in (0, 4]")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Demo(a) => suites::demo(&a),
        Cmd::Bench(a) => bench::bench(&a),
        Cmd::Validate(a) => validate::validate(&a),
        Cmd::Test(a) => suites::test(&a),
        Cmd::VmTest(a) => suites::vm_test(&a).map(|_| ()),
        Cmd::Kernel(a) => kernel::resolve(&a).map(|k| println!("{}", k.image.display())),
        Cmd::Fuzz(a) => fuzz::fuzz(&a),
        Cmd::Deps => host_deps::ensure(),
        Cmd::Package(a) => package::package(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
