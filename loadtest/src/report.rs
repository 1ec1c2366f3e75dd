//! What a run shows its user: a live progress bar, the end-of-run table, CPU figures from
//! `/proc`, the latency timeline and the SVG plots written beside the JSON result.

use std::fmt;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plotters::prelude::*;
use serde::Serialize;

use crate::common::Error;

/// A progress bar on stderr. On a terminal it redraws in place (at most 4 times a second, so
/// it costs the load tool nothing measurable); elsewhere (a pipe, CI, `side_by_side.py`) it is
/// hidden and only the plain lines of [`Progress::line`] are written.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar counting up to `len` `unit`s, with a live message after it.
    pub fn bar(len: u64, unit: &str) -> Self {
        let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} {prefix} {msg}",
            )
            .expect("progress template")
            .progress_chars("=> "),
        );
        pb.set_prefix(unit.to_string());
        Self(pb)
    }

    /// A spinner with the elapsed time and a message, for a phase of unknown length.
    pub fn spinner(msg: String) -> Self {
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        pb.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("progress template"),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(250));
        pb.set_message(msg);
        Self(pb)
    }

    /// Sets the live figures only.
    pub fn message(&self, msg: String) {
        self.0.set_message(msg);
    }

    /// Sets the position and the live figures.
    pub fn set(&self, pos: u64, msg: String) {
        self.0.set_position(pos);
        self.0.set_message(msg);
    }

    /// Advances by one.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    /// A new phase: the bar's length and unit.
    pub fn reset(&self, len: u64, unit: &str, msg: String) {
        self.0.set_length(len);
        self.0.set_prefix(unit.to_string());
        self.0.set_position(0);
        self.0.set_message(msg);
    }

    /// Writes a line above the bar (or alone when the bar is hidden).
    pub fn line(&self, s: &str) {
        self.0.suspend(|| eprintln!("{s}"));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// CPU seconds (user + system) used so far by `pid`, or by this process when `None`.
pub fn cpu_s(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    let f: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI this runs on.
    Some(ticks as f64 / 100.0)
}

/// A `kB` field of `/proc/{pid}/status` (`VmRSS`, `VmHWM`, …), of this process when `None`.
pub fn status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The 1-, 5- and 15-minute load averages, as `/proc/loadavg` prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// An end-of-run summary: a title and aligned rows.
pub struct Table {
    title: String,
    rows: Vec<(String, String)>,
}

impl Table {
    /// An empty table.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, k: impl Into<String>, v: impl Into<String>) -> &mut Self {
        self.rows.push((k.into(), v.into()));
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kw = self
            .rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let vw = self
            .rows
            .iter()
            .map(|(_, v)| v.chars().count())
            .max()
            .unwrap_or(0);
        let width = (kw + vw + 7).max(self.title.chars().count() + 4);
        let vw = width - kw - 7;
        let rule = "─".repeat(width - 2);
        writeln!(f, "┌{rule}┐")?;
        writeln!(f, "│ {:<w$} │", self.title, w = width - 4)?;
        writeln!(f, "├{}┬{}┤", "─".repeat(kw + 2), "─".repeat(vw + 2))?;
        for (k, v) in &self.rows {
            writeln!(f, "│ {k:<kw$} │ {v:<vw$} │")?;
        }
        write!(f, "└{}┴{}┘", "─".repeat(kw + 2), "─".repeat(vw + 2))
    }
}

/// Delivery latency samples: (receive time in ms since the start of play, latency in µs).
pub type Samples = Vec<(u32, u32)>;

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    /// Start of the second, since the start of play.
    pub t_s: u32,
    /// Samples received in it.
    pub count: usize,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// Per-second latency percentiles of `samples`.
pub fn timeline(samples: &[(u32, u32)]) -> Vec<Second> {
    let secs = samples
        .iter()
        .map(|s| s.0 / 1000)
        .max()
        .map_or(0, |m| m + 1) as usize;
    let mut by: Vec<Vec<u32>> = vec![Vec::new(); secs];
    for &(t, l) in samples {
        by[(t / 1000) as usize].push(l);
    }
    by.into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            v.sort_unstable();
            let at = |p: f64| {
                if v.is_empty() {
                    return 0.0;
                }
                let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
                v[i] as f64 / 1000.0
            };
            Second {
                t_s: i as u32,
                count: v.len(),
                p50_ms: at(0.5),
                p99_ms: at(0.99),
                max_ms: at(1.0),
            }
        })
        .collect()
}

/// `result.json` → `result.<suffix>.svg`, beside it.
pub fn beside(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    out.with_file_name(format!("{stem}.{suffix}.svg"))
}

