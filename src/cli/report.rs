// SPDX-License-Identifier: GPL-2.0-only
//! `scx_foresight report`: PNG plots of a `--record` samples file and a `--record-signals`
//! windows file, for people who look rather than read.
//!
//! - `cpu-by-function.png`: per function (the most sampled), the measured CPU of each
//!   invocation against its first numeric argument, log-log, with the function's model (fitted
//!   on these samples as `train` does) drawn through its predictions.
//! - `class-timeline.png`: the workload class in force per window over time, the labelled
//!   workload when the file is labelled, and a mark at each mode switch.
//! - `class-counts.png`: windows per class in force (and per label, when labelled).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::prelude::*;

use scx_foresight::core::classify::{SystemClass, NR_CLASSES};
use scx_foresight::core::classmodel::Window;
use scx_foresight::core::model::LinearModel;
use scx_foresight::formats::samples::Recorded;
use scx_foresight::offline::training::{train, FOLDS_DEFAULT};

/// Functions drawn, the most sampled first (one panel each).
const MAX_FUNCTIONS: usize = 6;
/// Samples a function needs to be fitted and drawn.
const MIN_PLOTTED: usize = 2;
/// Where the plots' font is (Debian's fonts-dejavu-core).
const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const PANEL_PX: (u32, u32) = (1200, 760);

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Samples recorded with `--record` (CSV).
    #[arg(long, value_name = "FILE")]
    pub samples: Option<PathBuf>,
    /// Windows recorded with `--record-signals` (CSV).
    #[arg(long, value_name = "FILE")]
    pub signals: Option<PathBuf>,
    /// Folder for the PNG files (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
}

pub fn report(a: &ReportArgs) -> Result<()> {
    if a.samples.is_none() && a.signals.is_none() {
        bail!("nothing to plot: give --samples FILE and/or --signals FILE");
    }
    register_font()?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    if let Some(path) = &a.samples {
        let samples = scx_foresight::formats::samples::read(path)?;
        let out = a.out.join("cpu-by-function.png");
        let drawn = plot_functions(&samples, &out)?;
        println!(
            "{}: {drawn} functions, {} samples",
            out.display(),
            samples.len()
        );
    }
    if let Some(path) = &a.signals {
        let windows = scx_foresight::core::classmodel::read_windows(path)?;
        if windows.is_empty() {
            bail!("{}: no windows", path.display());
        }
        let out = a.out.join("class-timeline.png");
        let switches = plot_timeline(&windows, &out)?;
        println!(
            "{}: {} windows, {switches} mode switches",
            out.display(),
            windows.len()
        );
        let out = a.out.join("class-counts.png");
        plot_counts(&windows, &out)?;
        println!("{}", out.display());
    }
    Ok(())
}

/// One function's points: (first numeric argument, measured µs, predicted µs).
struct FunctionPoints {
    name: String,
    points: Vec<(f64, f64, f64)>,
}

