// SPDX-License-Identifier: GPL-2.0-only
//! The fitted workload classifier and its inputs.
//!
//! Recorded signal windows (`--record-signals`, one CSV row per window, labelled with the
//! workload that ran) are fitted as a nearest-centroid classifier on standardised
//! [`Signals::features`], stored as one linear score per class (the class with the highest
//! score is the nearest). It is cross-validated (k folds) when trained, saved as a versioned
//! JSON file, validated when loaded, and replaced only by a valid file.
//!
//! (One-vs-rest least squares was tried first: 70 % held-out recall on cpu-bound windows and
//! CPU hogs called faas-burst in the VM; the centroids separate them.)

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::classify::{
    Signals, SystemClass, NR_SIGNALS, NR_SIGNAL_COLUMNS, SIGNAL_COLUMNS, SIGNAL_FEATURE_NAMES,
};
use crate::formats::csv::{self, read_input};
use crate::formats::versioned::{check_version, content_hash, FileError};

pub const FORMAT: &str = "scx_foresight-classifier";
pub const SCHEMA_VERSION: u32 = 1;

/// The header line of a signals file.
pub fn windows_header() -> String {
    format!("uptime_s,window_s,{},class,label", SIGNAL_COLUMNS.join(","))
}

/// One recorded window: when, its signals, what the scheduler called it, what it really was.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub uptime_s: f64,
    pub window_s: f64,
    pub signals: Signals,
    pub class: SystemClass,
    /// The workload that ran (known when the recording was labelled), for training.
    pub label: Option<SystemClass>,
}

impl Window {
    /// The CSV line (no newline).
    pub fn to_line(&self) -> String {
        let mut line = format!("{:.3},{:.3}", self.uptime_s, self.window_s);
        for v in self.signals.rates() {
            let _ = write!(line, ",{v:.4}");
        }
        let label = self.label.map_or("", |l| l.name());
        let _ = write!(line, ",{},{label}", self.class);
        line
    }
}

/// Read a signals file strictly: every field present, numbers finite and not negative.
pub fn read_windows(path: &Path) -> Result<Vec<Window>, FileError> {
    let (text, file) = read_input(path)?;
    parse_windows(&text, &file)
}

pub fn parse_windows(text: &str, file: &str) -> Result<Vec<Window>, FileError> {
    let bad = |line: usize, reason: String| FileError::at(file, line, reason);
    let width = 2 + NR_SIGNAL_COLUMNS + 2;
    let mut out = Vec::new();
    for (n, f) in csv::rows(text, file, &windows_header(), Some(width))? {
        let num = |i: usize, name: &str| -> Result<f64, FileError> {
            f[i].trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    bad(
                        n,
                        format!("{name} must be a finite number >= 0, found `{}`", f[i]),
                    )
                })
        };
        let mut rates = [0.0; NR_SIGNAL_COLUMNS];
        for (k, r) in rates.iter_mut().enumerate() {
            *r = num(2 + k, SIGNAL_COLUMNS[k])?;
        }
        let class_at = |i: usize| f[i].parse::<SystemClass>().map_err(|r| bad(n, r));
        out.push(Window {
            uptime_s: num(0, "uptime_s")?,
            window_s: num(1, "window_s")?,
            signals: Signals::from_rates(rates),
            class: class_at(2 + NR_SIGNAL_COLUMNS)?,
            label: match f[3 + NR_SIGNAL_COLUMNS].trim() {
                "" => None,
                _ => Some(class_at(3 + NR_SIGNAL_COLUMNS)?),
            },
        });
    }
    Ok(out)
}

/// One class's linear score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub class: String,
    pub intercept: f64,
    pub weights: Vec<f64>,
    /// Training windows with this label.
    pub n_windows: usize,
}

/// Held-out quality from the k-fold cross-validation at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierQuality {
    pub folds: usize,
    /// Share of held-out windows classified as labelled.
    pub accuracy: f64,
    /// Per labelled class: share of its held-out windows classified correctly.
    pub recall: BTreeMap<String, f64>,
}

