//! The progress output of `fit`: a progress bar on a terminal, otherwise one line per epoch,
//! or nothing.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::callback::BatchEnd;
use super::logs::{EpochLog, Evaluation, format_epoch, format_running};
use super::options::{Fit, Verbosity};

/// The layout of the bar: epoch, bar, steps, elapsed time, estimated time left and the running
/// losses of the epoch.
const BAR_TEMPLATE: &str = "Epoch {prefix} [{bar:25}] {pos}/{len} steps - {elapsed} elapsed - ETA {eta} - {msg}";

/// The shortest time between two updates of the bar's scores. Formatting them takes longer than
/// the optimizer step of a small model, so they are not formatted after every batch.
const MESSAGE_INTERVAL: Duration = Duration::from_millis(100);

/// The progress output of one `fit` call, fed at the end of every batch and epoch.
pub(crate) struct Progress {
    epochs: usize,
    batches: usize,
    output: Output,
}

enum Output {
    Silent,
    Lines,
    Bar {
        bar: ProgressBar,
        /// When the scores were last formatted, `None` before the first batch of an epoch.
        last_message: Option<Instant>,
    },
}

impl Progress {
    /// Creates the output that `options.verbosity` selects, with a bar on standard output when
    /// it is a terminal.
    pub(crate) fn new(options: &Fit, batches: usize) -> Self {
        let output = match options.verbosity {
            Verbosity::Silent => Output::Silent,
            Verbosity::OneLinePerEpoch => Output::Lines,
            Verbosity::Auto if std::io::stdout().is_terminal() => bar_output(ProgressDrawTarget::stdout(), batches),
            Verbosity::Auto => Output::Lines,
        };
        Progress { epochs: options.epochs, batches, output }
    }

    /// Creates a bar that draws to `target`, for tests.
    #[cfg(test)]
    fn with_bar(epochs: usize, batches: usize, target: ProgressDrawTarget) -> Self {
        Progress { epochs, batches, output: bar_output(target, batches) }
    }

    /// Moves the bar to the batch that just ended. `running_scores` computes the epoch's scores
    /// so far, and is called only when the bar's text is due for an update.
    pub(crate) fn batch_end(&mut self, progress: &BatchEnd, running_scores: impl FnOnce() -> Evaluation) {
        let Output::Bar { bar, last_message } = &mut self.output else {
            return;
        };
        if progress.batch == 1 {
            bar.reset();
            bar.set_length(self.batches as u64);
            bar.set_prefix(format!("{}/{}", progress.epoch, self.epochs));
            *last_message = None;
        }
        let now = Instant::now();
        let due = last_message.is_none_or(|last| now.duration_since(last) >= MESSAGE_INTERVAL);
        if due || progress.batch == progress.batches {
            bar.set_message(format_running(&running_scores()));
            *last_message = Some(now);
        }
        bar.set_position(progress.batch as u64);
    }

    /// Prints the line of the epoch that just ended, above the bar when there is one.
    pub(crate) fn epoch_end(&mut self, log: &EpochLog) {
        match &self.output {
            Output::Silent => {}
            Output::Lines => {
                // A closed standard output, such as a pipe into `head`, must not stop training,
                // so a failed write is ignored, as indicatif ignores it for the bar.
                let _ = writeln!(std::io::stdout().lock(), "{}", format_epoch(log, self.epochs));
            }
            Output::Bar { bar, .. } => bar.println(format_epoch(log, self.epochs)),
        }
    }
}

impl Drop for Progress {
    /// Removes the bar, so that the epoch lines are what stays on the terminal.
    fn drop(&mut self) {
        if let Output::Bar { bar, .. } = &self.output {
            bar.finish_and_clear();
        }
    }
}

fn bar_output(target: ProgressDrawTarget, batches: usize) -> Output {
    // The template is a constant that parses with indicatif 0.18. The fallback keeps the
    // default layout if a later version rejects it.
    let style = ProgressStyle::with_template(BAR_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(batches as u64), target).with_style(style);
    Output::Bar { bar, last_message: None }
}

#[cfg(test)]
mod tests {
    use indicatif::InMemoryTerm;

