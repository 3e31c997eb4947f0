//! Reading CSV files into typed rows.
//!
//! The first line of the file is the header row, which names the columns. Each later record
//! becomes one row of a type that implements `serde::Deserialize`, usually a struct with
//! `#[derive(Deserialize)]`. Struct fields are matched to columns by header name, so the column
//! order does not matter, and columns that the struct does not name are ignored.
//!
//! The reader applies these rules:
//!
//! - Leading and trailing whitespace is removed from every field and header name, so `1, 2.5`
//!   reads as `1` and `2.5`.
//! - Every record must have as many fields as the header row. A field may be empty, and an
//!   empty field reads as `None` for an `Option` field.
//! - Empty lines are skipped, but they still count in the line numbers of errors.
//! - NaN and infinite values are rejected. A field is rejected when its text parses as an `f64`
//!   that is not finite: `NaN`, `nan`, `inf`, `-Infinity` and values such as `1e400` that
//!   overflow to infinity. Serde does not tell the reader which fields are floats, so the check
//!   applies to the text of every column that the row type reads, including string columns.
//!
//! Errors name the file, the 1-based line (the header row is line 1) and the column by its
//! header name, as [`Error::Csv`]. A file that cannot be opened or read gives [`Error::Io`].
//!
//! A file with a header row but no records reads as no rows with [`read_csv`], and as
//! [`Error::EmptyCsv`] with [`Dataset::read_csv`], because a data set needs rows.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::num::IntErrorKind;
use std::path::{Path, PathBuf};

use csv::{DeserializeError, DeserializeErrorKind, ErrorKind, ReaderBuilder, StringRecord, Trim};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::Dataset;
use crate::error::{Error, Result};

/// Placeholder column for serde errors that do not name their field.
const UNKNOWN_COLUMN: &str = "?";

/// Reads the CSV file at `path` into typed rows.
///
/// The first line must be a header row that names the columns. Fields of `R` are matched to
/// columns by header name, and columns that `R` does not name are ignored. A file with a
/// header row but no records returns an empty `Vec`. The module documentation lists the
/// other rules, such as the rejection of NaN and infinite values.
///
/// # Errors
///
/// Returns [`Error::Io`] when the file cannot be opened or read, and [`Error::Csv`], naming
/// the line and the column, when the file is empty or a record does not fit `R`.
pub fn read_csv<R: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<R>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_rows(file, path)
}

/// Reads CSV text from `reader` into typed rows, following the same rules as [`read_csv`].
///
/// `source_name` names the input in errors, for example a file name. `reader` is buffered
/// internally, so it need not be a `BufReader`.
///
/// # Errors
///
/// Returns [`Error::Io`] when `reader` fails, and [`Error::Csv`], naming the line and the
/// column, when the input is empty or a record does not fit `R`.
///
/// # Example
///
/// ```
/// use model_core::data::csv::read_csv_from;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Flower {
///     petal_length: f32,
///     species: u8,
/// }
///
/// let text = "petal_length,petal_width,species\n1.4,0.2,0\n4.7,1.4,1\n";
/// let flowers: Vec<Flower> = read_csv_from(text.as_bytes(), "iris.csv")?;
/// assert_eq!(flowers.len(), 2);
/// assert_eq!(flowers[1].petal_length, 4.7);
/// assert_eq!(flowers[1].species, 1);
///
/// let text = "petal_length,species\n1.4,0\nlong,1\n";
/// let error = read_csv_from::<Flower, _>(text.as_bytes(), "iris.csv").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "`iris.csv`, line 3, column `petal_length`: expected a floating-point number, found `long`"
/// );
/// # Ok::<(), model_core::Error>(())
/// ```
pub fn read_csv_from<R: DeserializeOwned, Rd: Read>(
    reader: Rd,
    source_name: &str,
) -> Result<Vec<R>> {
    read_rows(reader, Path::new(source_name))
}

/// Reads all records of `reader` into rows. `path` names the input in errors.
fn read_rows<R: DeserializeOwned, Rd: Read>(reader: Rd, path: &Path) -> Result<Vec<R>> {
    let mut row_reader = RowReader::new(reader, path)?;
    let mut rows = Vec::new();
    while let Some(row) = row_reader.next_row()? {
        rows.push(row);
    }
    Ok(rows)
}

