//! Compiling a model with its losses and optimizer, and fit, evaluate and predict.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::Real;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::{GradientOf, Loss};
use crate::metrics;
use crate::network::Network;
use crate::optim::Optimizer;

/// One loss per output of a model whose outputs are described by `Heads`.
///
/// Implemented for a single [`Loss`] (a model with one output) and for tuples of losses with
/// one element per output.
#[diagnostic::on_unimplemented(
    message = "the losses `{Self}` do not fit the model's outputs `{Heads}`",
    label = "give one loss per output: a single loss for one output, a tuple for several",
    note = "each element of `{Heads}` is one output, in declaration order"
)]
pub trait LossSet<Heads> {
    /// Computes the loss of output `k`; see [`Loss::compute`].
    fn compute<T: Real>(&self, k: usize, head: &crate::loss::HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf);
    /// The weight of output `k`'s loss in the total.
    fn weight(&self, k: usize) -> f64;
    /// The name of output `k`'s loss.
    fn name(&self, k: usize) -> &'static str;
    /// Whether output `k`'s loss reports accuracy.
    fn reports_accuracy(&self, k: usize) -> bool;
}

/// The width of one model output, as an element of a model's `Heads` tuple.
#[derive(Clone, Copy, Debug)]
pub struct Head<const WIDTH: usize>;

impl<L: Loss, H> LossSet<(H,)> for L {
    fn compute<T: Real>(&self, _k: usize, head: &crate::loss::HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf) {
        Loss::compute(self, head, targets, grad)
    }
    fn weight(&self, _k: usize) -> f64 {
        Loss::weight(self)
    }
    fn name(&self, _k: usize) -> &'static str {
        Loss::name(self)
    }
    fn reports_accuracy(&self, _k: usize) -> bool {
        Loss::reports_accuracy(self)
    }
}

