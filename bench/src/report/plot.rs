//! The PNG timeline of one failover kind: a panel per stack showing one trial's probes
//! (x: when sent, relative to the event; y: how long it took), coloured by the node that
//! answered, failures as red crosses, the event and the end of the outage as lines.
use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::ReportError;
use crate::failover::{Kind, Trial};

const NODE_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
];
const FAILED: RGBColor = RGBColor(214, 39, 40);
const GREEN_LINE: RGBColor = RGBColor(0, 128, 0);
const LEADER_LINE: RGBColor = RGBColor(150, 150, 150);
const FONT: &str = "sans-serif";
const Y_MIN: f64 = 0.5;
const Y_MAX: f64 = 200.0;

/// A probe time on the (log) y axis.
fn y(ms: f64) -> f64 {
    ms.clamp(Y_MIN, Y_MAX)
}

/// Registers DejaVu Sans (from the `dejavu` crate) as plotters' sans-serif, once.
fn font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    ok.then_some(())
        .ok_or_else(|| ReportError::Plot("the DejaVu font did not load".into()))
}

fn colour(node: &str, nodes: &[String]) -> RGBColor {
    let index = nodes.iter().position(|n| n == node).unwrap_or(3);
    NODE_COLOURS[index.min(3)]
}

/// Draws `panels` (a title and a trial each) for `kind` into `path`.
pub fn timeline(
    path: &Path,
    kind: Kind,
    panels: &[(String, &Trial)],
    nodes: &[String],
) -> Result<(), ReportError> {
    font()?;
    let plot_err =
        |e: &dyn std::fmt::Display| ReportError::Plot(format!("{}: {e}", path.display()));
    let height = 380 * panels.len() as u32 + 50;
    let root = BitMapBackend::new(path, (1400, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(&e))?;
    let heading = format!(
        "Failover timeline: {} (per stack, the trial with the median outage)",
        kind.headline()
    );
    let root = root
        .titled(&heading, (FONT, 22).into_font().style(FontStyle::Bold))
        .map_err(|e| plot_err(&e))?;
    // One time axis for all panels, so that the stacks compare at a glance.
    let end = panels
        .iter()
        .flat_map(|(_, t)| t.timeline.iter().map(|p| p.at_ms + p.latency_ms))
        .fold(1000.0f64, f64::max)
        .min(15_000.0);
    for (area, (title, trial)) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let (area, key) = area.split_horizontally(1190);
        let mut chart = ChartBuilder::on(&area)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-300.0..end, (Y_MIN..Y_MAX).log_scale())
            .map_err(|e| plot_err(&e))?;
        chart
            .configure_mesh()
            .x_desc("ms after the event (probe sent)")
            .y_desc("probe time (ms, log scale; timeout 100)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| plot_err(&e))?;
        for node in nodes {
            let c = colour(node, nodes);
            let points = trial
                .timeline
                .iter()
                .filter(|p| p.node.as_deref() == Some(node.as_str()))
                .map(|p| Circle::new((p.at_ms, y(p.latency_ms)), 3, c.filled()));
            chart.draw_series(points).map_err(|e| plot_err(&e))?;
        }
        let failed = trial
            .timeline
            .iter()
            .filter(|p| p.node.is_none())
            .map(|p| Cross::new((p.at_ms, y(p.latency_ms)), 4, FAILED.stroke_width(2)));
        chart.draw_series(failed).map_err(|e| plot_err(&e))?;
        let vline = |x: f64, colour: RGBColor| {
            PathElement::new(vec![(x, Y_MIN), (x, Y_MAX)], colour.stroke_width(2))
        };
        chart
            .draw_series([vline(0.0, BLACK)])
            .map_err(|e| plot_err(&e))?;
        let leader = trial.handover_ms;
        if let Some(at) = leader {
            chart
                .draw_series([vline(at, LEADER_LINE)])
                .map_err(|e| plot_err(&e))?;
        }
        let back = trial.outage_ms.filter(|&ms| ms > 0.0);
        if let Some(back) = back {
            chart
                .draw_series([vline(back, GREEN_LINE)])
                .map_err(|e| plot_err(&e))?;
        }
        draw_key(&key, nodes, leader, back).map_err(|e| plot_err(&e))?;
    }
    root.present().map_err(|e| plot_err(&e))?;
    Ok(())
}

/// The key beside a panel: node colours, failures, the event and the end of the outage.
fn draw_key<DB: DrawingBackend>(
    key: &DrawingArea<DB, plotters::coord::Shift>,
    nodes: &[String],
    leader: Option<f64>,
    back: Option<f64>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let text = (FONT, 15).into_font();
    let mut y = 70;
    let mut entry =
        |label: String, marker: &dyn Fn(i32, i32) -> DynElement<'static, DB, (i32, i32)>| {
            let drawn = key
                .draw(&marker(14, y))
                .and_then(|()| key.draw(&Text::new(label, (30, y - 8), text.clone())));
            y += 24;
            drawn
        };
    for node in nodes {
        let c = colour(node, nodes);
        entry(format!("answered by {node}"), &|x, y| {
            Circle::new((x, y), 4, c.filled()).into_dyn()
        })?;
    }
    entry("failed".into(), &|x, y| {
        Cross::new((x, y), 4, FAILED.stroke_width(2)).into_dyn()
    })?;
    entry("event".into(), &|x, y| {
        PathElement::new(vec![(x - 9, y), (x + 9, y)], BLACK.stroke_width(2)).into_dyn()
    })?;
    if let Some(at) = leader {
        entry(format!("new leader seen: {at:.0} ms"), &|x, y| {
            PathElement::new(vec![(x - 9, y), (x + 9, y)], LEADER_LINE.stroke_width(2)).into_dyn()
        })?;
    }
    if let Some(back) = back {
        entry(format!("back for good: {back:.0} ms"), &|x, y| {
            PathElement::new(vec![(x - 9, y), (x + 9, y)], GREEN_LINE.stroke_width(2)).into_dyn()
        })?;
    }
    Ok(())
}
