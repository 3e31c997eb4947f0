//! What training and evaluation measure: scores per output, per epoch, and the history.

use super::losses::LossSet;

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
    pub(crate) fn mean_total<H, L: LossSet<H>>(&self, losses: &L) -> f64 {
        let rows = self.rows.max(1) as f64;
        self.losses.iter().enumerate().map(|(k, &sum)| losses.weight(k) * sum / rows).sum()
    }

    pub(crate) fn finish<H, L: LossSet<H>>(&self, names: &'static [&'static str], losses: &L) -> Evaluation {
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

pub(crate) fn format_epoch(log: &EpochLog, epochs: usize) -> String {
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
