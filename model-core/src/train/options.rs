//! The options of `fit`.

use rand::{RngCore, SeedableRng};
use rand::rngs::StdRng;

use crate::error::{Error, Result};

/// Options of [`Training::fit`](super::Training::fit), built like Keras's `fit` arguments.
#[derive(Clone, Debug)]
pub struct Fit {
    pub(crate) epochs: usize,
    pub(crate) batch_size: usize,
    pub(crate) validation_split: f64,
    pub(crate) shuffle: bool,
    pub(crate) seed: u64,
    pub(crate) initial_epoch: usize,
    pub(crate) verbosity: Verbosity,
}

/// The progress output of [`Training::fit`](super::Training::fit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verbosity {
    /// Prints nothing.
    Silent,
    /// Draws a progress bar for each epoch when standard output is a terminal, and prints one
    /// line per epoch when it is not, for example when the output goes to a file or a CI log.
    /// The bar shows the steps taken, the elapsed time, the estimated time left and the
    /// running losses. At the end of the epoch, that epoch's line replaces it.
    #[default]
    Auto,
    /// Prints one line per epoch with its losses and metrics, even on a terminal.
    OneLinePerEpoch,
}

impl Fit {
    /// Trains for `epochs` epochs with Keras's other defaults: batch size 32, no validation
    /// split, shuffling every epoch, and progress output as [`Verbosity::Auto`] describes.
    pub fn epochs(epochs: usize) -> Self {
        Fit { epochs, batch_size: 32, validation_split: 0.0, shuffle: true, seed: 0, initial_epoch: 0, verbosity: Verbosity::Auto }
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

    /// Starts at epoch `initial_epoch + 1`, as Keras's `initial_epoch` does, so that `fit`
    /// runs the epochs `initial_epoch + 1` to `epochs`. Used to resume from a checkpoint
    /// saved after `initial_epoch` epochs. Default: 0.
    pub fn initial_epoch(mut self, initial_epoch: usize) -> Self {
        self.initial_epoch = initial_epoch;
        self
    }

    /// Turns the progress output on ([`Verbosity::Auto`], the default) or off
    /// ([`Verbosity::Silent`]).
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbosity = if verbose { Verbosity::Auto } else { Verbosity::Silent };
        self
    }

    /// Sets what `fit` prints while it trains.
    pub fn verbosity(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
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
        if self.initial_epoch > self.epochs {
            return Err(Error::InvalidOption {
                option: "initial_epoch",
                message: format!(
                    "{} is after the last epoch, {}; pass at most the number of epochs",
                    self.initial_epoch, self.epochs
                ),
            });
        }
        Ok(())
    }

    /// Returns the random number generator that shuffles epoch `epoch` (1-based).
    ///
    /// It depends on the seed and the epoch alone, so that a run resumed at any epoch
    /// shuffles exactly as an uninterrupted run does.
    pub(crate) fn shuffle_rng(&self, epoch: usize) -> StdRng {
        self.epoch_rng(epoch, SHUFFLE_STREAM)
    }

    /// Returns the seed of the dropout masks of epoch `epoch` (1-based), which depends on the
    /// seed and the epoch alone, as [`Fit::shuffle_rng`] does.
    pub(crate) fn dropout_seed(&self, epoch: usize) -> u64 {
        self.epoch_rng(epoch, DROPOUT_STREAM).next_u64()
    }

    /// Returns a generator keyed by the seed, the epoch and `stream`, so that the streams of
    /// one epoch are independent of each other and of every other epoch's.
    fn epoch_rng(&self, epoch: usize, stream: u64) -> StdRng {
        let mut key = [0; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&(epoch as u64).to_le_bytes());
        key[16..24].copy_from_slice(&stream.to_le_bytes());
        StdRng::from_seed(key)
    }
}

/// The random number stream of [`Fit::shuffle_rng`].
const SHUFFLE_STREAM: u64 = 0;
/// The random number stream of [`Fit::dropout_seed`].
const DROPOUT_STREAM: u64 = 1;

