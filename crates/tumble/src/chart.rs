//! Gantt-style charts of a cycle: phases as coloured bands, one row per output with its ON
//! intervals, and the water level and drum speed below. Drawn from a plan (the timeline) or from
//! a record of a run, for any window of time: a 20-hour cycle and a 50 ms step both read well.

use std::fmt::Write as _;

use svg::Document;
use tumble_core::board::Board;
use tumble_core::cycle::Cycle;
use tumble_core::timeline::Timeline;

use crate::cli::{self, Failure, Secs};
use svg::node::element::{Group, Line, Polyline, Rectangle, Text, Title};

/// What a chart shows, in µs from the cycle start.
#[derive(Debug, Default)]
pub struct Chart {
    pub title: String,
    pub phases: Vec<Band>,
    pub rows: Vec<Row>,
    /// (t, litres), (t, rpm read by the sensor) and (t, the drum's true rpm) samples; empty
    /// for a plan.
    pub level: Vec<(u64, f64)>,
    pub rpm: Vec<(u64, f64)>,
    pub drum_rpm: Vec<(u64, f64)>,
    pub end_us: u64,
}

#[derive(Debug, Clone)]
pub struct Band {
    pub start_us: u64,
    pub end_us: u64,
    pub label: String,
    /// Hex colour without '#', as cycle documents store it; empty for the palette.
    pub color: String,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub pin: u8,
    /// ON intervals, in time order, merged where closer than a pixel: (start, end, µs ON
    /// inside), so dense pulses show as a lighter bar.
    pub on: Vec<(u64, u64, u64)>,
    /// The direction relay: ON is clockwise, drawn shaded rather than as a bar.
    pub direction: bool,
}

/// The window a chart shows and how wide it is drawn.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub from_us: u64,
    pub to_us: u64,
}

impl View {
    /// µs per pixel of plot area.
    fn us_per_px(&self) -> f64 {
        (self.to_us - self.from_us).max(1) as f64 / PLOT_W
    }

    fn x(&self, t_us: u64) -> f64 {
        LEFT + (t_us.saturating_sub(self.from_us) as f64 / self.us_per_px()).min(PLOT_W)
    }

    fn visible(&self, start: u64, end: u64) -> bool {
        end >= self.from_us && start <= self.to_us
    }
}

/// Collects ON intervals of one output from its level changes, merging intervals separated by
/// less than `merge_us` (a pixel): a million motor pulses become the bars a reader can see.
#[derive(Debug)]
pub struct Intervals {
    merge_us: u64,
    on_since: Option<u64>,
    pub spans: Vec<(u64, u64, u64)>,
}

impl Intervals {
    pub fn new(merge_us: u64) -> Self {
        Intervals {
            merge_us,
            on_since: None,
            spans: Vec::new(),
        }
    }

    pub fn set(&mut self, t_us: u64, on: bool) {
        match (on, self.on_since) {
            (true, None) => self.on_since = Some(t_us),
            (false, Some(start)) => {
                self.on_since = None;
                let on = t_us.saturating_sub(start);
                match self.spans.last_mut() {
                    Some(last) if start.saturating_sub(last.1) < self.merge_us => {
                        last.1 = t_us;
                        last.2 += on;
                    }
                    _ => self.spans.push((start, t_us, on)),
                }
            }
            _ => {}
        }
    }

    /// Closes an interval still ON at `end_us`.
    pub fn finish(mut self, end_us: u64) -> Vec<(u64, u64, u64)> {
        self.set(end_us, false);
        self.spans
    }
}

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 30.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const TOP: f64 = 70.0;
const ROW_H: f64 = 26.0;
const CURVE_H: f64 = 120.0;
const PALETTE: [&str; 8] = [
    "60A5FA", "4ADE80", "FBBF24", "F87171", "A78BFA", "2DD4BF", "FB923C", "94A3B8",
];
const INK: &str = "#1f2937";
const GRID: &str = "#d1d5db";

