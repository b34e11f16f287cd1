// SPDX-License-Identifier: GPL-2.0-only
//! The offline subcommands: `simulate`, `trace gen`, `train`, `model`. They need no kernel
//! and no root.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use scx_foresight::core::classify::{classify_by_thresholds, SystemClass};
use scx_foresight::core::classmodel::{self, Classifier};
use scx_foresight::core::features::{executable_features, general_features, Behaviour, Invocation};
use scx_foresight::core::model::{FunctionId, Interner, LinearModel, ModelSet, Sample, Source};
use scx_foresight::core::modes::ModeConfig;
use scx_foresight::core::policy::ModeParams;
use scx_foresight::core::policy::SliceConfig;
use scx_foresight::formats::csv::{open_csv_for_append, read_input};
use scx_foresight::formats::modelfile::{self, ModelFile, Params};
use scx_foresight::formats::samples::{self, Recorded};
use scx_foresight::formats::trace;
use scx_foresight::offline::replay;
use scx_foresight::offline::sim::{self, PolicyKind, SimConfig, SHORT_US_DEFAULT};
use scx_foresight::offline::tracegen::{self, GenConfig};
use scx_foresight::offline::training::{self, FOLDS_DEFAULT, MIN_SAMPLES_DEFAULT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Run to completion in arrival order.
    Fifo,
    /// Time-sliced, weight-fair (like the kernel's default scheduler).
    Fair,
    /// scx_foresight's live policy and models, learning online.
    Foresight,
    /// Preemptive shortest-remaining-time with the true demand (the limit).
    Oracle,
    /// All four, one row each.
    All,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Trace CSV: `arrival_us,function,args,cpu_us` (see `trace gen`).
    #[arg(long, value_name = "FILE")]
    pub trace: PathBuf,
    /// Number of CPUs.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus: u32,
    /// Scheduling policy to simulate.
    #[arg(long, value_enum, default_value_t = PolicyArg::All)]
    pub policy: PolicyArg,
    /// Invocations needing at most this much CPU (µs) count as short.
    #[arg(long, default_value_t = SHORT_US_DEFAULT)]
    pub short_us: u64,
    /// Print JSON (one object; an array with `--policy all`).
    #[arg(long)]
    pub json: bool,
    /// foresight predicts an invocation from this enqueue on; before, only the general model
    /// (behaviour alone) can. 2 is the live scheduler today (identity at exec, in the first run
    /// after the fork's enqueue); 3 was its /proc-only path; 1 is identity known at arrival.
    #[arg(long, default_value_t = sim::IDENTIFY_FROM_ENQUEUE_LIVE, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub identify_from_enqueue: u32,
    /// Run foresight in the mode the live scheduler uses for this workload class (the shipped
    /// modes config: idle, cpu-bound, interactive, io-heavy, network-heavy, faas-burst, mixed).
    /// Default: the base parameters, as before any class is known.
    #[arg(long, value_name = "CLASS")]
    pub mode: Option<SystemClass>,
    /// Write each invocation's times per policy into this directory (`POLICY.csv`:
    /// arrival_us,cpu_us,first_run_us,finish_us), to set beside a replay's own.
    #[arg(long, value_name = "DIR")]
    pub times_dir: Option<PathBuf>,
    /// Start foresight from this model file (the prior); online learning continues from it.
    #[arg(long, value_name = "FILE")]
    pub models: Option<PathBuf>,
    /// Append every completed invocation as a training sample (the `--record` format; a file
    /// that exists must be a whole samples file, else it is refused untouched).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Sample files written by `--record` (live or `simulate --record`): fits CPU-demand
    /// models.
    #[arg(long, value_name = "FILE", num_args = 1.., required_unless_present = "windows", conflicts_with = "windows")]
    pub samples: Vec<PathBuf>,
    /// Labelled signal windows written by `--record-signals` (the `label` column filled in):
    /// fits the workload classifier instead. Unlabelled rows are skipped.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub windows: Vec<PathBuf>,
    /// Model (or classifier) file to write (only when every input is valid).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Functions with fewer samples get no model of their own (they use the general model).
    #[arg(long, default_value_t = MIN_SAMPLES_DEFAULT)]
    pub min_samples: usize,
    /// Folds of the cross-validation that measures each model.
    #[arg(long, default_value_t = FOLDS_DEFAULT as u64, value_parser = clap::value_parser!(u64).range(2..=100))]
    pub folds: u64,
}

