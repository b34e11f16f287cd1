// SPDX-License-Identifier: GPL-2.0-only
//! A trace generator shaped after the Azure Functions 2019 trace: a fixed catalogue of
//! functions with Zipf popularity, Poisson traffic plus per-minute timer bursts.

use crate::core::rng::Rng;
use crate::formats::trace::Row;

/// How a generated function's CPU demand depends on its argument.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// cpu = a + b·n, n in 1..=100 (e.g. resize an image of n units)
    Linear { a: f64, b: f64 },
    /// cpu = c·φ^(n - n0), n in n0..=n0+8 (recursive fib)
    Exponential { c: f64, n0: u64 },
    /// cpu = m whatever the argument (a request id)
    Constant { m: f64 },
}

/// Parameters of `trace gen`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenConfig {
    pub cpus: u32,
    pub load: f64,
    pub duration_s: f64,
    pub seed: u64,
}

/// Seed of the function catalogue (fixed: see `generate`).
const CATALOGUE_SEED: u64 = 2019;
/// Functions in a generated trace.
const GEN_FUNCTIONS: usize = 40;
/// Zipf exponent of function popularity (invocation counts highly skewed).
const ZIPF_S: f64 = 1.1;
/// Median and spread (ln) of a function's mean CPU demand: about half of the functions
/// average under ~1 s, with a heavy tail.
const MEDIAN_MEAN_US: f64 = 700_000.0;
const SIGMA_LN_MEAN: f64 = 2.0;
/// Share of invocations fired by timers in a burst at the start of each minute (the Azure
/// trace's per-minute timers: each minute block starts with a burst).
const BURST_SHARE: f64 = 0.5;
/// Timer bursts repeat every minute, jittered over this many µs.
const BURST_PERIOD_US: f64 = 60e6;
const BURST_JITTER_US: f64 = 100_000.0;
/// Per-invocation multiplicative noise (ln sd).
const NOISE_SIGMA: f64 = 0.08;
const GOLDEN: f64 = 1.618_033_988_75;

/// Generate a trace loading `cpus` to `load` on average: half the invocations arrive as Poisson
/// traffic, half in timer bursts at the start of each minute; functions are chosen by Zipf
/// popularity (popular ones tend to be short, as in the Azure trace); each function's demand is
/// a function of its numeric argument plus noise.
pub fn generate(cfg: &GenConfig) -> Vec<Row> {
    let catalogue = Catalogue::deployed();
    let rate_per_us = cfg.load * f64::from(cfg.cpus) / catalogue.mean_demand_us;
    let mut rng = Rng::new(cfg.seed);
    let arrivals = arrivals(rate_per_us, cfg.duration_s * 1e6, &mut rng);
    arrivals
        .into_iter()
        .map(|t| {
            let f = catalogue.pick(&mut rng);
            let (function, args, cpu) = draw(f, catalogue.shapes[f], &mut rng);
            let noisy = cpu * (NOISE_SIGMA * rng.normal()).exp();
            Row {
                arrival_us: t as u64,
                function,
                args,
                cpu_us: noisy.clamp(1_000.0, 600e6) as u64,
            }
        })
        .collect()
}

/// The deployed functions: each one's demand shape and popularity.
struct Catalogue {
    shapes: Vec<Shape>,
    popularity: Vec<f64>,
    total_pop: f64,
    /// Mean demand of an invocation, popularity-weighted (sets the arrival rate for a load).
    mean_demand_us: f64,
}

impl Catalogue {
    /// The same for every seed (a platform's catalogue), so models trained on one trace apply
    /// to another; the trace's seed drives arrivals, arguments and noise.
    fn deployed() -> Self {
        let mut rng = Rng::new(CATALOGUE_SEED);
        // Function mean demands, sorted so popular (low rank) functions are the shorter ones,
        // with some shuffling so the relation is not strict.
        let mut means: Vec<f64> = (0..GEN_FUNCTIONS)
            .map(|_| {
                (MEDIAN_MEAN_US.ln() + SIGMA_LN_MEAN * rng.normal())
                    .exp()
                    .clamp(2_000.0, 120e6)
            })
            .collect();
        means.sort_by(f64::total_cmp);
        for i in 0..GEN_FUNCTIONS {
            let j = (i + rng.range(0, 6) as usize).min(GEN_FUNCTIONS - 1);
            means.swap(i, j);
        }
        let shapes = means.iter().map(|&m| shape_of(m, &mut rng)).collect();
        let popularity: Vec<f64> = (1..=GEN_FUNCTIONS)
            .map(|r| 1.0 / (r as f64).powf(ZIPF_S))
            .collect();
        let total_pop: f64 = popularity.iter().sum();
        let mean_demand_us = means
            .iter()
            .zip(&popularity)
            .map(|(m, p)| m * p)
            .sum::<f64>()
            / total_pop;
        Self {
            shapes,
            popularity,
            total_pop,
            mean_demand_us,
        }
    }