/// The most sampled functions that have a positive first argument, each with its model as
/// `train` fits it from these samples.
fn function_points(samples: &[Recorded]) -> Vec<FunctionPoints> {
    let models: BTreeMap<String, LinearModel> = train(samples, MIN_PLOTTED, FOLDS_DEFAULT)
        .functions
        .into_iter()
        .map(|f| (f.identity, f.model.to_model()))
        .collect();
    let mut groups: BTreeMap<&str, Vec<&Recorded>> = BTreeMap::new();
    for s in samples {
        if s.numeric.first().is_some_and(|x| *x > 0.0) {
            groups.entry(&s.identity).or_default().push(s);
        }
    }
    let mut groups: Vec<(&str, Vec<&Recorded>)> = groups.into_iter().collect();
    groups.sort_by_key(|(_, g)| std::cmp::Reverse(g.len()));
    groups
        .into_iter()
        .filter(|(_, g)| g.len() >= MIN_PLOTTED)
        .take(MAX_FUNCTIONS)
        .filter_map(|(name, group)| {
            let model = models.get(name)?;
            let mut points: Vec<(f64, f64, f64)> = group
                .iter()
                .map(|s| {
                    let x = s.invocation().function_features();
                    (s.numeric[0], s.cpu_us as f64, model.predict_ln(&x).exp())
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Some(FunctionPoints {
                name: name.to_string(),
                points,
            })
        })
        .collect()
}

fn plot_functions(samples: &[Recorded], out: &Path) -> Result<usize> {
    let functions = function_points(samples);
    if functions.is_empty() {
        bail!("no function has 2 or more samples with a positive numeric argument to plot");
    }
    let root = BitMapBackend::new(out, PANEL_PX).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "Measured CPU per invocation (dots) and the function's model (line), log-log",
        ("sans-serif", 22),
    )?;
    let cols = functions.len().min(3);
    let rows = functions.len().div_ceil(cols);
    for (f, area) in functions.iter().zip(root.split_evenly((rows, cols))) {
        let (x_lo, x_hi) = span(f.points.iter().map(|p| p.0));
        let (y_lo, y_hi) = span(f.points.iter().flat_map(|p| [p.1, p.2]));
        let mut chart = ChartBuilder::on(&area)
            .caption(short(&f.name, 40), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            // Log-log drawn as log10 on linear axes: plotters labels a log axis only at
            // powers of ten, none at all for a function whose argument spans 20..32.
            .build_cartesian_2d(
                (x_lo * 0.9).log10()..(x_hi * 1.1).log10(),
                (y_lo * 0.8).log10()..(y_hi * 1.25).log10(),
            )?;
        chart
            .configure_mesh()
            .x_desc("first numeric argument")
            .y_desc("CPU (µs)")
            .x_labels(6)
            .y_labels(8)
            .x_label_formatter(&|x| compact(10f64.powf(*x)))
            .y_label_formatter(&|y| compact(10f64.powf(*y)))
            .label_style(("sans-serif", 12))
            .draw()?;
        chart
            .draw_series(
                f.points
                    .iter()
                    .map(|p| Circle::new((p.0.log10(), p.1.log10()), 3, BLUE.mix(0.5).filled())),
            )?
            .label(format!("measured (n={})", f.points.len()))
            .legend(|(x, y)| Circle::new((x + 8, y), 3, BLUE.filled()));
        chart
            .draw_series(LineSeries::new(
                f.points.iter().map(|p| (p.0.log10(), p.2.log10())),
                RED.stroke_width(2),
            ))?
            .label("model")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)?;
    }
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(functions.len())
}

/// The class in force per window over time, the label when present, mode switches marked.
fn plot_timeline(windows: &[Window], out: &Path) -> Result<usize> {
    let t0 = windows[0].uptime_s;
    let t_end = windows
        .last()
        .map_or(t0 + 1.0, |w| w.uptime_s)
        .max(t0 + 1.0);
    let root = BitMapBackend::new(out, PANEL_PX).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Workload class in force per window, and mode switches",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(120)
        .build_cartesian_2d(0.0..(t_end - t0), -0.5..(NR_CLASSES as f64 - 0.5))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first window")
        .light_line_style(WHITE)
        .y_labels(NR_CLASSES)
        .y_label_formatter(&|y| class_name(*y))
        .label_style(("sans-serif", 14))
        .draw()?;
    let at = |w: &Window| w.uptime_s - t0;
    let switches: Vec<f64> = windows
        .windows(2)
        .filter(|p| p[0].class != p[1].class)
        .map(|p| at(&p[1]))
        .collect();
    for &x in &switches {
        chart.draw_series(LineSeries::new(
            [(x, -0.5), (x, NR_CLASSES as f64 - 0.5)],
            RED.mix(0.4),
        ))?;
    }
    let mut steps = Vec::new();
    for w in windows {
        let y = class_y(w.class);
        if let Some(&(_, last)) = steps.last() {
            steps.push((at(w), last));
        }
        steps.push((at(w), y));
    }
    chart
        .draw_series(LineSeries::new(steps, BLUE.stroke_width(3)))?
        .label("class in force")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.stroke_width(3)));
    if windows.iter().any(|w| w.label.is_some()) {
        chart
            .draw_series(windows.iter().filter_map(|w| {
                w.label
                    .map(|l| Cross::new((at(w), class_y(l) + 0.2), 4, GREEN.stroke_width(2)))
            }))?
            .label("labelled workload")
            .legend(|(x, y)| Cross::new((x + 8, y), 4, GREEN.stroke_width(2)));
    }
    chart
        .draw_series(std::iter::once(PathElement::new(
            [(0.0, -1.0), (0.0, -1.0)],
            RED.mix(0.4),
        )))?
        .label(format!("mode switch ({})", switches.len()))
        .legend(|(x, y)| PathElement::new([(x + 8, y - 6), (x + 8, y + 6)], RED.mix(0.6)));
    legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(switches.len())
}

