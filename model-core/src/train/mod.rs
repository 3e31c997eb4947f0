//! Compiling a model with its losses and optimizer, and fit, evaluate and predict.

mod callback;
mod checkpoint;
mod early_stopping;
mod losses;
mod logs;
mod options;
mod progress;
mod schedule;
mod stream;

pub use callback::{BatchEnd, Callback, EpochEnd};
pub use checkpoint::{ModelCheckpoint, checkpoint_from_bytes, checkpoint_to_bytes, load_checkpoint, save_checkpoint};
pub use early_stopping::{EarlyStopping, Monitor};
pub use losses::{Head, LossSet, LossTuple};
pub use logs::{EpochLog, Evaluation, ExportError, History, OutputScores};
pub use options::{Fit, Verbosity};
pub use schedule::{ReduceLrOnPlateau, StepDecay};

use std::time::Instant;

use rand::seq::SliceRandom;

use crate::Real;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::GradientOf;
use crate::metrics;
use crate::network::Network;
use crate::optim::Optimizer;
use logs::ScoreTotals;
use progress::Progress;

/// Methods every generated model has: compiling for training, and prediction.
pub trait NetworkExt<T: Real>: Network<T> {
    /// Pairs the model with one loss per output and an optimizer, ready to [`Training::fit`].
    ///
    /// The compiler checks that `losses` has one loss per output: a single loss for a model
    /// with one output, a tuple for several, or an array such as `[MeanSquaredError; 2]`
    /// when every output takes the same kind of loss. It also rejects a loss over classes, such as
    /// categorical cross-entropy, for an output of width 1.
    fn compile<L: LossSet<Self>, O: Optimizer<T>>(&mut self, losses: L, optimizer: O) -> Training<'_, T, Self, L, O> {
        Training::new(self, losses, optimizer)
    }

    /// Computes the outputs of every input row, in batches of 4096.
    ///
    /// Each call allocates fresh buffers and runs on the calling thread. A [`Predictor`]
    /// keeps its buffers across calls and splits large batches across threads.
    ///
    /// # Errors
    /// [`Error::IdOutOfRange`] or [`Error::NonFiniteValue`] for a bad input row.
    fn predict(&self, inputs: &[Self::Input]) -> Result<Vec<Self::Output>> {
        let mut workspace = Self::Workspace::default();
        let mut outputs = Vec::with_capacity(inputs.len());
        let indices: Vec<usize> = (0..inputs.len().min(PREDICT_BATCH)).collect();
        for (chunk, rows) in inputs.chunks(PREDICT_BATCH).enumerate() {
            Self::load_inputs(&mut workspace, rows, &indices[..rows.len()]).map_err(|error| error.offset_row(chunk * PREDICT_BATCH))?;
            self.forward(&mut workspace);
            outputs.extend((0..rows.len()).map(|sample| Self::read_output(&workspace, sample)));
        }
        Ok(outputs)
    }

    /// Computes the outputs of one input row.
    ///
    /// # Errors
    /// As [`NetworkExt::predict`].
    fn predict_one(&self, input: &Self::Input) -> Result<Self::Output> {
        Predictor::new(self).predict_one(input)
    }

    /// Returns a [`Predictor`], which reuses its buffers from call to call.
    fn predictor(&self) -> Predictor<'_, T, Self> {
        Predictor::new(self)
    }
}

impl<T: Real, M: Network<T>> NetworkExt<T> for M {}

/// The rows per forward pass of [`Predictor::predict_into`].
const PREDICT_BATCH: usize = 4096;

/// The minimum rows per thread for which [`Predictor::predict_into`] splits a batch, because
/// waking a thread for fewer costs more than it saves. An estimate from the 6,337-weight MLP
/// of `benches/workloads.rs` on a 2-core AMD EPYC, where a pass over 512 rows takes about
/// 50 µs.
const MIN_ROWS_PER_THREAD: usize = 512;

/// A model with activation buffers kept from call to call, so that prediction allocates
/// nothing once the buffers have grown to the largest batch.
///
/// [`Predictor::predict_into`] splits large batches across rayon's global thread pool. Each
/// sample's outputs are computed by the same sequence of operations whatever the split, so
/// the predictions do not depend on the number of threads.
pub struct Predictor<'m, T: Real, M: Network<T>> {
    model: &'m M,
    /// One per thread that has worked on a batch; the first also serves `predict_one`.
    parts: Vec<PredictorPart<T, M>>,
    /// `0..n` for the largest part so far, the row indices `load_inputs` reads.
    indices: Vec<usize>,
}

