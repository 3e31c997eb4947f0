//! Scores of training and evaluation: per output, per epoch, and the history, with its export
//! to CSV and, with the `plot` feature, to a PNG picture.

use std::path::{Path, PathBuf};

use super::losses::LossTuple;

/// The scores of a model on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The total loss: the sum of each output's loss times its weight.
    pub loss: f64,
    /// One entry per output, in declaration order.
    pub outputs: Vec<OutputScores>,
    /// The weight penalties (L1, L2), kept apart from `loss`: training minimizes
    /// `loss + penalty`. During fit it is the mean over the epoch's steps; `evaluate` gives
    /// the penalty of the current weights. 0 for a model without penalties.
    pub penalty: f64,
}

impl Evaluation {
    /// The scores of the output named `name`.
    pub fn output(&self, name: &str) -> Option<&OutputScores> {
        self.outputs.iter().find(|scores| scores.name == name)
    }
}

/// The scores of one output.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputScores {
    /// The output's name.
    pub name: &'static str,
    /// The name of its loss, such as `mae`.
    pub loss_name: &'static str,
    /// Its unweighted loss.
    pub loss: f64,
    /// The share of rows classified correctly, for outputs trained with a cross-entropy.
    pub accuracy: Option<f64>,
}

/// What one epoch of [`Training::fit`](super::Training::fit) measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    /// The 1-based epoch.
    pub epoch: usize,
    /// The scores on the training rows, averaged over the epoch's batches as Keras logs them.
    pub train: Evaluation,
    /// The scores on the validation rows, when `validation_split` is set.
    pub validation: Option<Evaluation>,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
}

/// The log of a [`Training::fit`](super::Training::fit) run, one entry per epoch.
///
/// [`History::to_csv`] and [`History::write_csv`] export it as a table, and, with the `plot`
/// feature, `History::plot` draws the learning curves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs, in order.
    pub epochs: Vec<EpochLog>,
}

impl History {
    /// Formats the history as CSV: a header, then one row per epoch.
    ///
    /// The columns are `epoch`, `seconds`, and every score of the epoch lines that `fit`
    /// prints, under the same names. These are `loss`, each output's loss as `NAME_LOSS` when
    /// the model has several outputs, and `accuracy` or `NAME_accuracy`. The same scores follow
    /// with a `val_` prefix when `fit` held out validation rows. A score that an epoch lacks is
    /// an empty field.
    ///
    /// ```
    /// use model_core::train::{EpochLog, Evaluation, History, OutputScores};
    ///
    /// let scores = |loss| Evaluation {
    ///     loss,
    ///     outputs: vec![OutputScores { name: "y", loss_name: "mse", loss, accuracy: None }],
    ///     penalty: 0.0,
    /// };
    /// let history = History {
    ///     epochs: vec![
    ///         EpochLog { epoch: 1, train: scores(0.5), validation: Some(scores(0.75)), seconds: 0.25 },
    ///         EpochLog { epoch: 2, train: scores(0.25), validation: Some(scores(0.5)), seconds: 0.25 },
    ///     ],
    /// };
    /// assert_eq!(history.to_csv(), "epoch,seconds,loss,val_loss\n1,0.25,0.5,0.75\n2,0.25,0.25,0.5\n");
    /// ```
    pub fn to_csv(&self) -> String {
        let columns = self.score_columns();
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header = ["epoch", "seconds"].into_iter().chain(columns.iter().map(|(name, _)| name.as_str()));
        // Writing to a `Vec<u8>` cannot fail, and every record has the header's length, so the
        // results below are always `Ok`.
        let _ = writer.write_record(header);
        for (row, log) in self.epochs.iter().enumerate() {
            let mut record = vec![log.epoch.to_string(), log.seconds.to_string()];
            record.extend(columns.iter().map(|(_, values)| values[row].map_or_else(String::new, |value| value.to_string())));
            let _ = writer.write_record(&record);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Writes [`History::to_csv`] to the file at `path`, replacing any file there.
    ///
    /// # Errors
    /// [`ExportError::Io`] when the file cannot be created or written.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<(), ExportError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_csv()).map_err(|source| ExportError::Io { path: path.to_owned(), source })
    }

    /// Returns one column per score name, in the order of the epoch lines, with one value per
    /// epoch (`None` when that epoch lacks the score).
    fn score_columns(&self) -> Vec<(String, Vec<Option<f64>>)> {
        let mut columns: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        for (row, log) in self.epochs.iter().enumerate() {
            for (name, value) in epoch_scores(log) {
                let index = match columns.iter().position(|(known, _)| *known == name) {
                    Some(index) => index,
                    None => {
                        columns.push((name, vec![None; self.epochs.len()]));
                        columns.len() - 1
                    }
                };
                columns[index].1[row] = Some(value);
            }
        }
        columns
    }
}

/// An error from writing a [`History`] to a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The file could not be created or written.
    #[error("cannot write `{path}`: {source}; check that its folder exists and is writable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The history has no epoch to plot.
    #[error("cannot plot `{path}`: the history has no epochs; plot the history that `fit` returns after at least one epoch")]
    NoEpochs {
        /// The picture file that was not written.
        path: PathBuf,
    },

