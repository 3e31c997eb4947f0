//! Data sets read one chunk of rows at a time, for data that does not fit in memory.
//!
//! [`Training::fit_stream`](crate::train::Training::fit_stream) and
//! [`Training::evaluate_stream`](crate::train::Training::evaluate_stream) read a
//! [`ChunkSource`]. [`CsvChunks`] reads a CSV file of any size a fixed number of rows at a time,
//! and [`DatasetChunks`] cuts a data set in memory into chunks.

use std::fs::File;
use std::io::{Cursor, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::Dataset;
use super::csv::RowReader;
use crate::error::{Error, Result};

/// A data set that is read one chunk of rows at a time.
///
/// A pass over the data starts with [`ChunkSource::rewind`] and calls
/// [`ChunkSource::next_chunk`] until it returns `None`. Training runs one pass per epoch, so a
/// source must give the same rows in the same order on every pass for a run to repeat
/// exactly.
pub trait ChunkSource<I, O> {
    /// Moves back to the first row, so that the next chunk starts a new pass.
    ///
    /// # Errors
    ///
    /// An error from reopening the data, such as [`Error::Io`].
    fn rewind(&mut self) -> Result<()>;

    /// Reads the next chunk of rows, or returns `None` at the end of the pass.
    ///
    /// Training skips an empty chunk.
    ///
    /// # Errors
    ///
    /// An error from reading or parsing the rows. The pass ends with it, and the next read
    /// needs a [`ChunkSource::rewind`].
    fn next_chunk(&mut self) -> Result<Option<Dataset<I, O>>>;
}

/// Rejects a chunk size of 0, which would never advance.
fn check_rows_per_chunk(rows_per_chunk: usize) -> Result<()> {
    if rows_per_chunk == 0 {
        return Err(Error::InvalidOption {
            option: "rows_per_chunk",
            message: "0 rows per chunk; use at least 1, and a multiple of the batch size to \
                      keep every batch full"
                .to_owned(),
        });
    }
    Ok(())
}

/// A data set in memory read as chunks of `rows_per_chunk` rows, the last one possibly
/// smaller. Each chunk is a copy of its rows.
///
/// It lets a program that streams large files run the same code on small data, and it gives
/// the same training as `fit` when one chunk contains all rows.
#[derive(Debug)]
pub struct DatasetChunks<'a, I, O> {
    data: &'a Dataset<I, O>,
    rows_per_chunk: usize,
    /// The first row of the next chunk.
    next_row: usize,
}

impl<'a, I: Clone, O: Clone> DatasetChunks<'a, I, O> {
    /// Creates a source that reads `data` in chunks of `rows_per_chunk` rows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `rows_per_chunk` is 0.
    pub fn new(data: &'a Dataset<I, O>, rows_per_chunk: usize) -> Result<Self> {
        check_rows_per_chunk(rows_per_chunk)?;
        Ok(DatasetChunks { data, rows_per_chunk, next_row: 0 })
    }
}

impl<I: Clone, O: Clone> ChunkSource<I, O> for DatasetChunks<'_, I, O> {
    fn rewind(&mut self) -> Result<()> {
        self.next_row = 0;
        Ok(())
    }

    fn next_chunk(&mut self) -> Result<Option<Dataset<I, O>>> {
        let start = self.next_row;
        if start >= self.data.len() {
            return Ok(None);
        }
        let end = start.saturating_add(self.rows_per_chunk).min(self.data.len());
        self.next_row = end;
        let chunk = Dataset {
            inputs: self.data.inputs[start..end].to_vec(),
            targets: self.data.targets[start..end].to_vec(),
        };
        Ok(Some(chunk))
    }
}

/// The origin of the text of a [`CsvChunks`]: a file, or bytes in memory.
enum Origin {
    File(PathBuf),
    Bytes { bytes: Arc<[u8]>, name: PathBuf },
}

impl Origin {
    /// Returns the name of the input in errors.
    fn name(&self) -> &Path {
        match self {
            Origin::File(path) => path,
            Origin::Bytes { name, .. } => name,
        }
    }