/// Windows per class in force, and per labelled workload when the file is labelled.
fn plot_counts(windows: &[Window], out: &Path) -> Result<()> {
    let mut in_force = [0u32; NR_CLASSES];
    let mut labelled = [0u32; NR_CLASSES];
    for w in windows {
        in_force[w.class.index()] += 1;
        if let Some(l) = w.label {
            labelled[l.index()] += 1;
        }
    }
    let has_labels = labelled.iter().any(|n| *n > 0);
    let top = in_force.iter().chain(&labelled).copied().max().unwrap_or(1);
    let root = BitMapBackend::new(out, PANEL_PX).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Windows per workload class", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(NR_CLASSES as f64 - 0.5), 0.0..f64::from(top) * 1.15)?;
    chart
        .configure_mesh()
        .x_labels(NR_CLASSES)
        .x_label_formatter(&|x| class_name(*x))
        .y_desc("windows")
        .label_style(("sans-serif", 14))
        .draw()?;
    let width = if has_labels { 0.38 } else { 0.7 };
    let bars = |counts: [u32; NR_CLASSES], shift: f64, color: RGBColor| {
        counts.into_iter().enumerate().map(move |(i, n)| {
            let x = i as f64 + shift;
            Rectangle::new(
                [(x - width / 2.0, 0.0), (x + width / 2.0, f64::from(n))],
                color.filled(),
            )
        })
    };
    let shift = if has_labels { -0.2 } else { 0.0 };
    chart
        .draw_series(bars(in_force, shift, BLUE))?
        .label("class in force")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE.filled()));
    if has_labels {
        chart
            .draw_series(bars(labelled, 0.2, GREEN))?
            .label("labelled workload")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], GREEN.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
    root.present()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// The series' legend box, at `position`, labels at `size` px.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
    size: u32,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A class's position on the class axis.
fn class_y(c: SystemClass) -> f64 {
    c.index() as f64
}

/// The class named at an axis position (whole positions only).
fn class_name(y: f64) -> String {
    let i = y.round();
    if (y - i).abs() > 0.01 || i < 0.0 {
        return String::new();
    }
    SystemClass::ALL
        .get(i as usize)
        .map_or(String::new(), |c| c.name().to_string())
}

/// A number in few characters, two significant digits: 20, 1.5k, 120k, 3.2M.
fn compact(v: f64) -> String {
    let (x, unit) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e3 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let digits = if x.abs() >= 10.0 { 0 } else { 1 };
    let x = if x.abs() >= 10.0 {
        let scale = 10f64.powf((x.abs().log10().floor() - 1.0).max(0.0));
        (x / scale).round() * scale
    } else {
        x
    };
    format!("{x:.digits$}{unit}")
}

/// Smallest and largest positive value (1, 10 when there is none).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        (1.0, 10.0)
    } else {
        (lo, hi.max(lo * 1.01))
    }
}

/// `name`, cut to `max` characters from the end (paths: the last part is what tells).
fn short(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        name.to_string()
    } else {
        format!("…{}", name.chars().skip(n - max + 1).collect::<String>())
    }
}

fn register_font() -> Result<()> {
    let bytes = std::fs::read(FONT_PATH).with_context(|| {
        format!("cannot read the plots' font {FONT_PATH} (Debian package fonts-dejavu-core)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        plotters::style::FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{FONT_PATH} is not a usable font"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(compact(20.0), "20");
        assert_eq!(compact(3.16), "3.2");
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(123_456.0), "120k");
        assert_eq!(compact(3_200_000.0), "3.2M");
    }

    /// The recorded VM samples and windows give three PNGs, and the plotted model follows the
    /// measured CPU (fib's samples: prediction within a factor 2 of the measure for most).
    #[test]
    fn report_plots_the_recorded_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let samples =
            scx_foresight::formats::samples::read(&root.join("training/samples/sim-101.csv"))
                .expect("shipped samples");
        let fib = function_points(&samples)
            .into_iter()
            .find(|f| f.name.contains("fib"))
            .expect("fib is plotted");
        let close = fib
            .points
            .iter()
            .filter(|(_, measured, predicted)| (measured / predicted).abs().ln().abs() < 2f64.ln())
            .count();
        assert!(
            close * 10 >= fib.points.len() * 9,
            "{close} of {}",
            fib.points.len()
        );

        let out = std::env::temp_dir().join(format!("foresight-report-{}", std::process::id()));
        report(&ReportArgs {
            samples: Some(root.join("training/samples/vm-payload.csv")),
            signals: Some(root.join("training/signals/vm-phases.csv")),
            out: out.clone(),
        })
        .unwrap();
        for png in [
            "cpu-by-function.png",
            "class-timeline.png",
            "class-counts.png",
        ] {
            let bytes = std::fs::read(out.join(png)).unwrap();
            assert!(
                bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
                "{png}"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