/// Draws the chart for `view`.
pub fn render(chart: &Chart, view: View) -> Document {
    let rows_h = chart.rows.len() as f64 * ROW_H;
    let curves = !chart.level.is_empty() || !chart.rpm.is_empty();
    let height = TOP + rows_h + 40.0 + if curves { 2.0 * (CURVE_H + 30.0) } else { 0.0 } + 30.0;
    let mut doc = Document::new()
        .set("viewBox", (0, 0, WIDTH, height))
        .set("width", WIDTH)
        .set("height", height)
        .set("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif")
        .set("font-size", 12)
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(
            text(LEFT, 24.0, &chart.title)
                .set("font-size", 16)
                .set("font-weight", "bold"),
        )
        .add(
            text(
                LEFT,
                42.0,
                &format!("{} to {}", clock(view.from_us), clock(view.to_us)),
            )
            .set("fill", "#6b7280"),
        );
    doc = doc.add(phase_bands(chart, view, TOP - 16.0, rows_h + 16.0));
    doc = doc.add(axis(view, TOP + rows_h));
    for (i, row) in chart.rows.iter().enumerate() {
        doc = doc.add(output_row(row, view, TOP + i as f64 * ROW_H));
    }
    if curves {
        let y = TOP + rows_h + 40.0;
        let level = [Series {
            points: &chart.level,
            name: "water level (L)",
            color: "#2563eb",
            dashed: false,
        }];
        doc = doc.add(curve(&level, view, y));
        let drum = [
            Series {
                points: &chart.drum_rpm,
                name: "drum speed (rpm, simulated)",
                color: "#fca5a5",
                dashed: true,
            },
            Series {
                points: &chart.rpm,
                name: "RPM sensor (as the controller reads it: pulses counted per sample)",
                color: "#dc2626",
                dashed: false,
            },
        ];
        doc = doc.add(curve(&drum, view, y + CURVE_H + 30.0));
    }
    doc
}

fn text(x: f64, y: f64, s: &str) -> Text {
    Text::new(s).set("x", x).set("y", y).set("fill", INK)
}

fn phase_bands(chart: &Chart, view: View, y: f64, h: f64) -> Group {
    let mut g = Group::new();
    for (i, p) in chart.phases.iter().enumerate() {
        if !view.visible(p.start_us, p.end_us) {
            continue;
        }
        let color = if p.color.len() == 6 && p.color.bytes().all(|b| b.is_ascii_hexdigit()) {
            p.color.clone()
        } else {
            PALETTE[i % PALETTE.len()].to_owned()
        };
        let (x0, x1) = (view.x(p.start_us), view.x(p.end_us));
        let band = Rectangle::new()
            .set("x", x0)
            .set("y", y)
            .set("width", (x1 - x0).max(1.0))
            .set("height", h)
            .set("fill", format!("#{color}"))
            .set("fill-opacity", 0.18)
            .set("stroke", format!("#{color}"))
            .set("stroke-opacity", 0.6)
            .add(Title::new(format!(
                "phase {} '{}': {} to {}",
                i + 1,
                p.label,
                clock(p.start_us),
                clock(p.end_us)
            )));
        g = g.add(band);
        // A name only where it fits; the tooltip always has it.
        let label = format!("{} {}", i + 1, p.label);
        if x1 - x0 > 7.0 * label.len() as f64 {
            g = g.add(text(x0 + 4.0, y + 12.0, &label).set("font-weight", "bold"));
        } else if x1 - x0 > 14.0 {
            g = g.add(text(x0 + 3.0, y + 12.0, &(i + 1).to_string()).set("font-weight", "bold"));
        }
    }
    g
}