    /// Opens the text at its first byte.
    fn open(&self) -> Result<Box<dyn Read>> {
        match self {
            Origin::File(path) => {
                let file = File::open(path).map_err(|source| Error::Io { path: path.clone(), source })?;
                Ok(Box::new(file))
            }
            Origin::Bytes { bytes, .. } => Ok(Box::new(Cursor::new(Arc::clone(bytes)))),
        }
    }
}

/// A CSV file read `rows_per_chunk` rows at a time, each row of type `R` turned into an
/// input and a target by a function `F`.
///
/// Only one chunk and the CSV reader's buffer are in memory at a time, so the memory a pass
/// takes depends on the chunk size and not on the file size. Rows are read with the rules of
/// [`read_csv`](super::csv::read_csv), and errors name the file, the line and the column in
/// the same way. Every pass reopens the file.
pub struct CsvChunks<R, I, O, F> {
    origin: Origin,
    rows_per_chunk: usize,
    to_pair: F,
    /// The reader of the current pass, `None` after its end or an error.
    reader: Option<RowReader<R, Box<dyn Read>>>,
    /// Whether `reader` was opened and has not been read from yet.
    fresh: bool,
    /// The rows read in the current pass.
    rows_read: usize,
    row_types: PhantomData<fn() -> (I, O)>,
}

impl<R, I, O, F> CsvChunks<R, I, O, F>
where
    R: DeserializeOwned,
    F: FnMut(R) -> (I, O),
{
    /// Opens the CSV file at `path` and reads its header row.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] when `rows_per_chunk` is 0, [`Error::Io`] when the file cannot
    /// be opened or read, and [`Error::Csv`] when it has no header row.
    pub fn open(path: impl AsRef<Path>, rows_per_chunk: usize, to_pair: F) -> Result<Self> {
        Self::with_origin(Origin::File(path.as_ref().to_path_buf()), rows_per_chunk, to_pair)
    }

    /// Reads CSV text held in memory, for example generated test data. `source_name` names
    /// the text in errors.
    ///
    /// # Errors
    ///
    /// As [`CsvChunks::open`].
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>, source_name: &str, rows_per_chunk: usize, to_pair: F) -> Result<Self> {
        let origin = Origin::Bytes { bytes: bytes.into(), name: PathBuf::from(source_name) };
        Self::with_origin(origin, rows_per_chunk, to_pair)
    }

    fn with_origin(origin: Origin, rows_per_chunk: usize, to_pair: F) -> Result<Self> {
        check_rows_per_chunk(rows_per_chunk)?;
        let reader = RowReader::new(origin.open()?, origin.name())?;
        Ok(CsvChunks {
            origin,
            rows_per_chunk,
            to_pair,
            reader: Some(reader),
            fresh: true,
            rows_read: 0,
            row_types: PhantomData,
        })
    }
}

impl<R, I, O, F> ChunkSource<I, O> for CsvChunks<R, I, O, F>
where
    R: DeserializeOwned,
    F: FnMut(R) -> (I, O),
{
    fn rewind(&mut self) -> Result<()> {
        self.rows_read = 0;
        if self.fresh && self.reader.is_some() {
            return Ok(());
        }
        self.reader = None;
        self.reader = Some(RowReader::new(self.origin.open()?, self.origin.name())?);
        self.fresh = true;
        Ok(())
    }

    /// Reads the next `rows_per_chunk` rows, fewer at the end of the file.
    ///
    /// # Errors
    ///
    /// As [`read_csv`](super::csv::read_csv), and [`Error::EmptyCsv`] when the file has a
    /// header row but no records.
    fn next_chunk(&mut self) -> Result<Option<Dataset<I, O>>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        self.fresh = false;

        // A huge chunk size must not reserve memory up front that the file may never fill.
        let mut chunk = Dataset {
            inputs: Vec::with_capacity(self.rows_per_chunk.min(1 << 16)),
            targets: Vec::with_capacity(self.rows_per_chunk.min(1 << 16)),
        };
        while chunk.inputs.len() < self.rows_per_chunk {
            match reader.next_row() {
                Ok(Some(row)) => {
                    let (input, target) = (self.to_pair)(row);
                    chunk.inputs.push(input);
                    chunk.targets.push(target);
                }
                Ok(None) => {
                    self.reader = None;
                    break;
                }
                Err(error) => {
                    self.reader = None;
                    return Err(error);
                }
            }
        }

        self.rows_read += chunk.inputs.len();
        if chunk.inputs.is_empty() {
            if self.rows_read == 0 {
                return Err(Error::EmptyCsv { path: self.origin.name().to_path_buf() });
            }
            return Ok(None);
        }
        Ok(Some(chunk))
    }
}

