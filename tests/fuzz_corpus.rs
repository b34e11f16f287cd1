// SPDX-License-Identifier: GPL-2.0-only
//! Every fuzz target over its committed corpus (fuzz/corpus/<target>) and every input that
//! once crashed it (fuzz/regressions/<target>): none may panic. Runs on stable in `cargo test`;
//! the fuzzing itself is `cargo xtask fuzz`.

use std::path::Path;

use scx_foresight::offline::fuzz_targets::TARGETS;

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"));
    files.sort();
    files
}

#[test]
fn every_target_survives_its_corpus_and_past_crashes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, target) in TARGETS {
        let corpus = inputs(&root.join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} has no seeds");
        for file in corpus
            .iter()
            .chain(&inputs(&root.join("regressions").join(name)))
        {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
        }
    }
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let manifest = include_str!("../fuzz/Cargo.toml");
    for (name, _) in TARGETS {
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{name}.rs\"")),
            "fuzz/Cargo.toml lacks {name}"
        );
    }
}