#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Print a model file readably.
    Show { file: PathBuf },
    /// Predict a function's CPU demand (µs) from its arguments.
    Predict {
        file: PathBuf,
        /// The executable or function name, as in the samples' identity.
        #[arg(long)]
        function: String,
        /// Its arguments as on a command line, e.g. "--size 40" or "30".
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        args: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TraceCmd {
    /// Generate a synthetic FaaS trace shaped after the Azure Functions 2019 trace.
    Gen(GenArgs),
    /// Convert the Azure Functions 2019 fib workload (`INTER_ARRIVAL_SECONDS FIB_ARG` lines,
    /// e.g. ../shared/data/azure2019-fib-workload.txt) into a trace of foresight_payload
    /// invocations, with CPU demands from a calibration (`foresight_loadgen calibrate`).
    FromAzure {
        /// The workload file.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// `arg,cpu_us` measured on the machine that will replay it.
        #[arg(long, value_name = "FILE")]
        calibration: PathBuf,
        /// Shift every fib argument down by the same number of steps so that the largest
        /// becomes this (each demand shrinks by the same factor; the workload's largest, fib(46),
        /// is a minute of CPU on a 1-GIPS machine). Default: unshifted.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
        max_arg: Option<u32>,
        /// Write here instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// CPUs the load is computed for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub cpus: u32,
    /// Average offered load per CPU (0 < L <= 4).
    #[arg(long, default_value_t = 0.8)]
    pub load: f64,
    /// Trace length in seconds.
    #[arg(long, default_value_t = 600.0)]
    pub duration_s: f64,
    /// Random seed (same seed, same trace).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn simulate(a: &SimulateArgs) -> Result<()> {
    let rows = trace::read(&a.trace)?;
    if let Some(dir) = &a.times_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--times-dir {}: cannot create it", dir.display()))?;
    }
    let (jobs, mut names) = sim::jobs_from_trace(&rows);
    let prior = match &a.models {
        Some(path) => {
            let (file, _) = ModelFile::load(path)?;
            file.to_model_set(|id| names.intern(id), 1)
        }
        None => ModelSet::default(),
    };
    let policies: Vec<PolicyKind> = match a.policy {
        PolicyArg::Fifo => vec![PolicyKind::Fifo],
        PolicyArg::Fair => vec![PolicyKind::Fair],
        PolicyArg::Foresight => vec![PolicyKind::Foresight],
        PolicyArg::Oracle => vec![PolicyKind::Oracle],
        PolicyArg::All => PolicyKind::ALL.to_vec(),
    };
    let mode = match a.mode {
        Some(class) => ModeConfig::builtin().mode(class),
        None => ModeParams::default(),
    };
    let reports: Vec<sim::Report> = policies
        .into_iter()
        .map(|policy| {
            let cfg = SimConfig {
                cpus: a.cpus,
                policy,
                slices: SliceConfig::defaults(u64::from(a.cpus)),
                prior: prior.clone(),
                identify_from_enqueue: a.identify_from_enqueue,
                mode,
            };
            let (times, _) = sim::simulate(&jobs, &cfg);
            if let Some(dir) = &a.times_dir {
                let mut text = String::from("arrival_us,cpu_us,first_run_us,finish_us\n");
                for (j, t) in jobs.iter().zip(&times) {
                    text.push_str(&format!(
                        "{},{},{},{}\n",
                        j.arrival_ns / 1000,
                        j.cpu_ns / 1000,
                        t.first_run_ns / 1000,
                        t.finish_ns / 1000
                    ));
                }
                let path = dir.join(format!("{}.csv", policy.name()));
                if let Err(e) = std::fs::write(&path, text) {
                    log::error!("cannot write {}: {e}", path.display());
                }
            }
            sim::report(&jobs, &times, &cfg, a.short_us)
        })
        .collect();
    if let Some(path) = &a.record {
        // Every invocation completes in every policy: record them once, in arrival order.
        let mut out = open_csv_for_append(path, &samples::header())?;
        let mut text = String::new();
        for j in &jobs {
            let identity = j
                .func
                .and_then(|f| names.name(f))
                .unwrap_or("[unknown]")
                .to_string();
            let s = Sample {
                func: j.func,
                exe: j.exe,
                fx: j.fx,
                cx: j.cx,
                gx: j.gx,
                cpu_ns: j.cpu_ns,
            };
            text.push_str(&Recorded::from_sample(identity, &s).to_line());
            text.push('\n');
        }
        out.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("recorded {} samples to {}", jobs.len(), path.display());
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        if let [one] = reports.as_slice() {
            serde_json::to_writer(&mut out, one)?;
        } else {
            serde_json::to_writer(&mut out, &reports)?;
        }
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} invocations on {} CPUs ({}), short = cpu <= {} us",
        jobs.len(),
        a.cpus,
        a.trace.display(),
        a.short_us
    )?;
    writeln!(
        out,
        "| policy | short n | short mean | short p50 | short p99 | short max | long n | long mean | long p99 | long max | all mean | all mean response ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    for r in &reports {
        writeln!(
            out,
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {:.1} |",
            r.policy,
            r.short.count,
            r.short.mean_slowdown,
            r.short.p50_slowdown,
            r.short.p99_slowdown,
            r.short.max_slowdown,
            r.long.count,
            r.long.mean_slowdown,
            r.long.p99_slowdown,
            r.long.max_slowdown,
            r.all.mean_slowdown,
            r.all.mean_response_us / 1000.0
        )?;
    }
    for r in &reports {
        writeln!(
            out,
            "{}: first {} invocations, short mean slowdown {:.2} ({} short)",
            r.policy,
            sim::FIRST_N,
            r.first_100_short.mean_slowdown,
            r.first_100_short.count
        )?;
    }
    Ok(())
}

