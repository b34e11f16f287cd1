// SPDX-License-Identifier: GPL-2.0-only
//! `scx_foresight train`: fit the models from recorded samples (cross-validated), or the
//! workload classifier from labelled signal windows.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use scx_foresight::core::classify::classify_by_thresholds;
use scx_foresight::core::classmodel::{self, Classifier};
use scx_foresight::formats::modelfile::{self, ModelFile, Params};
use scx_foresight::formats::samples::{self};
use scx_foresight::offline::training::{self, FOLDS_DEFAULT, MIN_SAMPLES_DEFAULT};

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
