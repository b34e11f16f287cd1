// SPDX-License-Identifier: GPL-2.0-only
//! Prediction of a task's total CPU demand by linear regression on log CPU time.
//!
//! Fitting on ln(cpu_us) makes exponential relations (fib(n): ×1.618 per step of n) linear in
//! the argument; ln(1+|x|) features make power-like relations near-linear too. One model per
//! function identity (over its numeric arguments) and one general model (over behaviour
//! features) for tasks without a trustworthy function model.
//!
//! The trainer (`core::trainer`) keeps bounded recent samples and refits with linfa-linear; a
//! refit produces a new immutable [`ModelSet`] that the caller publishes by atomic swap. The hot path only
//! calls [`ModelSet::predict_total_ns`]: a lookup and a dot product.

use std::collections::HashMap;

use linfa::prelude::*;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};

use crate::core::features::{
    executable_features, CATEGORY_BUCKETS, FUNCTION_FEATURES, GENERAL_FEATURES,
};

/// Function identities that get their own model; later ones use the general model.
pub const MAX_FUNCTIONS: usize = 1024;
/// A function model is trusted from this many samples (its predictions are kept within the
/// range it has seen, and it loses trust when it errs on samples it had not seen)...
pub const MIN_TRUSTED_SAMPLES: usize = 2;
/// ...and when its mean absolute error in ln space is below this (ln 1.5: within ~50%).
pub const MAX_TRUSTED_LN_ERROR: f64 = 0.405;
/// Predictions are clamped to [1 µs, 1 hour]...
const LN_PRED_MAX: f64 = 22.0;
/// ...and to the range seen in training, widened by ln 2 either way.
const LN_RANGE_SLACK: f64 = std::f64::consts::LN_2;

pub use crate::core::features::FunctionId;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("need at least {need} samples to fit, have {have}")]
    TooFewSamples { need: usize, have: usize },
    #[error("least squares failed: {0}")]
    Solve(String),
    #[error("fitted coefficients are not finite")]
    NotFinite,
}

/// ln(cpu_us) = intercept + coef · x
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    pub coef: Vec<f64>,
    pub intercept: f64,
    pub n_samples: usize,
    /// Mean |ln(pred) - ln(actual)|: on the fitting samples, or the error on samples seen
    /// after the previous fit when that is worse (an out-of-sample check).
    pub mean_abs_ln_error: f64,
    /// Range of ln(cpu_us) seen when fitting: predictions stay within it (± ln 2), so a
    /// model never extrapolates wildly from a few samples.
    pub ln_min: f64,
    pub ln_max: f64,
    /// Each feature's lowest and highest value when fitting (empty in files written before
    /// they were kept). Outside that range the model may bend the wrong way: fitted on
    /// fib(15..=34) alone, it said e^51 µs for fib(0) (the intercept), and a replay's fib(0)
    /// waited 0.57 s behind every fib(34). So demand is taken as monotone there: an input below
    /// the range never predicts more than its edge, one above never less.
    pub x_min: Vec<f64>,
    pub x_max: Vec<f64>,
}

impl LinearModel {
    pub fn predict_ln(&self, x: &[f64]) -> f64 {
        let dot: f64 = self.coef.iter().zip(x).map(|(c, v)| c * v).sum();
        let dot = match self.outside_fitted_range(x) {
            (true, false) => dot.min(self.dot_at_range_edge(x)),
            (false, true) => dot.max(self.dot_at_range_edge(x)),
            _ => dot,
        };
        let lo = (self.ln_min - LN_RANGE_SLACK).max(0.0);
        let hi = (self.ln_max + LN_RANGE_SLACK).clamp(lo, LN_PRED_MAX);
        (self.intercept + dot).clamp(lo, hi)
    }

    /// Whether some input lies below, or above, the range the model was fitted on (neither
    /// for a model without ranges).
    fn outside_fitted_range(&self, x: &[f64]) -> (bool, bool) {
        if self.x_min.len() != self.coef.len() || self.x_max.len() != self.coef.len() {
            return (false, false);
        }
        let below = x.iter().zip(&self.x_min).any(|(v, lo)| v < lo);
        let above = x.iter().zip(&self.x_max).any(|(v, hi)| v > hi);
        (below, above)
    }

    /// The dot product with every input moved into the fitted range.
    fn dot_at_range_edge(&self, x: &[f64]) -> f64 {
        let ranges = self.x_min.iter().zip(&self.x_max);
        self.coef
            .iter()
            .zip(x)
            .zip(ranges)
            .map(|((c, v), (lo, hi))| c * v.max(*lo).min(*hi)) // never panics, unlike clamp
            .sum()
    }

