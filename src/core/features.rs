// SPDX-License-Identifier: GPL-2.0-only
//! Per-task features: the function identity and numeric arguments parsed from a command line,
//! and the fixed-size feature vectors the models read.
//!
//! The same parsing serves the live scheduler (argv from /proc/<pid>/cmdline) and the
//! simulator (a trace row's function and argument string), so a model learnt in one applies
//! to the other.

/// Numeric arguments kept as features (the rest are ignored).
pub const MAX_NUMERIC_ARGS: usize = 4;
/// Per-function model inputs: for each numeric argument x, x and ln(1+|x|).
pub const FUNCTION_FEATURES: usize = 2 * MAX_NUMERIC_ARGS;
/// Hash buckets for an invocation's categorical (non-numeric) arguments: the executable-level
/// model reads which buckets its words fall in, so `--mode medium` and `--mode fast` of one
/// program share a model that still tells them apart.
pub const CATEGORY_BUCKETS: usize = 8;
/// Executable-level model inputs: the function features, then the category buckets.
pub const EXECUTABLE_FEATURES: usize = FUNCTION_FEATURES + CATEGORY_BUCKETS;
/// Prefix that keeps executable identities apart from function identities in one table.
pub const EXECUTABLE_PREFIX: &str = "exe:";
/// General model inputs, see [`general_features`].
pub const GENERAL_FEATURES: usize = 6;
/// Names of the general features, in order (documented in model files).
pub const GENERAL_FEATURE_NAMES: [&str; GENERAL_FEATURES] = [
    "ln1p_max_numeric_arg",
    "numeric_arg_count",
    "ln_weight_ratio",
    "kernel_thread",
    "ln1p_burst_ewma_us",
    "sleep_ratio",
];

/// Interned function identity.
pub type FunctionId = u32;

/// What /proc (or the exec tracer) said about a task, resolved off the hot path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcFeatures {
    pub func: Option<FunctionId>,
    /// Its executable (`exe:<program>`), the level used when the function's model is not trusted.
    pub exe: Option<FunctionId>,
    pub cgroup: Option<u32>,
    pub fx: [f64; FUNCTION_FEATURES],
    pub cx: [f64; CATEGORY_BUCKETS],
    /// The argument part of the general features (the behaviour part is filled live).
    pub max_numeric_ln1p: f64,
    pub n_numeric: f64,
    pub kernel_thread: bool,
    /// Boost of the task's cgroup, percent (100: none).
    pub boost_pct: u64,
}

/// What a command line says about a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Executable plus its non-numeric arguments: tasks with the same identity run the same
    /// function and differ only by their numeric arguments.
    pub identity: String,
    /// The first MAX_NUMERIC_ARGS numeric arguments, 0 beyond `n_numeric`.
    pub numeric: [f64; MAX_NUMERIC_ARGS],
    pub n_numeric: usize,
    /// No command line: a kernel thread.
    pub kernel_thread: bool,
}

impl Invocation {
    /// Identity from a program and its arguments; `key=NUM` counts as `key=` plus NUM.
    pub fn from_args<'a>(program: &str, args: impl IntoIterator<Item = &'a str>) -> Self {
        let mut identity = program.to_string();
        let mut numeric = [0.0; MAX_NUMERIC_ARGS];
        let mut n_numeric = 0;
        for arg in args {
            let (prefix, value) = split_numeric(arg);
            if let Some(v) = value {
                if n_numeric < MAX_NUMERIC_ARGS {
                    numeric[n_numeric] = v;
                    n_numeric += 1;
                }
            }
            if !prefix.is_empty() {
                identity.push(' ');
                identity.push_str(prefix);
            }
        }
        Self {
            identity,
            numeric,
            n_numeric,
            kernel_thread: false,
        }
    }

    /// From the raw bytes of /proc/<pid>/cmdline (NUL separated, maybe not UTF-8), the
    /// executable path when known, the task's comm, and whether it is a kernel thread (the
    /// kernel's PF_KTHREAD flag: an empty command line alone can also be a task mid-exec).
    pub fn from_cmdline(
        cmdline: &[u8],
        exe: Option<&str>,
        comm: &str,
        kernel_thread: bool,
    ) -> Self {
        if kernel_thread {
            return Self {
                identity: format!("[{comm}]"),
                numeric: [0.0; MAX_NUMERIC_ARGS],
                n_numeric: 0,
                kernel_thread: true,
            };
        }
        let mut argv = cmdline
            .split(|b| *b == 0)
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>();
        while argv.last().is_some_and(|a| a.is_empty()) {
            argv.pop();
        }
        let program = exe
            .map(str::to_string)
            .or_else(|| argv.first().map(|a| a.to_string()))
            .unwrap_or_else(|| comm.to_string());
        Self::from_args(&program, argv.iter().skip(1).map(|a| a.as_ref()))
    }

    /// The executable's identity (the program, the identity's first word; a program path
    /// with a space in it is cut there, which only makes its executable level coarser).
    pub fn executable_identity(&self) -> String {
        let program = self.identity.split(' ').next().unwrap_or_default();
        format!("{EXECUTABLE_PREFIX}{program}")
    }

    /// The categorical arguments (the identity's words after the program), hashed into
    /// CATEGORY_BUCKETS indicator features (FNV-1a of each word; 1 where any word falls).
    pub fn category_features(&self) -> [f64; CATEGORY_BUCKETS] {
        let mut x = [0.0; CATEGORY_BUCKETS];
        for word in self.identity.split(' ').skip(1).filter(|w| !w.is_empty()) {
            let h = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            x[(h % CATEGORY_BUCKETS as u64) as usize] = 1.0;
        }
        x
    }

    /// Per-function model input.
    pub fn function_features(&self) -> [f64; FUNCTION_FEATURES] {
        let mut x = [0.0; FUNCTION_FEATURES];
        for (i, v) in self.numeric.iter().enumerate() {
            x[2 * i] = *v;
            x[2 * i + 1] = v.abs().ln_1p();
        }
        x
    }
}

