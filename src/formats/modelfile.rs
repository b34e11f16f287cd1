// SPDX-License-Identifier: GPL-2.0-only
//! The model file: one versioned JSON format for trained models (see models/README.md).
//!
//! Loading validates everything (format, schema version, feature names, shapes, finite
//! numbers) before anything is used, so a bad file is rejected whole, with the file named.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::features::{
    CATEGORY_BUCKETS, EXECUTABLE_FEATURES, EXECUTABLE_PREFIX, FUNCTION_FEATURES, GENERAL_FEATURES,
    GENERAL_FEATURE_NAMES, MAX_NUMERIC_ARGS,
};
use crate::core::model::{FunctionId, LinearModel, ModelSet};
use crate::formats::versioned::{
    check_version, content_hash, load_with, write_atomically, FileError,
};

pub const FORMAT: &str = "scx_foresight-models";
pub const SCHEMA_VERSION: u32 = 1;
pub const TARGET: &str = "ln(cpu_us)";

/// Names of the per-function features, in order.
pub fn function_feature_names() -> Vec<String> {
    (0..MAX_NUMERIC_ARGS)
        .flat_map(|i| [format!("arg{i}"), format!("ln1p_abs_arg{i}")])
        .collect()
}

/// Names of the executable-level features: the function features, then the category buckets.
pub fn executable_feature_names() -> Vec<String> {
    let mut names = function_feature_names();
    names.extend((0..CATEGORY_BUCKETS).map(|i| format!("category_bucket{i}")));
    names
}

/// Held-out quality of a model (k-fold cross-validation), in µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub folds: usize,
    /// R² of held-out predictions of cpu_us (null when the demand does not vary).
    pub r2: Option<f64>,
    pub mae_us: f64,
    /// Mean absolute percentage error of held-out predictions (0.1 = 10 %).
    pub mape: f64,
}

/// One regression: ln(cpu_us) = intercept + coef · features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub n_samples: usize,
    pub mean_abs_ln_error: f64,
    pub ln_min: f64,
    pub ln_max: f64,
    /// Each feature's range in the fitting samples, where predictions stop trusting the fit's
    /// shape (see `LinearModel`). Absent in files written before: those extrapolate freely.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x_min: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x_max: Vec<f64>,
    pub quality: Option<Quality>,
}

impl Params {
    pub fn from_model(m: &LinearModel, quality: Option<Quality>) -> Self {
        Self {
            intercept: m.intercept,
            coef: m.coef.clone(),
            n_samples: m.n_samples,
            mean_abs_ln_error: m.mean_abs_ln_error,
            ln_min: m.ln_min,
            ln_max: m.ln_max,
            x_min: m.x_min.clone(),
            x_max: m.x_max.clone(),
            quality,
        }
    }

    pub fn to_model(&self) -> LinearModel {
        LinearModel {
            coef: self.coef.clone(),
            intercept: self.intercept,
            n_samples: self.n_samples,
            mean_abs_ln_error: self.mean_abs_ln_error,
            ln_min: self.ln_min,
            ln_max: self.ln_max,
            x_min: self.x_min.clone(),
            x_max: self.x_max.clone(),
        }
    }