/// The buffers of one thread of a [`Predictor`].
struct PredictorPart<T: Real, M: Network<T>> {
    workspace: M::Workspace,
    outputs: Vec<M::Output>,
}

impl<T: Real, M: Network<T>> Default for PredictorPart<T, M> {
    fn default() -> Self {
        PredictorPart { workspace: M::Workspace::default(), outputs: Vec::new() }
    }
}

impl<'m, T: Real, M: Network<T>> Predictor<'m, T, M> {
    /// Creates a predictor for `model` with empty buffers.
    pub fn new(model: &'m M) -> Self {
        Predictor { model, parts: vec![PredictorPart::default()], indices: Vec::new() }
    }

    /// Computes the outputs of one input row.
    ///
    /// # Errors
    /// [`Error::IdOutOfRange`] or [`Error::NonFiniteValue`] for a bad input row.
    pub fn predict_one(&mut self, input: &M::Input) -> Result<M::Output> {
        let workspace = &mut self.parts[0].workspace;
        M::load_inputs(workspace, core::slice::from_ref(input), &[0])?;
        self.model.forward(workspace);
        Ok(M::read_output(workspace, 0))
    }
}

impl<'m, T: Real, M: Network<T> + Sync> Predictor<'m, T, M>
where
    M::Output: Send,
{
    /// Computes the outputs of every input row in batches of 4096 and appends them to
    /// `outputs`. A batch of at least 1,024 rows is split across the threads of rayon's
    /// global pool (its size is set by `RAYON_NUM_THREADS`).
    ///
    /// # Errors
    /// As [`Predictor::predict_one`]. The outputs of the batches before the one with the bad
    /// row are appended.
    pub fn predict_into(&mut self, inputs: &[M::Input], outputs: &mut Vec<M::Output>) -> Result<()> {
        outputs.reserve(inputs.len());
        let threads = rayon::current_num_threads().max(1);
        for (chunk, rows) in inputs.chunks(PREDICT_BATCH).enumerate() {
            let parts = threads.min(rows.len() / MIN_ROWS_PER_THREAD).max(1);
            let part_rows = rows.len().div_ceil(parts);
            if self.parts.len() < parts {
                self.parts.resize_with(parts, PredictorPart::default);
            }
            if self.indices.len() < part_rows {
                self.indices = (0..part_rows).collect();
            }
            let model = self.model;
            let indices = &self.indices;
            let run = |part: &mut PredictorPart<T, M>, first: usize, rows: &[M::Input]| -> Result<()> {
                M::load_inputs(&mut part.workspace, rows, &indices[..rows.len()]).map_err(|error| error.offset_row(first))?;
                model.forward(&mut part.workspace);
                part.outputs.clear();
                part.outputs.extend((0..rows.len()).map(|sample| M::read_output(&part.workspace, sample)));
                Ok(())
            };
            let first = chunk * PREDICT_BATCH;
            if parts == 1 {
                run(&mut self.parts[0], first, rows)?;
            } else {
                use rayon::prelude::*;
                self.parts[..parts]
                    .par_iter_mut()
                    .zip(rows.par_chunks(part_rows))
                    .enumerate()
                    .try_for_each(|(k, (part, rows))| run(part, first + k * part_rows, rows))?;
            }
            for part in &self.parts[..parts] {
                outputs.extend_from_slice(&part.outputs);
            }
        }
        Ok(())
    }
}

/// A model compiled with its losses and optimizer. Made by [`NetworkExt::compile`].
pub struct Training<'m, T: Real, M: Network<T>, L, O> {
    model: &'m mut M,
    losses: L,
    optimizer: O,
    workspace: M::Workspace,
    targets: Vec<Vec<T>>,
    seeds: Vec<Vec<T>>,
    kinds: Vec<GradientOf>,
    /// The trainable weights before the current optimizer step, to undo a step that overflows.
    weights_before_step: Vec<T>,
}