pub fn trace(cmd: &TraceCmd) -> Result<()> {
    match cmd {
        TraceCmd::Gen(g) => {
            if !(g.load > 0.0 && g.load <= 4.0) {
                bail!("--load {}: must be in (0, 4]", g.load);
            }
            if !(g.duration_s > 0.0 && g.duration_s <= 86_400.0) {
                bail!("--duration-s {}: must be in (0, 86400]", g.duration_s);
            }
            let rows = tracegen::generate(&GenConfig {
                cpus: g.cpus,
                load: g.load,
                duration_s: g.duration_s,
                seed: g.seed,
            });
            write_or_print(&trace::to_csv(&rows), g.out.as_deref())
        }
        TraceCmd::FromAzure {
            input,
            calibration,
            max_arg,
            out,
        } => {
            let cal = replay::Calibration::read(calibration)?;
            let (text, file) = read_input(input)?;
            let rows = replay::rows_from_azure(&text, &file, &cal, *max_arg)?;
            write_or_print(&trace::to_csv(&rows), out.as_deref())
        }
    }
}

/// Write `text` to `out`, or stdout without one.
fn write_or_print(text: &str, out: Option<&std::path::Path>) -> Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => Ok(std::io::stdout().lock().write_all(text.as_bytes())?),
    }
}

