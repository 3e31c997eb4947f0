//! Checkpoints: the weights, the optimizer's state and the epoch in one safetensors file, so
//! that training stopped after any epoch resumes exactly where it was.
//!
//! # File contents
//!
//! - The weights, named and laid out as in a weights file (see [`crate::io`]), so numpy reads
//!   them from a checkpoint in the same way.
//! - The optimizer's per-tensor buffers, named `optimizer/<weight>/<buffer>`: `m` and `v` for
//!   Adam's moments, `velocity` for SGD with momentum, each with its weight's shape and dtype.
//!   A weight the optimizer has not updated yet (a frozen one, or any before the first step)
//!   has none.
//! - In the header's `__metadata__`, all as strings: `format` = `keramic-checkpoint`,
//!   `format_version` = `1`, `model` (the model's name), `epoch` (the number of epochs
//!   completed), `optimizer` (`adam` or `sgd`), `optimizer.step` (Adam's step count) and one
//!   `optimizer.<hyperparameter>` per hyperparameter, such as `optimizer.learning_rate`,
//!   written with enough digits to read back the same `f64`.
//!
//! # Resuming
//!
//! [`Training::load_checkpoint`] restores the weights and the optimizer (its hyperparameters,
//! the learning rate included, its step count and its buffers) and returns the epoch. Passing
//! that epoch to [`Fit::initial_epoch`](super::Fit::initial_epoch) runs the remaining epochs.
//! `fit` shuffles each epoch from the seed and the epoch number alone. A resumed run therefore
//! ends with the same weights, bit for bit, as a run that was never interrupted, provided that
//! the data, the options and the seed are the same.
//!
//! Loading checks the whole file first, so on any error the model and the optimizer keep
//! their state. Callbacks keep their own state, such as a patience counter, outside the
//! checkpoint, so they start afresh in a resumed run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Callback, EpochEnd, LossTuple, Training};
use crate::Real;
use crate::error::{Error, Result};
use crate::io::{self, EncodedTensor, ExpectedTensor, OpenFile, TensorFile};
use crate::network::Network;
use crate::optim::{Optimizer, OptimizerState};

/// The value of `format` in the metadata of a checkpoint.
const CHECKPOINT_FORMAT: &str = "keramic-checkpoint";
/// The version of the checkpoint layout this module writes and reads.
const FORMAT_VERSION: &str = "1";
/// The prefix of the names of the optimizer's tensors, which no weight path can start with
/// because weight paths contain no `/`.
const OPTIMIZER_PREFIX: &str = "optimizer/";
/// The metadata key of the optimizer's kind. Its hyperparameters and step count are under
/// `optimizer.<name>`.
const OPTIMIZER_KEY: &str = "optimizer";
const STEP_KEY: &str = "step";

/// Encodes the weights of `model`, the state of `optimizer` and the number of completed
/// epochs `epoch` as the bytes of a checkpoint file.
///
/// # Errors
/// [`Error::CheckpointUnsupported`] for an optimizer that cannot export its state,
/// [`Error::CheckpointMismatch`] when the optimizer has state for a slot the model lacks,
/// and the errors of [`crate::io::SaveWeights::to_bytes`].
pub fn checkpoint_to_bytes<T: Real, M: Network<T>>(
    model: &M,
    optimizer: &(impl Optimizer<T> + ?Sized),
    epoch: usize,
) -> Result<Vec<u8>> {
    let weights = io::weight_tensors(model, None)?;
    let state = optimizer.export_state()?;

    let mut tensors = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        tensors.push(EncodedTensor { name: name.to_owned(), shape: param.shape.dims().to_vec(), bytes: io::encode(param.value) });
    });
    for (slot, buffers) in &state.slots {
        let Some(weight) = weights.get(*slot) else {
            return Err(Error::CheckpointMismatch {
                path: None,
                message: format!("the optimizer has state for slot {slot}, but the model has {} weight tensors", weights.len()),
            });
        };
        for (buffer, values) in buffers {
            tensors.push(EncodedTensor {
                name: optimizer_tensor_name(&weight.name, buffer),
                shape: weight.shape.clone(),
                bytes: io::encode(values),
            });
        }
    }

    let mut metadata = BTreeMap::from([
        ("format".to_owned(), CHECKPOINT_FORMAT.to_owned()),
        ("format_version".to_owned(), FORMAT_VERSION.to_owned()),
        ("model".to_owned(), M::NAME.to_owned()),
        ("epoch".to_owned(), epoch.to_string()),
        (OPTIMIZER_KEY.to_owned(), state.kind.clone()),
        (optimizer_key(STEP_KEY), state.step.to_string()),
    ]);
    for (name, value) in &state.hyperparameters {
        // `Display` of f64 writes the shortest digits that parse back to the same value.
        metadata.insert(optimizer_key(name), value.to_string());
    }
    io::serialize::<T>(tensors, metadata, "the checkpoint")
}

