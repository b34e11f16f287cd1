// SPDX-License-Identifier: GPL-2.0-only
//! The adapt thread: window signals in, mode out.
//!
//! Once per window the dispatch loop hands over the BPF event counts it harvested (a
//! non-blocking send). This thread adds /proc/stat, classifies the window, applies the
//! hysteresis, and publishes the class in force with its mode parameters by atomic swap; the
//! loop picks the new mode up in its next round, without ever detaching. The same thread
//! hot-reloads the modes config and the classifier (on change or SIGHUP: a bad file is
//! reported and the one in use stays), and appends each window to `--record-signals`.

use crate::live::helper_thread;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;

use crate::live::handoff::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use log::{error, info, warn};

use crate::core::classify::{
    classify_by_thresholds, EventCounts, Hysteresis, ProcStat, Signals, SystemClass, NR_CLASSES,
};
use crate::core::classmodel::{windows_header, Classifier, ClassifierFile, Window};
use crate::core::modes::{CgroupBoost, ModeConfig, SharedBoosts};
use crate::core::policy::ModeParams;
use crate::formats::versioned::{load_with, FileError};
use crate::live::last_good::LastGood;
use crate::live::learner::Retired;
use crate::live::watch::FileWatch;

/// Windows that may wait for the thread; more are dropped (and counted by the loop).
pub const WINDOW_QUEUE: usize = 4;
/// How often the config and classifier files are checked for changes.
pub const RELOAD_POLL: Duration = Duration::from_millis(200);

/// What the loop sends at the end of each window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowMsg {
    pub events: EventCounts,
    pub window_s: f64,
}

/// Where the classifier comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifierSource {
    /// The one shipped in models/classifier.json, compiled in.
    Builtin,
    /// Fixed thresholds only.
    Thresholds,
    /// A file, hot-reloaded.
    File(PathBuf),
}

impl std::str::FromStr for ClassifierSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "builtin" => Self::Builtin,
            "thresholds" => Self::Thresholds,
            "" => return Err("empty --classifier".into()),
            path => Self::File(PathBuf::from(path)),
        })
    }
}

/// The shipped classifier (trained on windows recorded in the test VM).
pub const BUILTIN_CLASSIFIER: &str = include_str!("../../models/classifier.json");

/// What the loop and the stats read: the class in force and its mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeState {
    /// Bumped whenever the mode parameters in force change (class switch or config reload).
    pub generation: u64,
    pub class: SystemClass,
    pub params: ModeParams,
    /// The last window's own verdict (before hysteresis) and its signals.
    pub last_seen: SystemClass,
    pub last_signals: Signals,
    pub switches: u64,
    /// Seconds spent with each class in force.
    pub seconds: [f64; NR_CLASSES],
    pub window_ms: u64,
    /// "model" or "thresholds".
    pub classifier: &'static str,
    pub classifier_hash: u64,
    pub config_hash: u64,
    pub reloads: u64,
    pub rejected_reloads: u64,
}

/// Shared between the adapt thread (the only writer) and its readers.
pub struct Adapt {
    pub state: ArcSwap<ModeState>,
    /// The boosts in force, for the /proc worker.
    pub boosts: SharedBoosts,
    /// Windows the thread has classified.
    pub windows: AtomicU64,
}

/// How the thread is set up (from the command line).
#[derive(Debug, Clone)]
pub struct Setup {
    pub config: Option<PathBuf>,
    pub classifier: ClassifierSource,
    pub boosts: Vec<CgroupBoost>,
    pub record: Option<PathBuf>,
    pub nr_cpus: u64,
    /// Copies of the accepted files, the fallback of a restarted worker.
    pub last_good: LastGood,
    /// Where the CPU counters of each window come from: `read_proc_stat`, or a test's own
    /// (the machine's iowait and busy time must not decide a test's class).
    pub proc_stat: fn() -> ProcStat,
}

