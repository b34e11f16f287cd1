// SPDX-License-Identifier: GPL-2.0-only
//! Model files: load at start, reload on change (polled) or on SIGHUP, off the hot path.
//!
//! A new file is parsed and validated fully; only then is it handed to the learner, which
//! installs it as the prior and publishes by atomic swap. An invalid file is reported (file,
//! reason), counted, and the models in use stay.

use crate::live::handoff::SyncSender;
use crate::live::helper_thread;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info};

use crate::core::model::{LinearModel, ModelSet};
use crate::formats::modelfile::ModelFile;
use crate::formats::versioned::FileError;
use crate::live::last_good::LastGood;
use crate::live::learner::{Msg, Shared};
use crate::live::procinfo::SharedNames;
use crate::live::watch::{model_files, FileWatch};

/// How often the model path is checked for changes (a reload lands within ~this).
pub const POLL_PERIOD: Duration = Duration::from_millis(200);

/// Load and validate every file under `path`, merged (later files win for an identity);
/// returns the models and a combined hash. Nothing is returned unless all files are valid.
pub fn load_all(
    path: &Path,
    names: &SharedNames,
    generation: u64,
) -> Result<(ModelSet, u64), FileError> {
    build_set(&read_texts(path)?, names, generation)
}

/// The texts of the model files under `path`, each with its name for messages.
fn read_texts(path: &Path) -> Result<Vec<(String, Vec<u8>)>, FileError> {
    let files =
        model_files(path).map_err(|reason| FileError::new(path.display().to_string(), reason))?;
    if files.is_empty() {
        return Err(FileError::new(
            path.display().to_string(),
            "no *.json model files here",
        ));
    }
    files
        .iter()
        .map(|f| {
            let text = crate::formats::versioned::read_bounded(f)
                .map_err(|reason| FileError::new(f.display().to_string(), reason))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

/// Parse, validate and merge model file texts (later ones win for an identity).
fn build_set(
    texts: &[(String, Vec<u8>)],
    names: &SharedNames,
    generation: u64,
) -> Result<(ModelSet, u64), FileError> {
    let mut loaded = Vec::new();
    for (file, text) in texts {
        loaded.push(ModelFile::parse(text).map_err(|reason| FileError::new(file.clone(), reason))?);
    }
    let mut set = ModelSet {
        generation,
        ..ModelSet::default()
    };
    let mut hash = 0u64;
    let mut names = names
        .lock()
        .map_err(|_| FileError::new("model files", "function table poisoned"))?;
    for (file, h) in loaded {
        hash = hash.rotate_left(5) ^ h;
        let part = file.to_model_set(|id| names.intern(id), generation);
        merge_later_wins(&mut set.functions, part.functions);
        merge_later_wins(&mut set.executables, part.executables);
        if part.general.is_some() {
            set.general = part.general;
        }
    }
    Ok((set, hash))
}

/// Models of a later file replace those of earlier ones for the same identity.
fn merge_later_wins(into: &mut Vec<Option<LinearModel>>, later: Vec<Option<LinearModel>>) {
    if later.len() > into.len() {
        into.resize(later.len(), None);
    }
    for (i, m) in later.into_iter().enumerate() {
        if m.is_some() {
            into[i] = m;
        }
    }
}

/// Load once now (so a bad file at start is an error for the caller) and start the watcher.
/// On a restart, a bad file falls back to the models last accepted, else to none (the
/// learner fits them online); the watcher keeps looking for a fixed file either way.
pub fn start(
    path: PathBuf,
    names: SharedNames,
    learner: SyncSender<Msg>,
    shared: Arc<Shared>,
    last_good: LastGood,
) -> Result<(), FileError> {
    // Taken before the load, not in the watcher: a change made while we load, or before the
    // watcher thread first runs, still counts as a change (a CI run missed one that way).
    let files = FileWatch::new(vec![path.clone()]);
    let loaded = load_and_keep(&path, &names, 1, &last_good).map(Some);
    let first = last_good.or_fallback(
        LAST_GOOD_MODELS,
        loaded,
        |copies| {
            let texts: Vec<(String, Vec<u8>)> = copies
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("kept copy {i}"), t.clone().into_bytes()))
                .collect();
            build_set(&texts, &names, 1)
                .map(Some)
                .map_err(|e| e.to_string())
        },
        || None,
        "no prior models (they are learned online)",
    )?;
    if let Some((set, hash)) = first {
        info!(
            "models loaded from {} (hash {hash:016x}, {} function models)",
            path.display(),
            set.functions.iter().flatten().count()
        );
        shared.model_file_hash.store(hash, Ordering::Relaxed);
        let _ = learner.send(Msg::Prior(set));
    }
    helper_thread::spawn("model-reload", helper_thread::RELOAD_BUDGET, move || {
        watch(path, files, names, learner, shared, last_good)
    })
    .map_err(|e| FileError::new("model-reload thread", e.to_string()))?;
    Ok(())
}

/// The name of the models' copy in [`LastGood`].
const LAST_GOOD_MODELS: &str = "models";

/// [`load_all`], keeping the texts of an accepted set as the last good copy.
fn load_and_keep(
    path: &Path,
    names: &SharedNames,
    generation: u64,
    last_good: &LastGood,
) -> Result<(ModelSet, u64), FileError> {
    let texts = read_texts(path)?;
    let loaded = build_set(&texts, names, generation)?;
    let texts: Vec<&[u8]> = texts.iter().map(|(_, t)| t.as_slice()).collect();
    last_good.keep(LAST_GOOD_MODELS, &texts);
    Ok(loaded)
}

/// Reload the models whenever the watch says so; a bad file keeps the models in use.
fn watch(
    path: PathBuf,
    mut files: FileWatch,
    names: SharedNames,
    learner: SyncSender<Msg>,
    shared: Arc<Shared>,
    last_good: LastGood,
) {
    loop {
        std::thread::sleep(POLL_PERIOD);
        let Some(change) = files.poll() else {
            continue;
        };
        match load_and_keep(&path, &names, 0, &last_good) {
            Ok((set, hash)) => {
                shared.model_file_hash.store(hash, Ordering::Relaxed);
                shared.reloads.fetch_add(1, Ordering::Relaxed);
                info!(
                    "models reloaded from {} (hash {hash:016x}, {})",
                    path.display(),
                    change.since()
                );
                if learner.send(Msg::Prior(set)).is_err() {
                    return;
                }
            }
            Err(e) => {
                shared.rejected_reloads.fetch_add(1, Ordering::Relaxed);
                error!("model reload rejected, keeping the models in use: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::modelfile::tests_support::sample_file;
    use crate::formats::versioned::MAX_INPUT_FILE_BYTES;
    use crate::live::learner;
    use crate::live::watch::MAX_MODEL_DIR_ENTRIES;
    use std::time::Instant;

    #[test]
    fn valid_change_is_applied_within_a_second_and_corrupt_one_rejected() {
        let dir = std::env::temp_dir().join(format!("foresight-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("models.json");
        sample_file().save(&path).unwrap();
        let names = SharedNames::default();
        let (shared, tx) = learner::spawn(ModelSet::default()).unwrap();
        start(
            path.clone(),
            names.clone(),
            tx,
            shared.clone(),
            LastGood::default(),
        )
        .unwrap();
        let first = shared.model_file_hash.load(Ordering::Relaxed);
        assert_ne!(first, 0);

        // A valid new version.
        let mut next = sample_file();
        next.functions[0].model.intercept = 3.0;
        std::thread::sleep(Duration::from_millis(20));
        next.save(&path).unwrap();
        let t0 = Instant::now();
        while shared.reloads.load(Ordering::Relaxed) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "reload not applied within 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let second = shared.model_file_hash.load(Ordering::Relaxed);
        assert_ne!(second, first);
        let t1 = Instant::now();
        while shared
            .models
            .load()
            .functions
            .first()
            .and_then(|m| m.as_ref())
            .map(|m| m.intercept)
            != Some(3.0)
        {
            assert!(
                t1.elapsed() < Duration::from_secs(1),
                "new models not published"
            );
            std::thread::sleep(Duration::from_millis(10));
        }

        // A corrupt one: rejected, counted, models and hash unchanged.
        std::fs::write(&path, "{ corrupt").unwrap();
        let t2 = Instant::now();
        while shared.rejected_reloads.load(Ordering::Relaxed) == 0 {
            assert!(
                t2.elapsed() < Duration::from_secs(2),
                "corrupt file not noticed"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(shared.model_file_hash.load(Ordering::Relaxed), second);
        assert_eq!(
            shared.models.load().functions[0]
                .as_ref()
                .unwrap()
                .intercept,
            3.0
        );
    }

    #[test]
    fn hostile_files_are_refused_naming_them_without_reading_them_whole() {
        let dir = std::env::temp_dir().join(format!("foresight-hostile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = SharedNames::default();
        let refused = |p: &Path| load_all(p, &names, 0).unwrap_err().to_string();
        // A write caught half way: not valid JSON.
        let half = dir.join("half.json");
        let whole = serde_json::to_string(&sample_file()).unwrap();
        std::fs::write(&half, &whole[..whole.len() / 2]).unwrap();
        let e = refused(&half);
        assert!(
            e.starts_with(&format!("{}: not a valid model file", half.display())),
            "{e}"
        );
        // A symlink to an endless device.
        let zero = dir.join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = refused(&zero);
        assert!(e.contains("not a regular file (a character device)"), "{e}");
        // 1 GiB (sparse: no disk used): refused from its size.
        let big = dir.join("big.json");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        let e = refused(&big);
        assert!(
            e.contains(&format!("larger than {MAX_INPUT_FILE_BYTES} bytes")),
            "{e}"
        );
        // A directory of too many entries: refused before any is opened.
        let many = dir.join("many");
        std::fs::create_dir(&many).unwrap();
        for i in 0..=MAX_MODEL_DIR_ENTRIES {
            std::fs::write(many.join(format!("{i}.json")), "").unwrap();
        }
        let e = refused(&many);
        assert!(e.contains("more than 1024 entries"), "{e}");
        assert!(crate::live::watch::fingerprint(&many).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_file_at_start_is_an_error_naming_it() {
        let names = SharedNames::default();
        let (shared, tx) = learner::spawn(ModelSet::default()).unwrap();
        let e = start(
            PathBuf::from("/nonexistent/m.json"),
            names,
            tx,
            shared,
            LastGood::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/m.json"), "{e}");
    }

    /// A restarted worker whose model file broke meanwhile starts with the models the worker
    /// before it accepted, then loads the file once it is fixed; without a kept copy it
    /// starts with none.
    #[test]
    fn a_restart_falls_back_to_the_models_accepted_before() {
        let dir = std::env::temp_dir().join(format!("foresight-relast-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("models.json");
        sample_file().save(&path).unwrap();
        let run = crate::live::last_good::LastGoodDir::create(&dir.join("run")).unwrap();
        let worker = |restarted| {
            let (shared, tx) = learner::spawn(ModelSet::default()).unwrap();
            let last_good = LastGood::new(Some(run.path().to_path_buf()), restarted);
            let started = start(
                path.clone(),
                SharedNames::default(),
                tx,
                shared.clone(),
                last_good,
            );
            started.map(|()| shared)
        };
        let accepted = worker(false)
            .unwrap()
            .model_file_hash
            .load(Ordering::Relaxed);
        std::fs::write(&path, "{ corrupt").unwrap();
        assert!(
            worker(false).is_err(),
            "a first start must refuse a bad file"
        );
        let again = worker(true).unwrap();
        assert_eq!(again.model_file_hash.load(Ordering::Relaxed), accepted);
        // Fixed: the watcher of the restarted worker loads it.
        let mut next = sample_file();
        next.functions[0].model.intercept = 3.0;
        next.save(&path).unwrap();
        let t0 = Instant::now();
        while again.reloads.load(Ordering::Relaxed) == 0 {
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "fixed file not loaded"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // No copy kept (another supervisor's folder): no prior models, still no error.
        let (shared, tx) = learner::spawn(ModelSet::default()).unwrap();
        std::fs::write(&path, "{ corrupt").unwrap();
        let fresh = LastGood::new(Some(dir.join("empty")), true);
        start(
            path.clone(),
            SharedNames::default(),
            tx,
            shared.clone(),
            fresh,
        )
        .unwrap();
        assert_eq!(shared.model_file_hash.load(Ordering::Relaxed), 0);
        drop(run);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
