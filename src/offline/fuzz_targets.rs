// SPDX-License-Identifier: GPL-2.0-only
//! The parsers of outside input, as fuzz targets: each takes arbitrary bytes, parses them the
//! way the scheduler or a tool does, and uses what parsed as it would. A panic is a bug. Called
//! by the `cargo fuzz` targets in fuzz/ and, over the committed corpus and every crash found,
//! by `cargo test` (tests/fuzz_corpus.rs).

use crate::core::classify::{Signals, SystemClass};
use crate::core::classmodel::{parse_windows, ClassifierFile};
use crate::core::features::{general_features, Behaviour, Invocation};
use crate::core::model::Interner;
use crate::core::modes::{CgroupBoost, ModeConfig};
use crate::formats::modelfile::ModelFile;
use crate::formats::samples;
use crate::formats::trace;
use crate::live::exec_record::ExecRecord;
use crate::offline::replay::Calibration;

/// A fuzz target: arbitrary bytes in, a panic out when there is a bug.
pub type Target = fn(&[u8]);

/// Every target by name (the fuzz/ binaries and corpus folders use these names).
pub const TARGETS: [(&str, Target); 10] = [
    ("trace_csv", trace_csv),
    ("samples_csv", samples_csv),
    ("calibration_csv", calibration_csv),
    ("windows_csv", windows_csv),
    ("model_json", model_json),
    ("modes_json", modes_json),
    ("classifier_json", classifier_json),
    ("boost_flag", boost_flag),
    ("cmdline", cmdline),
    ("exec_record", exec_record),
];

/// A trace (`simulate`, `replay`): what parses is written back and parses the same.
pub fn trace_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = trace::parse(text, "fuzz") {
        let again = trace::parse(&trace::to_csv(&rows), "fuzz");
        assert_eq!(again.as_ref(), Ok(&rows), "a written trace must read back");
    }
}

/// Recorded samples (`train --samples`): each row becomes an invocation with features.
pub fn samples_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for r in samples::parse(text, "fuzz").unwrap_or_default() {
        let inv = r.invocation();
        std::hint::black_box((inv.function_features(), r.to_line()));
    }
}

/// A replay calibration: both directions of the mapping, over the whole range.
pub fn calibration_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cal) = Calibration::parse(text, "fuzz") {
        for v in [0, 1, 1000, u64::MAX / 2, u64::MAX] {
            std::hint::black_box(cal.arg_for(v));
        }
        for a in [0, 1, 32, u32::MAX] {
            std::hint::black_box(cal.cpu_us(a));
        }
    }
}

/// Labelled signal windows (`train --windows`).
pub fn windows_csv(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for w in parse_windows(text, "fuzz").unwrap_or_default() {
        std::hint::black_box(w.to_line());
    }
}

/// A model file (`--models`, hot-reloaded): what validates predicts.
pub fn model_json(data: &[u8]) {
    if let Ok((file, _hash)) = ModelFile::parse(data) {
        let mut names = Interner::default();
        let set = file.to_model_set(|id| names.intern(id), 1);
        for func in [None, Some(0), Some(1)] {
            let inv = Invocation::from_args("/f", ["--mode", "x", "1"]);
            std::hint::black_box(set.predict_total_ns(
                func,
                func,
                &inv.function_features(),
                &inv.category_features(),
                &general_features(None, &Behaviour::default()),
            ));
        }
    }
}

/// A modes config (`--config`, hot-reloaded): every class's mode.
pub fn modes_json(data: &[u8]) {
    if let Ok(cfg) = ModeConfig::parse(data) {
        for c in SystemClass::ALL {
            std::hint::black_box(cfg.mode(c));
        }
    }
}

/// A classifier file (`--classifier FILE`, hot-reloaded): classifies a window.
pub fn classifier_json(data: &[u8]) {
    if let Ok((c, _hash)) = ClassifierFile::parse(data) {
        std::hint::black_box(c.classify(&Signals::default()));
        std::hint::black_box(c.classify(&Signals {
            busy: 1.0,
            runnable_per_cpu: 4.0,
            new_tasks_per_s: 1e9,
            ..Signals::default()
        }));
    }
}

/// `--boost-cgroup PATH[:FACTOR]` from the command line.
pub fn boost_flag(data: &[u8]) {
    if let Ok(spec) = std::str::from_utf8(data) {
        if let Ok(b) = CgroupBoost::parse(spec) {
            std::hint::black_box(b.covers("/sys/fs/cgroup/a/b"));
        }
    }
}

/// A task's command line (/proc/<pid>/cmdline bytes) → its identity and features.
pub fn cmdline(data: &[u8]) {
    let inv = Invocation::from_cmdline(data, None, "comm", false);
    let b = Behaviour {
        weight: 100,
        burst_ewma_ns: 1_000_000,
        sleep_ratio: 0.5,
    };
    std::hint::black_box((inv.function_features(), general_features(Some(&inv), &b)));
}

/// A record of the exec tracer's ring buffer (bpf/execs.bpf.c), as userspace reads it.
pub fn exec_record(data: &[u8]) {
    if let Some(r) = ExecRecord::from_bytes(data) {
        let inv = r.invocation(&r.path());
        std::hint::black_box((r.comm(), r.truncated(), inv.function_features()));
    }
}