    fn validate(&self, width: usize, what: &str) -> Result<(), String> {
        if self.coef.len() != width {
            return Err(format!(
                "{what}: {} coefficients, expected {width}",
                self.coef.len()
            ));
        }
        let numbers = [
            self.intercept,
            self.mean_abs_ln_error,
            self.ln_min,
            self.ln_max,
        ];
        let ranges = self.x_min.iter().chain(&self.x_max);
        if numbers
            .iter()
            .chain(&self.coef)
            .chain(ranges)
            .any(|v| !v.is_finite())
        {
            return Err(format!("{what}: a number is not finite"));
        }
        let has_ranges = !(self.x_min.is_empty() && self.x_max.is_empty());
        if has_ranges && (self.x_min.len() != width || self.x_max.len() != width) {
            return Err(format!(
                "{what}: x_min and x_max need {width} values each, have {} and {}",
                self.x_min.len(),
                self.x_max.len()
            ));
        }
        if let Some(j) = (0..self.x_min.len()).find(|&j| self.x_min[j] > self.x_max[j]) {
            return Err(format!(
                "{what}: feature {j}'s x_min {} is above its x_max {}",
                self.x_min[j], self.x_max[j]
            ));
        }
        if self.n_samples == 0 || self.ln_min > self.ln_max || self.mean_abs_ln_error < 0.0 {
            return Err(format!(
                "{what}: n_samples must be > 0, ln_min <= ln_max, error >= 0"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionModel {
    pub identity: String,
    pub model: Params,
}

/// Where a model file came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    pub created_unix: u64,
    pub tool: String,
    pub sources: Vec<String>,
    pub n_samples: usize,
    pub min_samples: usize,
    pub folds: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub schema_version: u32,
    pub target: String,
    pub function_features: Vec<String>,
    pub general_features: Vec<String>,
    pub functions: Vec<FunctionModel>,
    /// The executable level (`exe:<program>` identities, categorical arguments as features);
    /// absent in files written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executable_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executables: Vec<FunctionModel>,
    pub general: Option<Params>,
    pub training: Training,
}

impl ModelFile {
    /// Read, parse and validate; the error names the file and the reason.
    pub fn load(path: &Path) -> Result<(Self, u64), FileError> {
        load_with(path, Self::parse).map(|(v, _)| v)
    }

    /// Parse and validate a model file's bytes; returns it and its content hash.
    pub fn parse(bytes: &[u8]) -> Result<(Self, u64), String> {
        let file: ModelFile =
            serde_json::from_slice(bytes).map_err(|e| format!("not a valid model file: {e}"))?;
        file.validate()?;
        Ok((file, content_hash(bytes)))
    }

    pub fn validate(&self) -> Result<(), String> {
        check_version(&self.format, FORMAT, self.schema_version, SCHEMA_VERSION)?;
        if self.target != TARGET {
            return Err(format!("target is `{}`, expected `{TARGET}`", self.target));
        }
        if self.function_features != function_feature_names() {
            return Err(format!(
                "function_features must be {:?}",
                function_feature_names()
            ));
        }
        if self.general_features != GENERAL_FEATURE_NAMES {
            return Err(format!(
                "general_features must be {GENERAL_FEATURE_NAMES:?}"
            ));
        }
        let mut seen = HashSet::new();
        for f in &self.functions {
            if f.identity.trim().is_empty() {
                return Err("a function has an empty identity".into());
            }
            if !seen.insert(&f.identity) {
                return Err(format!("function `{}` appears twice", f.identity));
            }
            f.model
                .validate(FUNCTION_FEATURES, &format!("function `{}`", f.identity))?;
        }
        if !self.executables.is_empty() && self.executable_features != executable_feature_names() {
            return Err(format!(
                "executable_features must be {:?}",
                executable_feature_names()
            ));
        }
        let mut seen = HashSet::new();
        for e in &self.executables {
            if !e.identity.starts_with(EXECUTABLE_PREFIX)
                || e.identity.len() == EXECUTABLE_PREFIX.len()
            {
                return Err(format!(
                    "executable `{}` must be named `{EXECUTABLE_PREFIX}<program>`",
                    e.identity
                ));
            }
            if !seen.insert(&e.identity) {
                return Err(format!("executable `{}` appears twice", e.identity));
            }
            e.model
                .validate(EXECUTABLE_FEATURES, &format!("executable `{}`", e.identity))?;
        }
        if let Some(g) = &self.general {
            g.validate(GENERAL_FEATURES, "general model")?;
        }
        Ok(())
    }

    /// The models as a ModelSet, function identities mapped through `intern`.
    pub fn to_model_set(
        &self,
        mut intern: impl FnMut(&str) -> Option<FunctionId>,
        generation: u64,
    ) -> ModelSet {
        let mut set = ModelSet {
            generation,
            general: self.general.as_ref().map(Params::to_model),
            ..ModelSet::default()
        };
        for (entries, models) in [
            (&self.functions, &mut set.functions),
            (&self.executables, &mut set.executables),
        ] {
            for f in entries {
                if let Some(id) = intern(&f.identity) {
                    let i = id as usize;
                    if models.len() <= i {
                        models.resize(i + 1, None);
                    }
                    models[i] = Some(f.model.to_model());
                }
            }
        }
        set
    }

    /// Write as pretty JSON, atomically (a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write_atomically(path, text.as_bytes())
    }
}

#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// A small valid model file for tests.
    pub fn sample_file() -> ModelFile {
        let params = |w: usize| Params {
            intercept: 2.0,
            coef: vec![0.5; w],
            n_samples: 10,
            mean_abs_ln_error: 0.05,
            ln_min: 1.0,
            ln_max: 9.0,
            x_min: vec![0.0; w],
            x_max: vec![10.0; w],
            quality: Some(Quality {
                folds: 5,
                r2: Some(0.9),
                mae_us: 12.0,
                mape: 0.04,
            }),
        };
        ModelFile {
            format: FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            target: TARGET.into(),
            function_features: function_feature_names(),
            general_features: GENERAL_FEATURE_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            functions: vec![FunctionModel {
                identity: "/bin/f".into(),
                model: params(FUNCTION_FEATURES),
            }],
            executable_features: executable_feature_names(),
            executables: vec![FunctionModel {
                identity: "exe:/bin/f".into(),
                model: params(EXECUTABLE_FEATURES),
            }],
            general: Some(params(GENERAL_FEATURES)),
            training: Training {
                created_unix: 1,
                tool: "test".into(),
                sources: vec!["s.csv".into()],
                n_samples: 10,
                min_samples: 5,
                folds: 5,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample_file;
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("foresight-mf-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn round_trip_through_a_file() {
        let path = tmp("m.json");
        let f = sample_file();
        f.save(&path).unwrap();
        let (back, hash) = ModelFile::load(&path).unwrap();
        assert_eq!(back, f);
        assert_eq!(hash, content_hash(&std::fs::read(&path).unwrap()));
        let set = back.to_model_set(|_| Some(3), 7);
        assert_eq!(set.generation, 7);
        assert!(set.functions[3].is_some() && set.functions[0].is_none());
    }

    #[test]
    fn a_file_without_feature_ranges_still_loads() {
        let mut old = sample_file();
        let general = old.general.iter_mut();
        let levels = old.functions.iter_mut().chain(old.executables.iter_mut());
        for m in levels.map(|f| &mut f.model).chain(general) {
            m.x_min.clear();
            m.x_max.clear();
        }
        let text = serde_json::to_string(&old).unwrap();
        assert!(!text.contains("x_min"), "{text}");
        let (back, _) = ModelFile::parse(text.as_bytes()).unwrap();
        assert!(back.functions[0].model.to_model().x_min.is_empty());
    }

    #[test]
    fn every_kind_of_bad_file_is_rejected_with_its_name() {
        let path = tmp("bad.json");
        let mut cases: Vec<(String, &str)> = vec![
            ("".into(), "not a valid model file"),
            ("{".into(), "not a valid model file"),
            ("[]".into(), "not a valid model file"),
        ];
        let mutate = |f: &dyn Fn(&mut ModelFile)| {
            let mut m = sample_file();
            f(&mut m);
            serde_json::to_string(&m).unwrap()
        };
        cases.push((mutate(&|m| m.schema_version = 99), "schema_version 99"));
        cases.push((mutate(&|m| m.format = "x".into()), "format"));
        cases.push((
            mutate(&|m| m.functions[0].model.coef.pop().map(drop).unwrap_or(())),
            "coefficients",
        ));
        cases.push((
            mutate(&|m| m.functions.push(m.functions[0].clone())),
            "appears twice",
        ));
        cases.push((
            mutate(&|m| m.general_features.reverse()),
            "general_features",
        ));
        cases.push((mutate(&|m| m.functions[0].model.ln_min = 99.0), "ln_min"));
        cases.push((mutate(&|m| m.functions[0].model.x_max.truncate(1)), "x_max"));
        cases.push((
            mutate(&|m| m.functions[0].model.x_min[1] = 11.0),
            "feature 1's x_min 11 is above its x_max 10",
        ));
        cases.push((sample_json_with_extra_field(), "unknown field"));
        cases.push((
            serde_json::to_string(&sample_file())
                .unwrap()
                .replace("\"intercept\":2.0", "\"intercept\":\"x\""),
            "not a valid",
        ));
        for (text, what) in cases {
            std::fs::write(&path, &text).unwrap();
            let e = ModelFile::load(&path).unwrap_err();
            assert!(e.file.ends_with("bad.json"), "{e}");
            assert!(e.reason.contains(what), "{text}: {e}");
        }
        assert!(ModelFile::load(&tmp("missing.json"))
            .unwrap_err()
            .reason
            .contains("cannot read"));
    }

    fn sample_json_with_extra_field() -> String {
        serde_json::to_string(&sample_file())
            .unwrap()
            .replacen('{', "{\"surprise\":1,", 1)
    }
}