    /// The plotting library failed to draw or encode the picture.
    #[error("cannot plot `{path}`: {message}")]
    Plot {
        /// The picture file.
        path: PathBuf,
        /// The plotting library's error.
        message: String,
    },
}

#[cfg(feature = "plot")]
mod plot {
    use std::path::Path;

    use plotters::prelude::*;

    use super::{ExportError, History};

    /// The picture's width, and the height of each of its panels, in pixels.
    const WIDTH: u32 = 900;
    const PANEL_HEIGHT: u32 = 420;

    /// The colors of the curves, in order: the ten colors of the Tableau 10 palette, which
    /// stay distinct on white and for most color-blind readers.
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];

    /// One curve: a score's name and its value per epoch, as (epoch, value) points.
    struct Curve {
        name: String,
        points: Vec<(f64, f64)>,
    }

    impl History {
        /// Draws the learning curves to a PNG file at `path`: the losses per epoch, and the
        /// accuracies in a second panel when an output reports accuracy.
        ///
        /// Each score of [`History::to_csv`] is one curve; a validation curve is dashed and has
        /// the color of its training curve. Available with the `plot` feature, which draws text
        /// with a sans-serif font of the system (found through fontconfig).
        ///
        /// # Errors
        /// [`ExportError::NoEpochs`] for an empty history, and [`ExportError::Plot`] when the
        /// picture cannot be drawn or written, for example when no font is installed.
        pub fn plot(&self, path: impl AsRef<Path>) -> Result<(), ExportError> {
            let path = path.as_ref();
            if self.epochs.is_empty() {
                return Err(ExportError::NoEpochs { path: path.to_owned() });
            }
            let (accuracies, losses): (Vec<Curve>, Vec<Curve>) =
                self.curves().into_iter().partition(|curve| curve.name.ends_with("accuracy"));
            draw(path, &losses, &accuracies, self.epochs.len())
                .map_err(|error| ExportError::Plot { path: path.to_owned(), message: error.to_string() })
        }

        fn curves(&self) -> Vec<Curve> {
            self.score_columns()
                .into_iter()
                .map(|(name, values)| {
                    let points = self
                        .epochs
                        .iter()
                        .zip(values)
                        .filter_map(|(log, value)| value.filter(|v| v.is_finite()).map(|v| (log.epoch as f64, v)))
                        .collect();
                    Curve { name, points }
                })
                .collect()
        }
    }

    fn draw(path: &Path, losses: &[Curve], accuracies: &[Curve], epochs: usize) -> Result<(), Box<dyn std::error::Error>> {
        let panels = if accuracies.is_empty() { 1 } else { 2 };
        let root = BitMapBackend::new(path, (WIDTH, PANEL_HEIGHT * panels)).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((panels as usize, 1));
        // Losses mostly fall and accuracies rise, so each legend goes where its curves end
        // least often.
        draw_panel(&areas[0], "loss", losses, epochs, SeriesLabelPosition::UpperRight)?;
        if let Some(area) = areas.get(1) {
            draw_panel(area, "accuracy", accuracies, epochs, SeriesLabelPosition::LowerRight)?;
        }
        root.present()?;
        Ok(())
    }

    fn draw_panel(
        area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        title: &str,
        curves: &[Curve],
        epochs: usize,
        legend: SeriesLabelPosition,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (low, high) = value_range(curves);
        // The axis spans at least two epochs, because plotters cannot draw an empty range.
        let last_epoch = epochs.max(2) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..last_epoch, low..high)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(title)
            .x_label_formatter(&|epoch| format!("{epoch:.0}"))
            .light_line_style(WHITE)
            .draw()?;

        // Training curves get colors in order; a validation curve reuses its training curve's.
        let training: Vec<&str> = curves.iter().map(|curve| curve.name.as_str()).filter(|name| !name.starts_with("val_")).collect();
        for (index, curve) in curves.iter().enumerate() {
            let base = curve.name.strip_prefix("val_").unwrap_or(&curve.name);
            let color_index = training.iter().position(|name| *name == base).unwrap_or(index);
            let color = COLORS[color_index % COLORS.len()];
            let style = color.stroke_width(2);
            if curve.name.starts_with("val_") {
                chart
                    .draw_series(DashedLineSeries::new(curve.points.iter().copied(), 8, 5, style))?
                    .label(curve.name.as_str())
                    .legend(move |(x, y)| {
                        EmptyElement::at((x, y))
                            + PathElement::new(vec![(0, 0), (9, 0)], style)
                            + PathElement::new(vec![(15, 0), (24, 0)], style)
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(curve.points.iter().copied(), style))?
                    .label(curve.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            }
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    }

    /// Returns the range of the finite values of `curves`, widened a little so that no curve
    /// runs along the border, and never empty.
    fn value_range(curves: &[Curve]) -> (f64, f64) {
        let values = curves.iter().flat_map(|curve| curve.points.iter().map(|&(_, value)| value));
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| (low.min(value), high.max(value)));
        if !low.is_finite() {
            return (0.0, 1.0);
        }
        let margin = if high > low { 0.05 * (high - low) } else { 0.5 * low.abs().max(1e-3) };
        (low - margin, high + margin)
    }
}