impl<I, O> Dataset<I, O> {
    /// Reads the CSV file at `path` into a data set, turning each row of type `R` into an
    /// input and a target with `to_pair`.
    ///
    /// The rules of [`read_csv`] apply.
    ///
    /// # Errors
    ///
    /// As [`read_csv`], and [`Error::EmptyCsv`] when the file has a header row but no records.
    pub fn read_csv<R: DeserializeOwned>(
        path: impl AsRef<Path>,
        to_pair: impl FnMut(R) -> (I, O),
    ) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        read_dataset(file, path, to_pair)
    }

    /// Reads CSV text from `reader` into a data set as [`Dataset::read_csv`] does.
    /// `source_name` names the input in errors.
    ///
    /// # Errors
    ///
    /// As [`Dataset::read_csv`].
    pub fn read_csv_from<R: DeserializeOwned, Rd: Read>(
        reader: Rd,
        source_name: &str,
        to_pair: impl FnMut(R) -> (I, O),
    ) -> Result<Self> {
        read_dataset(reader, Path::new(source_name), to_pair)
    }
}

/// Reads all records of `reader` into a data set, rejecting an input without records.
fn read_dataset<R: DeserializeOwned, Rd: Read, I, O>(
    reader: Rd,
    path: &Path,
    mut to_pair: impl FnMut(R) -> (I, O),
) -> Result<Dataset<I, O>> {
    let mut row_reader = RowReader::new(reader, path)?;
    let mut data = Dataset::default();
    while let Some(row) = row_reader.next_row()? {
        let (input, target) = to_pair(row);
        data.inputs.push(input);
        data.targets.push(target);
    }
    if data.inputs.is_empty() {
        return Err(Error::EmptyCsv {
            path: path.to_path_buf(),
        });
    }
    Ok(data)
}

/// A reader of typed rows that reads one record at a time, so that a file of any size is read
/// in bounded memory. It applies the rules of the module documentation.
///
/// After an error, the reader is not meant to be read further.
pub(crate) struct RowReader<R, Rd> {
    csv_reader: csv::Reader<LineTracker<Rd>>,
    /// The name of the input in errors.
    path: PathBuf,
    headers: StringRecord,
    /// The 1-based line of the header row.
    header_line: u64,
    /// The columns whose text is checked for NaN and infinity.
    checked_columns: Vec<usize>,
    /// The buffer of the last record read.
    record: StringRecord,
    row_type: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned, Rd: Read> RowReader<R, Rd> {
    /// Reads the header row of `reader`. `path` names the input in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `reader` fails, and [`Error::Csv`] when the input has no header row.
    pub(crate) fn new(reader: Rd, path: &Path) -> Result<Self> {
        let mut csv_reader = ReaderBuilder::new()
            .trim(Trim::All)
            .from_reader(LineTracker::new(reader));
        let (headers, header_line) = read_header_row(&mut csv_reader, path)?;
        let checked_columns = columns_read_by::<R>(&headers);
        Ok(Self {
            csv_reader,
            path: path.to_path_buf(),
            headers,
            header_line,
            checked_columns,
            record: StringRecord::new(),
            row_type: PhantomData,
        })
    }

    /// Reads the next record into a row, or returns `None` after the last record.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the underlying reader fails, and [`Error::Csv`], naming the line and
    /// the column, when a record does not fit `R`.
    pub(crate) fn next_row(&mut self) -> Result<Option<R>> {
        let context = Context {
            path: &self.path,
            headers: &self.headers,
            header_line: self.header_line,
        };
        let has_record = self.csv_reader.read_record(&mut self.record);
        // The record's start is known even when reading it failed.
        let start = self
            .record
            .position()
            .map_or(self.csv_reader.position().byte(), csv::Position::byte);
        let line = self.csv_reader.get_mut().line_at(start);
        match has_record {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(error) => return Err(context.convert_csv_error(error, line, &self.record)),
        }

        let row = self
            .record
            .deserialize::<R>(Some(&self.headers))
            .map_err(|error| context.convert_csv_error(error, line, &self.record))?;
        context.reject_non_finite(&self.record, &self.checked_columns, line)?;
        Ok(Some(row))
    }
}

/// Reads the header row and returns it with its line, rejecting an input that has none.
fn read_header_row<Rd: Read>(
    csv_reader: &mut csv::Reader<LineTracker<Rd>>,
    path: &Path,
) -> Result<(StringRecord, u64)> {
    let headers = match csv_reader.headers() {
        Ok(headers) => headers.clone(),
        Err(error) => {
            let start = error.position().map_or(0, csv::Position::byte);
            let line = csv_reader.get_mut().line_at(start);
            let empty = StringRecord::new();
            let context = Context {
                path,
                headers: &empty,
                header_line: line,
            };
            return Err(context.convert_csv_error(error, line, &empty));
        }
    };

    if headers.is_empty() {
        return Err(Error::Csv {
            path: path.to_path_buf(),
            line: 1,
            column: "1".to_owned(),
            message: "the file has no header row because it is empty or contains only empty \
                      lines; its first line must name the columns"
                .to_owned(),
        });
    }

    let start = headers.position().map_or(0, csv::Position::byte);
    let header_line = csv_reader.get_mut().line_at(start);
    Ok((headers, header_line))
}

/// The input being read, for building errors.
struct Context<'a> {
    /// The name of the input in errors.
    path: &'a Path,
    headers: &'a StringRecord,
    /// The 1-based line of the header row, which is 1 unless empty lines come before it.
    header_line: u64,
}