    use super::*;
    use crate::train::logs::OutputScores;

    fn scores(loss: f64) -> Evaluation {
        Evaluation {
            loss,
            outputs: vec![
                OutputScores { name: "score_diff", loss_name: "mae", loss: loss / 2.0, accuracy: None },
                OutputScores { name: "win", loss_name: "bce", loss: loss / 2.0, accuracy: Some(0.75) },
            ],
            penalty: 0.0,
        }
    }

    fn batch(epoch: usize, batch: usize) -> BatchEnd {
        BatchEnd { epoch, epochs: 2, batch, batches: 4, loss: 0.5 }
    }

    #[test]
    fn bar_shows_steps_and_running_scores() {
        let term = InMemoryTerm::new(4, 200);
        let mut progress = Progress::with_bar(2, 4, ProgressDrawTarget::term_like(Box::new(term.clone())));
        progress.batch_end(&batch(1, 1), || scores(0.5));
        progress.batch_end(&batch(1, 2), || scores(0.4));
        if let Output::Bar { bar, .. } = &progress.output {
            bar.force_draw();
        }

        let screen = term.contents();
        assert!(screen.contains("Epoch 1/2 ["), "{screen}");
        assert!(screen.contains("2/4 steps"), "{screen}");
        assert!(screen.contains("elapsed - ETA"), "{screen}");
        // The second batch came within MESSAGE_INTERVAL of the first, so the text is the first's.
        assert!(screen.contains("loss: 0.5000 - score_diff_mae: 0.2500 - win_bce: 0.2500"), "{screen}");
        assert!(screen.contains("win_accuracy: 0.7500"), "{screen}");
    }

    #[test]
    fn bar_updates_scores_on_last_batch() {
        let term = InMemoryTerm::new(4, 200);
        let mut progress = Progress::with_bar(2, 4, ProgressDrawTarget::term_like(Box::new(term.clone())));
        for step in 1..=4 {
            progress.batch_end(&batch(1, step), || scores(1.0 / step as f64));
        }
        if let Output::Bar { bar, .. } = &progress.output {
            bar.force_draw();
        }

        let screen = term.contents();
        assert!(screen.contains("4/4 steps"), "{screen}");
        assert!(screen.contains("loss: 0.2500"), "{screen}");
    }

    #[test]
    fn epoch_line_stays_after_bar() {
        let term = InMemoryTerm::new(4, 200);
        let mut progress = Progress::with_bar(2, 4, ProgressDrawTarget::term_like(Box::new(term.clone())));
        progress.batch_end(&batch(1, 1), || scores(0.5));
        let log = EpochLog { epoch: 1, train: scores(0.5), validation: None, seconds: 0.25 };
        progress.epoch_end(&log);
        drop(progress);

        let screen = term.contents();
        assert!(screen.starts_with("Epoch 1/2 - 0.25s - loss: 0.5000"), "{screen}");
        assert!(!screen.contains("steps"), "the bar is still drawn:\n{screen}");
    }

    #[test]
    fn new_bar_epoch_resets_steps() {
        let term = InMemoryTerm::new(4, 200);
        let mut progress = Progress::with_bar(2, 4, ProgressDrawTarget::term_like(Box::new(term.clone())));
        for step in 1..=4 {
            progress.batch_end(&batch(1, step), || scores(0.5));
        }
        progress.batch_end(&batch(2, 1), || scores(0.5));
        if let Output::Bar { bar, .. } = &progress.output {
            bar.force_draw();
        }

        let screen = term.contents();
        assert!(screen.contains("Epoch 2/2 ["), "{screen}");
        assert!(screen.contains("1/4 steps"), "{screen}");
    }

    #[test]
    fn silent_and_lines_draw_no_bar() {
        let silent = Progress::new(&Fit::epochs(1).verbose(false), 4);
        assert!(matches!(silent.output, Output::Silent));
        let lines = Progress::new(&Fit::epochs(1).verbosity(Verbosity::OneLinePerEpoch), 4);
        assert!(matches!(lines.output, Output::Lines));
    }
}