/// Load the config and classifier (a bad file at start is an error), start the thread.
pub fn spawn(setup: Setup) -> anyhow::Result<(Arc<Adapt>, SyncSender<WindowMsg>)> {
    let config = first_config(&setup)?;
    let classifier = first_classifier(&setup)?;
    let recorder = setup.record.as_deref().map(open_record).transpose()?;
    let initial = SystemClass::Mixed;
    let state = ModeState {
        generation: 1,
        class: initial,
        params: config.mode(initial),
        last_seen: initial,
        last_signals: Signals::default(),
        switches: 0,
        seconds: [0.0; NR_CLASSES],
        window_ms: config.window_ms,
        classifier: if classifier.is_some() {
            "model"
        } else {
            "thresholds"
        },
        classifier_hash: classifier.as_ref().map_or(0, |c| c.1),
        config_hash: config.hash,
        reloads: 0,
        rejected_reloads: 0,
    };
    let shared = Arc::new(Adapt {
        state: ArcSwap::from_pointee(state),
        boosts: Arc::new(ArcSwap::from_pointee(config.boosts.clone())),
        windows: AtomicU64::new(0),
    });
    let (tx, rx) = sync_channel(WINDOW_QUEUE);
    let files = FileWatch::new(watched_paths(&setup));
    let last_stat = (setup.proc_stat)();
    let thread = AdaptThread {
        shared: shared.clone(),
        hysteresis: Hysteresis::new(initial, config.dwell_windows),
        config,
        classifier,
        setup,
        recorder,
        last_stat,
        files,
        retired: Retired::default(),
        retired_boosts: Retired::default(),
    };
    helper_thread::spawn("adapt", helper_thread::LIGHT_BUDGET, move || thread.run(rx))?;
    Ok((shared, tx))
}

/// The files whose change means reload: the config and a classifier file, if any.
fn watched_paths(setup: &Setup) -> Vec<PathBuf> {
    let classifier = match &setup.classifier {
        ClassifierSource::File(p) => Some(p.clone()),
        _ => None,
    };
    setup.config.iter().cloned().chain(classifier).collect()
}

/// The config at start: the file, or on a restart the last accepted one if the file is bad.
fn first_config(setup: &Setup) -> Result<ModeConfig, FileError> {
    let loaded = load_config(setup.config.as_deref(), &setup.boosts).map(|(config, text)| {
        keep_text(&setup.last_good, LAST_GOOD_MODES, text.as_deref());
        config
    });
    setup.last_good.or_fallback(
        LAST_GOOD_MODES,
        loaded,
        |texts| {
            let text = texts.first().ok_or("empty copy")?;
            Ok(ModeConfig::parse(text.as_bytes())?.with_boosts(&setup.boosts))
        },
        || ModeConfig::builtin().with_boosts(&setup.boosts),
        "the built-in modes",
    )
}

/// The classifier at start: as [`first_config`], the built-in classifier as the default.
fn first_classifier(setup: &Setup) -> Result<Option<(Classifier, u64)>, FileError> {
    let loaded = load_classifier(&setup.classifier).map(|(classifier, text)| {
        keep_text(&setup.last_good, LAST_GOOD_CLASSIFIER, text.as_deref());
        classifier
    });
    setup.last_good.or_fallback(
        LAST_GOOD_CLASSIFIER,
        loaded,
        |texts| {
            let text = texts.first().ok_or("empty copy")?;
            ClassifierFile::parse(text.as_bytes()).map(Some)
        },
        || {
            load_classifier(&ClassifierSource::Builtin)
                .ok()
                .and_then(|(c, _)| c)
        },
        "the built-in classifier",
    )
}

/// Names of the copies kept in [`LastGood`].
const LAST_GOOD_MODES: &str = "modes config";
const LAST_GOOD_CLASSIFIER: &str = "classifier";

/// Keep a file's text (none when the input is built in).
fn keep_text(last_good: &LastGood, name: &str, text: Option<&[u8]>) {
    if let Some(t) = text {
        last_good.keep(name, &[t]);
    }
}

/// The config, with the file's text when it came from one.
fn load_config(
    path: Option<&Path>,
    boosts: &[CgroupBoost],
) -> Result<(ModeConfig, Option<Vec<u8>>), FileError> {
    let (config, text) = match path {
        Some(p) => {
            let (config, text) = load_with(p, ModeConfig::parse)?;
            (config, Some(text))
        }
        None => (ModeConfig::builtin(), None),
    };
    Ok((config.with_boosts(boosts), text))
}

