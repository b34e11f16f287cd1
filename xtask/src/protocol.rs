// SPDX-License-Identifier: GPL-2.0-only
//! The lines the guest scripts (xtask/guest/*.sh) print for this side: `@@TAG rest`, one per
//! line, among the console's other output. Every tag the host reads is named here, with its
//! emitter and what follows it; the host matches them only through [`body`] and [`is`].

/// init.sh, when /init starts: `@@BOOTED <uptime s>`.
pub const BOOTED: &str = "@@BOOTED";
/// init.sh, after the run: the guest's kernel log, one line each.
pub const KMSG: &str = "@@KMSG";
/// Every script: a note shown to the user and kept in the log (`@@INFO text`).
pub const INFO: &str = "@@INFO";
/// Every script: the steps it will run (`@@PLAN a b c`), then each as it starts (`@@STEP a`).
pub const PLAN: &str = "@@PLAN";
pub const STEP: &str = "@@STEP";
/// demo.sh: the demo attached, ran and detached cleanly.
pub const DEMO_OK: &str = "@@DEMO-OK";
/// vm-test.sh: a case's verdict, `@@CASE name PASS|FAIL secs detail…`.
pub const CASE: &str = "@@CASE";
/// vm-test.sh (record case): one recorded samples CSV line.
pub const REC: &str = "@@REC";
/// vm-test.sh (signals case): one labelled signal-windows CSV line.
pub const SIG: &str = "@@SIG";
/// validate.sh: one known-answer figure (`@@VAL name values…`), a failed step (`@@VALERR step
/// why`), and the end of the run.
pub const VAL: &str = "@@VAL";
pub const VALERR: &str = "@@VALERR";
pub const VAL_DONE: &str = "@@VAL-DONE";
/// bench.sh: one figure (`@@BENCH sched rep workload metric value`), one replayed invocation
/// (`@@INV …`), a workload that failed (`@@BENCHERR …`), the mode in force (`@@MODE …`), the
/// model file scx_foresight's runs start from (`@@MODELS <json on one line>`), and the end of
/// the run.
pub const BENCH: &str = "@@BENCH";
pub const INV: &str = "@@INV";
pub const BENCHERR: &str = "@@BENCHERR";
/// bench.sh: a figure left out because the kernel evicted the scheduler under test before it
/// was taken (`@@DROPPED sched rep workload metric why…`): the default ran it.
pub const DROPPED: &str = "@@DROPPED";
pub const MODE: &str = "@@MODE";
pub const MODELS: &str = "@@MODELS";
pub const BENCH_DONE: &str = "@@BENCH-DONE";
/// bench.sh with `--sched-trace`: one kernel scheduling event of a replay
/// (`@@TRC sched rep workload <ftrace line>`), read for its lock sleep.
pub const TRC: &str = "@@TRC";

/// What follows `tag` and one space on `line`, when the line carries that tag.
pub fn body<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.strip_prefix(tag)?.strip_prefix(' ')
}

/// Whether `line` carries `tag` (alone or followed by a space: `@@VAL` is not `@@VALERR`).
pub fn is(line: &str, tag: &str) -> bool {
    line == tag || body(line, tag).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_do_not_swallow_their_longer_neighbours() {
        assert_eq!(body("@@VAL cal 20 1000", VAL), Some("cal 20 1000"));
        assert!(!is("@@VALERR calibrate boom", VAL));
        assert!(is("@@VALERR calibrate boom", VALERR));
        assert!(!is("@@BENCH-DONE", BENCH));
        assert!(is("@@BENCH-DONE", BENCH_DONE));
        assert!(is("@@DEMO-OK", DEMO_OK));
        assert_eq!(body("@@BENCHX y", BENCH), None);
    }
}
