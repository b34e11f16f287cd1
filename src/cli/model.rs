// SPDX-License-Identifier: GPL-2.0-only
//! `scx_foresight model`: show a model file, and predict from it with the level it used.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use scx_foresight::core::features::{executable_features, general_features, Behaviour, Invocation};
use scx_foresight::core::model::{FunctionId, Interner, LinearModel, Source};
use scx_foresight::formats::modelfile::{ModelFile, Params};

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
        ModelCmd::Show { file } => show(&mut out, file),
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
            Ok(())
        }
    }
}

/// `model show`: the file's header, then every model readably.
fn show(out: &mut impl Write, file: &std::path::Path) -> Result<()> {
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
    for (level, models, names) in [
        ("function", &m.functions, &m.function_features),
        ("executable", &m.executables, &m.executable_features),
    ] {
        for f in models {
            show_model(out, &format!("{level} `{}`", f.identity), &f.model, names)?;
        }
    }
    if let Some(g) = &m.general {
        show_model(out, "general model", g, &m.general_features)?;
    }
    Ok(())
}

/// One model: its samples and errors, then its equation (terms with a zero weight left out).
fn show_model(
    out: &mut impl Write,
    name: &str,
    p: &Params,
    names: &[String],
) -> std::io::Result<()> {
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
    writeln!(out, "  ln(cpu_us) = {:.4} {}", p.intercept, terms.join(" "))?;
    // Beyond these, predictions take demand as monotone (see core::model::LinearModel).
    let ranges: Vec<String> = p
        .coef
        .iter()
        .zip(names)
        .zip(p.x_min.iter().zip(&p.x_max))
        .filter(|((c, _), _)| **c != 0.0)
        .map(|((_, n), (lo, hi))| format!("{n} in [{lo:.3}, {hi:.3}]"))
        .collect();
    if !ranges.is_empty() {
        writeln!(out, "  fitted on {}", ranges.join(", "))?;
    }
    Ok(())
}