impl<R, I, O, F> std::fmt::Debug for CsvChunks<R, I, O, F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CsvChunks")
            .field("source", &self.origin.name())
            .field("rows_per_chunk", &self.rows_per_chunk)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Row {
        x: f32,
        y: f32,
    }

    fn pair(row: Row) -> (f32, f32) {
        (row.x, row.y)
    }

    /// Reads every chunk of one pass and returns the chunk sizes and all inputs.
    fn read_pass<S: ChunkSource<f32, f32>>(source: &mut S) -> Result<(Vec<usize>, Vec<f32>)> {
        source.rewind()?;
        let mut sizes = Vec::new();
        let mut inputs = Vec::new();
        while let Some(chunk) = source.next_chunk()? {
            sizes.push(chunk.len());
            inputs.extend_from_slice(chunk.inputs());
        }
        Ok((sizes, inputs))
    }

    #[test]
    fn csv_chunks_cover_file_in_order() {
        let text = "x,y\n1,0\n2,0\n3,0\n4,0\n5,0\n";
        let mut source = CsvChunks::from_bytes(text.as_bytes(), "rows.csv", 2, pair).expect("valid CSV");
        for _ in 0..2 {
            let (sizes, inputs) = read_pass(&mut source).expect("valid CSV");
            assert_eq!(sizes, [2, 2, 1]);
            assert_eq!(inputs, [1.0, 2.0, 3.0, 4.0, 5.0]);
        }
    }

    #[test]
    fn csv_chunks_reject_header_only() {
        let mut source = CsvChunks::from_bytes(&b"x,y\n"[..], "rows.csv", 2, pair).expect("header row");
        let error = read_pass(&mut source).unwrap_err();
        assert_eq!(error.to_string(), "`rows.csv` has a header row but no records; add at least one row below the header");
    }

    #[test]
    fn csv_chunks_name_line_of_bad_row() {
        let text = "x,y\n1,0\n2,0\n3,0\nbad,0\n";
        let mut source = CsvChunks::from_bytes(text.as_bytes(), "rows.csv", 2, pair).expect("header row");
        source.rewind().expect("in memory");
        assert_eq!(source.next_chunk().expect("rows 1 and 2").map(|chunk| chunk.len()), Some(2));
        let error = source.next_chunk().unwrap_err();
        assert_eq!(error.to_string(), "`rows.csv`, line 5, column `x`: expected a floating-point number, found `bad`");
        assert!(source.next_chunk().expect("the pass ended").is_none());
        assert_eq!(read_pass(&mut source).unwrap_err().to_string(), error.to_string());
    }

    #[test]
    fn zero_rows_per_chunk_is_rejected() {
        let error = CsvChunks::from_bytes(&b"x,y\n1,2\n"[..], "rows.csv", 0, pair).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid rows_per_chunk: 0 rows per chunk; use at least 1, and a multiple of the batch size to keep every batch full"
        );
        let data = Dataset::from_pairs([(1.0_f32, 2.0_f32)]);
        assert!(DatasetChunks::new(&data, 0).is_err());
    }

    #[test]
    fn dataset_chunks_cover_data_in_order() {
        let data: Dataset<f32, f32> = (0..7).map(|i| (i as f32, 0.0)).collect();
        let mut source = DatasetChunks::new(&data, 3).expect("nonzero chunk size");
        let (sizes, inputs) = read_pass(&mut source).expect("in memory");
        assert_eq!(sizes, [3, 3, 1]);
        assert_eq!(inputs, data.inputs());
        let mut huge = DatasetChunks::new(&data, usize::MAX).expect("nonzero chunk size");
        assert_eq!(read_pass(&mut huge).expect("in memory").0, [7]);
    }

    #[test]
    fn missing_file_names_path() {
        let path = std::env::temp_dir().join(format!("keramic-missing-{}.csv", std::process::id()));
        let error = CsvChunks::open(&path, 10, pair).unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert!(error.to_string().starts_with(&format!("cannot read `{}`", path.display())), "{error}");
    }
}
