//! Learning-rate schedules: callbacks that change the optimizer's learning rate between epochs.

use super::callback::{Callback, EpochEnd};
use super::early_stopping::{Monitor, check_min_delta};
use crate::Real;
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// A callback that multiplies the learning rate by `factor` every `every` epochs:
/// epoch `e` (1-based) trains with `initial × factor^⌊(e − 1) / every⌋`.
///
/// `initial` is the optimizer's learning rate when the schedule first runs. It is kept for
/// later `fit` calls, so each of them starts the schedule again from that rate.
#[derive(Clone, Debug)]
pub struct StepDecay {
    every: usize,
    factor: f64,
    initial: Option<f64>,
}

impl StepDecay {
    /// Creates a schedule that multiplies the learning rate by `factor` every `every` epochs.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `every` is 0 or `factor` is not in (0, 1].
    pub fn new(every: usize, factor: f64) -> Result<Self> {
        if every == 0 {
            return Err(Error::InvalidOption {
                option: "every",
                message: "0 epochs between decays; use at least 1".to_owned(),
            });
        }
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(Error::InvalidOption {
                option: "factor",
                message: format!("{factor} is outside (0, 1]; pass the multiplier of each decay, such as 0.5"),
            });
        }
        Ok(StepDecay { every, factor, initial: None })
    }

    /// Returns the learning rate of epoch `epoch` (1-based) for an initial rate `initial`.
    pub fn rate_at(&self, initial: f64, epoch: usize) -> f64 {
        let decays = epoch.saturating_sub(1) / self.every;
        initial * self.factor.powi(i32::try_from(decays).unwrap_or(i32::MAX))
    }
}

impl<T: Real, M> Callback<T, M> for StepDecay {
    fn on_epoch_begin(&mut self, epoch: usize, optimizer: &mut dyn Optimizer<T>) {
        let initial = *self.initial.get_or_insert_with(|| optimizer.learning_rate());
        optimizer.set_learning_rate(self.rate_at(initial, epoch));
    }
}

/// A callback that multiplies the learning rate by `factor` when the monitored loss has not
/// improved for `patience` epochs, as Keras's `ReduceLROnPlateau` does.
///
/// An epoch improves when its score is lower than the best so far by more than `min_delta`.
/// After a reduction at the end of epoch `r`, the epochs `r + 1` to `r + cooldown − 1` do not
/// count toward `patience`, as Keras counts its cooldown, and the rate never goes below
/// `min_lr`. A new rate takes effect from the next epoch. The state is reset at epoch 1, so
/// one value can serve several `fit` calls.
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: usize,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    /// The lowest score so far.
    best: f64,
    /// Epochs without improvement since the last improvement or reduction.
    wait: usize,
    /// Epochs left in the current cooldown.
    cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    /// Creates the callback on `monitor` with Keras's defaults: factor 0.1, patience 10,
    /// `min_delta` 1e-4, no cooldown, and a minimum rate of 0.
    pub fn new(monitor: Monitor) -> Self {
        ReduceLrOnPlateau {
            monitor,
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            best: f64::INFINITY,
            wait: 0,
            cooldown_left: 0,
        }
    }

    /// Sets the multiplier of each reduction.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `factor` is not in (0, 1). Keras also rejects 1 and more.
    pub fn factor(mut self, factor: f64) -> Result<Self> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(Error::InvalidOption {
                option: "factor",
                message: format!("{factor} is outside (0, 1); pass the multiplier of each reduction, such as 0.2"),
            });
        }
        self.factor = factor;
        Ok(self)
    }

    /// Sets the number of epochs without improvement after which the rate is reduced.
    #[must_use]
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// Sets the smallest decrease of the score that counts as an improvement.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `min_delta` is negative, NaN or infinite.
    pub fn min_delta(mut self, min_delta: f64) -> Result<Self> {
        check_min_delta(min_delta, self.monitor)?;
        self.min_delta = min_delta;
        Ok(self)
    }

    /// Sets the cooldown after a reduction: with `epochs` = c, the c − 1 epochs after the one
    /// that reduced the rate do not count toward `patience`. Default: 0.
    #[must_use]
    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }

    /// Sets the lowest learning rate a reduction may give.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `min_lr` is negative, NaN or infinite.
    pub fn min_lr(mut self, min_lr: f64) -> Result<Self> {
        if !(min_lr.is_finite() && min_lr >= 0.0) {
            return Err(Error::InvalidOption {
                option: "min_lr",
                message: format!("{min_lr} is not a finite learning rate of at least 0"),
            });
        }
        self.min_lr = min_lr;
        Ok(self)
    }
}

impl<T: Real, M> Callback<T, M> for ReduceLrOnPlateau {
    fn on_epoch_begin(&mut self, epoch: usize, _optimizer: &mut dyn Optimizer<T>) {
        if epoch == 1 {
            self.best = f64::INFINITY;
            self.wait = 0;
            self.cooldown_left = 0;
        }
    }

    fn on_epoch_end(&mut self, end: &mut EpochEnd<'_, T, M>) -> Result<()> {
        let score = self.monitor.value(end.log)?;
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }

        if score < self.best - self.min_delta {
            self.best = score;
            self.wait = 0;
            return Ok(());
        }
        if self.cooldown_left > 0 {
            return Ok(());
        }

        self.wait += 1;
        let rate = end.optimizer.learning_rate();
        if self.wait >= self.patience && rate > self.min_lr {
            end.optimizer.set_learning_rate((rate * self.factor).max(self.min_lr));
            self.cooldown_left = self.cooldown;
            self.wait = 0;
        }
        Ok(())
    }
}
