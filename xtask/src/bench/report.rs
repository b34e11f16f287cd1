// SPDX-License-Identifier: GPL-2.0-only
//! The run's report: Markdown table and targets, completion-time CDF plots (PNG).

use super::*;

pub fn fmt_num(x: f64) -> String {
    match x.abs() {
        a if a >= 1000.0 => format!("{x:.0}"),
        a if a >= 100.0 => format!("{x:.1}"),
        a if a >= 1.0 => format!("{x:.2}"),
        _ => format!("{x:.3}"),
    }
}

pub fn fmt_ratio(r: &stats::Ratio) -> String {
    format!("×{:.2} ({:.2}–{:.2})", r.value, r.lo, r.hi)
}

/// The Markdown report: table (median, range, ratio to default with its interval), targets.
pub fn markdown(rows: &[Row], targets: &[Target], plan: &Plan, info: &[String]) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Median over {} repetitions [min–max]; ×: the ratio of medians to the default \
         scheduler's, with its bootstrap 95 % interval in brackets.\n\n",
        plan.reps
    ));
    md.push_str("| workload: metric | better |");
    for s in SCHEDULERS {
        md.push_str(&format!(" {s} |"));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(SCHEDULERS.len()));
    md.push('\n');
    for row in rows {
        let better = match row.better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        md.push_str(&format!("| {} | {better} |", row.label));
        for s in SCHEDULERS {
            let cell = match row.by_sched.get(*s) {
                None => "–".to_string(),
                Some(c) => format!(
                    "{} [{}–{}]{}",
                    fmt_num(c.spread.median),
                    fmt_num(c.spread.min),
                    fmt_num(c.spread.max),
                    c.ratio
                        .as_ref()
                        .map_or(String::new(), |r| format!(" {}", fmt_ratio(r)))
                ),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    md.push_str(
        "\nTargets (scx_foresight): met only when the whole 95 % interval is on the goal's side, \
         unclear when it straddles the goal.\n\n| target | goal | measured | verdict |\n|---|---|---|---|\n",
    );
    for t in targets {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.name,
            t.goal.text(),
            match (&t.ratio, t.name.ends_with("(% of one CPU)")) {
                (None, _) => "–".into(),
                // An absolute figure: the median and its interval, not a ratio.
                (Some(r), true) => format!("{:.2} % ({:.2}–{:.2})", r.value, r.lo, r.hi),
                (Some(r), false) => fmt_ratio(r),
            },
            t.verdict.word()
        ));
    }
    md.push_str(&variant_markdown(rows));
    if !info.is_empty() {
        md.push_str("\nGuest:\n\n");
        for i in info {
            md.push_str(&format!("- {i}\n"));
        }
    }
    md
}

/// The A/B of `--variant`: each figure of the variant over ours, from the same boot (none
/// without a variant).
pub fn variant_markdown(rows: &[Row]) -> String {
    let mut md = String::new();
    for row in rows {
        let Some(r) = ratio(
            std::slice::from_ref(row),
            &row.workload,
            &row.metric,
            VARIANT,
            US,
        ) else {
            continue;
        };
        if md.is_empty() {
            md.push_str(&format!(
                "\nA/B in this boot: {VARIANT} (ours with --variant's flags) over {US}, ratio of \
                 medians with its bootstrap 95 % interval.\n\n| workload: metric | better | \
                 {VARIANT} / {US} |\n|---|---|---|\n"
            ));
        }
        let better = match row.better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        md.push_str(&format!(
            "| {} | {better} | {} |\n",
            row.label,
            fmt_ratio(&r)
        ));
    }
    md
}

/// Short invocations listed per replay in the worst-short table.
pub const WORST_SHORT_PER_REPLAY: usize = 3;

/// The worst short invocations of each replay, each split into its wait before `main` and its
/// run after it: a short p99 that moves between repetitions is read here, without a trace.
pub fn worst_short_markdown(invs: &[Invocation], short_us: u64) -> String {
    let mut by_replay: BTreeMap<(&str, &str, u32), Vec<&Invocation>> = BTreeMap::new();
    for i in invs.iter().filter(|i| i.ok && i.demand_us <= short_us) {
        by_replay
            .entry((i.workload.as_str(), i.sched.as_str(), i.rep))
            .or_default()
            .push(i);
    }
    if by_replay.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\nThe {WORST_SHORT_PER_REPLAY} worst short invocations of each replay (demand ≤ {} ms): \
         payload argument, demand, arrival; slowdown = wait from arrival to `main` + run from \
         `main` to the end, over the demand.\n\n| replay | scheduler | rep | worst short \
         invocations |\n|---|---|---|---|\n",
        short_us / 1000
    );
    for ((workload, sched, rep), mut v) in by_replay {
        v.sort_by(|a, b| b.slowdown().total_cmp(&a.slowdown()));
        let cells: Vec<String> = v
            .iter()
            .take(WORST_SHORT_PER_REPLAY)
            .map(|i| {
                format!(
                    "arg {}, {:.1} ms at {:.2} s: ×{:.0} = {:.0} + {:.0} ms",
                    i.arg,
                    i.demand_us as f64 / 1000.0,
                    i.arrival_us as f64 / 1e6,
                    i.slowdown(),
                    i.start_us.saturating_sub(i.arrival_us) as f64 / 1000.0,
                    i.finish_us.saturating_sub(i.start_us) as f64 / 1000.0,
                )
            })
            .collect();
        md.push_str(&format!(
            "| {workload} | {sched} | {rep} | {} |\n",
            cells.join("; ")
        ));
    }
    md
}

/// Completion-time CDF (arrival to finish, all invocations of all repetitions) per scheduler.
pub fn plot_cdf(invs: &[Invocation], workload: &str, title: &str, out: &Path) -> Result<()> {
    use plotters::prelude::*;
    let series: Vec<(&str, Vec<f64>)> = SCHEDULERS
        .iter()
        .map(|s| {
            let mut v: Vec<f64> = invs
                .iter()
                .filter(|i| i.ok && i.sched == *s && i.workload == workload)
                .map(Invocation::completion_ms)
                .filter(|ms| *ms > 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            (*s, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let all = series.iter().flat_map(|(_, v)| v.iter().copied());
    let (lo, hi) = all.fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if series.is_empty() {
        bail!("no completed invocations of {workload} to plot");
    }
    let root = BitMapBackend::new(out, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((lo * 0.9..hi * 1.1).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("completion time, arrival to finish (ms, log scale)")
        .y_desc("fraction of invocations")
        .draw()?;
    let colors = [BLACK, BLUE, GREEN, RED];
    for (i, (name, v)) in series.iter().enumerate() {
        let color = colors[SCHEDULERS.iter().position(|s| s == name).unwrap_or(i) % colors.len()];
        let n = v.len() as f64;
        let points = v.iter().enumerate().map(|(k, x)| (*x, (k + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(format!("{name} (n={})", v.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

pub fn register_font() -> Result<()> {
    let bytes = fs::read(FONT_PATH).with_context(|| {
        format!("cannot read the plots' font {FONT_PATH} (package fonts-dejavu-core)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        plotters::style::FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{FONT_PATH} is not a usable font"))
}