/// Writes the two plots of a run beside `out`: latency over time (per-second p50, p99 and
/// max) and the latency histogram (log count), titled `{what}: delivery latency …` and named
/// `<result>.latency-over-time.svg` and `<result>.latency-histogram.svg`. Returns their paths.
pub fn write_plots(out: &Path, what: &str, samples: &[(u32, u32)]) -> Result<Vec<PathBuf>, Error> {
    write_plots_as(
        out,
        "latency",
        &format!("{what}: delivery latency"),
        samples,
    )
}

/// [`write_plots`] for another kind of latency: the files are `<result>.{name}-over-time.svg`
/// and `<result>.{name}-histogram.svg`, the titles `{title} over time` and `{title} histogram`.
pub fn write_plots_as(
    out: &Path,
    name: &str,
    title: &str,
    samples: &[(u32, u32)],
) -> Result<Vec<PathBuf>, Error> {
    let over_time = beside(out, &format!("{name}-over-time"));
    let histogram = beside(out, &format!("{name}-histogram"));
    plot_over_time(&over_time, title, &timeline(samples))?;
    plot_histogram(&histogram, title, samples)?;
    Ok(vec![over_time, histogram])
}

fn plot_over_time(path: &Path, what: &str, secs: &[Second]) -> Result<(), Error> {
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let t_max = secs.len().max(1) as f64;
    let y_max = secs.iter().map(|s| s.max_ms).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{what} over time"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..t_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("time since start of play (s)")
        .y_desc("latency (ms)")
        .draw()?;
    type Series = (&'static str, RGBColor, fn(&Second) -> f64);
    let series: [Series; 3] = [
        ("max", RGBColor(200, 200, 200), |s| s.max_ms),
        ("p99", RED, |s| s.p99_ms),
        ("p50", BLUE, |s| s.p50_ms),
    ];
    for (name, color, get) in series {
        let pts = secs
            .iter()
            .filter(|s| s.count > 0)
            .map(|s| (s.t_s as f64 + 0.5, get(s)));
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_histogram(path: &Path, what: &str, samples: &[(u32, u32)]) -> Result<(), Error> {
    let mut ms: Vec<u32> = samples.iter().map(|s| s.1 / 1000).collect();
    ms.sort_unstable();
    let max = ms.last().copied().unwrap_or(0);
    let p999 = ms
        .get((ms.len() as f64 * 0.999) as usize)
        .copied()
        .unwrap_or(max);
    // Show up to 1.5 × p99.9 (at least 10 ms) in at most 100 buckets of whole ms.
    let x_max = (p999 + p999 / 2).clamp(10, max.max(10)) + 1;
    let width = x_max.div_ceil(100).max(1);
    let n = x_max.div_ceil(width) as usize;
    let mut counts = vec![0u64; n];
    let mut above = 0u64;
    for &m in &ms {
        match counts.get_mut((m / width) as usize) {
            Some(c) => *c += 1,
            None => above += 1,
        }
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) * 2;
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let note = if above > 0 {
        format!(
            " ({above} samples above {} ms not shown; max {max} ms)",
            n as u32 * width
        )
    } else {
        String::new()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{what} histogram, {} samples{note}", ms.len()),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(n as u32 * width) as f64, (1u64..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!("latency (ms, {width} ms buckets)"))
        .y_desc("samples (log)")
        .draw()?;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                let x0 = (i as u32 * width) as f64;
                Rectangle::new(
                    [(x0, 1), (x0 + width as f64 * 0.9, c)],
                    BLUE.mix(0.7).filled(),
                )
            }),
    )?;
    root.present()?;
    Ok(())
}

/// Formats a count with a k/M suffix.
pub fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_by_second() {
        let s = vec![(10, 1000), (900, 3000), (1500, 2000), (3100, 9000)];
        let t = timeline(&s);
        assert_eq!(t.len(), 4);
        assert_eq!((t[0].count, t[0].p50_ms, t[0].max_ms), (2, 1.0, 3.0));
        assert_eq!(t[2].count, 0);
        assert_eq!(t[3].p99_ms, 9.0);
    }

    #[test]
    fn table_aligns() {
        let mut t = Table::new("x");
        t.row("a", "1").row("longer key", "22");
        let s = t.to_string();
        let widths: Vec<usize> = s.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{s}");
    }

    #[test]
    fn plots_are_svg_beside_the_result() {
        let dir = std::env::temp_dir().join(format!("lt-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("r.json");
        let samples: Samples = (0..5000).map(|i| (i * 2, (i % 37) * 1000)).collect();
        let files = write_plots(&out, "test", &samples).unwrap();
        assert_eq!(files[0], dir.join("r.latency-over-time.svg"));
        for f in files {
            let s = std::fs::read_to_string(f).unwrap();
            assert!(
                s.starts_with("<svg") && s.contains("latency"),
                "{}",
                &s[..80]
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