impl Context<'_> {
    /// Returns an [`Error::Csv`] for this input.
    fn error(&self, line: u64, column: String, message: String) -> Error {
        Error::Csv {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// Returns the header name of the 0-based column `index`, or its 1-based position when
    /// the header row has no name for it.
    fn column_name(&self, index: usize) -> String {
        match self.headers.get(index) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => (index + 1).to_string(),
        }
    }

    /// Converts an error of the `csv` crate into [`Error`].
    ///
    /// `line` is the line where the record starts, and `record` is the record that failed, as
    /// far as it was read.
    fn convert_csv_error(&self, error: csv::Error, line: u64, record: &StringRecord) -> Error {
        let description = error.to_string();
        match error.into_kind() {
            ErrorKind::Io(source) => Error::Io {
                path: self.path.to_path_buf(),
                source,
            },
            ErrorKind::Utf8 { err, .. } => self.error(
                line,
                self.column_name(err.field()),
                "the field is not valid UTF-8; save the file with UTF-8 encoding".to_owned(),
            ),
            ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                // The first column without a field, or the position of the first extra field.
                let column = usize::try_from(len.min(expected_len)).map_or_else(
                    |_| UNKNOWN_COLUMN.to_owned(),
                    |index| self.column_name(index),
                );
                let mut message = format!(
                    "found {}, expected {expected_len} to match the header row",
                    count_fields(len)
                );
                if len > expected_len {
                    message.push_str("; quote fields that contain a comma");
                }
                self.error(line, column, message)
            }
            ErrorKind::Deserialize { err, .. } => {
                self.convert_deserialize_error(&err, line, record)
            }
            _ => self.error(line, UNKNOWN_COLUMN.to_owned(), description),
        }
    }

    /// Converts a serde error on the record that starts at `line`.
    fn convert_deserialize_error(
        &self,
        error: &DeserializeError,
        line: u64,
        record: &StringRecord,
    ) -> Error {
        if let DeserializeErrorKind::UnexpectedEndOfRow = error.kind() {
            // The csv crate gives the index of the last field read, but the missing field is
            // the next one.
            let message = format!(
                "the row type expects more fields than the {} of this record",
                count_fields(record.len() as u64)
            );
            return self.error(line, self.column_name(record.len()), message);
        }

        if let Some(index) = error.field().and_then(|index| usize::try_from(index).ok()) {
            let text = record.get(index).unwrap_or_default();
            return self.error(
                line,
                self.column_name(index),
                describe_field_error(error.kind(), text),
            );
        }

        // Without a field index, the error comes from serde itself. Serde 1.x words the
        // errors of missing, duplicate and unknown struct fields as "<kind> field `<name>`",
        // so the column name is taken from the message.
        let message = error.kind().to_string();
        if let Some(name) = quoted_name_after(&message, "missing field `") {
            let message = format!(
                "the header row has no column `{name}`; add the column, or make the field an \
                 `Option` or give it `#[serde(default)]`"
            );
            return self.error(self.header_line, name.to_owned(), message);
        }
        if let Some(name) = quoted_name_after(&message, "duplicate field `") {
            let message = format!("the header row names column `{name}` more than once");
            return self.error(self.header_line, name.to_owned(), message);
        }
        if let Some(name) = quoted_name_after(&message, "unknown field `") {
            return self.error(self.header_line, name.to_owned(), message.clone());
        }

        // NOTE: other serde errors, such as an unknown enum variant, do not say which field
        // they are about, so the column is reported as `?`. The message usually quotes the
        // bad value.
        self.error(line, UNKNOWN_COLUMN.to_owned(), message)
    }

    /// Rejects the first field among `columns` whose text parses as a NaN or infinite `f64`.
    fn reject_non_finite(&self, record: &StringRecord, columns: &[usize], line: u64) -> Result<()> {
        for &index in columns {
            let Some(text) = record.get(index) else {
                continue;
            };
            let Ok(value) = text.parse::<f64>() else {
                continue;
            };
            if value.is_finite() {
                continue;
            }

            // Spelled-out values such as `NaN` or `inf` contain no digit. Values with digits
            // become infinite only because they are out of range.
            let message = if text.bytes().any(|byte| byte.is_ascii_digit()) {
                format!(
                    "value `{text}` is out of the range of f64 and would read as infinity; \
                     clean or drop this row"
                )
            } else {
                format!("value `{text}` is not finite; clean or drop this row")
            };
            return Err(self.error(line, self.column_name(index), message));
        }
        Ok(())
    }
}