/// Restores the weights of `model` and the state of `optimizer` from the bytes of a
/// checkpoint file, and returns the number of epochs completed when it was saved.
///
/// # Errors
/// [`Error::InvalidSafetensors`] for bytes that are not a valid safetensors file,
/// [`Error::TensorMismatch`] for a tensor that does not fit the model, and
/// [`Error::CheckpointMismatch`] for missing or invalid metadata or an optimizer state of
/// another kind. On error the model and the optimizer are unchanged.
pub fn checkpoint_from_bytes<T: Real, M: Network<T>>(
    bytes: &[u8],
    model: &mut M,
    optimizer: &mut (impl Optimizer<T> + ?Sized),
) -> Result<usize> {
    let weights = io::weight_tensors(model, None)?;
    let file = TensorFile::parse(bytes, None)?;
    let plan = Restore::check::<T>(file.header(), &weights, None)?;
    plan.apply(&file, &weights, model, optimizer, None)
}

/// Writes a checkpoint of `model`, `optimizer` and the number of completed epochs `epoch` to
/// `path`, atomically as [`crate::io::SaveWeights::save`] does.
///
/// # Errors
/// [`Error::Write`] when the file cannot be written, and the errors of
/// [`checkpoint_to_bytes`]. On error an existing file at `path` is unchanged.
pub fn save_checkpoint<T: Real, M: Network<T>>(
    path: impl AsRef<Path>,
    model: &M,
    optimizer: &(impl Optimizer<T> + ?Sized),
    epoch: usize,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = checkpoint_to_bytes(model, optimizer, epoch).map_err(|error| with_path(error, path))?;
    io::write_atomically(path, &bytes)
}

/// Restores `model` and `optimizer` from the checkpoint file `path`, and returns the number
/// of epochs completed when it was saved.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, and the errors of [`checkpoint_from_bytes`].
/// On error the model and the optimizer are unchanged.
pub fn load_checkpoint<T: Real, M: Network<T>>(
    path: impl AsRef<Path>,
    model: &mut M,
    optimizer: &mut (impl Optimizer<T> + ?Sized),
) -> Result<usize> {
    let path = path.as_ref();
    let weights = io::weight_tensors(model, Some(path))?;
    let file = OpenFile::open(path)?;
    let plan = Restore::check::<T>(file.header(), &weights, Some(path))?;
    let file = file.read_data()?;
    plan.apply(&file, &weights, model, optimizer, Some(path))
}

impl<T: Real, M: Network<T>, L: LossTuple, O: Optimizer<T>> Training<'_, T, M, L, O> {
    /// Writes a checkpoint of the model and the optimizer after `epoch` completed epochs to
    /// `path`, as [`save_checkpoint`] does.
    ///
    /// # Errors
    /// As [`save_checkpoint`].
    pub fn save_checkpoint(&self, path: impl AsRef<Path>, epoch: usize) -> Result<()> {
        save_checkpoint(path, &*self.model, &self.optimizer, epoch)
    }

    /// Restores the model and the optimizer from the checkpoint `path` and returns its epoch,
    /// to pass to [`Fit::initial_epoch`](super::Fit::initial_epoch).
    ///
    /// # Errors
    /// As [`load_checkpoint`]. On error the model and the optimizer are unchanged.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        load_checkpoint(path, &mut *self.model, &mut self.optimizer)
    }
}

/// The epoch and the optimizer's metadata from a checked checkpoint header.
struct Restore {
    epoch: usize,
    kind: String,
    step: u64,
    hyperparameters: BTreeMap<String, f64>,
}

