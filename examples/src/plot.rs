//! PNG plots with `plotters`: a loss curve, and a classifier's decision
//! regions under its data. Text uses the embedded DejaVu Sans font, so no
//! system font is needed.

use neuron_core::Model;
use plotters::prelude::*;
use std::error::Error;
use std::path::Path;
use std::sync::Once;

/// Colors of classes 0, 1, 2, … (cycled), as full-strength points.
const CLASS_COLORS: [RGBColor; 3] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TrueType font, so registration succeeds;
        // if it did not, text would be missing but the plot still drawn.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws the loss of each epoch (and the accuracy, if given, on the same
/// axes scaled to `[0, 1]`) to a PNG file.
///
/// # Errors
///
/// When the file cannot be written.
pub fn loss_curve(
    path: &Path,
    losses: &[f64],
    accuracies: Option<&[f64]>,
) -> Result<(), Box<dyn Error>> {
    register_font();
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = losses
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(1.0f64, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption("Training: loss and accuracy per epoch", ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..losses.len().max(2) as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss / accuracy")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            losses.iter().enumerate().map(|(i, l)| (i as f64 + 1.0, *l)),
            RED.stroke_width(2),
        ))?
        .label("loss")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    if let Some(acc) = accuracies {
        chart
            .draw_series(LineSeries::new(
                acc.iter().enumerate().map(|(i, a)| (i as f64 + 1.0, *a)),
                BLUE.stroke_width(2),
            ))?
            .label("accuracy")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Draws the class `model` predicts (the arg-max of its output) over a grid
/// covering `data`, and the data points on top, colored by their class.
///
/// # Errors
///
/// When the file cannot be written.
pub fn decision_boundary<M, const K: usize>(
    path: &Path,
    model: &M,
    data: &[([f64; 2], usize)],
    title: &str,
) -> Result<(), Box<dyn Error>>
where
    M: Model<Real = f64, Input = [f64; 2], Output = [f64; K]>,
{
    register_font();
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for (x, _) in data {
        for d in 0..2 {
            lo[d] = lo[d].min(x[d]);
            hi[d] = hi[d].max(x[d]);
        }
    }
    for d in 0..2 {
        let pad = 0.1 * (hi[d] - lo[d]).max(1e-3);
        lo[d] -= pad;
        hi[d] += pad;
    }
    let root = BitMapBackend::new(path, (700, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo[0]..hi[0], lo[1]..hi[1])?;
    chart.configure_mesh().disable_mesh().draw()?;

    let cells = 200;
    let (dx, dy) = (
        (hi[0] - lo[0]) / cells as f64,
        (hi[1] - lo[1]) / cells as f64,
    );
    let mut regions = Vec::with_capacity(cells * cells);
    for i in 0..cells {
        for j in 0..cells {
            let x = lo[0] + (i as f64 + 0.5) * dx;
            let y = lo[1] + (j as f64 + 0.5) * dy;
            let class = argmax(&model.forward(&[x, y]));
            let color = CLASS_COLORS[class % CLASS_COLORS.len()].mix(0.25);
            regions.push(Rectangle::new(
                [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                color.filled(),
            ));
        }
    }
    chart.draw_series(regions)?;
    chart.draw_series(data.iter().map(|(x, class)| {
        Circle::new(
            (x[0], x[1]),
            3,
            CLASS_COLORS[class % CLASS_COLORS.len()].filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = k;
        }
    }
    best
}