/// Sums of per-batch scores, weighted by batch size, for one pass over some rows.
pub(crate) struct ScoreTotals {
    rows: usize,
    losses: Vec<f64>,
    correct: Vec<Option<usize>>,
    penalty: f64,
}

impl ScoreTotals {
    pub(crate) fn new(outputs: usize) -> Self {
        ScoreTotals { rows: 0, losses: vec![0.0; outputs], correct: vec![None; outputs], penalty: 0.0 }
    }

    pub(crate) fn add(&mut self, k: usize, loss: f64, accuracy: Option<(usize, usize)>, rows: usize) {
        if k == 0 {
            self.rows += rows;
        }
        self.losses[k] += loss * rows as f64;
        if let Some((correct, _)) = accuracy {
            *self.correct[k].get_or_insert(0) += correct;
        }
    }

    /// Adds the weight penalty of a step over `rows` rows.
    pub(crate) fn add_penalty(&mut self, penalty: f64, rows: usize) {
        self.penalty += penalty * rows as f64;
    }

    /// The mean total loss so far, without building an [`Evaluation`].
    pub(crate) fn mean_total<L: LossTuple>(&self, losses: &L) -> f64 {
        let rows = self.rows.max(1) as f64;
        self.losses.iter().enumerate().map(|(k, &sum)| losses.weight(k) * sum / rows).sum()
    }