/// The classifier (None: thresholds), with the file's text when it came from one.
#[allow(clippy::type_complexity)]
fn load_classifier(
    src: &ClassifierSource,
) -> Result<(Option<(Classifier, u64)>, Option<Vec<u8>>), FileError> {
    match src {
        ClassifierSource::Thresholds => Ok((None, None)),
        ClassifierSource::File(p) => {
            let (classifier, text) = load_with(p, ClassifierFile::parse)?;
            Ok((Some(classifier), Some(text)))
        }
        ClassifierSource::Builtin => {
            let err = |reason: String| FileError::new("models/classifier.json (built in)", reason);
            let file: ClassifierFile =
                serde_json::from_str(BUILTIN_CLASSIFIER).map_err(|e| err(e.to_string()))?;
            let c = file.to_classifier().map_err(err)?;
            let hash = crate::formats::versioned::content_hash(BUILTIN_CLASSIFIER.as_bytes());
            Ok((Some((c, hash)), None))
        }
    }
}

fn open_record(path: &Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    crate::formats::csv::open_csv_for_append(path, &windows_header())
        .context("cannot record signal windows (--record-signals)")
}

/// /proc/stat now (this thread only; never the dispatch loop).
pub fn read_proc_stat() -> ProcStat {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|t| ProcStat::parse(&t))
        .unwrap_or_default()
}

/// Seconds since boot (the clock /proc/uptime shows), for recorded windows.
fn uptime_s() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

struct AdaptThread {
    shared: Arc<Adapt>,
    hysteresis: Hysteresis,
    config: ModeConfig,
    classifier: Option<(Classifier, u64)>,
    setup: Setup,
    recorder: Option<std::fs::File>,
    last_stat: ProcStat,
    files: FileWatch,
    /// Replaced values, freed here rather than in the loop (see [`Retired`]).
    retired: Retired<ModeState>,
    retired_boosts: Retired<Vec<CgroupBoost>>,
}