fn output_row(row: &Row, view: View, y: f64) -> Group {
    let mut g = Group::new()
        .add(
            text(
                LEFT - 10.0,
                y + ROW_H * 0.65,
                &format!(
                    "{} ({}){}",
                    row.name,
                    row.pin,
                    if row.direction { " cw" } else { "" }
                ),
            )
            .set("text-anchor", "end"),
        )
        .add(
            Line::new()
                .set("x1", LEFT)
                .set("x2", LEFT + PLOT_W)
                .set("y1", y + ROW_H)
                .set("y2", y + ROW_H)
                .set("stroke", GRID)
                .set("stroke-width", 0.5),
        );
    let fill = if row.direction { "#9ca3af" } else { "#1d4ed8" };
    for &(start, end, on_us) in row.on.iter().filter(|(s, e, _)| view.visible(*s, *e)) {
        let (x0, x1) = (view.x(start), view.x(end));
        let duty = on_us as f64 / (end - start).max(1) as f64;
        let pulses = if duty < 0.999 {
            format!(", pulses ON {:.0}% of the time", duty * 100.0)
        } else {
            String::new()
        };
        let r = Rectangle::new()
            .set("x", x0)
            .set("y", y + 5.0)
            .set("width", (x1 - x0).max(0.8))
            .set("height", ROW_H - 10.0)
            .set("fill", fill)
            .set(
                "fill-opacity",
                if row.direction { 0.55 } else { 1.0 } * (0.3 + 0.7 * duty),
            )
            .add(Title::new(format!(
                "{} {}: {} to {} ({}{pulses})",
                row.name,
                if row.direction { "CW" } else { "ON" },
                clock(start),
                clock(end),
                duration(end - start)
            )));
        g = g.add(r);
    }
    g
}

/// A time axis with ticks at 1, 2 or 5 × 10^k of a readable unit, about ten of them.
fn axis(view: View, y: f64) -> Group {
    let span = (view.to_us - view.from_us).max(1);
    let step = tick_step(span);
    let mut g = Group::new().add(
        Line::new()
            .set("x1", LEFT)
            .set("x2", LEFT + PLOT_W)
            .set("y1", y)
            .set("y2", y)
            .set("stroke", INK),
    );
    let first = view.from_us.div_ceil(step) * step;
    let mut t = first;
    while t <= view.to_us {
        let x = view.x(t);
        g = g
            .add(
                Line::new()
                    .set("x1", x)
                    .set("x2", x)
                    .set("y1", TOP - 16.0)
                    .set("y2", y + 5.0)
                    .set("stroke", GRID)
                    .set("stroke-width", 0.6)
                    .set("stroke-dasharray", "3 3"),
            )
            .add(text(x, y + 18.0, &clock_at(t, step)).set("text-anchor", "middle"));
        t += step;
    }
    g
}

/// Tick spacing in µs for a window of `span_us`.
pub fn tick_step(span_us: u64) -> u64 {
    const UNITS: [u64; 23] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, // µs
        1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, // ms
        1_000_000, 2_000_000, 5_000_000, 10_000_000, 30_000_000, // s
    ];
    const LONG: [u64; 9] = [
        60_000_000,
        120_000_000,
        300_000_000,
        600_000_000,
        1_800_000_000, // min
        3_600_000_000,
        7_200_000_000,
        21_600_000_000,
        43_200_000_000, // h
    ];
    UNITS
        .iter()
        .chain(LONG.iter())
        .copied()
        .find(|&s| span_us / s <= 12)
        .unwrap_or_else(|| (span_us / 12).div_ceil(86_400_000_000) * 86_400_000_000)
}

/// A time for a tick: as precise as the tick step needs.
fn clock_at(t_us: u64, step_us: u64) -> String {
    if step_us >= 60_000_000 {
        let m = t_us / 60_000_000;
        format!("{}:{:02}", m / 60, m % 60) // h:mm
    } else if step_us >= 1_000_000 {
        duration_s(t_us, 0)
    } else if step_us >= 1_000 {
        if t_us >= 1_000_000 {
            duration_s(t_us, 3)
        } else {
            format!("{} ms", t_us / 1000)
        }
    } else {
        format!("{:.3} ms", t_us as f64 / 1000.0)
    }
}

