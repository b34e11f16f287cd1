// SPDX-License-Identifier: GPL-2.0-only
//! The live learning thread: completed tasks arrive as samples through a bounded channel, the
//! [`Trainer`] refits, and each new [`ModelSet`] is published by atomic swap. The dispatch loop
//! never waits: it `try_send`s samples (dropping and counting when full) and `load`s models.

use crate::live::helper_thread;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;

use crate::live::handoff::{sync_channel, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::core::model::{ModelSet, Sample};
use crate::core::trainer::Trainer;

/// Samples that may wait for the learner.
pub const SAMPLE_QUEUE: usize = 4096;
/// Refit at least this often when new samples arrived, even below the sample threshold.
pub const REFIT_PERIOD: Duration = Duration::from_secs(2);
/// After the first sample of a burst, how long the learner lets the rest gather before it
/// takes them. Woken for every sample (each exit), it ran ~30 µs per sample in the VM: 20 ms
/// of CPU in five hackbench runs, most of it waking up.
pub const GATHER: Duration = Duration::from_millis(5);

/// Shared between the loop (readers) and the learner (the only writer of models).
pub struct Shared {
    pub models: ArcSwap<ModelSet>,
    pub samples_seen: AtomicU64,
    pub refits: AtomicU64,
    /// Hash of the model file in use (0: none), accepted and rejected reloads.
    pub model_file_hash: AtomicU64,
    pub reloads: AtomicU64,
    pub rejected_reloads: AtomicU64,
}

/// What the learner receives.
pub enum Msg {
    /// A completed task.
    Sample(Sample),
    /// A model file was (re)loaded: it becomes the prior, learning continues from it.
    Prior(ModelSet),
}

/// Keeps the value a writer replaced alive until its next publish, so the last reference
/// is dropped (and the memory freed) by the writer, never by the dispatch loop: freeing takes
/// the process-wide allocator lock, which a helper thread may hold while it waits for the
/// loop to schedule it — a deadlock the kernel's watchdog ends by evicting us (seen in the VM).
pub struct Retired<T>(Option<Arc<T>>);

impl<T> Default for Retired<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Retired<T> {
    /// Publish `value`; the one it replaces is kept, the one before that dropped here.
    pub fn publish(&mut self, slot: &ArcSwap<T>, value: T) {
        let old = slot.swap(Arc::new(value));
        self.0 = Some(old);
    }
}

/// Start the learner from `prior`; returns the published models and the sample sender.
pub fn spawn(prior: ModelSet) -> std::io::Result<(Arc<Shared>, SyncSender<Msg>)> {
    let shared = Arc::new(Shared {
        models: ArcSwap::from_pointee(prior.clone()),
        samples_seen: AtomicU64::new(0),
        refits: AtomicU64::new(0),
        model_file_hash: AtomicU64::new(0),
        reloads: AtomicU64::new(0),
        rejected_reloads: AtomicU64::new(0),
    });
    let (tx, rx) = sync_channel::<Msg>(SAMPLE_QUEUE);
    let out = shared.clone();
    helper_thread::spawn("learner", helper_thread::LEARNER_BUDGET, move || {
        let mut trainer = Trainer::new(prior);
        let mut pending = 0usize;
        let mut last_fit = Instant::now();
        let mut retired = Retired::default();
        loop {
            let mut next = match rx.recv_timeout(REFIT_PERIOD) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if next.is_some() {
                std::thread::sleep(GATHER);
            }
            // Take all that waits before refitting: a burst of exits (hackbench's 800 children)
            // is a few refits per identity, not one per REFIT_EVERY_SAMPLES of its samples.
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Sample(s) => {
                        trainer.add(s);
                        pending += 1;
                        out.samples_seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Msg::Prior(models) => {
                        retired.publish(&out.models, trainer.set_prior(models).clone());
                    }
                }
                next = rx.try_recv().ok();
            }
            let periodic = pending > 0 && last_fit.elapsed() >= REFIT_PERIOD;
            if trainer.refit_due() || periodic {
                let next = if periodic {
                    trainer.refit_all()
                } else {
                    trainer.refit()
                };
                retired.publish(&out.models, next.clone());
                out.refits.fetch_add(1, Ordering::Relaxed);
                pending = 0;
                last_fit = Instant::now();
            }
        }
    })?;
    Ok((shared, tx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::{Invocation, GENERAL_FEATURES};

    #[test]
    fn samples_become_a_published_model() {
        let (shared, tx) = spawn(ModelSet::default()).unwrap();
        let before = shared.models.load().generation;
        let mut rng = crate::core::rng::Rng::new(9);
        for _ in 0..30 {
            let n = rng.range(10, 30) as u32;
            let fx = Invocation::from_args("f", [n.to_string().as_str()]).function_features();
            let cpu_ns = (1000.0 * 1.618f64.powi(n as i32 - 10) * 1000.0) as u64;
            tx.send(Msg::Sample(Sample {
                func: Some(0),
                exe: None,
                fx,
                cx: [0.0; crate::core::features::CATEGORY_BUCKETS],
                gx: [0.0; GENERAL_FEATURES],
                cpu_ns,
            }))
            .unwrap();
        }
        let start = Instant::now();
        while shared
            .models
            .load()
            .functions
            .first()
            .and_then(|m| m.as_ref())
            .is_none_or(|m| m.n_samples < 30)
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no model published"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let m = shared.models.load();
        assert!(m.generation > before);
        assert!(m.functions[0].as_ref().unwrap().trusted());
    }
}