    /// Predicted CPU demand in ns.
    pub fn predict_ns(&self, x: &[f64]) -> u64 {
        (self.predict_ln(x).exp() * 1000.0) as u64
    }

    pub fn trusted(&self) -> bool {
        self.n_samples >= MIN_TRUSTED_SAMPLES && self.mean_abs_ln_error <= MAX_TRUSTED_LN_ERROR
    }

    /// Least squares on `rows` (features) → `ln_y`. Columns that add nothing are left out
    /// (their coefficient is 0): constants, and combinations of the columns before them.
    pub fn fit(rows: &[Vec<f64>], ln_y: &[f64]) -> Result<Self, ModelError> {
        let n = rows.len();
        if n < 2 || ln_y.len() != n {
            return Err(ModelError::TooFewSamples { need: 2, have: n });
        }
        let width = rows[0].len();
        let varying = independent_columns(rows, width);
        let mean_y = ln_y.iter().sum::<f64>() / n as f64;
        let (intercept, coef) = if varying.is_empty() {
            (mean_y, vec![0.0; width])
        } else {
            let x = Array2::from_shape_fn((n, varying.len()), |(i, k)| rows[i][varying[k]]);
            let y = Array1::from_vec(ln_y.to_vec());
            let fitted = LinearRegression::new()
                .fit(&Dataset::new(x, y))
                .map_err(|e| ModelError::Solve(e.to_string()))?;
            let mut coef = vec![0.0; width];
            for (k, &j) in varying.iter().enumerate() {
                coef[j] = fitted.params()[k];
            }
            (fitted.intercept(), coef)
        };
        if !intercept.is_finite() || coef.iter().any(|c| !c.is_finite()) {
            return Err(ModelError::NotFinite);
        }
        let column = |j: usize| rows.iter().map(move |r| r[j]);
        let mut model = Self {
            coef,
            intercept,
            n_samples: n,
            mean_abs_ln_error: 0.0,
            ln_min: ln_y.iter().copied().fold(f64::INFINITY, f64::min),
            ln_max: ln_y.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            x_min: (0..width)
                .map(|j| column(j).fold(f64::INFINITY, f64::min))
                .collect(),
            x_max: (0..width)
                .map(|j| column(j).fold(f64::NEG_INFINITY, f64::max))
                .collect(),
        };
        model.mean_abs_ln_error = rows
            .iter()
            .zip(ln_y)
            .map(|(r, y)| (model.predict_ln(r) - y).abs())
            .sum::<f64>()
            / n as f64;
        Ok(model)
    }
}

/// A column whose part not explained by the intercept and the kept columns is smaller than
/// this share of its spread is a combination of them.
const DEPENDENT_COLUMN_SHARE: f64 = 1e-6;

/// The columns of `rows` that vary and are no linear combination of the intercept and the
/// columns kept before them (Gram-Schmidt on centred columns). Category buckets that always
/// sum to one, as two variants of one program do, made the system singular: the solver gave
/// intercepts of ±1e16 or failed, and a failed fit was retried at every sample (hackbench:
/// 152 refits from 160 samples in the VM).
fn independent_columns(rows: &[Vec<f64>], width: usize) -> Vec<usize> {
    let n = rows.len() as f64;
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut kept = Vec::new();
    for j in 0..width {
        let mean = rows.iter().map(|r| r[j]).sum::<f64>() / n;
        let mut v: Vec<f64> = rows.iter().map(|r| r[j] - mean).collect();
        let spread = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !spread.is_finite() || spread <= 1e-12 {
            continue;
        }
        for b in &basis {
            let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
        }
        let rest = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if rest > spread * DEPENDENT_COLUMN_SHARE {
            v.iter_mut().for_each(|x| *x /= rest);
            basis.push(v);
            kept.push(j);
        }
    }
    kept
}

/// Where a prediction came from: the level of the hierarchy that answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The function's own model (executable + categorical arguments, over numeric ones).
    Function,
    /// The executable's model (categorical arguments as features): a variant never or seldom
    /// seen still gets its program's prediction.
    Executable,
    /// The general model (behaviour features).
    General,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Function => "function",
            Source::Executable => "executable",
            Source::General => "general",
        }
    }
}

/// Every model in use, immutable once built; replaced as a whole by atomic swap.
#[derive(Debug, Clone, Default)]
pub struct ModelSet {
    /// Indexed by FunctionId.
    pub functions: Vec<Option<LinearModel>>,
    /// Indexed by the FunctionId of the executable identity (`exe:<program>`).
    pub executables: Vec<Option<LinearModel>>,
    pub general: Option<LinearModel>,
    /// Bumped on every publish: tasks re-predict when it changes.
    pub generation: u64,
}