impl AdaptThread {
    fn run(mut self, rx: Receiver<WindowMsg>) {
        loop {
            match rx.recv_timeout(RELOAD_POLL) {
                Ok(w) => self.on_window(w),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.maybe_reload();
        }
    }

    /// Classify one window, apply the hysteresis, publish, record.
    fn on_window(&mut self, w: WindowMsg) {
        let stat = (self.setup.proc_stat)();
        let signals = Signals::from_window(
            &w.events,
            &self.last_stat,
            &stat,
            w.window_s,
            self.setup.nr_cpus,
        );
        self.last_stat = stat;
        let seen = match &self.classifier {
            Some((c, _)) => c.classify(&signals),
            None => classify_by_thresholds(&signals),
        };
        let before = self.hysteresis.current();
        if self.hysteresis.observe(seen, w.window_s) {
            info!(
                "workload class {before} -> {} (mode switch)",
                self.hysteresis.current()
            );
        }
        self.publish(seen, signals);
        self.record(&w, signals);
        // Counted once handled: a reader that sees the count sees the window's mode and row.
        self.shared.windows.fetch_add(1, Ordering::Release);
    }

    fn publish(&mut self, seen: SystemClass, signals: Signals) {
        let old = self.shared.state.load();
        let class = self.hysteresis.current();
        let params = self.config.mode(class);
        let changed = class != old.class || params != old.params;
        self.retired.publish(
            &self.shared.state,
            ModeState {
                generation: old.generation + u64::from(changed),
                class,
                params,
                last_seen: seen,
                last_signals: signals,
                switches: self.hysteresis.switches,
                seconds: self.hysteresis.seconds,
                window_ms: self.config.window_ms,
                classifier: if self.classifier.is_some() {
                    "model"
                } else {
                    "thresholds"
                },
                classifier_hash: self.classifier.as_ref().map_or(0, |c| c.1),
                config_hash: self.config.hash,
                ..(**old).clone()
            },
        );
    }

    fn record(&mut self, w: &WindowMsg, signals: Signals) {
        let Some(f) = self.recorder.as_mut() else {
            return;
        };
        let row = Window {
            uptime_s: uptime_s(),
            window_s: w.window_s,
            signals,
            class: self.hysteresis.current(),
            label: None,
        };
        if let Err(e) = writeln!(f, "{}", row.to_line()) {
            warn!("--record-signals: write failed, recording stops: {e}");
            self.recorder = None;
        }
    }

    /// Reload the config and classifier when a file changed or SIGHUP arrived; both must be
    /// valid, else both in use stay.
    fn maybe_reload(&mut self) {
        // Nothing to reload from when no file is watched (or none is listed now).
        match self.files.poll() {
            Some(change) if change.files > 0 => {}
            _ => return,
        }
        let loaded = load_config(self.setup.config.as_deref(), &self.setup.boosts)
            .and_then(|config| load_classifier(&self.setup.classifier).map(|c| (config, c)));
        let mut state = (**self.shared.state.load()).clone();
        match loaded {
            Ok(((config, config_text), (classifier, classifier_text))) => {
                keep_text(
                    &self.setup.last_good,
                    LAST_GOOD_MODES,
                    config_text.as_deref(),
                );
                keep_text(
                    &self.setup.last_good,
                    LAST_GOOD_CLASSIFIER,
                    classifier_text.as_deref(),
                );
                info!(
                    "modes config and classifier reloaded (config {:016x}, {} boosted cgroups)",
                    config.hash,
                    config.boosts.len()
                );
                self.hysteresis.set_dwell(config.dwell_windows);
                self.retired_boosts
                    .publish(&self.shared.boosts, config.boosts.clone());
                self.config = config;
                self.classifier = classifier;
                state.reloads += 1;
            }
            Err(e) => {
                error!("config reload rejected, keeping the one in use: {e}");
                state.rejected_reloads += 1;
            }
        }
        self.retired.publish(&self.shared.state, state);
        let last = self.shared.state.load();
        self.publish(last.last_seen, last.last_signals);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !ok() {
            assert!(
                t0.elapsed() < Duration::from_secs(3),
                "{what}: not within 3 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The shipped classifier on the windows it was fitted from (recorded in the VM): every
    /// workload is recognised; the fixed thresholds do worse (the reason for the model).
    #[test]
    fn shipped_classifier_recognises_the_recorded_workloads() {
        let (c, _) = load_classifier(&ClassifierSource::Builtin)
            .unwrap()
            .0
            .unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("training/signals/vm-phases.csv");
        let windows: Vec<_> = crate::core::classmodel::read_windows(&path)
            .unwrap()
            .into_iter()
            .filter_map(|w| w.label.map(|l| (w.signals, l)))
            .collect();
        let share = |f: &dyn Fn(&Signals) -> SystemClass, class: Option<SystemClass>| {
            let of: Vec<_> = windows
                .iter()
                .filter(|(_, l)| class.is_none_or(|c| c == *l))
                .collect();
            of.iter().filter(|(s, l)| f(s) == *l).count() as f64 / of.len().max(1) as f64
        };
        for class in SystemClass::ALL {
            let recall = share(&|s| c.classify(s), Some(class));
            assert!(recall >= 0.9, "{class}: recall {recall}");
        }
        assert!(share(&|s| c.classify(s), None) > share(&classify_by_thresholds, None));
    }

    /// The thread publishes a class per window and switches only after the dwell; a config
    /// change is applied, a corrupt one rejected while the previous stays in force.
    #[test]
    fn windows_drive_the_mode_and_config_reloads_safely() {
        let dir = std::env::temp_dir().join(format!("foresight-adapt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("modes.json");
        std::fs::write(&cfg, crate::core::modes::BUILTIN).unwrap();
        let rec = dir.join("windows.csv");
        let _ = std::fs::remove_file(&rec);
        let (shared, tx) = spawn(Setup {
            config: Some(cfg.clone()),
            classifier: ClassifierSource::Thresholds,
            boosts: vec![CgroupBoost::parse("/cli:3").unwrap()],
            record: Some(rec.clone()),
            nr_cpus: 2,
            last_good: LastGood::default(),
            proc_stat: ProcStat::default,
        })
        .unwrap();
        assert_eq!(shared.boosts.load().len(), 1);
        // A fork storm: thousands of new tasks per second.
        let storm = WindowMsg {
            events: EventCounts {
                forks: 5_000,
                ..Default::default()
            },
            window_s: 1.0,
        };
        // One window short of the shipped dwell (4): no switch yet.
        for _ in 0..3 {
            tx.send(storm).unwrap();
        }
        wait_until("three windows", || {
            shared.windows.load(Ordering::Acquire) == 3
        });
        assert_eq!(shared.state.load().switches, 0);
        tx.send(storm).unwrap();
        wait_until("four windows", || {
            shared.windows.load(Ordering::Acquire) == 4
        });
        let st = shared.state.load();
        assert_eq!(st.last_seen, SystemClass::FaasBurst);
        assert_eq!(
            st.class,
            SystemClass::FaasBurst,
            "dwell is 4 in the shipped config"
        );
        assert_eq!(st.switches, 1);
        assert_eq!(
            st.params,
            ModeConfig::builtin().mode(SystemClass::FaasBurst)
        );

        // A valid new config: a boost is added (the command line's stays).
        let mut v: serde_json::Value = serde_json::from_str(crate::core::modes::BUILTIN).unwrap();
        v["boost_cgroups"] = serde_json::json!([{"path": "/prio", "factor": 4.0}]);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&cfg, v.to_string()).unwrap();
        wait_until("reload", || shared.state.load().reloads == 1);
        assert_eq!(shared.boosts.load().len(), 2);
        // A corrupt one: rejected, counted, boosts unchanged.
        std::fs::write(&cfg, "{ nope").unwrap();
        wait_until("rejection", || shared.state.load().rejected_reloads == 1);
        assert_eq!(shared.boosts.load().len(), 2);
        assert_eq!(shared.state.load().class, SystemClass::FaasBurst);

        drop(tx);
        let rows = crate::core::classmodel::read_windows(&rec).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3].class, SystemClass::FaasBurst);
        assert!((rows[0].signals.new_tasks_per_s - 5_000.0).abs() < 1e-6);
    }

    /// A restarted worker whose config and classifier broke meanwhile runs with the ones the
    /// worker before it accepted; a first start with the same files is still refused.
    #[test]
    fn a_restart_falls_back_to_the_files_accepted_before() {
        let dir = std::env::temp_dir().join(format!("foresight-restart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("modes.json");
        let cls = dir.join("classifier.json");
        std::fs::write(
            &cfg,
            crate::core::modes::BUILTIN.replace("\"dwell_windows\": 4", "\"dwell_windows\": 5"),
        )
        .unwrap();
        // Not byte-equal to the built-in one: a fallback to the default would show.
        std::fs::write(&cls, format!("{BUILTIN_CLASSIFIER}\n ")).unwrap();
        let run = crate::live::last_good::LastGoodDir::create(&dir.join("run")).unwrap();
        let setup = |restarted| Setup {
            config: Some(cfg.clone()),
            classifier: ClassifierSource::File(cls.clone()),
            boosts: vec![],
            record: None,
            nr_cpus: 1,
            last_good: LastGood::new(Some(run.path().to_path_buf()), restarted),
            proc_stat: ProcStat::default,
        };
        let (first, _tx1) = spawn(setup(false)).unwrap();
        let accepted = (
            first.state.load().config_hash,
            first.state.load().classifier_hash,
        );
        std::fs::write(&cfg, "{ \"format\": \"scx_foresight-modes\"").unwrap();
        std::fs::write(&cls, "[1, 2").unwrap();
        assert!(
            spawn(setup(false)).is_err(),
            "a first start must refuse a bad file"
        );
        let (again, _tx2) = spawn(setup(true)).unwrap();
        let state = again.state.load();
        assert_eq!((state.config_hash, state.classifier_hash), accepted);
        assert_eq!(state.classifier, "model");
        drop(run);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_files_at_start_are_errors_naming_them() {
        let e = spawn(Setup {
            config: Some(PathBuf::from("/nonexistent/modes.json")),
            classifier: ClassifierSource::Thresholds,
            boosts: vec![],
            record: None,
            nr_cpus: 1,
            last_good: LastGood::default(),
            proc_stat: ProcStat::default,
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/modes.json"), "{e}");
        let e = spawn(Setup {
            config: None,
            classifier: "/nonexistent/cls.json".parse().unwrap(),
            boosts: vec![],
            record: None,
            nr_cpus: 1,
            last_good: LastGood::default(),
            proc_stat: ProcStat::default,
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/cls.json"), "{e}");
    }
}