/// The classifier file (see models/README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierFile {
    pub format: String,
    pub schema_version: u32,
    pub features: Vec<String>,
    /// Standardisation: feature = (x − mean) / scale.
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub classes: Vec<ClassScore>,
    pub quality: Option<ClassifierQuality>,
    pub sources: Vec<String>,
}

/// A loaded classifier, ready for the classifier thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    mean: [f64; NR_SIGNALS],
    scale: [f64; NR_SIGNALS],
    scores: Vec<(SystemClass, f64, [f64; NR_SIGNALS])>,
}

impl Classifier {
    /// The highest-scoring class for these signals.
    pub fn classify(&self, s: &Signals) -> SystemClass {
        let x = s.features();
        let mut best = (SystemClass::Mixed, f64::NEG_INFINITY);
        for (class, intercept, w) in &self.scores {
            let score = intercept
                + (0..NR_SIGNALS)
                    .map(|i| w[i] * (x[i] - self.mean[i]) / self.scale[i])
                    .sum::<f64>();
            if score > best.1 {
                best = (*class, score);
            }
        }
        best.0
    }

    /// Fit the class centroids from labelled windows; needs at least two labelled classes.
    pub fn fit(windows: &[(Signals, SystemClass)]) -> Result<Self, String> {
        let present: Vec<SystemClass> = SystemClass::ALL
            .into_iter()
            .filter(|c| windows.iter().any(|(_, l)| l == c))
            .collect();
        if present.len() < 2 {
            return Err(format!(
                "need labelled windows of at least two classes, found {}",
                present.len()
            ));
        }
        let xs: Vec<[f64; NR_SIGNALS]> = windows.iter().map(|(s, _)| s.features()).collect();
        let n = xs.len() as f64;
        let mut mean = [0.0; NR_SIGNALS];
        let mut scale = [1.0; NR_SIGNALS];
        for i in 0..NR_SIGNALS {
            mean[i] = xs.iter().map(|x| x[i]).sum::<f64>() / n;
            let var = xs.iter().map(|x| (x[i] - mean[i]).powi(2)).sum::<f64>() / n;
            scale[i] = if var.sqrt() > 1e-9 { var.sqrt() } else { 1.0 };
        }
        let rows: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                (0..NR_SIGNALS)
                    .map(|i| (x[i] - mean[i]) / scale[i])
                    .collect()
            })
            .collect();
        // Nearest centroid in the standardised space, written as linear scores: with z the
        // window and m the class's centroid, −|z − m|² = 2 m·z − |m|² − |z|², and |z|² is
        // the same for every class.
        let mut scores = Vec::new();
        for class in present {
            let members: Vec<&Vec<f64>> = rows
                .iter()
                .zip(windows)
                .filter(|(_, (_, l))| *l == class)
                .map(|(r, _)| r)
                .collect();
            let mut centroid = [0.0; NR_SIGNALS];
            for (i, c) in centroid.iter_mut().enumerate() {
                *c = members.iter().map(|r| r[i]).sum::<f64>() / members.len() as f64;
            }
            let w = centroid.map(|c| 2.0 * c);
            let intercept = -centroid.iter().map(|c| c * c).sum::<f64>();
            scores.push((class, intercept, w));
        }
        Ok(Self {
            mean,
            scale,
            scores,
        })
    }

    /// k-fold cross-validation (windows assigned to folds round-robin).
    pub fn cross_validate(
        windows: &[(Signals, SystemClass)],
        folds: usize,
    ) -> Result<ClassifierQuality, String> {
        let folds = folds.clamp(2, windows.len().max(2));
        let mut right = 0usize;
        let mut per: BTreeMap<SystemClass, (usize, usize)> = BTreeMap::new();
        for k in 0..folds {
            let train: Vec<_> = windows
                .iter()
                .enumerate()
                .filter(|(i, _)| i % folds != k)
                .map(|(_, w)| *w)
                .collect();
            let model = Self::fit(&train)?;
            for (_, (s, label)) in windows.iter().enumerate().filter(|(i, _)| i % folds == k) {
                let ok = model.classify(s) == *label;
                right += usize::from(ok);
                let e = per.entry(*label).or_default();
                e.0 += usize::from(ok);
                e.1 += 1;
            }
        }
        Ok(ClassifierQuality {
            folds,
            accuracy: right as f64 / windows.len().max(1) as f64,
            recall: per
                .into_iter()
                .map(|(c, (ok, all))| (c.name().to_string(), ok as f64 / all.max(1) as f64))
                .collect(),
        })
    }

    pub fn to_file(
        &self,
        windows: &[(Signals, SystemClass)],
        quality: Option<ClassifierQuality>,
        sources: Vec<String>,
    ) -> ClassifierFile {
        ClassifierFile {
            format: FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            features: SIGNAL_FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            mean: self.mean.to_vec(),
            scale: self.scale.to_vec(),
            classes: self
                .scores
                .iter()
                .map(|(c, b, w)| ClassScore {
                    class: c.name().into(),
                    intercept: *b,
                    weights: w.to_vec(),
                    n_windows: windows.iter().filter(|(_, l)| l == c).count(),
                })
                .collect(),
            quality,
            sources,
        }
    }
}

