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
}

/// The result type of keramic's fallible operations.
pub type Result<T, E = Error> = core::result::Result<T, E>;
