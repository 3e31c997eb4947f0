//! Training and evaluation on a [`ChunkSource`], for data that does not fit in memory.

use std::time::Instant;

use rand::seq::SliceRandom;

use super::callback::{BatchEnd, Callback, EpochEnd};
use super::logs::{EpochLog, Evaluation, History, ScoreTotals};
use super::losses::LossTuple;
use super::options::{Fit, Verbosity};
use super::progress::Progress;
use super::Training;
use crate::Real;
use crate::data::stream::ChunkSource;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::optim::Optimizer;

/// A source of training or evaluation rows for a model `M`.
type Source<'s, T, M> = dyn ChunkSource<<M as Network<T>>::Input, <M as Network<T>>::Output> + 's;

impl<T: Real, M: Network<T>, L: LossTuple, O: Optimizer<T>> Training<'_, T, M, L, O> {
    /// Trains the model on the rows of `source`, holding one chunk in memory at a time.
    ///
    /// Each epoch is one pass over `source`. The rows of each chunk are checked before the
    /// first step on that chunk, shuffled within the chunk (unless turned off), and cut into
    /// batches. Batches never span two chunks, so a chunk whose size is not a multiple of the
    /// batch size ends with a smaller batch. Chunks come in the source's order, so a file
    /// sorted by target, for example, should be shuffled on disk first. A row number in an
    /// error counts from the start of the pass, from 0.
    ///
    /// `options` apply as in [`Training::fit`], except that `validation_split` must be 0,
    /// because a stream cannot hold out its last rows before reading them. Pass a validation
    /// source to [`Training::fit_stream_with_callbacks`] instead. A run with the same seed
    /// and the same chunks repeats exactly. With one chunk that contains every row, it takes
    /// the same steps as `fit`.
    ///
    /// # Errors
    ///
    /// As [`Training::fit`], and any error of the source. A bad row stops training before
    /// any step on its chunk, but the steps on earlier chunks are kept.
    pub fn fit_stream(&mut self, source: &mut Source<'_, T, M>, options: &Fit) -> Result<History> {
        self.fit_stream_with_callbacks(source, None, options, &mut [])
    }

    /// Trains the model on `source` as [`Training::fit_stream`] does, scoring `validation`
    /// after each epoch, and running `callbacks` as [`Training::fit_with_callbacks`] does.
    ///
    /// [`BatchEnd::batches`] is 0 during the first epoch, because the number of batches is
    /// known only at the end of the first pass.
    ///
    /// # Errors
    ///
    /// As [`Training::fit_stream`], and any error a callback returns.
    pub fn fit_stream_with_callbacks(
        &mut self,
        source: &mut Source<'_, T, M>,
        mut validation: Option<&mut Source<'_, T, M>>,
        options: &Fit,
        callbacks: &mut [&mut dyn Callback<T, M>],
    ) -> Result<History> {
        options.validate()?;
        if options.validation_split != 0.0 {
            return Err(Error::InvalidOption {
                option: "validation_split",
                message: format!(
                    "{:?} cannot hold out rows of a stream; pass a validation source to \
                     fit_stream_with_callbacks instead",
                    options.validation_split
                ),
            });
        }
        self.optimizer.validate()?;
        self.check_loss_weights()?;

        let mut history = History::default();
        // Unknown until the first pass ends.
        let mut batches = 0;
        let mut order = Vec::new();
        for epoch in options.initial_epoch + 1..=options.epochs {
            let started = Instant::now();
            for callback in callbacks.iter_mut() {
                callback.on_epoch_begin(epoch, &mut self.optimizer);
            }
            let mut display = Progress::new(&display_options(options, batches), batches);
            let mut rng = options.shuffle_rng(epoch);
            let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
            let mut batch = 0;
            let mut rows_before_chunk = 0;

            source.rewind()?;
            while let Some(chunk) = source.next_chunk()? {
                order.clear();
                order.extend(0..chunk.len());
                self.check_rows(&chunk, &order).map_err(|error| count_rows_from(error, rows_before_chunk))?;
                if options.shuffle {
                    order.shuffle(&mut rng);
                }
                for indices in order.chunks(options.batch_size) {
                    batch += 1;
                    self.step(&chunk, indices, &mut totals).map_err(|error| locate_batch(error, epoch, batch))?;
                    let progress = BatchEnd { epoch, epochs: options.epochs, batch, batches, loss: totals.mean_total(&self.losses) };
                    for callback in callbacks.iter_mut() {
                        callback.on_batch_end(&progress);
                    }
                    display.batch_end(&progress, || totals.finish(M::OUTPUT_NAMES, &self.losses));
                }
                rows_before_chunk += chunk.len();
            }
            if rows_before_chunk == 0 {
                return Err(Error::EmptyData { what: "the training stream" });
            }
            batches = batch;

            let train = totals.finish(M::OUTPUT_NAMES, &self.losses);
            let validation = match validation.as_deref_mut() {
                Some(source) => Some(self.evaluate_stream(source)?),
                None => None,
            };
            let log = EpochLog { epoch, train, validation, seconds: started.elapsed().as_secs_f64() };
            display.epoch_end(&log);
            let mut end = EpochEnd { log: &log, model: &mut *self.model, optimizer: &mut self.optimizer, stop: false };
            for callback in callbacks.iter_mut() {
                callback.on_epoch_end(&mut end)?;
            }
            let stop = end.stop;
            history.epochs.push(log);
            if stop {
                break;
            }
        }
        for callback in callbacks.iter_mut() {
            callback.on_train_end(self.model, &history)?;
        }
        Ok(history)
    }

    /// Computes the total loss, each output's loss and the accuracies on the rows of
    /// `source`, holding one chunk in memory at a time.
    ///
    /// # Errors
    ///
    /// A source without rows, an error of the source, or a bad id or value in a row, whose
    /// number counts from the start of the pass.
    pub fn evaluate_stream(&mut self, source: &mut Source<'_, T, M>) -> Result<Evaluation> {
        let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
        let mut rows = Vec::new();
        let mut rows_before_chunk = 0;
        source.rewind()?;
        while let Some(chunk) = source.next_chunk()? {
            if chunk.is_empty() {
                continue;
            }
            rows.clear();
            rows.extend(0..chunk.len());
            let scores = self.evaluate_rows(&chunk, &rows).map_err(|error| count_rows_from(error, rows_before_chunk))?;
            // The chunk's mean scores, weighted by its rows, add up to the scores of the pass.
            for (k, output) in scores.outputs.iter().enumerate() {
                let correct = output.accuracy.map(|accuracy| ((accuracy * chunk.len() as f64).round() as usize, chunk.len()));
                totals.add(k, output.loss, correct, chunk.len());
            }
            rows_before_chunk += chunk.len();
        }
        if rows_before_chunk == 0 {
            return Err(Error::EmptyData { what: "the evaluation stream" });
        }
        Ok(totals.finish(M::OUTPUT_NAMES, &self.losses))
    }
}

