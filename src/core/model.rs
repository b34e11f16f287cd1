// SPDX-License-Identifier: GPL-2.0-only
//! Prediction of a task's total CPU demand by linear regression on log CPU time.
//!
//! Fitting on ln(cpu_us) makes exponential relations (fib(n): ×1.618 per step of n) linear in
//! the argument; ln(1+|x|) features make power-like relations near-linear too. One model per
//! function identity (over its numeric arguments) and one general model (over behaviour
//! features) for tasks without a trustworthy function model.
//!
//! The [`Trainer`] keeps bounded recent samples and refits with linfa-linear; a refit produces
//! a new immutable [`ModelSet`] that the caller publishes by atomic swap. The hot path only
//! calls [`ModelSet::predict_total_ns`]: a lookup and a dot product.

use std::collections::{HashMap, VecDeque};

use linfa::prelude::*;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};

use crate::core::features::{
    executable_features, CATEGORY_BUCKETS, FUNCTION_FEATURES, GENERAL_FEATURES,
};

/// Function identities that get their own model; later ones use the general model.
pub const MAX_FUNCTIONS: usize = 1024;
/// Samples kept per function (the most recent), bounding memory.
pub const SAMPLES_PER_FUNCTION: usize = 64;
/// Samples kept for the general model.
pub const SAMPLES_GENERAL: usize = 1024;
/// A function model is trusted from this many samples (its predictions are kept within the
/// range it has seen, and it loses trust when it errs on samples it had not seen)...
pub const MIN_TRUSTED_SAMPLES: usize = 2;
/// ...and when its mean absolute error in ln space is below this (ln 1.5: within ~50%).
pub const MAX_TRUSTED_LN_ERROR: f64 = 0.405;
/// Own samples needed before a loaded (prior) function model is refitted from them.
pub const REPLACE_PRIOR_SAMPLES: usize = 16;
/// Refit a model after this many new samples.
pub const REFIT_EVERY_SAMPLES: usize = 4;
/// Predictions are clamped to [1 µs, 1 hour]...
const LN_PRED_MAX: f64 = 22.0;
/// ...and to the range seen in training, widened by ln 2 either way.
const LN_RANGE_SLACK: f64 = std::f64::consts::LN_2;
/// Weight of the newest sample in the out-of-sample error average.
const ONLINE_ERROR_ALPHA: f64 = 0.2;

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
}

impl LinearModel {
    pub fn predict_ln(&self, x: &[f64]) -> f64 {
        let dot: f64 = self.coef.iter().zip(x).map(|(c, v)| c * v).sum();
        let lo = (self.ln_min - LN_RANGE_SLACK).max(0.0);
        let hi = (self.ln_max + LN_RANGE_SLACK).clamp(lo, LN_PRED_MAX);
        (self.intercept + dot).clamp(lo, hi)
    }

    /// Predicted CPU demand in ns.
    pub fn predict_ns(&self, x: &[f64]) -> u64 {
        (self.predict_ln(x).exp() * 1000.0) as u64
    }

    pub fn trusted(&self) -> bool {
        self.n_samples >= MIN_TRUSTED_SAMPLES && self.mean_abs_ln_error <= MAX_TRUSTED_LN_ERROR
    }