impl ClassifierFile {
    /// Read, parse and validate; the error names the file and the reason. Returns the
    /// classifier and the file's content hash.
    pub fn load(path: &Path) -> Result<(Classifier, u64), FileError> {
        crate::formats::versioned::load_with(path, Self::parse).map(|(v, _)| v)
    }

    /// Parse and validate a classifier file's bytes; returns it and its content hash.
    pub fn parse(bytes: &[u8]) -> Result<(Classifier, u64), String> {
        let file: ClassifierFile = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a valid classifier file: {e}"))?;
        Ok((file.to_classifier()?, content_hash(bytes)))
    }

    pub fn to_classifier(&self) -> Result<Classifier, String> {
        check_version(&self.format, FORMAT, self.schema_version, SCHEMA_VERSION)?;
        if self.features != SIGNAL_FEATURE_NAMES {
            return Err(format!(
                "features must be {SIGNAL_FEATURE_NAMES:?}, found {:?}",
                self.features
            ));
        }
        let fixed = |v: &[f64], what: &str| -> Result<[f64; NR_SIGNALS], String> {
            let arr: [f64; NR_SIGNALS] = v
                .try_into()
                .map_err(|_| format!("{what} must have {NR_SIGNALS} numbers, has {}", v.len()))?;
            if arr.iter().any(|x| !x.is_finite()) {
                return Err(format!("{what} holds a number that is not finite"));
            }
            Ok(arr)
        };
        let mean = fixed(&self.mean, "mean")?;
        let scale = fixed(&self.scale, "scale")?;
        if scale.iter().any(|s| *s <= 0.0) {
            return Err("scale must be positive".into());
        }
        let mut scores = Vec::new();
        for c in &self.classes {
            let class: SystemClass = c.class.parse()?;
            if scores.iter().any(|(k, _, _)| *k == class) {
                return Err(format!("class `{class}` appears twice"));
            }
            if !c.intercept.is_finite() {
                return Err(format!("class `{class}`: intercept is not finite"));
            }
            let w = fixed(&c.weights, &format!("class `{class}` weights"))?;
            scores.push((class, c.intercept, w));
        }
        if scores.len() < 2 {
            return Err("a classifier needs at least two classes".into());
        }
        Ok(Classifier {
            mean,
            scale,
            scores,
        })
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::formats::versioned::write_atomically(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(busy: f64, blk: f64, new: f64) -> Signals {
        Signals {
            busy,
            runnable_per_cpu: busy * 2.0,
            block_rqs_per_s: blk,
            new_tasks_per_s: new,
            sleeps_per_cpu_s: 100.0 + new * 5.0,
            ..Default::default()
        }
    }

    /// Windows of three well-separated workloads with some jitter.
    fn labelled() -> Vec<(Signals, SystemClass)> {
        let mut rng = crate::core::rng::Rng::new(7);
        let mut out = Vec::new();
        for _ in 0..30 {
            let j = |rng: &mut crate::core::rng::Rng| 0.8 + 0.4 * rng.unit();
            out.push((
                sig(0.02 * j(&mut rng), 0.0, 0.5 * j(&mut rng)),
                SystemClass::Idle,
            ));
            out.push((sig(0.98, 0.0, 1.0 * j(&mut rng)), SystemClass::CpuBound));
            out.push((
                sig(0.6 * j(&mut rng), 800.0 * j(&mut rng), 1.0),
                SystemClass::IoHeavy,
            ));
        }
        out
    }

    #[test]
    fn fitted_classifier_separates_workloads_and_round_trips() {
        let w = labelled();
        let q = Classifier::cross_validate(&w, 5).unwrap();
        assert!(q.accuracy > 0.95, "{q:?}");
        let c = Classifier::fit(&w).unwrap();
        assert_eq!(c.classify(&sig(0.99, 0.0, 1.0)), SystemClass::CpuBound);
        assert_eq!(c.classify(&sig(0.5, 1000.0, 1.0)), SystemClass::IoHeavy);
        let file = c.to_file(&w, Some(q), vec!["test".into()]);
        let back = file.to_classifier().unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn one_class_is_not_enough() {
        let w: Vec<_> = labelled()
            .into_iter()
            .filter(|(_, l)| *l == SystemClass::Idle)
            .collect();
        assert!(Classifier::fit(&w).unwrap_err().contains("two classes"));
    }

    #[test]
    fn bad_classifier_files_are_refused_with_reason() {
        let w = labelled();
        let good = Classifier::fit(&w).unwrap().to_file(&w, None, vec![]);
        let mut f = good.clone();
        f.scale[2] = 0.0;
        assert!(f.to_classifier().unwrap_err().contains("scale"));
        let mut f = good.clone();
        f.classes[0].class = "sleepy".into();
        assert!(f.to_classifier().unwrap_err().contains("sleepy"));
        let mut f = good.clone();
        f.features.pop();
        assert!(f.to_classifier().unwrap_err().contains("features"));
        let mut f = good;
        f.classes[1].weights.push(1.0);
        assert!(f.to_classifier().unwrap_err().contains("weights"));

        let dir = std::env::temp_dir().join(format!("foresight-cls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.json");
        std::fs::write(&p, "{\"format\": 3").unwrap();
        let e = ClassifierFile::load(&p).unwrap_err();
        assert!(e.to_string().contains("c.json"), "{e}");
    }

    #[test]
    fn windows_csv_round_trips_and_bad_rows_name_the_line() {
        let w = Window {
            uptime_s: 12.5,
            window_s: 1.0,
            signals: sig(0.5, 10.0, 2.0),
            class: SystemClass::Mixed,
            label: Some(SystemClass::IoHeavy),
        };
        let text = format!("{}\n{}\n", windows_header(), w.to_line());
        let back = parse_windows(&text, "w.csv").unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].label, Some(SystemClass::IoHeavy));
        assert!((back[0].signals.busy - 0.5).abs() < 1e-4);

        let unlabelled = text.replace(",io-heavy\n", ",\n");
        assert_eq!(parse_windows(&unlabelled, "w.csv").unwrap()[0].label, None);
        let bad = text.replace("12.500", "-1");
        let e = parse_windows(&bad, "w.csv").unwrap_err().to_string();
        assert!(e.starts_with("w.csv:2:") && e.contains("uptime_s"), "{e}");
        let bad = text.replace(",io-heavy", ",disk");
        assert!(parse_windows(&bad, "w.csv")
            .unwrap_err()
            .to_string()
            .contains("disk"));
        let e = parse_windows("a,b\n", "w.csv").unwrap_err().to_string();
        assert!(e.contains("w.csv:1"), "{e}");
    }
}
