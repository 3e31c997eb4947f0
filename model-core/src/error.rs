//! The error type of every fallible operation in keramic.

use std::path::PathBuf;

/// An error from loading data, training, evaluating or predicting.
///
/// Each variant names the value that is wrong and where it was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A CSV record could not be read into a row.
    #[error("`{path}`, line {line}, column `{column}`: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the record, counting the header.
        line: u64,
        /// The column's header name, or its 1-based position when the file has no such header.
        column: String,
        /// What is wrong with the field.
        message: String,
    },

    /// A CSV file has a header row but no records, so it yields no rows for a data set.
    #[error("`{path}` has a header row but no records; add at least one row below the header")]
    EmptyCsv {
        /// The file.
        path: PathBuf,
    },

    /// An integer id is outside the vocabulary of the input it is fed to.
    #[error(
        "input `{input}`, row {row}: id {id} is outside the vocabulary 0..{vocabulary}; \
         map ids to 0..{vocabulary} or declare a larger vocabulary"
    )]
    IdOutOfRange {
        /// The model input.
        input: &'static str,
        /// The 0-based row of the data set.
        row: usize,
        /// The offending id.
        id: u64,
        /// The input's vocabulary size.
        vocabulary: usize,
    },

    /// A float input or target is NaN or infinite.
    #[error("{field} `{name}`, row {row}: value {value} is not finite; clean or drop this row")]
    NonFiniteValue {
        /// `input` or `target`.
        field: &'static str,
        /// The input or output name.
        name: &'static str,
        /// The 0-based row of the data set.
        row: usize,
        /// The offending value.
        value: f64,
    },

    /// A data set has no rows where rows are needed.
    #[error("{what} has no rows")]
    EmptyData {
        /// Which data set is empty.
        what: &'static str,
    },

    /// Inputs and targets have different row counts.
    #[error("the data set has {inputs} input rows but {targets} target rows")]
    RowCountMismatch {
        /// Number of input rows.
        inputs: usize,
        /// Number of target rows.
        targets: usize,
    },

    /// A training option is outside its valid range.
    #[error("invalid {option}: {message}")]
    InvalidOption {
        /// The option, for example `validation_split`.
        option: &'static str,
        /// What is wrong and what values are accepted.
        message: String,
    },

    /// An optimizer step made a weight NaN or infinite although the loss and the gradients were
    /// finite, for example with an enormous learning rate. The step was undone.
    #[error(
        "the optimizer step made weight `{name}` {value} at epoch {epoch}, batch {batch}; the model \
         keeps the weights from before this batch. Lower the learning rate"
    )]
    NonFiniteWeight {
        /// The weight tensor's path, for example `score_diff.kernel`.
        name: String,
        /// The first non-finite value.
        value: f64,
        /// The 1-based epoch.
        epoch: usize,
        /// The 1-based batch within the epoch.
        batch: usize,
    },

    /// The training loss became NaN or infinite.
    #[error(
        "the loss became {value} at epoch {epoch}, batch {batch}; the model keeps the weights \
         from before this batch. Lower the learning rate or check the data for extreme values"
    )]
    NonFiniteLoss {
        /// The loss value.
        value: f64,
        /// The 1-based epoch.
        epoch: usize,
        /// The 1-based batch within the epoch.
        batch: usize,
    },

    /// A weight gradient became NaN or infinite, so the optimizer step was not taken.
    #[error(
        "a gradient became {value} at epoch {epoch}, batch {batch}; the model keeps the weights \
         from before this batch. Lower the learning rate, or scale inputs and targets to smaller values"
    )]
    NonFiniteGradient {
        /// The first non-finite gradient value.
        value: f64,
        /// The 1-based epoch.
        epoch: usize,
        /// The 1-based batch within the epoch.
        batch: usize,
    },

    /// A file could not be created, written or renamed into place.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// Weights or a checkpoint could not be encoded as safetensors, for example because the
    /// header would exceed the 100 MB limit of the format's reference implementation.
    #[error("cannot encode {what} as safetensors: {message}")]
    Encode {
        /// What was encoded: `the weights` or `the checkpoint`.
        what: &'static str,
        /// The encoder's error.
        message: String,
    },

    /// Bytes that should be a safetensors file are truncated, corrupted or not safetensors at all.
    #[error("{} is not a valid safetensors file: {message}", describe_origin(.path))]
    InvalidSafetensors {
        /// The file, or `None` for bytes given in memory.
        path: Option<PathBuf>,
        /// What is wrong, for example a header length larger than the file.
        message: String,
    },

    /// A tensor of a weights or checkpoint file does not match the model. Nothing was loaded.
    #[error("{} does not match the model: {mismatch}; the model is unchanged", describe_origin(.path))]
    TensorMismatch {
        /// The file, or `None` for bytes given in memory.
        path: Option<PathBuf>,
        /// The first mismatch found.
        mismatch: TensorMismatch,
    },

    /// A checkpoint's epoch or optimizer state does not fit the training it is loaded into.
    /// Nothing was loaded.
    #[error("{} cannot be restored: {message}; the model and the optimizer are unchanged", describe_origin(.path))]
    CheckpointMismatch {
        /// The file, or `None` for bytes given in memory.
        path: Option<PathBuf>,
        /// What does not fit, for example an Adam checkpoint loaded into SGD.
        message: String,
    },

    /// An optimizer cannot export or import its state, so it cannot be checkpointed.
    #[error(
        "the optimizer `{optimizer}` does not support checkpoints; implement \
         `Optimizer::export_state` and `Optimizer::import_state` for it"
    )]
    CheckpointUnsupported {
        /// The optimizer's type name.
        optimizer: &'static str,
    },
}

