//! Callbacks: code that `fit` runs at the start and end of each epoch and after each batch.

use super::logs::{EpochLog, History};
use crate::Real;
use crate::error::Result;
use crate::optim::Optimizer;

/// The state of training after one batch, for progress displays.
#[derive(Clone, Copy, Debug)]
pub struct BatchEnd {
    /// The 1-based epoch.
    pub epoch: usize,
    /// The number of epochs `fit` runs.
    pub epochs: usize,
    /// The 1-based batch within the epoch.
    pub batch: usize,
    /// The number of batches per epoch.
    pub batches: usize,
    /// The mean total loss over the epoch's batches so far.
    pub loss: f64,
}

/// What a callback can read and change at the end of an epoch.
pub struct EpochEnd<'a, T: Real, M> {
    /// The epoch's scores.
    pub log: &'a EpochLog,
    /// The model being trained.
    pub model: &'a mut M,
    /// The optimizer, for example to change its learning rate.
    pub optimizer: &'a mut dyn Optimizer<T>,
    pub(crate) stop: bool,
}

impl<T: Real, M> EpochEnd<'_, T, M> {
    /// Stops `fit` after this epoch.
    pub fn stop_training(&mut self) {
        self.stop = true;
    }
}

/// Code that `fit` runs during training, as Keras's callbacks do: early stopping, learning-rate
/// schedules, checkpoints, progress displays.
///
/// Every method does nothing by default.
pub trait Callback<T: Real, M> {
    /// Runs before the first batch of epoch `epoch` (1-based).
    fn on_epoch_begin(&mut self, epoch: usize, optimizer: &mut dyn Optimizer<T>) {
        let _ = (epoch, optimizer);
    }

    /// Runs after each optimizer step.
    fn on_batch_end(&mut self, progress: &BatchEnd) {
        let _ = progress;
    }

    /// Runs after each epoch, once its validation scores are known.
    ///
    /// # Errors
    /// An error stops `fit` and is returned by it.
    fn on_epoch_end(&mut self, end: &mut EpochEnd<'_, T, M>) -> Result<()> {
        let _ = end;
        Ok(())
    }

    /// Runs once after the last epoch, or after a callback stopped training.
    ///
    /// # Errors
    /// An error is returned by `fit`.
    fn on_train_end(&mut self, model: &mut M, history: &History) -> Result<()> {
        let _ = (model, history);
        Ok(())
    }
}