impl ModelSet {
    /// Total CPU demand (ns) of a task, from the first trusted level: its function's model,
    /// its executable's model, the general model; else unknown.
    pub fn predict_total_ns(
        &self,
        func: Option<FunctionId>,
        exe: Option<FunctionId>,
        fx: &[f64; FUNCTION_FEATURES],
        cx: &[f64; CATEGORY_BUCKETS],
        gx: &[f64; GENERAL_FEATURES],
    ) -> Option<(u64, Source)> {
        fn trusted(set: &[Option<LinearModel>], id: Option<FunctionId>) -> Option<&LinearModel> {
            id.and_then(|i| set.get(i as usize))
                .and_then(Option::as_ref)
                .filter(|m| m.trusted())
        }
        if let Some(m) = trusted(&self.functions, func) {
            return Some((m.predict_ns(fx), Source::Function));
        }
        if let Some(m) = trusted(&self.executables, exe) {
            return Some((
                m.predict_ns(&executable_features(fx, cx)),
                Source::Executable,
            ));
        }
        self.general
            .as_ref()
            .filter(|m| m.trusted())
            .map(|m| (m.predict_ns(gx), Source::General))
    }

    /// Total CPU demand (ns) of an invocation known by its command line: its function's or
    /// executable's model, never the general one (which knows nothing of the command line).
    pub fn predict_identity_ns(
        &self,
        func: Option<FunctionId>,
        exe: Option<FunctionId>,
        fx: &[f64; FUNCTION_FEATURES],
        cx: &[f64; CATEGORY_BUCKETS],
    ) -> Option<u64> {
        let no_behaviour = [0.0; GENERAL_FEATURES];
        match self.predict_total_ns(func, exe, fx, cx, &no_behaviour)? {
            (ns, Source::Function | Source::Executable) => Some(ns),
            (_, Source::General) => None,
        }
    }
}

/// One completed task: what was known of it and the CPU it really used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub func: Option<FunctionId>,
    /// The executable's identity (`exe:<program>`), for the executable level.
    pub exe: Option<FunctionId>,
    pub fx: [f64; FUNCTION_FEATURES],
    /// Category buckets of its non-numeric arguments (see features::category_features).
    pub cx: [f64; CATEGORY_BUCKETS],
    pub gx: [f64; GENERAL_FEATURES],
    pub cpu_ns: u64,
}

/// ln of a CPU time given in ns, in µs.
pub fn ln_us(ns: u64) -> f64 {
    (ns as f64 / 1000.0).max(1.0).ln()
}

/// Function identity → FunctionId, bounded by MAX_FUNCTIONS.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<String, FunctionId>,
    names: Vec<String>,
}

impl Interner {
    /// The id of `identity`, a new one if unseen, None when the table is full.
    pub fn intern(&mut self, identity: &str) -> Option<FunctionId> {
        if let Some(&id) = self.ids.get(identity) {
            return Some(id);
        }
        if self.names.len() >= MAX_FUNCTIONS {
            return None;
        }
        let id = self.names.len() as FunctionId;
        self.ids.insert(identity.to_string(), id);
        self.names.push(identity.to_string());
        Some(id)
    }

    pub fn name(&self, id: FunctionId) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_FX: [f64; FUNCTION_FEATURES] = [0.0; FUNCTION_FEATURES];
    const NO_CX: [f64; CATEGORY_BUCKETS] = [0.0; CATEGORY_BUCKETS];
    const NO_GX: [f64; GENERAL_FEATURES] = [0.0; GENERAL_FEATURES];

    #[test]
    fn recovers_known_log_linear_coefficients() {
        // ln(cpu) = 2 + 0.48 x exactly (fib-like growth).
        let rows: Vec<Vec<f64>> = (10..30).map(|x| vec![x as f64]).collect();
        let y: Vec<f64> = (10..30).map(|x| 2.0 + 0.48 * x as f64).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert!((m.intercept - 2.0).abs() < 1e-6, "{m:?}");
        assert!((m.coef[0] - 0.48).abs() < 1e-6, "{m:?}");
        assert!(m.mean_abs_ln_error < 1e-6);
    }

    #[test]
    fn constant_columns_do_not_break_the_fit() {
        let rows: Vec<Vec<f64>> = (0..10).map(|x| vec![5.0, x as f64, 0.0]).collect();
        let y: Vec<f64> = (0..10).map(|x| 1.0 + 0.1 * x as f64).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert_eq!(m.coef[0], 0.0);
        assert!((m.coef[1] - 0.1).abs() < 1e-9);
        let flat = LinearModel::fit(&[vec![1.0], vec![1.0]], &[3.0, 5.0]).unwrap();
        assert_eq!(flat.intercept, 4.0);
        assert!(LinearModel::fit(&[vec![1.0]], &[1.0]).is_err());
    }