impl<'m, T: Real, M: Network<T>, L: LossTuple, O: Optimizer<T>> Training<'m, T, M, L, O> {
    fn new(model: &'m mut M, losses: L, optimizer: O) -> Self {
        let outputs = M::OUTPUT_NAMES.len();
        Training {
            model,
            losses,
            optimizer,
            workspace: M::Workspace::default(),
            targets: vec![Vec::new(); outputs],
            seeds: vec![Vec::new(); outputs],
            kinds: vec![GradientOf::Values; outputs],
            weights_before_step: Vec::new(),
        }
    }

    /// Returns the model being trained.
    pub fn model(&self) -> &M {
        self.model
    }

    /// Returns the model being trained, mutably.
    pub fn model_mut(&mut self) -> &mut M {
        self.model
    }

    /// Returns the optimizer, for example to change its learning rate.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// Trains the model on `data`.
    ///
    /// Every input and target row is checked before the first step. Each epoch shuffles the
    /// training rows (unless turned off), takes one optimizer step per batch, and reports its
    /// progress as [`Fit::verbosity`] sets: by default a progress bar on a terminal, otherwise
    /// one line per epoch with the epoch's losses and metrics.
    ///
    /// # Errors
    /// An invalid option, an empty training set, a bad id or value in any row (named by row
    /// and field), or a loss, gradient or updated weight that becomes NaN or infinite. In the
    /// last case the model keeps the weights it had before the batch that produced it.
    pub fn fit(&mut self, data: &Dataset<M::Input, M::Output>, options: &Fit) -> Result<History> {
        self.fit_with_callbacks(data, options, &mut [])
    }