/// Returns `count` followed by "field" or "fields".
fn count_fields(count: u64) -> String {
    if count == 1 {
        "1 field".to_owned()
    } else {
        format!("{count} fields")
    }
}

/// Returns the message for a field whose text `text` could not be parsed.
fn describe_field_error(kind: &DeserializeErrorKind, text: &str) -> String {
    match kind {
        DeserializeErrorKind::ParseFloat(_) if text.is_empty() => {
            empty_field_message("a floating-point number")
        }
        DeserializeErrorKind::ParseFloat(_) => {
            format!("expected a floating-point number, found `{text}`")
        }
        DeserializeErrorKind::ParseInt(error) => match error.kind() {
            IntErrorKind::Empty => empty_field_message("an integer"),
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                format!("`{text}` is out of range for the integer type of this field")
            }
            IntErrorKind::Zero => format!("expected a non-zero integer, found `{text}`"),
            _ => format!("expected an integer, found `{text}`"),
        },
        DeserializeErrorKind::ParseBool(_) if text.is_empty() => {
            empty_field_message("`true` or `false`")
        }
        DeserializeErrorKind::ParseBool(_) => format!("expected `true` or `false`, found `{text}`"),
        DeserializeErrorKind::InvalidUtf8(_) => {
            "the field is not valid UTF-8; save the file with UTF-8 encoding".to_owned()
        }
        DeserializeErrorKind::Unsupported(method) => format!(
            "the CSV reader cannot read this field's type (serde method `{method}`); \
             use numbers, strings, booleans, options or enums of unit variants"
        ),
        DeserializeErrorKind::UnexpectedEndOfRow => {
            "expected another field, but the record ends here".to_owned()
        }
        DeserializeErrorKind::Message(message) => message.clone(),
    }
}

/// Returns the message for an empty field where a value of type `expected` is required.
fn empty_field_message(expected: &str) -> String {
    format!(
        "expected {expected}, found an empty field; make the field an `Option` to read empty \
         fields as `None`"
    )
}

/// Returns the text between `prefix` and the next backquote, when `message` starts with `prefix`.
fn quoted_name_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    let end = rest.find('`')?;
    Some(&rest[..end])
}

/// Returns the indices of the columns that the row type `R` reads.
///
/// When `R` is a struct, these are the columns whose header names one of its fields. For any
/// other row type, such as a map, a tuple or a struct with `#[serde(flatten)]`, all columns
/// are returned.
fn columns_read_by<R: DeserializeOwned>(headers: &StringRecord) -> Vec<usize> {
    let mut probe = FieldNameProbe::default();
    // The probe always fails. It only records the field names that `R` requests.
    let _ = R::deserialize(&mut probe);

    headers
        .iter()
        .enumerate()
        .filter(|(_, name)| probe.field_names.is_none_or(|fields| fields.contains(name)))
        .map(|(index, _)| index)
        .collect()
}

/// A serde deserializer that records the field names of the struct deserialized from it and
/// then stops with an error.
#[derive(Default)]
struct FieldNameProbe {
    field_names: Option<&'static [&'static str]>,
}

/// The error with which [`FieldNameProbe`] stops.
#[derive(Debug)]
struct ProbeStopped;

impl fmt::Display for ProbeStopped {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the field name probe stopped")
    }
}

impl std::error::Error for ProbeStopped {}

impl de::Error for ProbeStopped {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        ProbeStopped
    }
}

