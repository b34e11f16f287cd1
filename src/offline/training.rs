// SPDX-License-Identifier: GPL-2.0-only
//! Offline training: fit the per-function and general models from recorded samples and
//! measure each by k-fold cross-validation (held-out predictions, never the training data).

use std::collections::BTreeMap;

use crate::core::features::executable_features;
use crate::core::model::{ln_us, LinearModel};
use crate::core::rng::Rng;
use crate::formats::modelfile::{FunctionModel, Params, Quality};
use crate::formats::samples::Recorded;

/// Defaults of `train`.
pub const MIN_SAMPLES_DEFAULT: usize = 5;
pub const FOLDS_DEFAULT: usize = 5;

pub struct TrainOutcome {
    pub functions: Vec<FunctionModel>,
    /// The executable level: one model per program (`exe:<program>`), over the function
    /// features and the category buckets of its non-numeric arguments.
    pub executables: Vec<FunctionModel>,
    /// Functions and executables left out for having fewer than min_samples samples.
    pub skipped: Vec<(String, usize)>,
    pub general: Option<Params>,
}

/// Fit every function and every executable with at least `min_samples` samples, and the
/// general model on all.
pub fn train(samples: &[Recorded], min_samples: usize, folds: usize) -> TrainOutcome {
    let mut skipped = Vec::new();
    let functions = fit_per_identity(
        samples,
        |s| s.identity.clone(),
        |s| s.invocation().function_features().to_vec(),
        (min_samples, folds),
        &mut skipped,
    );
    let executables = fit_per_identity(
        samples,
        |s| s.invocation().executable_identity(),
        |s| {
            let inv = s.invocation();
            executable_features(&inv.function_features(), &inv.category_features()).to_vec()
        },
        (min_samples, folds),
        &mut skipped,
    );
    let rows: Vec<Vec<f64>> = samples.iter().map(|s| s.gx.to_vec()).collect();
    let ln_y: Vec<f64> = samples.iter().map(|s| ln_us(s.cpu_us * 1000)).collect();
    TrainOutcome {
        functions,
        executables,
        skipped,
        general: fit_with_quality(&rows, &ln_y, folds),
    }
}

/// One model per identity (`key`) over `features`, for the identities with enough samples
/// (`limits`: min samples, folds); the others are added to `skipped`.
fn fit_per_identity(
    samples: &[Recorded],
    key: impl Fn(&Recorded) -> String,
    features: impl Fn(&Recorded) -> Vec<f64>,
    (min_samples, folds): (usize, usize),
    skipped: &mut Vec<(String, usize)>,
) -> Vec<FunctionModel> {
    let mut groups: BTreeMap<String, Vec<&Recorded>> = BTreeMap::new();
    for s in samples {
        groups.entry(key(s)).or_default().push(s);
    }
    let mut models = Vec::new();
    for (identity, group) in groups {
        if group.len() < min_samples.max(2) {
            skipped.push((identity, group.len()));
            continue;
        }
        let rows: Vec<Vec<f64>> = group.iter().map(|s| features(s)).collect();
        let ln_y: Vec<f64> = group.iter().map(|s| ln_us(s.cpu_us * 1000)).collect();
        if let Some(params) = fit_with_quality(&rows, &ln_y, folds) {
            models.push(FunctionModel {
                identity,
                model: params,
            });
        }
    }
    models
}

/// Fit on everything; quality (and the trust error) from k-fold cross-validation.
fn fit_with_quality(rows: &[Vec<f64>], ln_y: &[f64], folds: usize) -> Option<Params> {
    let mut model = LinearModel::fit(rows, ln_y).ok()?;
    let (quality, held_out_ln_error) = cross_validate(rows, ln_y, folds);
    if let Some(e) = held_out_ln_error {
        model.mean_abs_ln_error = model.mean_abs_ln_error.max(e);
    }
    Some(Params::from_model(&model, quality))
}