    /// Trains the model on `data` as [`Training::fit`] does, running `callbacks` at the start
    /// and end of each epoch and after each batch, in order.
    ///
    /// # Errors
    /// As [`Training::fit`], and any error a callback returns.
    pub fn fit_with_callbacks(
        &mut self,
        data: &Dataset<M::Input, M::Output>,
        options: &Fit,
        callbacks: &mut [&mut dyn Callback<T, M>],
    ) -> Result<History> {
        options.validate()?;
        self.optimizer.validate()?;
        self.check_loss_weights()?;
        let train_len = crate::data::training_rows(data.len(), options.validation_split)?;
        let validation: Vec<usize> = (train_len..data.len()).collect();
        let mut order: Vec<usize> = (0..train_len).collect();
        self.check_rows(data, &(0..data.len()).collect::<Vec<_>>())?;

        let mut history = History::default();
        let batches = train_len.div_ceil(options.batch_size);
        let mut display = Progress::new(options, batches);
        for epoch in options.initial_epoch + 1..=options.epochs {
            let started = Instant::now();
            for callback in callbacks.iter_mut() {
                callback.on_epoch_begin(epoch, &mut self.optimizer);
            }
            // Dropout masks come from the seed and the epoch alone, so that a seeded run repeats
            // exactly, also when it resumes from a checkpoint.
            M::dropout_state(&mut self.workspace).reseed(options.dropout_seed(epoch));
            if options.shuffle {
                // Each epoch shuffles the rows in their original order, so that its order
                // depends on the seed and the epoch alone, and a resumed run repeats it.
                for (position, row) in order.iter_mut().enumerate() {
                    *row = position;
                }
                order.shuffle(&mut options.shuffle_rng(epoch));
            }
            let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
            for (batch, indices) in order.chunks(options.batch_size).enumerate() {
                self.step(data, indices, &mut totals).map_err(|error| match error {
                    Error::NonFiniteLoss { value, .. } => Error::NonFiniteLoss { value, epoch, batch: batch + 1 },
                    Error::NonFiniteGradient { value, .. } => Error::NonFiniteGradient { value, epoch, batch: batch + 1 },
                    Error::NonFiniteWeight { name, value, .. } => Error::NonFiniteWeight { name, value, epoch, batch: batch + 1 },
                    other => other,
                })?;
                let progress = BatchEnd {
                    epoch,
                    epochs: options.epochs,
                    batch: batch + 1,
                    batches,
                    loss: totals.mean_total(&self.losses),
                };
                for callback in callbacks.iter_mut() {
                    callback.on_batch_end(&progress);
                }
                display.batch_end(&progress, || totals.finish(M::OUTPUT_NAMES, &self.losses));
            }
            let train = totals.finish(M::OUTPUT_NAMES, &self.losses);
            let validation = if validation.is_empty() { None } else { Some(self.evaluate_rows(data, &validation)?) };
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

    /// Computes the total loss, each output's loss and the accuracies on `data`.
    ///
    /// # Errors
    /// An empty data set, or a bad id or value in a row.
    pub fn evaluate(&mut self, data: &Dataset<M::Input, M::Output>) -> Result<Evaluation> {
        if data.is_empty() {
            return Err(Error::EmptyData { what: "the evaluation set" });
        }
        self.check_loss_weights()?;
        let rows: Vec<usize> = (0..data.len()).collect();
        self.evaluate_rows(data, &rows)
    }

    fn evaluate_rows(&mut self, data: &Dataset<M::Input, M::Output>, rows: &[usize]) -> Result<Evaluation> {
        let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
        M::dropout_state(&mut self.workspace).training = false;
        totals.add_penalty(self.model.penalty(false), rows.len());
        for indices in rows.chunks(4096) {
            M::load_inputs(&mut self.workspace, data.inputs(), indices)?;
            self.load_targets(data, indices)?;
            self.model.forward(&mut self.workspace);
            for k in 0..M::OUTPUT_NAMES.len() {
                let head = M::head(&self.workspace, k);
                let (loss, _) = self.losses.compute(k, &head, &self.targets[k], None);
                let accuracy = self.losses.reports_accuracy(k)
                    .then(|| metrics::accuracy(head.values, &self.targets[k], head.width));
                totals.add(k, loss, accuracy, indices.len());
            }
        }
        Ok(totals.finish(M::OUTPUT_NAMES, &self.losses))
    }

    /// Takes one optimizer step on the rows `indices` of `data` and returns the batch's total
    /// loss: the sum of each output's loss times its weight.
    ///
    /// This is the step that [`Training::fit`] takes for each batch, without the shuffling,
    /// the callbacks and the check of every row ahead of training: only the batch's rows are
    /// checked, as they are loaded. Once the buffers have grown to the largest batch, a step
    /// allocates nothing unless a loss, the optimizer or an error does.
    ///
    /// # Errors
    /// An empty `indices` or an index outside the data, a bad id or value in one of its rows,
    /// or a loss, gradient or updated weight that becomes NaN or infinite. The weights then
    /// stay as they were before the step.
    pub fn train_on_batch(&mut self, data: &Dataset<M::Input, M::Output>, indices: &[usize]) -> Result<f64> {
        if indices.is_empty() {
            return Err(Error::EmptyData { what: "the batch" });
        }
        if let Some(&row) = indices.iter().find(|&&row| row >= data.len()) {
            return Err(Error::InvalidOption {
                option: "batch indices",
                message: format!("row {row} is outside the data set, which has {} rows; give indices below {}", data.len(), data.len()),
            });
        }
        self.optimizer.validate()?;
        self.check_loss_weights()?;
        self.scored_step(data, indices, None)
    }

    fn step(&mut self, data: &Dataset<M::Input, M::Output>, indices: &[usize], totals: &mut ScoreTotals) -> Result<()> {
        self.scored_step(data, indices, Some(totals)).map(|_| ())
    }

    /// Takes one optimizer step, adds the batch's scores to `totals` when given and returns
    /// the batch's total loss.
    fn scored_step(&mut self, data: &Dataset<M::Input, M::Output>, indices: &[usize], mut totals: Option<&mut ScoreTotals>) -> Result<f64> {
        M::load_inputs(&mut self.workspace, data.inputs(), indices)?;
        self.load_targets(data, indices)?;
        M::dropout_state(&mut self.workspace).training = true;
        self.model.forward(&mut self.workspace);

        let mut total = 0.0;
        for k in 0..M::OUTPUT_NAMES.len() {
            let head = M::head(&self.workspace, k);
            self.seeds[k].resize(head.values.len(), T::zero());
            let (loss, kind) = self.losses.compute(k, &head, &self.targets[k], Some(&mut self.seeds[k]));
            self.kinds[k] = kind;
            total += self.losses.weight(k) * loss;
            if let Some(totals) = totals.as_deref_mut() {
                let accuracy = self.losses.reports_accuracy(k)
                    .then(|| metrics::accuracy(head.values, &self.targets[k], head.width));
                totals.add(k, loss, accuracy, indices.len());
            }
        }
        // Checked before the update, so that a NaN never reaches the weights.
        if !total.is_finite() {
            return Err(Error::NonFiniteLoss { value: total, epoch: 0, batch: 0 });
        }

        self.model.zero_grads();
        self.model.backward(&mut self.workspace, &self.seeds, &self.kinds);
        let penalty = self.model.penalty(true);
        total += penalty;
        if let Some(totals) = totals.as_deref_mut() {
            totals.add_penalty(penalty, indices.len());
        }
        // Checked before the update too: a finite loss can still overflow a gradient in f32.
        if let Some(value) = self.first_non_finite_gradient() {
            return Err(Error::NonFiniteGradient { value, epoch: 0, batch: 0 });
        }
        self.optimizer.begin_step();
        let optimizer = &mut self.optimizer;
        let saved = &mut self.weights_before_step;
        saved.clear();
        let mut slot = 0;
        let mut non_finite = false;
        self.model.visit_params(&mut |param| {
            if param.trainable {
                saved.extend_from_slice(param.value);
                optimizer.update(slot, param.value, param.grad);
                // A fold without early exit, so the scan vectorizes.
                non_finite |= param.value.iter().fold(false, |found, w| found | !w.is_finite());
            }
            slot += 1;
        });
        // Finite gradients can still overflow a weight, for example with an enormous learning
        // rate, so the step is undone then. The weights' names are looked up only then,
        // because building them allocates.
        // NOTE: the optimizer's own state, such as Adam's moments, keeps this step.
        if non_finite && let Some((name, value)) = self.first_non_finite_weight() {
            self.restore_weights_before_step();
            return Err(Error::NonFiniteWeight { name, value, epoch: 0, batch: 0 });
        }
        Ok(total)
    }

    /// Returns the path and the value of the first trainable weight that is NaN or infinite.
    fn first_non_finite_weight(&self) -> Option<(String, f64)> {
        let mut found = None;
        self.model.visit_named_weights("", &mut |name, param| {
            if found.is_none() && param.trainable {
                if let Some(value) = param.value.iter().find(|w| !w.is_finite()) {
                    found = Some((name.to_owned(), value.to_f64()));
                }
            }
        });
        found
    }

    /// Puts back the trainable weights that `step` saved before its update.
    fn restore_weights_before_step(&mut self) {
        let mut saved = self.weights_before_step.as_slice();
        self.model.visit_params(&mut |param| {
            if param.trainable {
                let (values, rest) = saved.split_at(param.value.len());
                param.value.copy_from_slice(values);
                saved = rest;
            }
        });
    }

    /// Rejects a loss weight that is negative or not finite: a negative weight would make
    /// training maximize that output's loss.
    pub(crate) fn check_loss_weights(&self) -> Result<()> {
        for (k, name) in M::OUTPUT_NAMES.iter().enumerate() {
            let weight = self.losses.weight(k);
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(Error::InvalidOption {
                    option: "loss weight",
                    message: format!("the loss of output `{name}` has weight {weight}; give a finite weight of at least 0 to `weighted`"),
                });
            }
        }
        Ok(())
    }

    fn first_non_finite_gradient(&mut self) -> Option<f64> {
        let mut found = None;
        self.model.visit_params(&mut |param| {
            if found.is_none() && param.trainable {
                found = param.grad.iter().find(|g| !g.is_finite()).map(|g| g.to_f64());
            }
        });
        found
    }

    fn load_targets(&mut self, data: &Dataset<M::Input, M::Output>, indices: &[usize]) -> Result<()> {
        for (k, &width) in M::OUTPUT_WIDTHS.iter().enumerate() {
            let buffer = &mut self.targets[k];
            buffer.resize(indices.len() * width, T::zero());
            for (chunk, &row) in buffer.chunks_exact_mut(width).zip(indices) {
                M::write_target(&data.targets()[row], k, chunk);
                if let Some(bad) = chunk.iter().find(|value| !value.is_finite()) {
                    return Err(Error::NonFiniteValue { field: "target", name: M::OUTPUT_NAMES[k], row, value: bad.to_f64() });
                }
            }
        }
        Ok(())
    }

    /// Checks every row of `data` in batches, so that a bad row stops fit before any step.
    fn check_rows(&mut self, data: &Dataset<M::Input, M::Output>, rows: &[usize]) -> Result<()> {
        for indices in rows.chunks(4096) {
            M::load_inputs(&mut self.workspace, data.inputs(), indices)?;
            self.load_targets(data, indices)?;
        }
        Ok(())
    }
}