impl<'de> Deserializer<'de> for &mut FieldNameProbe {
    type Error = ProbeStopped;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ProbeStopped> {
        Err(ProbeStopped)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeStopped> {
        self.field_names = Some(fields);
        Err(ProbeStopped)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A reader adapter that records where lines break, so that the 1-based line of a record can
/// be found from its byte offset.
///
/// The `csv` crate (1.4) has its own line count, but it gives the line before any skipped empty
/// lines, and in files with CRLF line endings it is one line too low.
struct LineTracker<Rd> {
    inner: Rd,
    /// Number of bytes read from `inner`.
    bytes_read: u64,
    /// Whether the last byte read was `\r`.
    after_carriage_return: bool,
    /// Line breaks before the first entry of `newline_bytes`.
    line_breaks_before: u64,
    /// Offsets of the `\r` and `\n` bytes read and not yet passed, each with whether it ends a
    /// line. The `\r` of a `\r\n` pair does not, because the pair is one line break.
    newline_bytes: VecDeque<(u64, bool)>,
}

impl<Rd> LineTracker<Rd> {
    fn new(inner: Rd) -> Self {
        Self {
            inner,
            bytes_read: 0,
            after_carriage_return: false,
            line_breaks_before: 0,
            newline_bytes: VecDeque::new(),
        }
    }

    /// Returns the line of the first byte at or after `offset` that is not a line break, and
    /// drops the recorded line breaks before that byte.
    ///
    /// The offsets passed in must not decrease from call to call.
    fn line_at(&mut self, offset: u64) -> u64 {
        // A record starts after the empty lines that the csv crate skipped before it.
        let mut start = offset;
        for &(newline_offset, _) in &self.newline_bytes {
            if newline_offset < start {
                continue;
            }
            if newline_offset > start {
                break;
            }
            start += 1;
        }

        while let Some(&(newline_offset, ends_line)) = self.newline_bytes.front() {
            if newline_offset >= start {
                break;
            }
            if ends_line {
                self.line_breaks_before += 1;
            }
            self.newline_bytes.pop_front();
        }
        self.line_breaks_before + 1
    }
}

impl<Rd: Read> Read for LineTracker<Rd> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        // A reader that reports more bytes than fit in `buffer` breaks the `Read` contract, so
        // the count is clamped.
        let count = self.inner.read(buffer)?.min(buffer.len());
        for (index, &byte) in buffer[..count].iter().enumerate() {
            let offset = self.bytes_read + index as u64;
            if byte == b'\n' && self.after_carriage_return {
                // The `\r` just before is the last entry, and this `\n` ends its line instead.
                if let Some(carriage_return) = self.newline_bytes.back_mut() {
                    carriage_return.1 = false;
                }
            }
            if byte == b'\r' || byte == b'\n' {
                self.newline_bytes.push_back((offset, true));
            }
            self.after_carriage_return = byte == b'\r';
        }
        self.bytes_read += count as u64;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Sample {
        x: f64,
        label: u8,
        weight: Option<f32>,
    }

    /// Reads `text` as a file named `test.csv`.
    fn read_text<R: DeserializeOwned>(text: &str) -> Result<Vec<R>> {
        read_csv_from(text.as_bytes(), "test.csv")
    }

    /// Returns the message of reading `text` into `Sample` rows, which must fail.
    fn error_message(text: &str) -> String {
        match read_text::<Sample>(text) {
            Ok(rows) => panic!("expected an error, but read {} rows", rows.len()),
            Err(error) => error.to_string(),
        }
    }

    /// Returns the line and column of the `Error::Csv` from reading `text` into `Sample` rows.
    fn error_place(text: &str) -> (u64, String) {
        match read_text::<Sample>(text) {
            Err(Error::Csv { line, column, .. }) => (line, column),
            other => panic!("expected Error::Csv, got {other:?}"),
        }
    }

    #[test]
    fn good_rows_match_columns_by_name() {
        let text = "label,unused,x,weight\n1,abc,0.5,2\n0,,-1e3,\n";
        let rows: Vec<Sample> = read_text(text).expect("valid CSV");
        assert_eq!(
            rows,
            vec![
                Sample {
                    x: 0.5,
                    label: 1,
                    weight: Some(2.0)
                },
                Sample {
                    x: -1000.0,
                    label: 0,
                    weight: None
                },
            ]
        );
    }

    #[test]
    fn whitespace_around_fields_is_trimmed() {
        let text = " x , label \n 1.5 , 2 \n";
        let rows: Vec<Sample> = read_text(text).expect("valid CSV");
        assert_eq!(
            rows,
            vec![Sample {
                x: 1.5,
                label: 2,
                weight: None
            }]
        );
    }

    #[test]
    fn header_only_gives_no_rows() {
        let rows: Vec<Sample> = read_text("x,label\n").expect("header-only CSV");
        assert!(rows.is_empty());
    }

    #[test]
    fn dataset_from_header_only_is_rejected() {
        let error = Dataset::<f64, u8>::read_csv_from("x,label\n".as_bytes(), "test.csv", |row: Sample| {
            (row.x, row.label)
        })
        .unwrap_err();
        assert!(matches!(error, Error::EmptyCsv { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "`test.csv` has a header row but no records; add at least one row below the header"
        );
    }

    #[test]
    fn dataset_reads_pairs_in_order() {
        let data = Dataset::read_csv_from("x,label\n0.5,1\n-2,0\n".as_bytes(), "test.csv", |row: Sample| {
            (row.x, row.label)
        })
        .expect("valid CSV");
        assert_eq!(data.inputs(), [0.5, -2.0]);
        assert_eq!(data.targets(), [1, 0]);
    }

    #[test]
    fn empty_input_is_rejected() {
        assert_eq!(
            error_message(""),
            "`test.csv`, line 1, column `1`: the file has no header row because it is empty or \
             contains only empty lines; its first line must name the columns"
        );
        assert!(error_message("\n\n").contains("no header row"));
    }

    #[test]
    fn non_number_field_names_line_and_column() {
        let message = error_message("x,label\n1,0\n2,0\nabc,1\n");
        assert_eq!(
            message,
            "`test.csv`, line 4, column `x`: expected a floating-point number, found `abc`"
        );
    }

    #[test]
    fn integer_field_errors_name_the_text() {
        assert_eq!(
            error_message("x,label\n1,2.5\n"),
            "`test.csv`, line 2, column `label`: expected an integer, found `2.5`"
        );
        assert_eq!(
            error_message("x,label\n1,300\n"),
            "`test.csv`, line 2, column `label`: `300` is out of range for the integer type of this field"
        );
        assert_eq!(
            error_message("x,label\n1,-1\n"),
            "`test.csv`, line 2, column `label`: expected an integer, found `-1`"
        );
    }

    #[test]
    fn empty_required_field_suggests_option() {
        let message = error_message("x,label\n,1\n");
        assert_eq!(
            message,
            "`test.csv`, line 2, column `x`: expected a floating-point number, found an empty field; \
             make the field an `Option` to read empty fields as `None`"
        );
        assert!(error_message("x,label\n1,\n").starts_with(
            "`test.csv`, line 2, column `label`: expected an integer, found an empty field"
        ));
    }

    #[test]
    fn bad_field_in_option_column_is_reported() {
        let message = error_message("x,label,weight\n1,1,heavy\n");
        assert_eq!(
            message,
            "`test.csv`, line 2, column `weight`: expected a floating-point number, found `heavy`"
        );
    }

    #[test]
    fn bool_field_error_names_expected_values() {
        #[derive(Debug, Deserialize)]
        struct Flag {
            #[allow(dead_code)]
            active: bool,
        }
        let error = read_text::<Flag>("active\nyes\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 2, column `active`: expected `true` or `false`, found `yes`"
        );
    }

    #[test]
    fn missing_column_names_field() {
        let message = error_message("x,weight\n1,2\n");
        assert_eq!(
            message,
            "`test.csv`, line 1, column `label`: the header row has no column `label`; \
             add the column, or make the field an `Option` or give it `#[serde(default)]`"
        );
    }

    #[test]
    fn missing_column_after_empty_lines_names_header_line() {
        assert_eq!(error_place("\n\nx\n1\n"), (3, "label".to_owned()));
    }

    #[test]
    fn unknown_column_is_rejected_when_denied() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            #[allow(dead_code)]
            x: f64,
        }
        let error = read_text::<Strict>("x,extra\n1,2\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 1, column `extra`: unknown field `extra`, expected `x`"
        );
    }

    #[test]
    fn aliased_field_is_checked_for_nan() {
        #[derive(Debug, Deserialize)]
        struct Aliased {
            #[serde(alias = "length")]
            #[allow(dead_code)]
            size: f64,
        }
        let error = read_text::<Aliased>("length\nNaN\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("line 2, column `length`: value `NaN` is not finite")
        );
    }

    #[test]
    fn invalid_utf8_in_header_names_position() {
        let bytes: &[u8] = b"x,\xff\n1,0\n";
        let error = read_csv_from::<Sample, _>(bytes, "test.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 1, column `2`: the field is not valid UTF-8; save the file with UTF-8 encoding"
        );
    }

    #[test]
    fn missing_option_column_reads_none() {
        let rows: Vec<Sample> = read_text("x,label\n1,2\n").expect("valid CSV");
        assert_eq!(rows[0].weight, None);
    }

    #[test]
    fn duplicate_column_is_rejected() {
        let message = error_message("x,label,x\n1,2,3\n");
        assert_eq!(
            message,
            "`test.csv`, line 1, column `x`: the header row names column `x` more than once"
        );
    }

    #[test]
    fn short_record_names_counts_and_column() {
        let message = error_message("x,label,weight\n1,2,3\n4,5\n");
        assert_eq!(
            message,
            "`test.csv`, line 3, column `weight`: found 2 fields, expected 3 to match the header row"
        );
        assert_eq!(error_place("x,label,weight\n1\n"), (2, "label".to_owned()));
        assert!(error_message("x,label,weight\n1\n").contains("found 1 field, expected 3"));
    }

    #[test]
    fn long_record_names_first_extra_field() {
        let message = error_message("x,label\n1,2\n3,4,5\n");
        assert_eq!(
            message,
            "`test.csv`, line 3, column `3`: found 3 fields, expected 2 to match the header row; \
             quote fields that contain a comma"
        );
    }

    #[test]
    fn nan_field_is_rejected() {
        let message = error_message("x,label\n1,0\nNaN,1\n");
        assert_eq!(
            message,
            "`test.csv`, line 3, column `x`: value `NaN` is not finite; clean or drop this row"
        );
    }

    #[test]
    fn infinite_fields_are_rejected() {
        for text in ["inf", "-inf", "+Infinity", "nan"] {
            let message = error_message(&format!("x,label,weight\n1,0,{text}\n"));
            assert_eq!(
                message,
                format!(
                    "`test.csv`, line 2, column `weight`: value `{text}` is not finite; clean or drop this row"
                )
            );
        }
        let message = error_message("x,label\n1e400,0\n");
        assert_eq!(
            message,
            "`test.csv`, line 2, column `x`: value `1e400` is out of the range of f64 and would \
             read as infinity; clean or drop this row"
        );
    }

    #[test]
    fn nan_in_unread_column_is_accepted() {
        let rows: Vec<Sample> =
            read_text("x,label,notes\n1,0,NaN\n").expect("NaN only in an ignored column");
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn nan_in_string_column_is_rejected() {
        #[derive(Debug, Deserialize)]
        struct Named {
            #[allow(dead_code)]
            name: String,
        }
        let error = read_text::<Named>("name\nNan\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 2, column `name`: value `Nan` is not finite; clean or drop this row"
        );
    }

    #[test]
    fn nan_in_map_row_is_rejected() {
        let error = read_text::<HashMap<String, f64>>("a,b\n1,2\n3,nan\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 3, column `b`: value `nan` is not finite; clean or drop this row"
        );
    }

    #[test]
    fn renamed_field_matches_header() {
        #[derive(Debug, Deserialize)]
        struct Renamed {
            #[serde(rename = "Petal Length")]
            petal_length: f32,
        }
        let rows = read_text::<Renamed>("Petal Length\n1.5\n").expect("valid CSV");
        assert_eq!(rows[0].petal_length, 1.5);
        let error = read_text::<Renamed>("Petal Length\ninf\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("column `Petal Length`: value `inf` is not finite")
        );
    }

    #[test]
    fn unknown_enum_variant_has_unknown_column() {
        #[derive(Debug, Deserialize)]
        enum Species {
            Setosa,
            Virginica,
        }
        #[derive(Debug, Deserialize)]
        struct Flower {
            #[allow(dead_code)]
            species: Species,
        }
        let rows = read_text::<Flower>("species\nSetosa\nVirginica\n").expect("valid CSV");
        assert_eq!(rows.len(), 2);
        let error = read_text::<Flower>("species\nRose\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 2, column `?`: unknown variant `Rose`, expected `Setosa` or `Virginica`"
        );
    }

    #[test]
    fn lines_count_empty_lines_and_quoted_newlines() {
        let text = "x,label\n1,0\n\n\n\"2\n\",0\n3,bad\n";
        assert_eq!(error_place(text), (7, "label".to_owned()));
        assert_eq!(
            error_place("x,label\n1,0\n\n\nbad,0\n"),
            (5, "x".to_owned())
        );
    }

    #[test]
    fn lines_are_right_with_crlf_endings() {
        assert_eq!(
            error_place("x,label\r\n1,0\r\n2,bad\r\n"),
            (3, "label".to_owned())
        );
        assert_eq!(
            error_place("x,label\r\n1,0\r\n\r\n2,bad"),
            (4, "label".to_owned())
        );
        assert_eq!(
            error_place("x,label\r1,0\r2,bad\r"),
            (3, "label".to_owned())
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let rows: Vec<Sample> = read_text("\u{feff}x,label\n1,2\n").expect("valid CSV with BOM");
        assert_eq!(
            rows,
            vec![Sample {
                x: 1.0,
                label: 2,
                weight: None
            }]
        );
        assert_eq!(
            error_place("\u{feff}x,label\n1,2\nbad,0\n"),
            (3, "x".to_owned())
        );
    }

    #[test]
    fn invalid_utf8_names_column() {
        let bytes: &[u8] = b"x,label\n1,0\n2,\xff\n";
        let error = read_csv_from::<Sample, _>(bytes, "test.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`test.csv`, line 3, column `label`: the field is not valid UTF-8; save the file with UTF-8 encoding"
        );
    }

    #[test]
    fn lines_stay_right_across_buffer_refills() {
        // Far more than the csv crate's 8 KiB buffer, with CRLF pairs split across reads.
        let mut text = String::from("x,label\r\n");
        for _ in 0..5000 {
            text.push_str("1.25,3\r\n\r\n");
        }
        text.push_str("oops,3\r\n");
        let reader = OneByteAtATime(text.as_bytes());
        match read_csv_from::<Sample, _>(reader, "test.csv") {
            Err(Error::Csv { line, column, .. }) => {
                assert_eq!(line, 10_002);
                assert_eq!(column, "x");
            }
            other => panic!("expected Error::Csv, got {other:?}"),
        }
        assert_eq!(error_place(&text), (10_002, "x".to_owned()));
    }

    /// A reader that returns one byte per call.
    struct OneByteAtATime<'a>(&'a [u8]);

    impl Read for OneByteAtATime<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            let Some(slot) = buffer.first_mut() else {
                return Ok(0);
            };
            *slot = first;
            self.0 = rest;
            Ok(1)
        }
    }

    /// A reader that fails after its first bytes.
    struct FailingReader {
        sent_header: bool,
    }

    impl Read for FailingReader {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.sent_header {
                return Err(io::Error::other("disk unplugged"));
            }
            self.sent_header = true;
            let header = b"x,label\n1,0\n";
            buffer[..header.len()].copy_from_slice(header);
            Ok(header.len())
        }
    }