    /// Two variants of one program: their category buckets always sum to one (the intercept).
    /// The dependent bucket is left out, and the fit is the exact one, not ±1e16 terms.
    #[test]
    fn columns_that_combine_others_are_left_out() {
        let variant = |i: usize| f64::from(u8::from(i.is_multiple_of(3)));
        let rows: Vec<Vec<f64>> = (0..43)
            .map(|i| vec![variant(i), 1.0 - variant(i), (i % 5) as f64])
            .collect();
        let y: Vec<f64> = (0..43)
            .map(|i| 3.0 + 2.0 * variant(i) + 0.25 * (i % 5) as f64)
            .collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert_eq!(m.coef[1], 0.0, "{m:?}");
        assert!((m.intercept - 3.0).abs() < 1e-9, "{m:?}");
        assert!((m.coef[0] - 2.0).abs() < 1e-9 && (m.coef[2] - 0.25).abs() < 1e-9);
        assert!(m.mean_abs_ln_error < 1e-9);
        // A column that is twice another adds nothing either.
        let rows: Vec<Vec<f64>> = (0..10).map(|x| vec![x as f64, 2.0 * x as f64]).collect();
        let y: Vec<f64> = (0..10).map(|x| 1.0 + 0.5 * x as f64).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert_eq!(
            (m.coef[1], (m.coef[0] - 0.5).abs() < 1e-9),
            (0.0, true),
            "{m:?}"
        );
    }

    #[test]
    fn untrusted_models_predict_nothing() {
        let mut set = ModelSet::default();
        set.functions.push(Some(LinearModel {
            coef: vec![0.0; FUNCTION_FEATURES],
            intercept: 5.0,
            n_samples: 1,
            mean_abs_ln_error: 0.0,
            ln_min: 0.0,
            ln_max: 10.0,
            x_min: vec![],
            x_max: vec![],
        }));
        assert_eq!(
            set.predict_total_ns(Some(0), None, &NO_FX, &NO_CX, &NO_GX),
            None
        );
        set.functions[0] = Some(LinearModel {
            n_samples: 50,
            mean_abs_ln_error: 1.0,
            ..set.functions[0].clone().unwrap()
        });
        assert_eq!(
            set.predict_total_ns(Some(0), None, &NO_FX, &NO_CX, &NO_GX),
            None
        );
    }

    #[test]
    fn predictions_stay_near_the_range_seen() {
        let rows: Vec<Vec<f64>> = (0..5).map(|x| vec![x as f64]).collect();
        let y: Vec<f64> = (0..5).map(|x| 3.0 + x as f64).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert!((m.predict_ln(&[2.0]) - 5.0).abs() < 1e-9);
        assert!((m.predict_ln(&[1000.0]) - (7.0 + LN_RANGE_SLACK)).abs() < 1e-9);
        assert!((m.predict_ln(&[-1000.0]) - (3.0 - LN_RANGE_SLACK)).abs() < 1e-9);
    }

    #[test]
    fn beyond_the_fitted_arguments_demand_stays_monotone() {
        // The replay's case: fib-like demand (a start-up floor, then x1.618 per step) fitted
        // on arguments 15..=34 with the function features (n, ln(1+n)).
        let features = |a: f64| vec![a, a.ln_1p()];
        let demand_ln = |a: f64| (1800.0 + 0.0015 * 1.618f64.powf(a)).ln();
        let args: Vec<f64> = (15..=34).map(f64::from).collect();
        let rows: Vec<Vec<f64>> = args.iter().map(|&a| features(a)).collect();
        let y: Vec<f64> = args.iter().map(|&a| demand_ln(a)).collect();
        let m = LinearModel::fit(&rows, &y).unwrap();
        assert_eq!(
            (m.x_min.clone(), m.x_max.clone()),
            (rows[0].clone(), rows[19].clone())
        );
        let at = |a: f64| m.predict_ln(&features(a));
        // Below the range: never above the edge (the fit alone climbs back up).
        let old = LinearModel {
            x_min: vec![],
            x_max: vec![],
            ..m.clone()
        };
        let unguarded = old.predict_ln(&features(0.0));
        assert!(unguarded > at(15.0) + 1.0, "the fit alone: e^{unguarded}");
        assert!(at(0.0) <= at(15.0), "e^{} against e^{}", at(0.0), at(15.0));
        // Above it: the fitted trend goes on (never below the edge).
        assert!(at(36.0) > at(34.0));
        assert!((at(36.0) - old.predict_ln(&features(36.0))).abs() < 1e-9);
        // Inside it: unchanged.
        assert!((at(20.0) - old.predict_ln(&features(20.0))).abs() < 1e-9);
    }
}