    pub(crate) fn finish<L: LossTuple>(&self, names: &'static [&'static str], losses: &L) -> Evaluation {
        let rows = self.rows.max(1) as f64;
        let mut total = 0.0;
        let mut outputs = Vec::with_capacity(self.losses.len());
        for (k, &sum) in self.losses.iter().enumerate() {
            let loss = sum / rows;
            total += losses.weight(k) * loss;
            outputs.push(OutputScores {
                name: names[k],
                loss_name: losses.name(k),
                loss,
                accuracy: self.correct[k].map(|correct| correct as f64 / rows),
            });
        }
        Evaluation { loss: total, outputs, penalty: self.penalty / rows }
    }
}

/// Formats the line that `fit` prints after an epoch, in the style of Keras's `verbose=2`.
pub(crate) fn format_epoch(log: &EpochLog, epochs: usize) -> String {
    let mut line = format!("Epoch {}/{} - {:.2}s", log.epoch, epochs, log.seconds);
    for (name, value) in epoch_scores(log) {
        line.push_str(&format!(" - {name}: {value:.4}"));
    }
    line
}

/// Formats the scores of an epoch in progress, for the progress bar.
pub(crate) fn format_running(evaluation: &Evaluation) -> String {
    let scores: Vec<String> = named_scores("", evaluation).into_iter().map(|(name, value)| format!("{name}: {value:.4}")).collect();
    scores.join(" - ")
}

/// Names and values of an epoch's training scores, followed by its validation scores.
fn epoch_scores(log: &EpochLog) -> Vec<(String, f64)> {
    let mut scores = named_scores("", &log.train);
    if let Some(validation) = &log.validation {
        scores.extend(named_scores("val_", validation));
    }
    scores
}