pub fn train(a: &TrainArgs) -> Result<()> {
    if !a.windows.is_empty() {
        return train_classifier(a);
    }
    let mut all = Vec::new();
    for path in &a.samples {
        all.extend(samples::read(path)?);
    }
    let out = training::train(&all, a.min_samples, a.folds as usize);
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{} samples from {} file(s)",
        all.len(),
        a.samples.len()
    )?;
    writeln!(
        stdout,
        "| model | samples | R² (held out) | MAE µs | MAPE |"
    )?;
    writeln!(stdout, "|---|---|---|---|---|")?;
    let row = |name: &str, p: &Params| -> String {
        match p.quality {
            Some(q) => format!(
                "| {name} | {} | {} | {:.0} | {:.1} % |",
                p.n_samples,
                q.r2.map_or("n/a".into(), |r| format!("{r:.3}")),
                q.mae_us,
                q.mape * 100.0
            ),
            None => format!("| {name} | {} | n/a | n/a | n/a |", p.n_samples),
        }
    };
    for f in out.functions.iter().chain(&out.executables) {
        writeln!(stdout, "{}", row(&f.identity, &f.model))?;
    }
    if let Some(g) = &out.general {
        writeln!(stdout, "{}", row("(general)", g))?;
    }
    // Each level's held-out error over the samples its models cover (sample-weighted).
    let level_error = |models: &mut dyn Iterator<Item = &Params>| {
        let (mut n, mut sum) = (0usize, 0.0);
        for p in models {
            if let Some(q) = p.quality {
                n += p.n_samples;
                sum += q.mape * p.n_samples as f64;
            }
        }
        (n > 0).then(|| format!("{:.1} % over {n} samples", 100.0 * sum / n as f64))
    };
    for (level, error) in [
        (
            "function",
            level_error(&mut out.functions.iter().map(|f| &f.model)),
        ),
        (
            "executable",
            level_error(&mut out.executables.iter().map(|f| &f.model)),
        ),
        ("general", level_error(&mut out.general.iter())),
    ] {
        writeln!(
            stdout,
            "level {level}: held-out MAPE {}",
            error.unwrap_or_else(|| "n/a (no model)".into())
        )?;
    }
    for (name, n) in &out.skipped {
        writeln!(
            stdout,
            "skipped {name}: {n} samples < --min-samples {}",
            a.min_samples
        )?;
    }
    let file = ModelFile {
        format: modelfile::FORMAT.into(),
        schema_version: modelfile::SCHEMA_VERSION,
        target: modelfile::TARGET.into(),
        function_features: modelfile::function_feature_names(),
        general_features: scx_foresight::core::features::GENERAL_FEATURE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        functions: out.functions,
        executable_features: if out.executables.is_empty() {
            Vec::new()
        } else {
            modelfile::executable_feature_names()
        },
        executables: out.executables,
        general: out.general,
        training: modelfile::Training {
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            tool: format!("scx_foresight {} train", env!("CARGO_PKG_VERSION")),
            sources: a.samples.iter().map(|p| p.display().to_string()).collect(),
            n_samples: all.len(),
            min_samples: a.min_samples,
            folds: a.folds as usize,
        },
    };
    file.save(&a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    writeln!(stdout, "wrote {}", a.out.display())?;
    Ok(())
}