fn duration_s(t_us: u64, decimals: usize) -> String {
    let s = t_us as f64 / 1e6;
    if s >= 60.0 {
        let m = (s / 60.0).floor();
        format!(
            "{}m{:0width$.decimals$}s",
            m,
            s - m * 60.0,
            width = decimals + 3 - (decimals == 0) as usize
        )
    } else {
        format!("{s:.decimals$} s")
    }
}

/// An instant, to the ms: "1:02:03.456".
fn clock(t_us: u64) -> String {
    let ms = t_us / 1000;
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}:{m:02}:{s:02}.{f:03}");
    } else {
        let _ = write!(out, "{m}:{s:02}.{f:03}");
    }
    out
}

fn duration(us: u64) -> String {
    if us >= 1_000_000 {
        duration_s(us, 3)
    } else {
        format!("{:.3} ms", us as f64 / 1000.0)
    }
}

/// One line of a curve plot.
struct Series<'a> {
    points: &'a [(u64, f64)],
    name: &'a str,
    color: &'a str,
    dashed: bool,
}

/// Sensor curves sharing one value axis, named above the box.
fn curve(series: &[Series<'_>], view: View, y: f64) -> Group {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(t, _)| view.visible(*t, *t))
        .map(|p| p.1)
        .fold(0.0f64, f64::max);
    let top = nice_ceiling(max);
    let yv = |v: f64| y + CURVE_H - v / top * CURVE_H;
    let mut g = Group::new().add(
        Rectangle::new()
            .set("x", LEFT)
            .set("y", y)
            .set("width", PLOT_W)
            .set("height", CURVE_H)
            .set("fill", "none")
            .set("stroke", GRID),
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = top * frac;
        g = g.add(
            text(LEFT - 8.0, yv(v) + 4.0, &format!("{v:.0}"))
                .set("text-anchor", "end")
                .set("fill", "#6b7280"),
        );
    }
    let mut x = LEFT;
    for s in series {
        g = g.add(
            text(x, y - 6.0, s.name)
                .set("fill", s.color)
                .set("font-weight", "bold"),
        );
        x += 8.0 * s.name.len() as f64 + 20.0;
        let mut line = Polyline::new()
            .set("points", polyline(s.points, view, yv))
            .set("fill", "none")
            .set("stroke", s.color)
            .set("stroke-width", 1.5);
        if s.dashed {
            line = line.set("stroke-dasharray", "5 3");
        }
        g = g.add(line);
    }
    g
}

/// Points for a polyline: min and max per pixel column, so spikes survive the downsampling.
fn polyline(points: &[(u64, f64)], view: View, yv: impl Fn(f64) -> f64) -> String {
    let mut coords = String::new();
    let mut put = |t: u64, v: f64| {
        let _ = write!(coords, "{:.1},{:.1} ", view.x(t), yv(v));
    };
    /// A pixel column: its x, and its (t, lowest) and (t, highest) points.
    type Column = (i64, (u64, f64), (u64, f64));
    let mut column: Option<Column> = None;
    let flush = |c: Column, put: &mut dyn FnMut(u64, f64)| {
        let (_, lo, hi) = c;
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        put(a.0, a.1);
        put(b.0, b.1);
    };
    for &(t, v) in points.iter().filter(|(t, _)| view.visible(*t, *t)) {
        let px = view.x(t) as i64;
        column = match column {
            Some((cpx, lo, hi)) if cpx == px => Some((
                px,
                if v < lo.1 { (t, v) } else { lo },
                if v > hi.1 { (t, v) } else { hi },
            )),
            Some(c) => {
                flush(c, &mut put);
                Some((px, (t, v), (t, v)))
            }
            None => Some((px, (t, v), (t, v))),
        };
    }
    if let Some(c) = column {
        flush(c, &mut put);
    }
    coords
}

/// 1, 2 or 5 × 10^k at or above `v` (and at least 1).
fn nice_ceiling(v: f64) -> f64 {
    let mut scale = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * scale >= v {
                return m * scale;
            }
        }
        scale *= 10.0;
    }
}