/// How the tensors of a safetensors file differ from the weights of a model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorMismatch {
    /// The model has a weight that the file lacks.
    #[error("tensor `{name}` is missing; the model expects shape {}", format_shape(.expected))]
    Missing {
        /// The weight's path, for example `score_diff.kernel`.
        name: String,
        /// The model's shape of the weight.
        expected: Vec<usize>,
    },

    /// The file has a tensor that the model has no weight for.
    #[error("tensor `{name}` of shape {} is not a weight of the model", format_shape(.found))]
    Unexpected {
        /// The tensor's name in the file.
        name: String,
        /// The tensor's shape in the file.
        found: Vec<usize>,
    },

    /// A tensor has another shape than the model's weight of the same name.
    #[error(
        "tensor `{name}` has shape {} but the model expects {}",
        format_shape(.found),
        format_shape(.expected)
    )]
    Shape {
        /// The weight's path.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },

    /// A tensor has another element type than the model computes in.
    #[error("tensor `{name}` has dtype {found} but the model expects {expected}")]
    Dtype {
        /// The weight's path.
        name: String,
        /// The safetensors dtype of the model's scalar: `F32` or `F64`.
        expected: String,
        /// The file's dtype.
        found: String,
    },

    /// Two weights of the model have the same path, so a file cannot tell them apart.
    #[error("two weights of the model are both named `{name}`")]
    Duplicate {
        /// The repeated path.
        name: String,
    },
}

/// Formats a shape in Keras's notation, for example `[3, 1]`.
fn format_shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(ToString::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// Names the origin of safetensors bytes in a message: the file, or the bytes in memory.
fn describe_origin(path: &Option<PathBuf>) -> String {
    match path {
        Some(path) => format!("`{}`", path.display()),
        None => "the in-memory data".to_owned(),
    }
}

/// The result type of keramic's fallible operations.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// Adds `offset` to the row of an input error, for rows that were loaded from a part of the
    /// caller's slice starting at `offset`.
    pub(crate) fn offset_row(self, offset: usize) -> Error {
        match self {
            Error::IdOutOfRange { input, row, id, vocabulary } => Error::IdOutOfRange { input, row: row + offset, id, vocabulary },
            Error::NonFiniteValue { field, name, row, value } => Error::NonFiniteValue { field, name, row: row + offset, value },
            other => other,
        }
    }
}