/// `train --windows`: fit the workload classifier, cross-validated, and write it.
fn train_classifier(a: &TrainArgs) -> Result<()> {
    let mut labelled = Vec::new();
    let mut unlabelled = 0usize;
    for path in &a.windows {
        for w in classmodel::read_windows(path)? {
            match w.label {
                Some(l) => labelled.push((w.signals, l)),
                None => unlabelled += 1,
            }
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} labelled windows from {} file(s), {unlabelled} unlabelled skipped",
        labelled.len(),
        a.windows.len()
    )?;
    let quality = Classifier::cross_validate(&labelled, a.folds as usize)
        .map_err(|e| anyhow::anyhow!("cannot fit a classifier: {e}"))?;
    let classifier =
        Classifier::fit(&labelled).map_err(|e| anyhow::anyhow!("cannot fit a classifier: {e}"))?;
    writeln!(out, "| class | windows | held-out recall |")?;
    writeln!(out, "|---|---|---|")?;
    for (class, recall) in &quality.recall {
        let n = labelled.iter().filter(|(_, l)| l.name() == class).count();
        writeln!(out, "| {class} | {n} | {:.1} % |", recall * 100.0)?;
    }
    writeln!(
        out,
        "held-out accuracy ({} folds): {:.1} %",
        quality.folds,
        quality.accuracy * 100.0
    )?;
    let by_thresholds = labelled
        .iter()
        .filter(|(s, l)| classify_by_thresholds(s) == *l)
        .count();
    writeln!(
        out,
        "baseline, the fixed thresholds on the same windows: {:.1} %",
        100.0 * by_thresholds as f64 / labelled.len().max(1) as f64
    )?;
    let sources = a.windows.iter().map(|p| p.display().to_string()).collect();
    classifier
        .to_file(&labelled, Some(quality), sources)
        .save(&a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    writeln!(out, "wrote {}", a.out.display())?;
    Ok(())
}

/// The prediction the scheduler would make from this file (function, then executable, then
/// general model, each when trusted; default behaviour for the general features), and the
/// level it came from. When no level is trusted, the first model there is still answers,
/// marked untrusted.
fn predict_with_level(m: &ModelFile, inv: &Invocation) -> Option<(f64, String)> {
    let mut names = Interner::default();
    let set = m.to_model_set(|id| names.intern(id), 1);
    let func = names.intern(&inv.identity);
    let exe = names.intern(&inv.executable_identity());
    let (fx, cx) = (inv.function_features(), inv.category_features());
    let behaviour = Behaviour {
        weight: 100,
        ..Behaviour::default()
    };
    let gx = general_features(Some(inv), &behaviour);
    let label = |source: Source| match source {
        Source::Function => format!("function `{}`", inv.identity),
        Source::Executable => format!("executable `{}`", inv.executable_identity()),
        Source::General => "general".to_string(),
    };
    if let Some((ns, source)) = set.predict_total_ns(func, exe, &fx, &cx, &gx) {
        return Some((ns as f64 / 1000.0, label(source)));
    }
    let model_of = |models: &[Option<LinearModel>], id: Option<FunctionId>| {
        id.and_then(|i| models.get(i as usize).cloned().flatten())
    };
    let untrusted = [
        (
            model_of(&set.functions, func),
            fx.to_vec(),
            Source::Function,
        ),
        (
            model_of(&set.executables, exe),
            executable_features(&fx, &cx).to_vec(),
            Source::Executable,
        ),
        (set.general.clone(), gx.to_vec(), Source::General),
    ];
    untrusted.into_iter().find_map(|(model, x, source)| {
        model.map(|m| {
            (
                m.predict_ns(&x) as f64 / 1000.0,
                format!(
                    "{}, not trusted: mean |ln error| {:.2}, {} samples",
                    label(source),
                    m.mean_abs_ln_error,
                    m.n_samples
                ),
            )
        })
    })
}

pub fn model(cmd: &ModelCmd) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ModelCmd::Show { file } => {
            let (m, hash) = ModelFile::load(file)?;
            writeln!(
                out,
                "{}: {} v{} (hash {hash:016x})",
                file.display(),
                m.format,
                m.schema_version
            )?;
            writeln!(out, "target: {}", m.target)?;
            writeln!(
                out,
                "trained: unix {} by {} from {} samples ({}), min {} samples/function, {}-fold CV",
                m.training.created_unix,
                m.training.tool,
                m.training.n_samples,
                m.training.sources.join(", "),
                m.training.min_samples,
                m.training.folds
            )?;
            writeln!(out, "function features: {}", m.function_features.join(", "))?;
            writeln!(out, "general features: {}", m.general_features.join(", "))?;
            let show = |out: &mut dyn Write,
                        name: &str,
                        p: &Params,
                        names: &[String]|
             -> std::io::Result<()> {
                writeln!(
                    out,
                    "\n{name}: {} samples, mean |ln error| {:.3}, ln(cpu_us) in [{:.2}, {:.2}]",
                    p.n_samples, p.mean_abs_ln_error, p.ln_min, p.ln_max
                )?;
                if let Some(q) = p.quality {
                    writeln!(
                        out,
                        "  held out ({} folds): R² {}, MAE {:.0} us, MAPE {:.1} %",
                        q.folds,
                        q.r2.map_or("n/a".into(), |r| format!("{r:.3}")),
                        q.mae_us,
                        q.mape * 100.0
                    )?;
                }
                let terms: Vec<String> = p
                    .coef
                    .iter()
                    .zip(names)
                    .filter(|(c, _)| **c != 0.0)
                    .map(|(c, n)| format!("{c:+.4}·{n}"))
                    .collect();
                writeln!(out, "  ln(cpu_us) = {:.4} {}", p.intercept, terms.join(" "))
            };
            for (level, models, names) in [
                ("function", &m.functions, &m.function_features),
                ("executable", &m.executables, &m.executable_features),
            ] {
                for f in models {
                    show(
                        &mut out,
                        &format!("{level} `{}`", f.identity),
                        &f.model,
                        names,
                    )?;
                }
            }
            if let Some(g) = &m.general {
                show(&mut out, "general model", g, &m.general_features)?;
            }
        }
        ModelCmd::Predict {
            file,
            function,
            args,
        } => {
            let (m, _) = ModelFile::load(file)?;
            let inv = Invocation::from_args(function, args.split_whitespace());
            let (us, level) = predict_with_level(&m, &inv).with_context(|| {
                format!(
                    "{}: no model at any level for `{}`",
                    file.display(),
                    inv.identity
                )
            })?;
            writeln!(out, "{us:.0} us ({level})")?;
        }
    }
    Ok(())
}