/// Returns the options for the progress output of an epoch with `batches` batches, 0 when
/// unknown. A progress bar needs its length, so the first epoch prints a line instead.
fn display_options(options: &Fit, batches: usize) -> Fit {
    if batches == 0 && options.verbosity == Verbosity::Auto {
        return options.clone().verbosity(Verbosity::OneLinePerEpoch);
    }
    options.clone()
}

/// Turns a row number within a chunk into one within the pass.
fn count_rows_from(error: Error, rows_before_chunk: usize) -> Error {
    match error {
        Error::IdOutOfRange { input, row, id, vocabulary } => {
            Error::IdOutOfRange { input, row: rows_before_chunk + row, id, vocabulary }
        }
        Error::NonFiniteValue { field, name, row, value } => {
            Error::NonFiniteValue { field, name, row: rows_before_chunk + row, value }
        }
        other => other,
    }
}

/// Sets the epoch and the batch of an error from a training step.
fn locate_batch(error: Error, epoch: usize, batch: usize) -> Error {
    match error {
        Error::NonFiniteLoss { value, .. } => Error::NonFiniteLoss { value, epoch, batch },
        Error::NonFiniteGradient { value, .. } => Error::NonFiniteGradient { value, epoch, batch },
        Error::NonFiniteWeight { name, value, .. } => Error::NonFiniteWeight { name, value, epoch, batch },
        other => other,
    }
}
