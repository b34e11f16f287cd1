// SPDX-License-Identifier: GPL-2.0-only
//! The decision core's speed: tasks decided per second with the model in the loop (predict +
//! decide + order a batch, as the live loop does each round), against the same batch decided
//! without models (the baseline, same run), and the cost of one prediction.
//!
//!   cargo bench --bench decision

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use scx_foresight::core::features::ProcFeatures;
use scx_foresight::core::features::{Invocation, CATEGORY_BUCKETS};
use scx_foresight::core::model::{ModelSet, Sample};
use scx_foresight::core::policy::{Policy, SliceConfig};
use scx_foresight::core::rng::Rng;
use scx_foresight::core::tasks::TaskEntry;
use scx_foresight::core::trainer::Trainer;

const FUNCTIONS: u32 = 200;
const BATCH: usize = 1024;

/// Models trained on fib-like samples for FUNCTIONS functions (really fitted).
fn trained_models(rng: &mut Rng) -> ModelSet {
    let mut t = Trainer::new(ModelSet::default());
    for _ in 0..FUNCTIONS * 16 {
        let f = rng.range(0, u64::from(FUNCTIONS) - 1) as u32;
        let n = rng.range(20, 30);
        let fx = Invocation::from_args("f", [n.to_string().as_str()]).function_features();
        let cpu_ns = (1e6 * 1.618f64.powi(n as i32 - 20) * (1.0 + 0.05 * rng.normal())) as u64;
        if t.add(Sample {
            func: Some(f),
            exe: Some(FUNCTIONS),
            fx,
            cx: [0.0; CATEGORY_BUCKETS],
            gx: [0.0; 6],
            cpu_ns,
        }) {
            t.refit();
        }
    }
    t.refit_all().clone()
}

fn entries(rng: &mut Rng) -> Vec<TaskEntry> {
    (0..BATCH)
        .map(|_| {
            let n = rng.range(20, 30);
            let inv = Invocation::from_args("f", [n.to_string().as_str()]);
            TaskEntry {
                cpu_ns: rng.range(0, 50_000_000),
                weight: 100,
                enqueues: 10,
                wakeups: rng.range(0, 10) as u32,
                burst_ewma_ns: rng.range(10_000, 5_000_000),
                proc: Some(ProcFeatures {
                    func: Some(rng.range(0, u64::from(FUNCTIONS) - 1) as u32),
                    exe: Some(FUNCTIONS),
                    cgroup: None,
                    fx: inv.function_features(),
                    cx: inv.category_features(),
                    max_numeric_ln1p: (n as f64).ln_1p(),
                    n_numeric: 1.0,
                    kernel_thread: false,
                    boost_pct: 100,
                }),
                ..TaskEntry::default()
            }
        })
        .collect()
}

/// One round as the live loop runs it: predict (models changed), decide, sort by deadline.
fn decide_batch(
    policy: &Policy,
    models: Option<&ModelSet>,
    batch: &mut [TaskEntry],
    out: &mut Vec<(u64, u64)>,
) {
    out.clear();
    let n = batch.len();
    for (i, e) in batch.iter_mut().enumerate() {
        if let Some(m) = models {
            e.predicted_gen = u64::MAX; // force a fresh prediction each time
            e.refresh_prediction(m);
        }
        let d = policy.decide(&e.view(), 1_000_000_000, n);
        out.push((d.deadline, i as u64));
    }
    out.sort_unstable();
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(42);
    let models = trained_models(&mut rng);
    let policy = Policy::new(SliceConfig::defaults(16));
    let mut batch = entries(&mut rng);
    let mut out = Vec::with_capacity(BATCH);

    let mut g = c.benchmark_group("decision_core");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new("with_model", BATCH), |b| {
        b.iter(|| decide_batch(&policy, Some(&models), black_box(&mut batch), &mut out))
    });
    g.bench_function(BenchmarkId::new("baseline_no_model", BATCH), |b| {
        b.iter(|| decide_batch(&policy, None, black_box(&mut batch), &mut out))
    });
    g.finish();

    let e = batch[0];
    let gx = e.general_features();
    let p = e.proc.expect("entries have features");
    c.bench_function("one_prediction", |b| {
        b.iter(|| {
            black_box(&models).predict_total_ns(
                black_box(p.func),
                black_box(p.exe),
                black_box(&p.fx),
                black_box(&p.cx),
                black_box(&gx),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
