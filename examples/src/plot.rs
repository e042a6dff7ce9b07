//! PNG plots with `plotters`: a loss curve, a classifier's decision
//! regions under its data, a confusion matrix, and a grid of misclassified
//! 8×8 images. Text uses the embedded DejaVu Sans font, so no
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

/// How often each true class (row) is predicted as each class (column)
/// by `model` on `data`.
pub fn confusion<M, const K: usize>(model: &M, data: &[(M::Input, usize)]) -> [[usize; K]; K]
where
    M: Model<Real = f64, Output = [f64; K]>,
{
    let mut counts = [[0; K]; K];
    for (x, truth) in data {
        let predicted = argmax(&model.forward(x));
        if let Some(row) = counts.get_mut(*truth) {
            row[predicted] += 1;
        }
    }
    counts
}

/// Draws the confusion matrix of `model` on `data`: a cell per (true,
/// predicted) pair holding its count, shaded by the share of its true
/// class, the diagonal (right answers) in blue and mistakes in red.
///
/// # Errors
///
/// When the file cannot be written.
pub fn confusion_matrix<M, const K: usize>(
    path: &Path,
    model: &M,
    data: &[(M::Input, usize)],
    title: &str,
) -> Result<(), Box<dyn Error>>
where
    M: Model<Real = f64, Output = [f64; K]>,
{
    register_font();
    let counts = confusion::<M, K>(model, data);
    let root = BitMapBackend::new(path, (760, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let k = K as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..k - 0.5, -0.5..k - 0.5)?;
    // Row `t` (true class) is drawn at height K - 1 - t, so class 0 is on
    // top as in a table.
    let row = |t: usize| k - 1.0 - t as f64;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(K)
        .y_labels(K)
        .x_desc("predicted")
        .y_desc("true")
        .x_label_formatter(&|x| format!("{}", x.round()))
        .y_label_formatter(&|y| format!("{}", k - 1.0 - y.round()))
        .label_style(("sans-serif", 18))
        .draw()?;
    let mut cells = Vec::with_capacity(K * K);
    let mut labels = Vec::with_capacity(K * K);
    for (t, counts_t) in counts.iter().enumerate() {
        let total = counts_t.iter().sum::<usize>().max(1) as f64;
        for (p, &n) in counts_t.iter().enumerate() {
            let share = n as f64 / total;
            let (x, y) = (p as f64, row(t));
            let color = if t == p {
                RGBColor(31, 119, 180).mix(0.1 + 0.9 * share)
            } else if n > 0 {
                RGBColor(214, 39, 40).mix(0.25 + 0.75 * share.sqrt())
            } else {
                WHITE.mix(1.0)
            };
            cells.push(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                color.filled(),
            ));
            cells.push(Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                BLACK.mix(0.15),
            ));
            if n > 0 {
                let ink: &'static RGBColor = if t == p && share > 0.5 {
                    &WHITE
                } else {
                    &BLACK
                };
                let style = TextStyle::from(("sans-serif", 20).into_font())
                    .color(ink)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                labels.push(Text::new(n.to_string(), (x, y), style));
            }
        }
    }
    chart.draw_series(cells)?;
    chart.draw_series(labels)?;
    root.present()?;
    Ok(())
}

/// Draws every 8×8 image of `data` that `model` misclassifies, in a grid,
/// each captioned `predicted / true`; returns how many there were.
///
/// # Errors
///
/// When the file cannot be written.
pub fn misclassified<M, const K: usize>(
    path: &Path,
    model: &M,
    data: &[([f64; 64], usize)],
    title: &str,
) -> Result<usize, Box<dyn Error>>
where
    M: Model<Real = f64, Input = [f64; 64], Output = [f64; K]>,
{
    register_font();
    let mistakes: Vec<(&[f64; 64], usize, usize)> = data
        .iter()
        .filter_map(|(x, truth)| {
            let predicted = argmax(&model.forward(x));
            (predicted != *truth).then_some((x, predicted, *truth))
        })
        .collect();
    let columns = mistakes.len().clamp(1, 8);
    let rows = mistakes.len().div_ceil(columns).max(1);
    let (cell_w, cell_h) = (110u32, 118u32);
    let width = (columns as u32 * cell_w).max(560) + 20;
    let height = rows as u32 * cell_h + 50;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    if mistakes.is_empty() {
        root.draw(&Text::new(
            "no test image is misclassified",
            (20, 20),
            ("sans-serif", 20),
        ))?;
        root.present()?;
        return Ok(0);
    }
    let grid = root.margin(5, 5, 10, 10);
    let cells = grid.split_evenly((rows, columns));
    let pixel = 11i32;
    for ((x, predicted, truth), cell) in mistakes.iter().zip(&cells) {
        let (w, _) = cell.dim_in_pixel();
        let left = (w as i32 - 8 * pixel) / 2;
        let top = 4;
        for (k, &v) in x.iter().enumerate() {
            let (r, c) = ((k / 8) as i32, (k % 8) as i32);
            let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
            cell.draw(&Rectangle::new(
                [
                    (left + c * pixel, top + r * pixel),
                    (left + (c + 1) * pixel, top + (r + 1) * pixel),
                ],
                RGBColor(shade, shade, shade).filled(),
            ))?;
        }
        cell.draw(&Rectangle::new(
            [(left - 1, top - 1), (left + 8 * pixel, top + 8 * pixel)],
            BLACK.mix(0.3),
        ))?;
        let caption = TextStyle::from(("sans-serif", 18).into_font()).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        cell.draw(&Text::new(
            format!("{predicted} / {truth}"),
            (w as i32 / 2, top + 8 * pixel + 8),
            caption.color(&RGBColor(214, 39, 40)),
        ))?;
    }
    root.present()?;
    Ok(mistakes.len())
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