/// Names and values of the scores of `evaluation`, with Keras's names: `loss`, then each
/// output's `NAME_LOSS` when there are several outputs, then `accuracy` (`NAME_accuracy` when
/// there are several outputs), each preceded by `prefix`.
fn named_scores(prefix: &str, evaluation: &Evaluation) -> Vec<(String, f64)> {
    let several = evaluation.outputs.len() > 1;
    let mut scores = vec![(format!("{prefix}loss"), evaluation.loss)];
    if several {
        for output in &evaluation.outputs {
            scores.push((format!("{prefix}{}_{}", output.name, output.loss_name), output.loss));
        }
    }
    for output in &evaluation.outputs {
        if let Some(accuracy) = output.accuracy {
            let name = if several { format!("{prefix}{}_accuracy", output.name) } else { format!("{prefix}accuracy") };
            scores.push((name, accuracy));
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_outputs(loss: f64, accuracy: f64) -> Evaluation {
        Evaluation {
            loss,
            outputs: vec![
                OutputScores { name: "score_diff", loss_name: "mae", loss: 0.75 * loss, accuracy: None },
                OutputScores { name: "win", loss_name: "bce", loss: 0.25 * loss, accuracy: Some(accuracy) },
            ],
            penalty: 0.0,
        }
    }

    fn history(epochs: usize, validation: bool) -> History {
        History {
            epochs: (1..=epochs)
                .map(|epoch| {
                    let loss = 1.0 / epoch as f64;
                    EpochLog {
                        epoch,
                        train: two_outputs(loss, 1.0 - loss / 2.0),
                        validation: validation.then(|| two_outputs(1.25 * loss, 0.9 - loss / 2.0)),
                        seconds: 0.5,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn epoch_line_names_every_score() {
        let log = &history(1, true).epochs[0];
        assert_eq!(
            format_epoch(log, 3),
            "Epoch 1/3 - 0.50s - loss: 1.0000 - score_diff_mae: 0.7500 - win_bce: 0.2500 - win_accuracy: 0.5000 \
             - val_loss: 1.2500 - val_score_diff_mae: 0.9375 - val_win_bce: 0.3125 - val_win_accuracy: 0.4000"
        );
    }

    #[test]
    fn csv_columns_match_epoch_line() {
        let csv = history(2, true).to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "epoch,seconds,loss,score_diff_mae,win_bce,win_accuracy,val_loss,val_score_diff_mae,val_win_bce,val_win_accuracy"
        );
        assert_eq!(lines[1], "1,0.5,1,0.75,0.25,0.5,1.25,0.9375,0.3125,0.4");
        assert_eq!(lines[2], "2,0.5,0.5,0.375,0.125,0.75,0.625,0.46875,0.15625,0.65");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn csv_leaves_missing_scores_empty() {
        let mut history = history(2, true);
        history.epochs[1].validation = None;
        let csv = history.to_csv();
        let last = csv.lines().nth(2).unwrap_or_default();
        assert_eq!(last, "2,0.5,0.5,0.375,0.125,0.75,,,,");
    }

    #[test]
    fn csv_of_empty_history_has_header_only() {
        assert_eq!(History::default().to_csv(), "epoch,seconds\n");
    }

    #[test]
    fn write_csv_creates_file() {
        let path = std::env::temp_dir().join(format!("keramic-history-{}.csv", std::process::id()));
        let history = history(3, false);
        let written = history.write_csv(&path);
        let text = std::fs::read_to_string(&path);
        let _ = std::fs::remove_file(&path);
        assert!(written.is_ok(), "{written:?}");
        assert_eq!(text.ok(), Some(history.to_csv()));
    }

    #[test]
    fn write_csv_names_missing_folder() {
        let path = std::env::temp_dir().join("keramic-no-such-folder").join("history.csv");
        let error = history(1, false).write_csv(&path).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(error.starts_with("cannot write `"), "{error}");
        assert!(error.contains("keramic-no-such-folder"), "{error}");
        assert!(error.ends_with("check that its folder exists and is writable"), "{error}");
    }

    #[cfg(feature = "plot")]
    mod plot {
        use super::*;

        /// Reads the width and height from the header of the PNG file at `path`.
        fn png_size(path: &Path) -> Option<(u32, u32)> {
            let bytes = std::fs::read(path).ok()?;
            if bytes.get(..8)? != b"\x89PNG\r\n\x1a\n" {
                return None;
            }
            let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((width, height))
        }

        fn plot_size(history: &History, name: &str) -> Option<(u32, u32)> {
            let path = std::env::temp_dir().join(format!("keramic-{name}-{}.png", std::process::id()));
            let result = history.plot(&path);
            let size = png_size(&path);
            let _ = std::fs::remove_file(&path);
            assert!(result.is_ok(), "{result:?}");
            size
        }

        #[test]
        fn plot_draws_loss_and_accuracy_panels() {
            assert_eq!(plot_size(&history(5, true), "two-panels"), Some((900, 840)));
        }

        #[test]
        fn plot_without_accuracy_draws_one_panel() {
            let mut history = history(5, true);
            for log in &mut history.epochs {
                log.train.outputs[1].accuracy = None;
                if let Some(validation) = &mut log.validation {
                    validation.outputs[1].accuracy = None;
                }
            }
            assert_eq!(plot_size(&history, "one-panel"), Some((900, 420)));
        }

        #[test]
        fn plot_of_one_epoch_succeeds() {
            assert_eq!(plot_size(&history(1, false), "one-epoch"), Some((900, 840)));
        }

        #[test]
        fn plot_of_empty_history_fails() {
            let error = History::default().plot("never-written.png").err().map(|error| error.to_string()).unwrap_or_default();
            assert_eq!(
                error,
                "cannot plot `never-written.png`: the history has no epochs; plot the history that `fit` returns after at least one epoch"
            );
        }
    }
}