/// The plan: what the timeline says, phase after phase, with no sensor data.
pub fn from_plan(cycle: &Cycle, board: &Board, title: &str, merge_us: u64) -> Chart {
    let mut rows = Rows::new(board, merge_us);
    let mut phases = Vec::new();
    let mut start = 0;
    for p in cycle.phases() {
        let end = start + p.duration_ms() as u64 * 1000;
        for ev in Timeline::new(cycle, p) {
            rows.set(ev.output.index(), start + ev.at.as_micros(), ev.on);
        }
        rows.all_off(end);
        phases.push(Band {
            start_us: start,
            end_us: end,
            label: cycle.phase_label(p).to_owned(),
            color: cycle.text(p.color).to_owned(),
        });
        start = end;
    }
    Chart {
        title: format!("{title}: plan"),
        phases,
        rows: rows.finish(start),
        end_us: start,
        ..Chart::default()
    }
}

/// A run, from the JSON lines `tumble run --record` writes.
pub fn from_record(
    record: &str,
    board: &Board,
    title: &str,
    merge_us: u64,
) -> Result<Chart, String> {
    let mut rows = Rows::new(board, merge_us);
    let mut chart = Chart {
        title: format!("{title}: run"),
        ..Chart::default()
    };
    let mut last_output_us = 0;
    for (n, line) in record.lines().enumerate() {
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let t = v["t_us"].as_u64().ok_or_else(|| bad("no t_us"))?;
        chart.end_us = chart.end_us.max(t);
        match v["kind"].as_str().unwrap_or("") {
            "output" => {
                let pin = v["pin"].as_u64().ok_or_else(|| bad("no pin"))?;
                let on = v["on"].as_bool().ok_or_else(|| bad("no on"))?;
                let id = u8::try_from(pin)
                    .ok()
                    .and_then(|p| board.by_pin(p))
                    .ok_or_else(|| bad(&format!("pin {pin} is not on the board")))?;
                if t < last_output_us {
                    return Err(bad(&format!(
                        "time goes backwards ({t} us after {last_output_us} us)"
                    )));
                }
                last_output_us = t;
                rows.set(id.index(), t, on);
            }
            "sensors" => {
                chart
                    .level
                    .push((t, v["level_litres"].as_f64().unwrap_or(0.0)));
                chart.rpm.push((t, v["rpm"].as_f64().unwrap_or(0.0)));
                chart
                    .drum_rpm
                    .push((t, v["drum_rpm"].as_f64().unwrap_or(0.0)));
            }
            // The record says which cycle ran: the chart is titled after it.
            "cycle" => {
                if let Some(file) = v["file"].as_str() {
                    chart.title = format!("{file}: run");
                }
            }
            "phase_start" => chart.phases.push(Band {
                start_us: t,
                end_us: t,
                label: v["name"]
                    .as_str()
                    .or(v["id"].as_str())
                    .unwrap_or("")
                    .to_owned(),
                color: v["color"].as_str().unwrap_or("").to_owned(),
            }),
            "phase_end" => {
                if let Some(b) = chart.phases.last_mut() {
                    b.end_us = t;
                }
            }
            _ => {}
        }
    }
    chart.rows = rows.finish(chart.end_us);
    Ok(chart)
}

/// One `Intervals` per board output.
struct Rows<'a> {
    board: &'a Board,
    outputs: Vec<Intervals>,
}

impl<'a> Rows<'a> {
    fn new(board: &'a Board, merge_us: u64) -> Self {
        Rows {
            board,
            outputs: (0..board.len()).map(|_| Intervals::new(merge_us)).collect(),
        }
    }

    fn set(&mut self, index: usize, t_us: u64, on: bool) {
        self.outputs[index].set(t_us, on);
    }

    fn all_off(&mut self, t_us: u64) {
        for iv in &mut self.outputs {
            iv.set(t_us, false);
        }
    }