impl Restore {
    /// Checks a checkpoint header against the model's `weights`: the metadata, and the name,
    /// shape and dtype of every tensor.
    fn check<T: Real>(header: &safetensors::tensor::Metadata, weights: &[ExpectedTensor], path: Option<&Path>) -> Result<Self> {
        let fail = |message: String| Error::CheckpointMismatch { path: path.map(Path::to_path_buf), message };
        let value = |key: &str| {
            io::metadata_value(header, key).ok_or_else(|| fail(format!("its metadata lacks `{key}`")))
        };

        let format = value("format")?;
        if format != CHECKPOINT_FORMAT {
            return Err(fail(format!("its format is `{format}`, not `{CHECKPOINT_FORMAT}`; load a weights file with `load`")));
        }
        let version = value("format_version")?;
        if version != FORMAT_VERSION {
            return Err(fail(format!("its format version is `{version}`, but this keramic reads version {FORMAT_VERSION}")));
        }
        let epoch = value("epoch")?;
        let epoch = epoch.parse().map_err(|_| fail(format!("its epoch `{epoch}` is not a non-negative integer")))?;
        let kind = value(OPTIMIZER_KEY)?.to_owned();
        let step_key = optimizer_key(STEP_KEY);
        let step = value(&step_key)?;
        let step = step.parse().map_err(|_| fail(format!("its `{step_key}` value `{step}` is not a non-negative integer")))?;

        let mut hyperparameters = BTreeMap::new();
        if let Some(metadata) = header.metadata() {
            for (key, text) in metadata {
                let Some(name) = key.strip_prefix(OPTIMIZER_KEY).and_then(|rest| rest.strip_prefix('.')) else {
                    continue;
                };
                if name == STEP_KEY {
                    continue;
                }
                let value = text.parse().map_err(|_| fail(format!("its `{key}` value `{text}` is not a number")))?;
                hyperparameters.insert(name.to_owned(), value);
            }
        }

        // The optimizer's tensors are expected with the shape of the weight they belong to.
        // One whose weight does not exist stays unexpected, and `check_tensors` reports it.
        let mut expected = weights.to_vec();
        for name in header.tensors().into_keys() {
            let Some((weight, _buffer)) = split_optimizer_tensor_name(&name) else { continue };
            if let Some(weight) = weights.iter().find(|tensor| tensor.name == weight) {
                expected.push(ExpectedTensor { name: name.clone(), shape: weight.shape.clone() });
            }
        }
        io::check_tensors::<T>(header, &expected, path)?;
        Ok(Restore { epoch, kind, step, hyperparameters })
    }

    /// Imports the optimizer's state from `file`, then copies the weights, and returns the
    /// epoch. [`Optimizer::import_state`] checks the whole state before changing anything (as
    /// its contract requires, and as `Sgd` and `Adam` do), and copying the checked weights
    /// cannot fail, so an error leaves both unchanged.
    fn apply<T: Real, M: Network<T>>(
        self,
        file: &TensorFile<'_>,
        weights: &[ExpectedTensor],
        model: &mut M,
        optimizer: &mut (impl Optimizer<T> + ?Sized),
        path: Option<&Path>,
    ) -> Result<usize> {
        let mut slots: BTreeMap<usize, BTreeMap<String, Vec<T>>> = BTreeMap::new();
        for name in file.header().tensors().into_keys() {
            let Some((weight, buffer)) = split_optimizer_tensor_name(&name) else { continue };
            let (Some(slot), Some(bytes)) =
                (weights.iter().position(|tensor| tensor.name == weight), file.tensor_bytes(&name))
            else {
                continue;
            };
            slots.entry(slot).or_default().insert(buffer.to_owned(), io::decode(bytes));
        }
        let state = OptimizerState { kind: self.kind, hyperparameters: self.hyperparameters, step: self.step, slots };
        optimizer.import_state(state).map_err(|error| match path {
            Some(path) => with_path(error, path),
            None => error,
        })?;
        io::write_weights(model, file);
        Ok(self.epoch)
    }
}

/// Names an optimizer buffer of a weight in a checkpoint: `optimizer/<weight>/<buffer>`.
fn optimizer_tensor_name(weight: &str, buffer: &str) -> String {
    format!("{OPTIMIZER_PREFIX}{weight}/{buffer}")
}

/// Splits `optimizer/<weight>/<buffer>` into the weight and the buffer name.
fn split_optimizer_tensor_name(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(OPTIMIZER_PREFIX)?.rsplit_once('/')
}

fn optimizer_key(name: &str) -> String {
    format!("{OPTIMIZER_KEY}.{name}")
}

/// Adds `path` to an error about checkpoint data that was read or encoded without one.
fn with_path(error: Error, path: &Path) -> Error {
    let path = Some(path.to_path_buf());
    match error {
        Error::CheckpointMismatch { path: None, message } => Error::CheckpointMismatch { path, message },
        Error::TensorMismatch { path: None, mismatch } => Error::TensorMismatch { path, mismatch },
        other => other,
    }
}

/// A callback that saves a checkpoint at the end of every epoch and deletes all but the
/// newest `keep_last`.
///
/// Checkpoints go to `<folder>/checkpoint-<epoch>.safetensors`, with the epoch padded to six
/// digits. After each save, the files of that pattern in the folder beyond the newest
/// `keep_last` (by epoch number) are deleted, including those of earlier runs.
///
/// ```no_run
/// # use model_core::train::{ModelCheckpoint, Fit, Training};
/// # fn resume<T: model_core::Real, M: model_core::network::Network<T>, L: model_core::train::LossSet<M>, O: model_core::optim::Optimizer<T>>(
/// #     training: &mut Training<'_, T, M, L, O>, data: &model_core::data::Dataset<M::Input, M::Output>,
/// # ) -> Result<(), model_core::Error> {
/// let mut checkpoints = ModelCheckpoint::new("checkpoints", 3);
/// let done = match checkpoints.latest()? {
///     Some(path) => training.load_checkpoint(path)?,
///     None => 0,
/// };
/// let options = Fit::epochs(20).seed(7).initial_epoch(done);
/// training.fit_with_callbacks(data, &options, &mut [&mut checkpoints])?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    folder: PathBuf,
    keep_last: usize,
}