    #[test]
    fn failing_reader_gives_io_error() {
        let error =
            read_csv_from::<Sample, _>(FailingReader { sent_header: false }, "stream").unwrap_err();
        assert_eq!(error.to_string(), "cannot read `stream`: disk unplugged");
        assert!(matches!(error, Error::Io { ref path, .. } if path == Path::new("stream")));
    }

    #[test]
    fn wrong_path_gives_io_error_naming_path() {
        let path = std::env::temp_dir().join(format!(
            "keramic-csv-test-{}-missing.csv",
            std::process::id()
        ));
        let error = read_csv::<Sample>(&path).unwrap_err();
        let Error::Io {
            path: error_path,
            source,
        } = &error
        else {
            panic!("expected Error::Io, got {error:?}");
        };
        assert_eq!(error_path, &path);
        assert_eq!(source.kind(), io::ErrorKind::NotFound);
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read `{}`: ", path.display()))
        );
    }

    /// A file in the temporary directory that is removed on drop.
    struct TempFile(PathBuf);

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn read_csv_reads_file_and_names_it_in_errors() {
        let file = TempFile(
            std::env::temp_dir().join(format!("keramic-csv-test-{}.csv", std::process::id())),
        );
        std::fs::write(&file.0, "x,label\n0.25,1\n0.75,0\n").expect("temporary file is writable");
        let rows: Vec<Sample> = read_csv(&file.0).expect("valid CSV file");
        assert_eq!(
            rows,
            vec![
                Sample {
                    x: 0.25,
                    label: 1,
                    weight: None
                },
                Sample {
                    x: 0.75,
                    label: 0,
                    weight: None
                },
            ]
        );

        std::fs::write(&file.0, "x,label\n0.25,1\nNaN,0\n").expect("temporary file is writable");
        let error = read_csv::<Sample>(&file.0).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "`{}`, line 3, column `x`: value `NaN` is not finite; clean or drop this row",
                file.0.display()
            )
        );
    }
}