    fn finish(self, end_us: u64) -> Vec<Row> {
        let direction = self.board.direction();
        self.board
            .outputs()
            .zip(self.outputs)
            .map(|((id, def), iv)| Row {
                name: def.name.as_str().to_owned(),
                pin: def.pin,
                on: iv.finish(end_us),
                direction: id == direction,
            })
            .collect()
    }
}

/// The `--from` / `--to` options of a chart.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WindowArgs {
    /// Chart from this time on (like 90s, 1h20m, 250ms, 1500us; a bare number is seconds)
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: Option<u64>,
    /// Chart up to this time (default: the end)
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: Option<u64>,
}

/// The part of a chart to draw, in µs: the whole chart when absent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Window {
    from_us: Option<u64>,
    to_us: Option<u64>,
}

impl Window {
    pub fn from(a: &WindowArgs) -> cli::Result<Self> {
        if let (Some(f), Some(t)) = (a.from, a.to)
            && t <= f
        {
            return Err(Failure::Usage("--to must come after --from".into()));
        }
        Ok(Window {
            from_us: a.from,
            to_us: a.to,
        })
    }

    fn view(&self, end_us: u64) -> cli::Result<View> {
        let from_us = self.from_us.unwrap_or(0);
        let to_us = self.to_us.unwrap_or(end_us.max(1));
        if to_us <= from_us {
            return Err(Failure::Usage(format!(
                "--from {}: the chart ends at {}",
                Secs(from_us / 1000),
                Secs(to_us / 1000)
            )));
        }
        Ok(View { from_us, to_us })
    }
}

/// Builds a chart for the window (`build` gets the merge distance: one pixel) and saves it.
pub fn write(
    path: &str,
    window: Window,
    build: impl FnOnce(u64) -> cli::Result<Chart>,
    end_us: u64,
) -> cli::Result {
    let view = window.view(end_us)?;
    let chart = build(view.us_per_px().max(1.0) as u64)?;
    svg::save(path, &render(&chart, view)).map_err(|e| Failure::io(path, e))?;
    // Say what was written: a command that succeeds in silence leaves people wondering.
    eprintln!(
        "wrote {path}: {}, {} to {}",
        chart.title,
        Secs(view.from_us / 1000),
        Secs(view.to_us / 1000)
    );
    Ok(())
}

/// `tumble plot`.
#[derive(clap::Args)]
pub struct PlotArgs {
    /// A run recorded with `tumble run --record` (JSON lines)
    #[arg(value_name = "RECORD.jsonl")]
    file: String,
    /// The SVG file to write
    #[arg(short, long, value_name = "CHART.svg")]
    output: String,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    board: cli::BoardArg,
}

/// `tumble plot RECORD.jsonl -o chart.svg [--from T] [--to T] [--board FILE]`.
pub fn plot(a: PlotArgs) -> cli::Result {
    let (file, out, window) = (a.file, a.output, Window::from(&a.window)?);
    let board = a.board.board;
    let profile = crate::cli::load_profile(board.as_deref())?;
    let text = std::fs::read_to_string(&file).map_err(|e| Failure::io(&file, e))?;
    let end_us = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["t_us"].as_u64())
        .unwrap_or(0);
    let title = file.rsplit('/').next().unwrap_or(&file).to_owned();
    write(
        &out,
        window,
        |merge_us| {
            from_record(&text, &profile.board, &title, merge_us)
                .map_err(|e| Failure::Io(format!("{file}: {e}")))
        },
        end_us,
    )
}