macro_rules! impl_loss_tuple {
    ($(($index:tt, $loss:ident, $head:ident)),+) => {
        impl<$($loss: Loss, $head),+> LossSet<($($head,)+)> for ($($loss,)+) {
            fn compute<T: Real>(&self, k: usize, head: &crate::loss::HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf) {
                match k {
                    $($index => Loss::compute(&self.$index, head, targets, grad),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn weight(&self, k: usize) -> f64 {
                match k {
                    $($index => Loss::weight(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn name(&self, k: usize) -> &'static str {
                match k {
                    $($index => Loss::name(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn reports_accuracy(&self, k: usize) -> bool {
                match k {
                    $($index => Loss::reports_accuracy(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
        }
    };
}

impl_loss_tuple!((0, L0, H0), (1, L1, H1));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3), (4, L4, H4));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3), (4, L4, H4), (5, L5, H5));

/// Options of [`Training::fit`], built like Keras's `fit` arguments.
#[derive(Clone, Debug)]
pub struct Fit {
    epochs: usize,
    batch_size: usize,
    validation_split: f64,
    shuffle: bool,
    seed: u64,
    verbose: bool,
}

impl Fit {
    /// Trains for `epochs` epochs with Keras's other defaults: batch size 32, no validation
    /// split, shuffling every epoch, one progress line per epoch.
    pub fn epochs(epochs: usize) -> Self {
        Fit { epochs, batch_size: 32, validation_split: 0.0, shuffle: true, seed: 0, verbose: true }
    }

    /// Sets the number of rows per optimizer step. The last batch of an epoch may be smaller.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Holds out the last `fraction` of the rows, taken before shuffling, for validation, as
    /// Keras's `validation_split` does. Must be in [0, 1).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }

    /// Turns the shuffling of the training rows at each epoch on or off (on by default).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets the seed of the shuffling, so that a run repeats exactly.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Turns the progress line printed after each epoch on or off (on by default).
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::InvalidOption {
                option: "batch_size",
                message: "0 rows per batch; use a batch size of at least 1".to_owned(),
            });
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(Error::InvalidOption {
                option: "validation_split",
                message: format!("{} is outside [0, 1); pass the share of rows to hold out, such as 0.1", self.validation_split),
            });
        }
        Ok(())
    }
}

/// The scores of a model on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The total loss: the sum of each output's loss times its weight.
    pub loss: f64,
    /// One entry per output, in declaration order.
    pub outputs: Vec<OutputScores>,
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

/// What one epoch of [`Training::fit`] measured.
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

/// The log of a [`Training::fit`] run, one entry per epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs, in order.
    pub epochs: Vec<EpochLog>,
}

/// Methods every generated model has: compiling for training, and prediction.
pub trait NetworkExt<T: Real>: Network<T> {
    /// Pairs the model with one loss per output and an optimizer, ready to [`Training::fit`].
    ///
    /// The compiler checks that `losses` has one loss per output: a single loss for a model
    /// with one output, a tuple for several.
    fn compile<L: LossSet<Self::Heads>, O: Optimizer<T>>(&mut self, losses: L, optimizer: O) -> Training<'_, T, Self, L, O> {
        Training::new(self, losses, optimizer)
    }

    /// Computes the outputs of every input row, in batches of 4096.
    ///
    /// # Errors
    /// [`Error::IdOutOfRange`] or [`Error::NonFiniteValue`] for a bad input row.
    fn predict(&self, inputs: &[Self::Input]) -> Result<Vec<Self::Output>> {
        let mut workspace = Self::Workspace::default();
        let mut outputs = Vec::with_capacity(inputs.len());
        let indices: Vec<usize> = (0..inputs.len()).collect();
        for chunk in indices.chunks(4096) {
            Self::load_inputs(&mut workspace, inputs, chunk)?;
            self.forward(&mut workspace);
            outputs.extend((0..chunk.len()).map(|sample| Self::read_output(&workspace, sample)));
        }
        Ok(outputs)
    }

    /// Computes the outputs of one input row.
    ///
    /// # Errors
    /// As [`NetworkExt::predict`].
    fn predict_one(&self, input: &Self::Input) -> Result<Self::Output> {
        let mut workspace = Self::Workspace::default();
        Self::load_inputs(&mut workspace, core::slice::from_ref(input), &[0])?;
        self.forward(&mut workspace);
        Ok(Self::read_output(&workspace, 0))
    }
}

impl<T: Real, M: Network<T>> NetworkExt<T> for M {}

/// A model compiled with its losses and optimizer. Made by [`NetworkExt::compile`].
pub struct Training<'m, T: Real, M: Network<T>, L, O> {
    model: &'m mut M,
    losses: L,
    optimizer: O,
    workspace: M::Workspace,
    targets: Vec<Vec<T>>,
    seeds: Vec<Vec<T>>,
    kinds: Vec<GradientOf>,
}

impl<'m, T: Real, M: Network<T>, L: LossSet<M::Heads>, O: Optimizer<T>> Training<'m, T, M, L, O> {
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
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
    }

    /// The model being trained, mutably.
    pub fn model_mut(&mut self) -> &mut M {
        self.model
    }

    /// The optimizer, for example to change its learning rate.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// Trains the model on `data`.
    ///
    /// Every input and target row is checked before the first step. Each epoch shuffles the
    /// training rows (unless turned off), takes one optimizer step per batch, and, when
    /// verbose, prints one line with the epoch's losses and metrics.
    ///
    /// # Errors
    /// An invalid option, an empty training set, a bad id or value in any row (named by row
    /// and field), or a loss or gradient that becomes NaN or infinite. In the last case the
    /// model keeps the weights it had before the batch that produced it.
    pub fn fit(&mut self, data: &Dataset<M::Input, M::Output>, options: &Fit) -> Result<History>
    where
        M::Input: Clone,
    {
        options.validate()?;
        self.optimizer.validate()?;
        let train_len = (data.len() as f64 * (1.0 - options.validation_split)).floor() as usize;
        if train_len == 0 {
            return Err(Error::EmptyData { what: "the training set (after the validation split)" });
        }
        let validation: Vec<usize> = (train_len..data.len()).collect();
        let mut order: Vec<usize> = (0..train_len).collect();
        self.check_rows(data, &(0..data.len()).collect::<Vec<_>>())?;

        let mut rng = StdRng::seed_from_u64(options.seed);
        let mut history = History::default();
        for epoch in 1..=options.epochs {
            let started = Instant::now();
            if options.shuffle {
                order.shuffle(&mut rng);
            }
            let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
            for (batch, indices) in order.chunks(options.batch_size).enumerate() {
                self.step(data, indices, &mut totals).map_err(|error| match error {
                    Error::NonFiniteLoss { value, .. } => Error::NonFiniteLoss { value, epoch, batch: batch + 1 },
                    Error::NonFiniteGradient { value, .. } => Error::NonFiniteGradient { value, epoch, batch: batch + 1 },
                    other => other,
                })?;
            }
            let train = totals.finish(M::OUTPUT_NAMES, &self.losses);
            let validation = if validation.is_empty() { None } else { Some(self.evaluate_rows(data, &validation)?) };
            let log = EpochLog { epoch, train, validation, seconds: started.elapsed().as_secs_f64() };
            if options.verbose {
                println!("{}", format_epoch(&log, options.epochs));
            }
            history.epochs.push(log);
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
        let rows: Vec<usize> = (0..data.len()).collect();
        self.evaluate_rows(data, &rows)
    }

    fn evaluate_rows(&mut self, data: &Dataset<M::Input, M::Output>, rows: &[usize]) -> Result<Evaluation> {
        let mut totals = ScoreTotals::new(M::OUTPUT_NAMES.len());
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

    fn step(&mut self, data: &Dataset<M::Input, M::Output>, indices: &[usize], totals: &mut ScoreTotals) -> Result<()> {
        M::load_inputs(&mut self.workspace, data.inputs(), indices)?;
        self.load_targets(data, indices)?;
        self.model.forward(&mut self.workspace);

        let mut total = 0.0;
        for k in 0..M::OUTPUT_NAMES.len() {
            let head = M::head(&self.workspace, k);
            self.seeds[k].resize(head.values.len(), T::zero());
            let (loss, kind) = self.losses.compute(k, &head, &self.targets[k], Some(&mut self.seeds[k]));
            self.kinds[k] = kind;
            total += self.losses.weight(k) * loss;
            let accuracy = self.losses.reports_accuracy(k)
                .then(|| metrics::accuracy(head.values, &self.targets[k], head.width));
            totals.add(k, loss, accuracy, indices.len());
        }
        // Checked before the update, so that a NaN never reaches the weights.
        if !total.is_finite() {
            return Err(Error::NonFiniteLoss { value: total, epoch: 0, batch: 0 });
        }

        self.model.zero_grads();
        self.model.backward(&mut self.workspace, &self.seeds, &self.kinds);
        // Checked before the update too: a finite loss can still overflow a gradient in f32.
        if let Some(value) = self.first_non_finite_gradient() {
            return Err(Error::NonFiniteGradient { value, epoch: 0, batch: 0 });
        }
        self.optimizer.begin_step();
        let optimizer = &mut self.optimizer;
        let mut slot = 0;
        self.model.visit_params(&mut |param| {
            if param.trainable {
                optimizer.update(slot, param.value, param.grad);
            }
            slot += 1;
        });
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

/// Sums of per-batch scores, weighted by batch size, for one pass over some rows.
struct ScoreTotals {
    rows: usize,
    losses: Vec<f64>,
    correct: Vec<Option<usize>>,
}

impl ScoreTotals {
    fn new(outputs: usize) -> Self {
        ScoreTotals { rows: 0, losses: vec![0.0; outputs], correct: vec![None; outputs] }
    }

    fn add(&mut self, k: usize, loss: f64, accuracy: Option<(usize, usize)>, rows: usize) {
        if k == 0 {
            self.rows += rows;
        }
        self.losses[k] += loss * rows as f64;
        if let Some((correct, _)) = accuracy {
            *self.correct[k].get_or_insert(0) += correct;
        }
    }

    fn finish<H, L: LossSet<H>>(&self, names: &'static [&'static str], losses: &L) -> Evaluation {
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
        Evaluation { loss: total, outputs }
    }
}

fn format_epoch(log: &EpochLog, epochs: usize) -> String {
    let mut line = format!("Epoch {}/{} - {:.2}s - loss: {:.4}", log.epoch, epochs, log.seconds, log.train.loss);
    append_scores(&mut line, "", &log.train);
    if let Some(validation) = &log.validation {
        line.push_str(&format!(" - val_loss: {:.4}", validation.loss));
        append_scores(&mut line, "val_", validation);
    }
    line
}

fn append_scores(line: &mut String, prefix: &str, evaluation: &Evaluation) {
    if evaluation.outputs.len() > 1 {
        for scores in &evaluation.outputs {
            line.push_str(&format!(" - {prefix}{}_{}: {:.4}", scores.name, scores.loss_name, scores.loss));
        }
    }
    for scores in &evaluation.outputs {
        if let Some(accuracy) = scores.accuracy {
            let name = if evaluation.outputs.len() > 1 { format!("{}_accuracy", scores.name) } else { "accuracy".to_owned() };
            line.push_str(&format!(" - {prefix}{name}: {accuracy:.4}"));
        }
    }
}