    /// A function, by popularity.
    fn pick(&self, rng: &mut Rng) -> usize {
        let mut pick = rng.unit() * self.total_pop;
        self.popularity
            .iter()
            .position(|p| {
                pick -= p;
                pick <= 0.0
            })
            .unwrap_or(GEN_FUNCTIONS - 1)
    }
}

/// How a function of mean demand `m` depends on its argument (4 in 9 linear, 3 exponential,
/// 2 constant).
fn shape_of(m: f64, rng: &mut Rng) -> Shape {
    match rng.range(0, 9) {
        0..=3 => Shape::Linear {
            a: 0.2 * m,
            b: 0.8 * m / 50.5,
        },
        4..=6 => {
            let mean_factor = (GOLDEN.powi(9) - 1.0) / (GOLDEN - 1.0) / 9.0;
            Shape::Exponential {
                c: m / mean_factor,
                n0: rng.range(18, 26),
            }
        }
        _ => Shape::Constant { m },
    }
}

/// Arrival instants (µs) over `end_us`: Poisson traffic plus per-minute bursts, sorted.
fn arrivals(rate_per_us: f64, end_us: f64, rng: &mut Rng) -> Vec<f64> {
    let mut arrivals = Vec::new();
    let mut t = 0.0;
    loop {
        t += rng.exp(1.0 / (rate_per_us * (1.0 - BURST_SHARE)));
        if t >= end_us {
            break;
        }
        arrivals.push(t);
    }
    let per_burst = (rate_per_us * BURST_SHARE * BURST_PERIOD_US).round() as usize;
    let mut minute = 0.0;
    while minute < end_us {
        for _ in 0..per_burst {
            let at = minute + rng.unit() * BURST_JITTER_US;
            if at < end_us {
                arrivals.push(at);
            }
        }
        minute += BURST_PERIOD_US;
    }
    arrivals.sort_by(f64::total_cmp);
    arrivals
}

/// One invocation of function `f`: its name, arguments and CPU demand (before noise).
fn draw(f: usize, shape: Shape, rng: &mut Rng) -> (String, String, f64) {
    match shape {
        Shape::Linear { a, b } => {
            let n = rng.range(1, 100);
            (
                format!("f{f:02}-resize"),
                format!("--size {n}"),
                a + b * n as f64,
            )
        }
        Shape::Exponential { c, n0 } => {
            let n = rng.range(n0, n0 + 8);
            (
                format!("f{f:02}-fib"),
                format!("{n}"),
                c * GOLDEN.powi((n - n0) as i32),
            )
        }
        Shape::Constant { m } => {
            let id = rng.range(1000, 9999);
            (
                format!("f{f:02}-lookup"),
                format!("--request {id} --mode fast"),
                m,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_hits_the_load() {
        let cfg = GenConfig {
            cpus: 4,
            load: 0.8,
            duration_s: 2000.0,
            seed: 11,
        };
        let a = generate(&cfg);
        assert_eq!(a, generate(&cfg));
        assert_ne!(a, generate(&GenConfig { seed: 12, ..cfg }));
        let demand: f64 = a.iter().map(|r| r.cpu_us as f64).sum();
        let load = demand / (cfg.duration_s * 1e6 * 4.0);
        assert!((0.4..1.6).contains(&load), "offered load {load}");
        // Skewed popularity: the top function has many more invocations than the median one.
        let mut counts = std::collections::HashMap::new();
        for r in &a {
            *counts.entry(&r.function).or_insert(0) += 1;
        }
        let mut c: Vec<i32> = counts.values().copied().collect();
        c.sort_unstable();
        assert!(c[c.len() - 1] > 5 * c[c.len() / 2], "{c:?}");
        assert!(a.windows(2).all(|w| w[0].arrival_us <= w[1].arrival_us));
    }
}
