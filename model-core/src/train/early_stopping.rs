//! Early stopping: ending `fit` when a monitored loss stops improving.

use super::callback::{Callback, EpochEnd};
use super::logs::{EpochLog, History};
use crate::Real;
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// The score that [`EarlyStopping`] and [`ReduceLrOnPlateau`](super::ReduceLrOnPlateau)
/// watch, as Keras's `monitor` argument names it. Lower is better for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// The epoch's total training loss, Keras's `loss`.
    Loss,
    /// The epoch's total validation loss, Keras's `val_loss`. `fit` needs a validation split,
    /// and `fit_stream` a validation source, to compute it.
    ValLoss,
}

impl Monitor {
    /// Returns the score's name as Keras logs it: `loss` or `val_loss`.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::ValLoss => "val_loss",
        }
    }

    /// Reads the score from an epoch's log.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for [`Monitor::ValLoss`] when the epoch has no validation
    /// scores.
    pub fn value(self, log: &EpochLog) -> Result<f64> {
        match self {
            Monitor::Loss => Ok(log.train.loss),
            Monitor::ValLoss => log.validation.as_ref().map(|validation| validation.loss).ok_or_else(|| {
                Error::InvalidOption {
                    option: "monitor",
                    message: "val_loss needs validation rows, but this fit has none; set \
                              validation_split (or pass a validation source to fit_stream), or \
                              monitor loss"
                        .to_owned(),
                }
            }),
        }
    }
}

/// Checks that `min_delta` is a finite value of at least 0.
pub(super) fn check_min_delta(min_delta: f64, monitor: Monitor) -> Result<()> {
    if min_delta.is_finite() && min_delta >= 0.0 {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option: "min_delta",
        message: format!(
            "{min_delta} is not a finite value of at least 0; pass the smallest decrease of {} \
             that counts as an improvement, such as 1e-4",
            monitor.name()
        ),
    })
}

/// A callback that stops `fit` when the monitored loss has not improved for `patience`
/// epochs, as Keras's `EarlyStopping` does, and that can restore the best weights.
///
/// An epoch improves when its score is lower than the best score so far by more than
/// `min_delta`. Each epoch without improvement counts one toward `patience`, and the epoch
/// that reaches it is the last one. With `restore_best_weights`, the callback keeps a copy of
/// the model from the best epoch and puts it back when training ends, whether it stopped
/// early or ran all its epochs. This is why `M` must implement `Clone`, as every model made
/// by `model!` does.
///
/// The state is reset at epoch 1, so one value can serve several `fit` calls.
///
/// ```
/// use model_core::train::{EarlyStopping, Monitor};
///
/// # fn main() -> Result<(), model_core::Error> {
/// # #[derive(Clone)] struct MyModel;
/// let stopping = EarlyStopping::<MyModel>::new(Monitor::ValLoss)
///     .patience(3)
///     .min_delta(1e-4)?
///     .restore_best_weights(true);
/// # let _ = stopping;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EarlyStopping<M> {
    monitor: Monitor,
    patience: usize,
    min_delta: f64,
    restore_best_weights: bool,
    /// The lowest score so far.
    best: f64,
    best_epoch: Option<usize>,
    /// A copy of the model at the end of `best_epoch`, kept with `restore_best_weights`.
    best_model: Option<M>,
    /// Epochs since the last improvement.
    wait: usize,
    stopped_epoch: Option<usize>,
}

impl<M> EarlyStopping<M> {
    /// Creates early stopping on `monitor` with Keras's defaults: a patience of 0, a
    /// `min_delta` of 0, and no restoring of weights.
    pub fn new(monitor: Monitor) -> Self {
        EarlyStopping {
            monitor,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            best: f64::INFINITY,
            best_epoch: None,
            best_model: None,
            wait: 0,
            stopped_epoch: None,
        }
    }

    /// Sets the number of epochs without improvement after which training stops. With 0,
    /// the first epoch that does not improve is the last.
    #[must_use]
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// Sets the smallest decrease of the score that counts as an improvement.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `min_delta` is negative, NaN or infinite. Keras takes the
    /// absolute value of a negative `min_delta` instead.
    pub fn min_delta(mut self, min_delta: f64) -> Result<Self> {
        check_min_delta(min_delta, self.monitor)?;
        self.min_delta = min_delta;
        Ok(self)
    }

    /// Turns on or off putting back the weights of the best epoch when training ends.
    #[must_use]
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// Returns the lowest score seen, or `None` before the first epoch.
    pub fn best(&self) -> Option<f64> {
        self.best_epoch.map(|_| self.best)
    }

    /// Returns the 1-based epoch with the lowest score, or `None` before the first epoch.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// Returns the 1-based epoch after which this callback stopped training, or `None` when
    /// it did not stop it.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    fn reset(&mut self) {
        self.best = f64::INFINITY;
        self.best_epoch = None;
        self.best_model = None;
        self.wait = 0;
        self.stopped_epoch = None;
    }
}

impl<T: Real, M: Clone> Callback<T, M> for EarlyStopping<M> {
    fn on_epoch_begin(&mut self, epoch: usize, _optimizer: &mut dyn Optimizer<T>) {
        if epoch == 1 {
            self.reset();
        }
    }

    fn on_epoch_end(&mut self, end: &mut EpochEnd<'_, T, M>) -> Result<()> {
        let score = self.monitor.value(end.log)?;
        let epoch = end.log.epoch;

        self.wait += 1;
        if score < self.best - self.min_delta {
            self.best = score;
            self.best_epoch = Some(epoch);
            self.wait = 0;
            if self.restore_best_weights {
                match &mut self.best_model {
                    Some(best) => best.clone_from(end.model),
                    None => self.best_model = Some(end.model.clone()),
                }
            }
            return Ok(());
        }

        if self.wait >= self.patience {
            self.stopped_epoch = Some(epoch);
            end.stop_training();
        }
        Ok(())
    }

    fn on_train_end(&mut self, model: &mut M, _history: &History) -> Result<()> {
        if let Some(best) = self.best_model.take() {
            *model = best;
        }
        Ok(())
    }
}