    /// Least squares on `rows` (features) → `ln_y`. Constant columns are left out (their
    /// coefficient is 0): they carry no information and make the system rank-deficient.
    pub fn fit(rows: &[Vec<f64>], ln_y: &[f64]) -> Result<Self, ModelError> {
        let n = rows.len();
        if n < 2 || ln_y.len() != n {
            return Err(ModelError::TooFewSamples { need: 2, have: n });
        }
        let width = rows[0].len();
        let varying: Vec<usize> = (0..width)
            .filter(|&j| rows.iter().any(|r| (r[j] - rows[0][j]).abs() > 1e-12))
            .collect();
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
        let mut model = Self {
            coef,
            intercept,
            n_samples: n,
            mean_abs_ln_error: 0.0,
            ln_min: ln_y.iter().copied().fold(f64::INFINITY, f64::min),
            ln_max: ln_y.iter().copied().fold(f64::NEG_INFINITY, f64::max),
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

/// Which per-identity level a [`Keyed`] store feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Level {
    #[default]
    Function,
    Executable,
}

impl Level {
    fn key(self, s: &Sample) -> Option<usize> {
        match self {
            Level::Function => s.func,
            Level::Executable => s.exe,
        }
        .map(|k| k as usize)
        .filter(|&k| k < MAX_FUNCTIONS)
    }

    fn features(self, s: &Sample) -> Vec<f64> {
        match self {
            Level::Function => s.fx.to_vec(),
            Level::Executable => executable_features(&s.fx, &s.cx).to_vec(),
        }
    }
}

/// Recent samples per identity of one level, and what its refits need to know.
#[derive(Debug, Default)]
struct Keyed {
    level: Level,
    samples: Vec<VecDeque<Sample>>,
    dirty: Vec<usize>,
    /// Per identity: its model came from a loaded file (replaced only by enough own samples).
    from_prior: Vec<bool>,
    /// Per identity: average error of the published model on samples it had not seen.
    online_error: Vec<Option<f64>>,
}

impl Keyed {
    fn new(level: Level) -> Self {
        Self {
            level,
            ..Self::default()
        }
    }

    /// Score the published model on this unseen sample, then keep it.
    fn add(&mut self, s: Sample, published: &[Option<LinearModel>]) {
        let Some(k) = self.level.key(&s) else {
            return;
        };
        if self.samples.len() <= k {
            self.samples.resize_with(k + 1, VecDeque::new);
            self.dirty.resize(k + 1, 0);
            self.online_error.resize(k + 1, None);
        }
        if let Some(Some(m)) = published.get(k) {
            let err = (m.predict_ln(&self.level.features(&s)) - ln_us(s.cpu_ns)).abs();
            let avg = self.online_error[k].map_or(err, |e| {
                e * (1.0 - ONLINE_ERROR_ALPHA) + err * ONLINE_ERROR_ALPHA
            });
            self.online_error[k] = Some(avg);
        }
        push_bounded(&mut self.samples[k], s, SAMPLES_PER_FUNCTION);
        self.dirty[k] += 1;
    }

    fn refit_due(&self) -> bool {
        self.dirty.iter().any(|&d| d >= REFIT_EVERY_SAMPLES)
    }

    /// Refit every identity with at least `min_new` new samples into `models`.
    fn refit(&mut self, models: &mut Vec<Option<LinearModel>>, min_new: usize) {
        if models.len() < self.samples.len() {
            models.resize(self.samples.len(), None);
        }
        for (k, samples) in self.samples.iter().enumerate() {
            if self.dirty[k] < min_new && models[k].is_some() {
                continue;
            }
            let prior = self.from_prior.get(k).copied().unwrap_or(false);
            if samples.len() < if prior { REPLACE_PRIOR_SAMPLES } else { 2 } {
                continue;
            }
            let rows: Vec<Vec<f64>> = samples.iter().map(|s| self.level.features(s)).collect();
            let ln_y: Vec<f64> = samples.iter().map(|s| ln_us(s.cpu_ns)).collect();
            if let Ok(mut m) = LinearModel::fit(&rows, &ln_y) {
                if let Some(e) = self.online_error[k] {
                    m.mean_abs_ln_error = m.mean_abs_ln_error.max(e);
                }
                models[k] = Some(m);
                self.dirty[k] = 0;
                if let Some(p) = self.from_prior.get_mut(k) {
                    *p = false;
                }
            }
        }
    }
}

/// Bounded sample memory and the refit logic, shared by the live trainer thread and the
/// simulator (which calls it inline, so its results stay deterministic).
#[derive(Debug)]
pub struct Trainer {
    functions: Keyed,
    executables: Keyed,
    general: VecDeque<Sample>,
    new_general: usize,
    current: ModelSet,
    pub samples_seen: u64,
    pub refits: u64,
}

impl Default for Trainer {
    fn default() -> Self {
        Self {
            functions: Keyed::new(Level::Function),
            executables: Keyed::new(Level::Executable),
            general: VecDeque::new(),
            new_general: 0,
            current: ModelSet::default(),
            samples_seen: 0,
            refits: 0,
        }
    }
}

impl Trainer {
    /// Start from `prior` (e.g. a loaded model file); learning continues from it.
    pub fn new(prior: ModelSet) -> Self {
        Self {
            current: prior,
            ..Self::default()
        }
    }

    pub fn models(&self) -> &ModelSet {
        &self.current
    }

    /// Install loaded models as the prior (samples are kept; learning continues from them):
    /// a loaded function or executable model is replaced only once REPLACE_PRIOR_SAMPLES of
    /// its own samples have arrived.
    pub fn set_prior(&mut self, prior: ModelSet) -> &ModelSet {
        let generation = self.current.generation.max(prior.generation) + 1;
        self.functions.from_prior = prior.functions.iter().map(Option::is_some).collect();
        self.executables.from_prior = prior.executables.iter().map(Option::is_some).collect();
        self.current = ModelSet {
            generation,
            ..prior
        };
        &self.current
    }

    /// Remember a sample; true when a refit is due.
    pub fn add(&mut self, s: Sample) -> bool {
        if s.cpu_ns == 0 {
            return false;
        }
        self.samples_seen += 1;
        self.functions.add(s, &self.current.functions);
        self.executables.add(s, &self.current.executables);
        push_bounded(&mut self.general, s, SAMPLES_GENERAL);
        self.new_general += 1;
        self.refit_due()
    }

    pub fn refit_due(&self) -> bool {
        self.functions.refit_due()
            || self.executables.refit_due()
            || self.new_general >= REFIT_EVERY_SAMPLES * 8
    }

    /// Refit what has enough new samples; returns the new set (generation bumped).
    pub fn refit(&mut self) -> &ModelSet {
        self.refit_with(REFIT_EVERY_SAMPLES)
    }

    /// Refit every model with at least one new sample (the learner's periodic refit).
    pub fn refit_all(&mut self) -> &ModelSet {
        self.refit_with(1)
    }

    fn refit_with(&mut self, min_new: usize) -> &ModelSet {
        let mut next = self.current.clone();
        self.functions.refit(&mut next.functions, min_new);
        self.executables.refit(&mut next.executables, min_new);
        // The general model sees every sample: refit it 8x less often, unless forced.
        let general_min = if min_new <= 1 { 1 } else { min_new * 8 };
        if self.new_general >= general_min || next.general.is_none() {
            let rows: Vec<Vec<f64>> = self.general.iter().map(|s| s.gx.to_vec()).collect();
            let ln_y: Vec<f64> = self.general.iter().map(|s| ln_us(s.cpu_ns)).collect();
            if let Ok(m) = LinearModel::fit(&rows, &ln_y) {
                next.general = Some(m);
                self.new_general = 0;
            }
        }
        next.generation += 1;
        self.refits += 1;
        self.current = next;
        &self.current
    }
}

fn push_bounded(q: &mut VecDeque<Sample>, s: Sample, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(s);
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
    use crate::core::features::Invocation;
    use crate::core::rng::Rng;

    const NO_FX: [f64; FUNCTION_FEATURES] = [0.0; FUNCTION_FEATURES];
    const NO_CX: [f64; CATEGORY_BUCKETS] = [0.0; CATEGORY_BUCKETS];
    const NO_GX: [f64; GENERAL_FEATURES] = [0.0; GENERAL_FEATURES];

    fn sample(func: FunctionId, arg: f64, cpu_us: f64) -> Sample {
        Sample {
            func: Some(func),
            exe: None,
            fx: Invocation::from_args("f", [arg.to_string().as_str()]).function_features(),
            cx: [0.0; CATEGORY_BUCKETS],
            gx: [0.0; GENERAL_FEATURES],
            cpu_ns: (cpu_us * 1000.0) as u64,
        }
    }

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

    #[test]
    fn trainer_learns_fib_and_is_trusted_then() {
        let mut t = Trainer::new(ModelSet::default());
        let mut rng = Rng::new(3);
        for _ in 0..40 {
            let n = rng.range(20, 32) as f64;
            let cpu = 5.0 * 1.618f64.powf(n - 20.0) * 1000.0 * (1.0 + 0.05 * rng.normal());
            if t.add(sample(0, n, cpu)) {
                t.refit();
            }
        }
        let models = t.models();
        let fx = Invocation::from_args("f", ["30"]).function_features();
        let (pred, src) = models
            .predict_total_ns(Some(0), None, &fx, &NO_CX, &NO_GX)
            .unwrap();
        assert_eq!(src, Source::Function);
        let truth = 5.0 * 1.618f64.powi(10) * 1e6;
        assert!(
            (pred as f64 / truth - 1.0).abs() < 0.15,
            "pred {pred} truth {truth}"
        );
        assert!(models.generation > 0);
    }

    #[test]
    fn an_unseen_variant_is_predicted_by_its_executable() {
        // One program, two modes seen (ids 0 and 1), the executable's id 9; ln(cpu) depends
        // on the mode and the argument.
        let mut t = Trainer::new(ModelSet::default());
        let mut rng = Rng::new(5);
        for i in 0..60 {
            let (func, mode) = if i % 2 == 0 { (0, "fast") } else { (1, "slow") };
            let n = rng.range(1, 20) as f64;
            let inv = Invocation::from_args("/bin/p", ["--mode", mode, &n.to_string()]);
            let base = if mode == "fast" { 1000.0 } else { 8000.0 };
            let s = Sample {
                func: Some(func),
                exe: Some(9),
                fx: inv.function_features(),
                cx: inv.category_features(),
                gx: NO_GX,
                cpu_ns: (base * 1.1f64.powf(n) * 1000.0) as u64,
            };
            if t.add(s) {
                t.refit();
            }
        }
        let models = t.models();
        assert!(models.executables[9].as_ref().unwrap().trusted());
        // A variant with no model of its own (id 5): the executable level answers, and tells
        // the modes apart through their category buckets.
        let predict = |mode: &str| {
            let inv = Invocation::from_args("/bin/p", ["--mode", mode, "10"]);
            models.predict_total_ns(
                Some(5),
                Some(9),
                &inv.function_features(),
                &inv.category_features(),
                &NO_GX,
            )
        };
        let (fast, src) = predict("fast").unwrap();
        assert_eq!(src, Source::Executable);
        let (slow, _) = predict("slow").unwrap();
        let truth_fast = 1000.0 * 1.1f64.powi(10) * 1000.0;
        assert!(
            (fast as f64 / truth_fast - 1.0).abs() < 0.2,
            "{fast} vs {truth_fast}"
        );
        assert!(slow > 4 * fast, "{slow} vs {fast}");
        // The function level, where trusted, comes first.
        let inv = Invocation::from_args("/bin/p", ["--mode", "fast", "10"]);
        let (_, src) = models
            .predict_total_ns(
                Some(0),
                Some(9),
                &inv.function_features(),
                &inv.category_features(),
                &NO_GX,
            )
            .unwrap();
        assert_eq!(src, Source::Function);
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
    fn a_model_that_fails_on_new_samples_loses_trust() {
        let mut t = Trainer::new(ModelSet::default());
        for i in 0..12 {
            if t.add(sample(0, 10.0 + f64::from(i % 3), 1000.0)) {
                t.refit();
            }
        }
        assert!(t.models().functions[0].as_ref().unwrap().trusted());
        // The same arguments now cost 20x more: out-of-sample error shoots up.
        for i in 0..8 {
            if t.add(sample(0, 10.0 + f64::from(i % 3), 20_000.0)) {
                t.refit();
            }
        }
        assert!(!t.models().functions[0].as_ref().unwrap().trusted());
    }

    #[test]
    fn memory_is_bounded() {
        let mut t = Trainer::new(ModelSet::default());
        for i in 0..10_000u32 {
            t.add(sample(i % 3, 1.0, 100.0));
        }
        assert!(t
            .functions
            .samples
            .iter()
            .all(|q| q.len() <= SAMPLES_PER_FUNCTION));
        assert!(t.general.len() <= SAMPLES_GENERAL);
        let mut names = Interner::default();
        for i in 0..(MAX_FUNCTIONS + 10) {
            let id = names.intern(&format!("f{i}"));
            assert_eq!(id.is_some(), i < MAX_FUNCTIONS);
        }
        assert_eq!(names.intern("f0"), Some(0));
    }
}