/// The file name of the checkpoint after `epoch` epochs is `PREFIX`, the epoch, `SUFFIX`.
const FILE_PREFIX: &str = "checkpoint-";
const FILE_SUFFIX: &str = ".safetensors";

impl ModelCheckpoint {
    /// Saves into `folder`, created when missing, and keeps the newest `keep_last`
    /// checkpoints. A `keep_last` of 0 makes the first save fail with
    /// [`Error::InvalidOption`].
    pub fn new(folder: impl Into<PathBuf>, keep_last: usize) -> Self {
        ModelCheckpoint { folder: folder.into(), keep_last }
    }

    /// Returns the path of the checkpoint after `epoch` completed epochs.
    pub fn path(&self, epoch: usize) -> PathBuf {
        self.folder.join(format!("{FILE_PREFIX}{epoch:06}{FILE_SUFFIX}"))
    }

    /// Lists the checkpoints in the folder with their epochs, oldest first. A missing folder
    /// has none.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder exists but cannot be listed.
    pub fn list(&self) -> Result<Vec<(usize, PathBuf)>> {
        let read_error = |source| Error::Io { path: self.folder.clone(), source };
        let entries = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(read_error(error)),
        };
        let mut checkpoints = Vec::new();
        for entry in entries {
            let entry = entry.map_err(read_error)?;
            if let Some(epoch) = entry.file_name().to_str().and_then(parse_epoch) {
                checkpoints.push((epoch, entry.path()));
            }
        }
        checkpoints.sort();
        Ok(checkpoints)
    }

    /// Returns the checkpoint with the highest epoch, if any.
    ///
    /// # Errors
    /// As [`ModelCheckpoint::list`].
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        Ok(self.list()?.pop().map(|(_, path)| path))
    }

    fn prune(&self) -> Result<()> {
        // NOTE: files are ranked by epoch, so after resuming from an earlier epoch, the
        // checkpoints of later epochs left by the first run count as the newest and are kept.
        let checkpoints = self.list()?;
        let excess = checkpoints.len().saturating_sub(self.keep_last);
        for (_, path) in &checkpoints[..excess] {
            std::fs::remove_file(path).map_err(|source| Error::Write { path: path.clone(), source })?;
        }
        Ok(())
    }
}

/// Returns the epoch of a checkpoint file name such as `checkpoint-000012.safetensors`.
fn parse_epoch(file_name: &str) -> Option<usize> {
    let digits = file_name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl<T: Real, M: Network<T>> Callback<T, M> for ModelCheckpoint {
    fn on_epoch_end(&mut self, end: &mut EpochEnd<'_, T, M>) -> Result<()> {
        if self.keep_last == 0 {
            return Err(Error::InvalidOption {
                option: "keep_last",
                message: "0 checkpoints kept would delete every checkpoint; keep at least 1".to_owned(),
            });
        }
        std::fs::create_dir_all(&self.folder).map_err(|source| Error::Write { path: self.folder.clone(), source })?;
        save_checkpoint(self.path(end.log.epoch), &*end.model, &*end.optimizer, end.log.epoch)?;
        self.prune()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_parsed_from_file_names() {
        assert_eq!(parse_epoch("checkpoint-000012.safetensors"), Some(12));
        assert_eq!(parse_epoch("checkpoint-1234567.safetensors"), Some(1_234_567));
        assert_eq!(parse_epoch("checkpoint-.safetensors"), None);
        assert_eq!(parse_epoch("checkpoint-+12.safetensors"), None);
        assert_eq!(parse_epoch(".checkpoint-000012.safetensors.x1y2.tmp"), None);
        assert_eq!(parse_epoch("model.safetensors"), None);
    }

    #[test]
    fn optimizer_tensor_names_split() {
        let name = optimizer_tensor_name("strength.strength.embeddings", "m");
        assert_eq!(name, "optimizer/strength.strength.embeddings/m");
        assert_eq!(split_optimizer_tensor_name(&name), Some(("strength.strength.embeddings", "m")));
        assert_eq!(split_optimizer_tensor_name("score_diff.kernel"), None);
    }
}