/// `"24"` → ("", 24), `"--n=24"` → ("--n=", 24), `"fast"` → ("fast", None).
fn split_numeric(arg: &str) -> (&str, Option<f64>) {
    let parse = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    if let Some(v) = parse(arg) {
        return ("", Some(v));
    }
    if let Some(pos) = arg.find('=') {
        if let Some(v) = parse(&arg[pos + 1..]) {
            return (&arg[..=pos], Some(v));
        }
    }
    (arg, None)
}

/// What the scheduler observes of a task's behaviour, for the general model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Behaviour {
    pub weight: u64,
    pub burst_ewma_ns: u64,
    /// Share of the task's enqueues that followed a sleep (0..=1).
    pub sleep_ratio: f64,
}

/// Executable-level model input: `fx` (function features) then `cx` (category buckets).
pub fn executable_features(
    fx: &[f64; FUNCTION_FEATURES],
    cx: &[f64; CATEGORY_BUCKETS],
) -> [f64; EXECUTABLE_FEATURES] {
    let mut x = [0.0; EXECUTABLE_FEATURES];
    x[..FUNCTION_FEATURES].copy_from_slice(fx);
    x[FUNCTION_FEATURES..].copy_from_slice(cx);
    x
}

/// General model input: what is known of any task, with or without a function model.
pub fn general_features(inv: Option<&Invocation>, b: &Behaviour) -> [f64; GENERAL_FEATURES] {
    let (max_arg, n, kthread) = inv.map_or((0.0, 0.0, 0.0), |i| {
        let max = i.numeric[..i.n_numeric]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        (
            max,
            i.n_numeric as f64,
            f64::from(u8::from(i.kernel_thread)),
        )
    });
    [
        max_arg.ln_1p(),
        n,
        (b.weight.max(1) as f64 / 100.0).ln(),
        kthread,
        (b.burst_ewma_ns as f64 / 1000.0).ln_1p(),
        b.sleep_ratio,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_keeps_words_and_numbers_become_features() {
        let i = Invocation::from_args("/usr/bin/thumb", ["--size=640", "fast", "3", "-2.5"]);
        assert_eq!(i.identity, "/usr/bin/thumb --size= fast");
        assert_eq!(i.n_numeric, 3);
        assert_eq!(&i.numeric[..3], &[640.0, 3.0, -2.5]);
        assert!(!i.kernel_thread);
    }

    #[test]
    fn executable_level_keeps_the_program_and_hashes_the_words() {
        let medium = Invocation::from_args("/bin/fn19", ["--mode", "medium", "--n=5"]);
        let fast = Invocation::from_args("/bin/fn19", ["--mode", "fast", "--n=5"]);
        assert_eq!(medium.executable_identity(), "exe:/bin/fn19");
        assert_eq!(fast.executable_identity(), medium.executable_identity());
        let (cm, cf) = (medium.category_features(), fast.category_features());
        // `--mode` and `--n=` shared; `medium` and `fast` in buckets of their own here.
        assert_ne!(cm, cf);
        assert!(cm.iter().all(|v| *v == 0.0 || *v == 1.0));
        assert_eq!(
            Invocation::from_args("/bin/x", ["3"]).category_features(),
            [0.0; CATEGORY_BUCKETS]
        );
        let x = executable_features(&medium.function_features(), &cm);
        assert_eq!(x[0], 5.0);
        assert_eq!(&x[FUNCTION_FEATURES..], &cm);
    }

    #[test]
    fn cmdline_bytes_with_exe_and_bad_utf8() {
        let i = Invocation::from_cmdline(
            b"payload\x0030\x00\xff\xfe\x00",
            Some("/opt/payload"),
            "payload",
            false,
        );
        assert_eq!(i.identity, "/opt/payload \u{fffd}\u{fffd}");
        assert_eq!(i.numeric[0], 30.0);
        let k = Invocation::from_cmdline(b"", None, "kworker/0:1", true);
        assert!(k.kernel_thread);
        assert_eq!(k.identity, "[kworker/0:1]");
        let no_exe = Invocation::from_cmdline(b"sh\0-c\0true\0", None, "sh", false);
        assert_eq!(no_exe.identity, "sh -c true");
        // Mid-exec: no command line yet, but not a kernel thread.
        let mid = Invocation::from_cmdline(b"", Some("/bin/sleep"), "sleep", false);
        assert!(!mid.kernel_thread);
        assert_eq!(mid.identity, "/bin/sleep");
    }

    #[test]
    fn extra_numbers_are_ignored_not_crashing() {
        let i = Invocation::from_args("f", ["1", "2", "3", "4", "5", "6", "nan", "inf"]);
        assert_eq!(i.n_numeric, 4);
        assert_eq!(i.identity, "f nan inf");
    }

    #[test]
    fn feature_vectors_have_documented_shape() {
        let i = Invocation::from_args("f", ["9"]);
        let fx = i.function_features();
        assert_eq!(fx[0], 9.0);
        assert!((fx[1] - 10f64.ln()).abs() < 1e-12);
        let gx = general_features(
            Some(&i),
            &Behaviour {
                weight: 100,
                burst_ewma_ns: 0,
                sleep_ratio: 0.5,
            },
        );
        assert_eq!(gx.len(), GENERAL_FEATURE_NAMES.len());
        assert_eq!(gx[2], 0.0);
        assert_eq!(gx[5], 0.5);
    }
}
