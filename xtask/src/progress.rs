// SPDX-License-Identifier: GPL-2.0-only
//! A progress bar for a VM boot, driven by the guest's lines: `@@PLAN a b c` names its steps,
//! `@@STEP a` starts one (vm-test.sh: a case; bench.sh: a scheduler's repetition). Each step is
//! weighted by how long it took last time (kept in target/vm/step-seconds.json), so the
//! estimate of the time left holds when steps differ a hundredfold (a 3 s case beside a 100 s
//! one). Drawn on stderr only when it is a terminal: CI logs stay as they were.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::cmd::workspace_root;
use crate::protocol;

/// Weight of a step never timed before, in seconds.
const UNKNOWN_STEP_S: f64 = 30.0;

pub struct Progress {
    bar: ProgressBar,
    /// Which guest script: the key of its steps' times.
    script: String,
    plan: Vec<String>,
    /// Seconds each step took last time (all scripts, `script/step`).
    last: BTreeMap<String, f64>,
    current: Option<(usize, Instant)>,
    /// Expected seconds of the steps done.
    done_s: f64,
}

impl Progress {
    pub fn new(script: &str) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {msg} (about {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{script}: booting"));
        bar.enable_steady_tick(Duration::from_millis(500));
        Self {
            bar,
            script: script.to_string(),
            plan: Vec::new(),
            last: std::fs::read(times_file())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
            current: None,
            done_s: 0.0,
        }
    }

    /// Follow one console line; call [`Progress::tick`] between lines too.
    pub fn line(&mut self, line: &str) {
        if let Some(steps) = protocol::body(line, protocol::PLAN) {
            self.plan = steps.split_whitespace().map(str::to_string).collect();
            let total: f64 = (0..self.plan.len()).map(|i| self.expected(i)).sum();
            self.bar.set_length((total * 1000.0) as u64);
        } else if let Some(step) = protocol::body(line, protocol::STEP) {
            self.finish_step();
            let step = step.trim();
            if let Some(i) = self.plan.iter().position(|s| s == step) {
                self.current = Some((i, Instant::now()));
                self.bar.set_message(format!(
                    "{}: {step} ({}/{})",
                    self.script,
                    i + 1,
                    self.plan.len()
                ));
            }
        }
        self.tick();
    }

    /// Move the bar by the time spent in the current step (never past its weight).
    pub fn tick(&self) {
        let within = self.current.map_or(0.0, |(i, t0)| {
            t0.elapsed().as_secs_f64().min(self.expected(i))
        });
        self.bar
            .set_position(((self.done_s + within) * 1000.0) as u64);
    }

    /// Print a line above the bar.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| println!("{line}"));
    }

    /// Remove the bar and keep the steps' times for next time.
    pub fn finish(mut self) {
        self.finish_step();
        self.bar.finish_and_clear();
        if let Ok(json) = serde_json::to_vec_pretty(&self.last) {
            let _ = std::fs::create_dir_all(workspace_root().join("target/vm"));
            let _ = std::fs::write(times_file(), json);
        }
    }

    fn finish_step(&mut self) {
        if let Some((i, t0)) = self.current.take() {
            self.done_s += self.expected(i);
            let key = self.key(i);
            self.last.insert(key, t0.elapsed().as_secs_f64());
        }
    }

    fn key(&self, i: usize) -> String {
        format!("{}/{}", self.script, self.plan[i])
    }

    /// Seconds step `i` is expected to take: last time's, else the mean of the known ones.
    fn expected(&self, i: usize) -> f64 {
        if let Some(s) = self.last.get(&self.key(i)) {
            return s.max(1.0);
        }
        let known: Vec<f64> = (0..self.plan.len())
            .filter_map(|j| self.last.get(&self.key(j)).copied())
            .collect();
        if known.is_empty() {
            UNKNOWN_STEP_S
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        }
    }
}

fn times_file() -> PathBuf {
    workspace_root().join("target/vm/step-seconds.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps weigh what they took last time; unknown ones the mean of the known.
    #[test]
    fn steps_weigh_their_last_time() {
        let mut p = Progress::new("t.sh");
        p.last.clear();
        p.last.insert("t.sh/a".into(), 10.0);
        p.last.insert("t.sh/b".into(), 100.0);
        p.line("@@PLAN a b c");
        assert_eq!(
            p.bar.length(),
            Some(((10.0 + 100.0 + 55.0) * 1000.0) as u64)
        );
        p.line("@@STEP a");
        p.line("@@STEP b");
        assert_eq!(p.done_s, 10.0);
        assert!(p.last["t.sh/a"] < 1.0, "a's own time is kept");
        p.bar.finish_and_clear();
    }
}