/// Reads a time such as `90s`, `1h20m`, `250ms`, `5m` or `1500us` (a bare number is seconds).
pub fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0 && secs * 1e6 < u64::MAX as f64) {
            return Err(format!(
                "cannot read the time {s:?}: a time is a number >= 0"
            ));
        }
        return Ok((secs * 1e6) as u64);
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - num_len);
        let (num, unit) = (&rest[..num_len], &rest[num_len..num_len + unit_len]);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("cannot read the time {s:?}"))?;
        let scale = match unit {
            "us" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" | "min" => 60e6,
            "h" => 3600e6,
            _ => {
                return Err(format!(
                    "cannot read the time {s:?}: units are us, ms, s, m, h"
                ));
            }
        };
        total += value * scale;
        rest = &rest[num_len + unit_len..];
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_well_from_microseconds_to_days() {
        assert_eq!(tick_step(50_000), 5_000); // a 50 ms step: 5 ms ticks
        assert_eq!(tick_step(60_000_000), 5_000_000); // a minute: 5 s
        assert_eq!(tick_step(72_000_000_000), 7_200_000_000); // 20 hours: 2 h
        assert_eq!(clock_at(7_200_000_000, 7_200_000_000), "2:00");
        assert_eq!(clock_at(15_000, 5_000), "15 ms");
        assert_eq!(clock_at(90_000_000, 30_000_000), "1m30s");
        assert_eq!(clock(3_723_456_000), "1:02:03.456");
    }

    #[test]
    fn times_read_with_units() {
        assert_eq!(parse_time("90"), Ok(90_000_000));
        assert_eq!(parse_time("1h20m"), Ok(4_800_000_000));
        assert_eq!(parse_time("250ms"), Ok(250_000));
        assert_eq!(parse_time("1.5s"), Ok(1_500_000));
        assert!(parse_time("5 parsecs").is_err());
        for bad in ["inf", "nan", "-5", "1e300"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tick_step(u64::MAX / 2) % 86_400_000_000,
            0,
            "days, at most about 12 ticks"
        );
    }

    #[test]
    fn bad_records_name_the_line_and_the_fault() {
        let board = Board::washer();
        let err = |text: &str| from_record(text, &board, "t", 1).unwrap_err();
        assert!(err("not json").starts_with("line 1: "));
        assert_eq!(err(r#"{"kind":"output"}"#), "line 1: no t_us");
        assert_eq!(
            err(r#"{"t_us":5,"kind":"output","pin":263,"on":true}"#),
            "line 1: pin 263 is not on the board"
        );
        let backwards = concat!(
            r#"{"t_us":9,"kind":"output","pin":7,"on":true}"#,
            "\n",
            r#"{"t_us":5,"kind":"output","pin":7,"on":false}"#
        );
        assert_eq!(
            err(backwards),
            "line 2: time goes backwards (5 us after 9 us)"
        );
    }

    #[test]
    fn close_pulses_merge_into_one_visible_bar() {
        let mut iv = Intervals::new(1_000);
        for k in 0..5 {
            iv.set(k * 1_500, true);
            iv.set(k * 1_500 + 1_000, false); // gaps of 500 µs < 1 px
        }
        iv.set(100_000, true);
        assert_eq!(
            iv.finish(200_000),
            [(0, 7_000, 5_000), (100_000, 200_000, 100_000)]
        );
    }

    #[test]
    fn a_chart_draws_bands_rows_and_curves() {
        let chart = Chart {
            title: "test".into(),
            phases: vec![Band {
                start_us: 0,
                end_us: 10_000_000,
                label: "fill".into(),
                color: "60A5FA".into(),
            }],
            rows: vec![Row {
                name: "Cold Valve".into(),
                pin: 5,
                on: vec![(0, 5_000_000, 5_000_000)],
                direction: false,
            }],
            level: vec![(0, 0.0), (10_000_000, 20.0)],
            rpm: vec![(0, 0.0)],
            drum_rpm: vec![(0, 0.0)],
            end_us: 10_000_000,
        };
        let svg = render(
            &chart,
            View {
                from_us: 0,
                to_us: 10_000_000,
            },
        )
        .to_string();
        assert!(svg.contains("1 fill"));
        assert!(svg.contains("Cold Valve (5)"));
        assert!(svg.contains("Cold Valve ON: 0:00.000 to 0:05.000 (5.000 s)"));
        assert!(svg.contains("water level (L)"));
        assert!(svg.contains("<polyline"));
    }
}