/// k-fold cross-validation with a fixed shuffle: quality in µs, and mean |ln error|.
pub fn cross_validate(
    rows: &[Vec<f64>],
    ln_y: &[f64],
    folds: usize,
) -> (Option<Quality>, Option<f64>) {
    let n = rows.len();
    let k = folds.clamp(2, n.max(2));
    if n < 3 {
        return (None, None);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(0x5eed);
    for i in (1..n).rev() {
        order.swap(i, rng.range(0, i as u64) as usize);
    }
    let mut pairs = Vec::with_capacity(n); // (predicted_us, actual_us, ln error)
    for fold in 0..k {
        // Position p in the shuffled order belongs to fold p % k.
        let (mut test, mut train) = (Vec::new(), Vec::new());
        for (p, &i) in order.iter().enumerate() {
            if p % k == fold {
                test.push(i);
            } else {
                train.push(i);
            }
        }
        if test.is_empty() || train.len() < 2 {
            continue;
        }
        let tr_rows: Vec<Vec<f64>> = train.iter().map(|&i| rows[i].clone()).collect();
        let tr_y: Vec<f64> = train.iter().map(|&i| ln_y[i]).collect();
        let Ok(m) = LinearModel::fit(&tr_rows, &tr_y) else {
            continue;
        };
        for &i in &test {
            let p = m.predict_ln(&rows[i]);
            pairs.push((p.exp(), ln_y[i].exp(), (p - ln_y[i]).abs()));
        }
    }
    if pairs.is_empty() {
        return (None, None);
    }
    let m = pairs.len() as f64;
    let mae = pairs.iter().map(|(p, a, _)| (p - a).abs()).sum::<f64>() / m;
    let mape = pairs.iter().map(|(p, a, _)| (p - a).abs() / a).sum::<f64>() / m;
    let mean_a = pairs.iter().map(|(_, a, _)| a).sum::<f64>() / m;
    let ss_tot: f64 = pairs.iter().map(|(_, a, _)| (a - mean_a).powi(2)).sum();
    let ss_res: f64 = pairs.iter().map(|(p, a, _)| (a - p).powi(2)).sum();
    let r2 = (ss_tot > f64::EPSILON * m).then(|| 1.0 - ss_res / ss_tot);
    let ln_err = pairs.iter().map(|(_, _, e)| e).sum::<f64>() / m;
    (
        Some(Quality {
            folds: k,
            r2,
            mae_us: mae,
            mape,
        }),
        Some(ln_err),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::GENERAL_FEATURES;

    fn rec(identity: &str, arg: f64, cpu_us: f64) -> Recorded {
        Recorded {
            identity: identity.into(),
            numeric: vec![arg],
            cpu_us: cpu_us as u64,
            gx: [0.0; GENERAL_FEATURES],
        }
    }

    /// Synthetic samples with known coefficients: the fit recovers them and the held-out
    /// error is small.
    #[test]
    fn recovers_known_coefficients_with_small_held_out_error() {
        let mut rng = Rng::new(1);
        let samples: Vec<Recorded> = (0..60)
            .map(|_| {
                let n = rng.range(20, 32) as f64;
                // ln(cpu_us) = 1.5 + 0.4812 n (fib), 3 % noise
                rec(
                    "fib",
                    n,
                    (1.5 + 0.4812 * n).exp() * (1.0 + 0.03 * rng.normal()),
                )
            })
            .collect();
        let out = train(&samples, 5, 5);
        let f = &out.functions[0].model;
        // x and ln(1+x) are both features: check predictions rather than raw coefficients.
        let m = f.to_model();
        for n in [21.0, 25.0, 30.0] {
            let x = crate::core::features::Invocation::from_args("fib", [format!("{n}").as_str()])
                .function_features();
            let want = 1.5 + 0.4812 * n;
            assert!(
                (m.predict_ln(&x) - want).abs() < 0.05,
                "n={n}: {} vs {want}",
                m.predict_ln(&x)
            );
        }
        let q = f.quality.unwrap();
        assert!(q.mape < 0.06, "{q:?}");
        assert!(q.r2.unwrap() > 0.95, "{q:?}");
    }

    #[test]
    fn exact_linear_coefficients_are_recovered() {
        let rows: Vec<Vec<f64>> = (0..30).map(|i| vec![i as f64, (i % 7) as f64]).collect();
        let y: Vec<f64> = rows.iter().map(|r| 0.5 + 0.1 * r[0] - 0.2 * r[1]).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert!(
            (m.intercept - 0.5).abs() < 1e-9
                && (m.coef[0] - 0.1).abs() < 1e-9
                && (m.coef[1] + 0.2).abs() < 1e-9
        );
    }

    #[test]
    fn thin_functions_are_skipped_and_named() {
        let samples = vec![rec("thin", 1.0, 100.0), rec("thin", 2.0, 200.0)];
        let out = train(&samples, 5, 5);
        assert!(out.functions.is_empty());
        assert_eq!(
            out.skipped,
            vec![("thin".to_string(), 2), ("exe:thin".to_string(), 2)]
        );
    }
}
