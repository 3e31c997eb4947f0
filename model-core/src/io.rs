//! Saving and loading a model's weights as [safetensors](https://github.com/huggingface/safetensors)
//! files, which numpy and PyTorch read through the `safetensors` Python package.
//!
//! [`SaveWeights`] is implemented for every model: `model.save(path)` and `model.load(path)`
//! work on files, `to_bytes` and `from_bytes` on memory. Checkpoints, which add the optimizer's
//! state and the epoch, are in [`crate::train`].
//!
//! # File contents
//!
//! - One tensor per weight tensor, named by its instance path as
//!   [`Network::visit_named_weights`] gives it: the instance names from the outer model inward,
//!   then the tensor name, joined by dots. Examples: `score_diff.kernel`, `score_diff.bias`,
//!   `strength.strength.embeddings` (the layer `strength` of the model `TeamStrength`, used as
//!   the layer `strength`). A shared layer is stored once.
//! - The dtype is `F32` for an `f32` model and `F64` for an `f64` model, little-endian as
//!   safetensors requires.
//! - Shapes and layouts are Keras's. A Dense kernel is `[inputs, units]`, row-major, so
//!   `kernel[i, j]` connects input `i` to unit `j`, and the layer computes
//!   `activation(x @ kernel + bias)`. A Dense bias is `[units]`. An Embedding table is
//!   `[vocabulary, dimension]`, with one row per id.
//! - The header's `__metadata__` has `format` = `keramic` and `model` = the model's name.
//!   Loading ignores it, so files written by other tools load as long as their tensors match.
//!
//! In Python, with the `safetensors` and `numpy` packages:
//!
//! ```text
//! from safetensors.numpy import load_file
//! weights = load_file("model.safetensors")
//! hidden = np.maximum(x @ weights["hidden.kernel"] + weights["hidden.bias"], 0.0)
//! ```
//!
//! # Loading checks everything first
//!
//! Every tensor name, shape and dtype is compared with the model before any weight changes. A
//! missing tensor, an extra tensor, another shape or another dtype is an
//! [`Error::TensorMismatch`] that names the tensor and both shapes, and the model keeps its
//! weights.
//!
//! A truncated, corrupted or hostile file is an [`Error::InvalidSafetensors`]. The header
//! length is checked against the file size (and the 100 MB header limit of safetensors)
//! before the header is read, and the tensor data is read only once the header has been
//! checked against the model, so no allocation follows a size that the file merely claims.
//!
//! # Saving is atomic
//!
//! [`SaveWeights::save`] writes to a temporary file in the destination folder, flushes it to
//! disk (`fsync`), renames it over the destination and, on Unix, flushes the folder. Readers
//! therefore see either the old file or the new one, never a mix, even when the process is
//! killed mid-save. A process killed before the rename can leave its temporary file behind,
//! named `.<file name>.<random>.tmp`, which is safe to delete.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use safetensors::tensor::Metadata;

use crate::Real;
use crate::error::{Error, Result, TensorMismatch};
use crate::network::Network;

/// The value of `format` in the metadata of a weights file.
const WEIGHTS_FORMAT: &str = "keramic";

/// The largest header accepted, in bytes: the limit that the safetensors crate (0.8)
/// enforces when reading.
const MAX_HEADER_LEN: u64 = 100_000_000;

/// The length of the little-endian `u64` header length that starts every safetensors file.
const LENGTH_PREFIX: usize = 8;

/// Saving and loading of a model's weights in safetensors format. Implemented for every
/// model; see the [module documentation](self) for the file contents.
pub trait SaveWeights<T: Real>: Network<T> {
    /// Encodes the weights as the bytes of a safetensors file.
    ///
    /// # Errors
    /// [`Error::TensorMismatch`] when two weights have the same path, and [`Error::Encode`]
    /// when the header would exceed 100 MB.
    fn to_bytes(&self) -> Result<Vec<u8>> {
        encode_weights(self)
    }

    /// Replaces the weights with those in `bytes`, the contents of a safetensors file.
    ///
    /// # Errors
    /// [`Error::InvalidSafetensors`] for bytes that are not a valid safetensors file, and
    /// [`Error::TensorMismatch`] for a missing, extra or misshaped tensor, or a dtype other
    /// than the model's. On error the weights are unchanged.
    fn from_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let expected = weight_tensors(self, None)?;
        let file = TensorFile::parse(bytes, None)?;
        check_tensors::<T>(file.header(), &expected, None)?;
        write_weights(self, &file);
        Ok(())
    }

    /// Writes the weights to the safetensors file `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Write`] when the file cannot be created, written, flushed or renamed into
    /// place, and the errors of [`SaveWeights::to_bytes`]. On error an existing file at
    /// `path` is unchanged.
    fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = encode_weights(self)?;
        write_atomically(path.as_ref(), &bytes)
    }

    /// Replaces the weights with those of the safetensors file `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, and the errors of
    /// [`SaveWeights::from_bytes`]. On error the weights are unchanged.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let expected = weight_tensors(self, Some(path))?;
        let file = OpenFile::open(path)?;
        check_tensors::<T>(file.header(), &expected, Some(path))?;
        let file = file.read_data()?;
        write_weights(self, &file);
        Ok(())
    }
}

impl<T: Real, M: Network<T>> SaveWeights<T> for M {}

/// A tensor that a file must contain: its name and Keras's shape.
#[derive(Clone, Debug)]
pub(crate) struct ExpectedTensor {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
}

/// A tensor to write: its name, shape and little-endian bytes.
pub(crate) struct EncodedTensor {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: Vec<u8>,
}

fn encode_weights<T: Real, M: Network<T>>(model: &M) -> Result<Vec<u8>> {
    let mut tensors = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        tensors.push(EncodedTensor {
            name: name.to_owned(),
            shape: param.shape.dims().to_vec(),
            bytes: encode(param.value),
        });
    });
    let metadata = BTreeMap::from([
        ("format".to_owned(), WEIGHTS_FORMAT.to_owned()),
        ("model".to_owned(), M::NAME.to_owned()),
    ]);
    serialize::<T>(tensors, metadata, "the weights")
}

/// Returns the path and shape of every weight of `model`, in visiting order.
///
/// # Errors
/// [`TensorMismatch::Duplicate`] when two weights have the same path, which a file could not
/// tell apart.
pub(crate) fn weight_tensors<T: Real, M: Network<T>>(model: &M, path: Option<&Path>) -> Result<Vec<ExpectedTensor>> {
    let mut tensors = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        tensors.push(ExpectedTensor { name: name.to_owned(), shape: param.shape.dims().to_vec() });
    });
    let mut seen = HashSet::new();
    if let Some(duplicate) = tensors.iter().find(|tensor| !seen.insert(tensor.name.as_str())) {
        return Err(mismatch(path, TensorMismatch::Duplicate { name: duplicate.name.clone() }));
    }
    Ok(tensors)
}

/// Copies every weight of `model` from `file`, whose tensors [`check_tensors`] accepted.
pub(crate) fn write_weights<T: Real, M: Network<T>>(model: &mut M, file: &TensorFile<'_>) {
    model.visit_named_params("", &mut |name, param| {
        if let Some(bytes) = file.tensor_bytes(name) {
            decode_into(bytes, param.value);
        }
    });
}

/// Encodes `tensors` and the string `metadata` as a safetensors file. `what` names the
/// contents in an error message.
///
/// The safetensors crate (0.8) writes its metadata from a `HashMap`, whose order changes from run
/// to run, so the header is written here to make the same weights give the same bytes. The
/// layout is the crate's: tensors sorted by name with contiguous data, and the header padded
/// with spaces to a multiple of 8 bytes.
pub(crate) fn serialize<T: Real>(
    mut tensors: Vec<EncodedTensor>,
    metadata: BTreeMap<String, String>,
    what: &'static str,
) -> Result<Vec<u8>> {
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let dtype = dtype_of::<T>().to_string();

    let mut header = serde_json::Map::new();
    let metadata = metadata.into_iter().map(|(key, value)| (key, serde_json::Value::String(value))).collect();
    header.insert("__metadata__".to_owned(), serde_json::Value::Object(metadata));
    let mut offset = 0;
    for tensor in &tensors {
        let end = offset + tensor.bytes.len();
        let info = serde_json::json!({ "dtype": dtype, "shape": tensor.shape, "data_offsets": [offset, end] });
        header.insert(tensor.name.clone(), info);
        offset = end;
    }
    let mut header =
        serde_json::to_vec(&header).map_err(|error| Error::Encode { what, message: error.to_string() })?;
    header.resize(header.len().next_multiple_of(LENGTH_PREFIX), b' ');
    if header.len() as u64 > MAX_HEADER_LEN {
        return Err(Error::Encode {
            what,
            message: format!("the header would have {} bytes, above the limit of {MAX_HEADER_LEN}", header.len()),
        });
    }

    let mut bytes = Vec::with_capacity(LENGTH_PREFIX + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for tensor in &tensors {
        bytes.extend_from_slice(&tensor.bytes);
    }
    Ok(bytes)
}

/// Checks that `header` has exactly the tensors `expected`, with their shapes and the dtype
/// of `T`.
///
/// The expected tensors are checked in order, then any extra tensor is reported, the first
/// by name.
///
/// # Errors
/// [`Error::TensorMismatch`] with the first difference.
pub(crate) fn check_tensors<T: Real>(header: &Metadata, expected: &[ExpectedTensor], path: Option<&Path>) -> Result<()> {
    let dtype = dtype_of::<T>();
    for tensor in expected {
        let Some(info) = header.info(&tensor.name) else {
            return Err(mismatch(path, TensorMismatch::Missing { name: tensor.name.clone(), expected: tensor.shape.clone() }));
        };
        if info.shape != tensor.shape {
            return Err(mismatch(
                path,
                TensorMismatch::Shape { name: tensor.name.clone(), expected: tensor.shape.clone(), found: info.shape.clone() },
            ));
        }
        if info.dtype != dtype {
            return Err(mismatch(
                path,
                TensorMismatch::Dtype { name: tensor.name.clone(), expected: dtype.to_string(), found: info.dtype.to_string() },
            ));
        }
    }

    let known: HashSet<&str> = expected.iter().map(|tensor| tensor.name.as_str()).collect();
    let extra = header.tensors().into_iter().filter(|(name, _)| !known.contains(name.as_str())).min_by(|a, b| a.0.cmp(&b.0));
    if let Some((name, info)) = extra {
        return Err(mismatch(path, TensorMismatch::Unexpected { name, found: info.shape.clone() }));
    }
    Ok(())
}

fn mismatch(path: Option<&Path>, mismatch: TensorMismatch) -> Error {
    Error::TensorMismatch { path: path.map(Path::to_path_buf), mismatch }
}

fn invalid(path: Option<&Path>, message: String) -> Error {
    Error::InvalidSafetensors { path: path.map(Path::to_path_buf), message }
}

/// Returns the safetensors dtype of `T`: `F64` for `f64`, `F32` for `f32`.
pub(crate) fn dtype_of<T: Real>() -> Dtype {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f64>() { Dtype::F64 } else { Dtype::F32 }
}

/// Encodes `values` as little-endian bytes, bit for bit (NaN payloads included).
pub(crate) fn encode<T: Real>(values: &[T]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * core::mem::size_of::<T>());
    for value in values {
        // `Real` is sealed and implemented for f32 and f64 only, so one of the two casts
        // succeeds. The conversion through f64 would change NaN payloads, hence the downcast.
        let value: &dyn core::any::Any = value;
        if let Some(value) = value.downcast_ref::<f64>() {
            bytes.extend_from_slice(&value.to_le_bytes());
        } else if let Some(value) = value.downcast_ref::<f32>() {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    bytes
}

/// Decodes the little-endian `bytes` into `values`, as [`encode`] wrote them. The caller has
/// checked that `bytes` contains exactly `values.len()` elements.
pub(crate) fn decode_into<T: Real>(bytes: &[u8], values: &mut [T]) {
    let width = core::mem::size_of::<T>();
    for (value, chunk) in values.iter_mut().zip(bytes.chunks_exact(width)) {
        let value: &mut dyn core::any::Any = value;
        if let Some(value) = value.downcast_mut::<f64>() {
            let mut raw = [0; 8];
            raw.copy_from_slice(chunk);
            *value = f64::from_le_bytes(raw);
        } else if let Some(value) = value.downcast_mut::<f32>() {
            let mut raw = [0; 4];
            raw.copy_from_slice(chunk);
            *value = f32::from_le_bytes(raw);
        }
    }
}

/// Returns the values of the little-endian `bytes`, as [`encode`] wrote them.
pub(crate) fn decode<T: Real>(bytes: &[u8]) -> Vec<T> {
    let mut values = vec![T::zero(); bytes.len() / core::mem::size_of::<T>()];
    decode_into(bytes, &mut values);
    values
}

/// A safetensors file whose header is parsed and whose tensors all lie inside its data.
pub(crate) struct TensorFile<'a> {
    header: Metadata,
    data: Cow<'a, [u8]>,
}

impl<'a> TensorFile<'a> {
    /// Parses the contents of a safetensors file. `path` names the file in error messages.
    pub(crate) fn parse(bytes: &'a [u8], path: Option<&Path>) -> Result<Self> {
        let Some((prefix, rest)) = bytes.split_first_chunk::<LENGTH_PREFIX>() else {
            return Err(invalid(path, format!("it has {} bytes, fewer than the 8-byte header length", bytes.len())));
        };
        let header_len = check_header_len(u64::from_le_bytes(*prefix), rest.len() as u64, path)?;
        let (header_bytes, data) = rest.split_at(header_len);
        let header = parse_header(header_bytes, data.len() as u64, path)?;
        Ok(TensorFile { header, data: Cow::Borrowed(data) })
    }

    /// The parsed header.
    pub(crate) fn header(&self) -> &Metadata {
        &self.header
    }

    /// The raw bytes of the tensor `name`, or `None` when there is no such tensor.
    pub(crate) fn tensor_bytes(&self, name: &str) -> Option<&[u8]> {
        let (start, end) = self.header.info(name)?.data_offsets;
        self.data.get(start..end)
    }
}

/// Returns the value of `key` in the string metadata of `header`.
pub(crate) fn metadata_value<'h>(header: &'h Metadata, key: &str) -> Option<&'h str> {
    header.metadata().as_ref()?.get(key).map(String::as_str)
}

/// A safetensors file whose header has been read and parsed, but whose tensor data has not.
pub(crate) struct OpenFile {
    path: PathBuf,
    file: File,
    header: Metadata,
    data_len: usize,
}

impl OpenFile {
    /// Opens `path` and reads its header, after checking the header length against the file
    /// size.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let read_error = |source| Error::Io { path: path.to_path_buf(), source };
        let mut file = File::open(path).map_err(read_error)?;
        let file_len = file.metadata().map_err(read_error)?.len();
        let Some(after_prefix) = file_len.checked_sub(LENGTH_PREFIX as u64) else {
            return Err(invalid(Some(path), format!("it has {file_len} bytes, fewer than the 8-byte header length")));
        };

        let mut prefix = [0; LENGTH_PREFIX];
        file.read_exact(&mut prefix).map_err(read_error)?;
        let header_len = check_header_len(u64::from_le_bytes(prefix), after_prefix, Some(path))?;
        let mut header_bytes = vec![0; header_len];
        file.read_exact(&mut header_bytes).map_err(read_error)?;

        let data_len = after_prefix - header_len as u64;
        let header = parse_header(&header_bytes, data_len, Some(path))?;
        let data_len = usize::try_from(data_len)
            .map_err(|_| invalid(Some(path), format!("its {data_len} bytes of tensor data do not fit in memory")))?;
        Ok(OpenFile { path: path.to_path_buf(), file, header, data_len })
    }

    /// The parsed header.
    pub(crate) fn header(&self) -> &Metadata {
        &self.header
    }

    /// Reads the tensor data, whose length the header and the file size agree on.
    pub(crate) fn read_data(self) -> Result<TensorFile<'static>> {
        let mut data = Vec::with_capacity(self.data_len);
        let path = self.path;
        self.file
            .take(self.data_len as u64)
            .read_to_end(&mut data)
            .map_err(|source| Error::Io { path: path.clone(), source })?;
        if data.len() != self.data_len {
            return Err(invalid(
                Some(&path),
                format!("it ended after {} of its {} bytes of tensor data while being read", data.len(), self.data_len),
            ));
        }
        Ok(TensorFile { header: self.header, data: Cow::Owned(data) })
    }
}

/// Checks a header length read from a file against the `available` bytes after it, and
/// against [`MAX_HEADER_LEN`].
fn check_header_len(header_len: u64, available: u64, path: Option<&Path>) -> Result<usize> {
    if header_len > available {
        return Err(invalid(
            path,
            format!("its header length is {header_len} bytes, but only {available} bytes follow the length"),
        ));
    }
    if header_len > MAX_HEADER_LEN {
        return Err(invalid(path, format!("its header length is {header_len} bytes, above the limit of {MAX_HEADER_LEN}")));
    }
    // At most MAX_HEADER_LEN, so it fits in usize.
    usize::try_from(header_len).map_err(|_| invalid(path, format!("its header length {header_len} does not fit in memory")))
}

/// Parses a JSON header and checks that its tensors exactly cover the `data_len` bytes of
/// tensor data.
fn parse_header(header_bytes: &[u8], data_len: u64, path: Option<&Path>) -> Result<Metadata> {
    // The safetensors crate's `Metadata` checks while deserializing that the tensors are
    // contiguous from offset 0 and that each one's size matches its shape and dtype.
    let header: Metadata =
        serde_json::from_slice(header_bytes).map_err(|error| invalid(path, format!("its header is invalid: {error}")))?;
    if header.data_len() as u64 != data_len {
        return Err(invalid(
            path,
            format!("its header describes {} bytes of tensor data, but the file has {data_len}", header.data_len()),
        ));
    }
    Ok(header)
}

/// Writes `bytes` to `path` so that `path` contains either its old contents or all of `bytes`,
/// even if the process dies midway.
///
/// The bytes go to a temporary file in the same folder, which is flushed to disk and renamed
/// over `path`. On Unix the folder is flushed too, so that the rename survives a power loss.
///
/// # Errors
/// [`Error::Write`] naming `path` when any step fails. The temporary file is removed then.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |source| Error::Write { path: path.to_path_buf(), source };
    let Some(file_name) = path.file_name() else {
        let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path does not end in a file name");
        return Err(write_error(source));
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{}.", file_name.to_string_lossy());
    builder.prefix(&prefix).suffix(".tmp");
    // The default of tempfile is 0600. The destination gets the mode that `File::create`
    // would give it: 0666 less the umask.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temporary = builder.tempfile_in(folder).map_err(write_error)?;

    temporary.write_all(bytes).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist(path).map_err(|error| write_error(error.error))?;
    #[cfg(unix)]
    File::open(folder).and_then(|folder| folder.sync_all()).map_err(write_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a file from a JSON header and `data_len` zero bytes of tensor data.
    fn file_with_header(header: &str, data_len: usize) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.resize(bytes.len() + data_len, 0);
        bytes
    }

    fn encoded(name: &str, shape: Vec<usize>, values: &[f32]) -> EncodedTensor {
        EncodedTensor { name: name.to_owned(), shape, bytes: encode(values) }
    }

    #[test]
    fn serialized_bytes_read_by_safetensors() {
        let tensors = vec![encoded("b.kernel", vec![2, 1], &[1.0, -2.0]), encoded("a.bias", vec![3], &[0.5, 0.25, -0.0])];
        let metadata = BTreeMap::from([("format".to_owned(), "keramic".to_owned())]);
        let bytes = serialize::<f32>(tensors, metadata, "the weights").unwrap();

        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let kernel = file.tensor("b.kernel").unwrap();
        assert_eq!(kernel.dtype(), Dtype::F32);
        assert_eq!(kernel.shape(), [2, 1]);
        assert_eq!(kernel.data(), encode(&[1.0f32, -2.0]));
        assert_eq!(file.tensor("a.bias").unwrap().data(), encode(&[0.5f32, 0.25, -0.0]));
        let (header_len, _) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(header_len % 8, 0, "the header is padded to 8 bytes");
    }

    #[test]
    fn serialization_is_deterministic() {
        let make = || {
            let tensors = vec![encoded("x.kernel", vec![1, 1], &[1.0])];
            let metadata: BTreeMap<String, String> = (0..20).map(|i| (format!("key{i}"), i.to_string())).collect();
            serialize::<f32>(tensors, metadata, "the weights").unwrap()
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn values_keep_their_bits() {
        let values = [f32::from_bits(0x7fc0_1234), -0.0, f32::INFINITY, f32::MIN_POSITIVE / 2.0, 1.5];
        let mut decoded = [0.0f32; 5];
        decode_into(&encode(&values), &mut decoded);
        assert_eq!(decoded.map(f32::to_bits), values.map(f32::to_bits));

        let values = [f64::from_bits(0x7ff8_0000_0000_0042), -0.0, 1e-310];
        assert_eq!(decode::<f64>(&encode(&values)).iter().map(|v| v.to_bits()).collect::<Vec<_>>(), values.map(f64::to_bits));
    }

    #[test]
    fn header_length_beyond_file_rejected() {
        let mut bytes = file_with_header(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4);
        bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let Err(error) = TensorFile::parse(&bytes, None) else { panic!("a header length of 2^64 - 1 was accepted") };
        assert!(error.to_string().contains("header length is 18446744073709551615 bytes, but only"), "{error}");
    }

    #[test]
    fn offsets_past_end_rejected() {
        let bytes = file_with_header(r#"{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#, 4);
        let Err(error) = TensorFile::parse(&bytes, None) else { panic!("offsets past the end were accepted") };
        assert!(error.to_string().contains("describes 4000 bytes of tensor data, but the file has 4"), "{error}");
    }

    #[test]
    fn offsets_summing_to_usize_max_rejected() {
        // Eight tensors of 2^61 - 1 bytes end at offset 2^64 - 8, where adding the header
        // length overflows. The safetensors crate (0.8) adds them unchecked when it reads a
        // whole buffer, so the data length is compared first.
        let size = (1u64 << 61) - 1;
        let tensors: Vec<String> = (0..8)
            .map(|i| format!(r#""t{i}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#, i * size, (i + 1) * size))
            .collect();
        let bytes = file_with_header(&format!("{{{}}}", tensors.join(",")), 16);
        let Err(error) = TensorFile::parse(&bytes, None) else { panic!("offsets of 2^64 - 8 bytes were accepted") };
        assert!(matches!(error, Error::InvalidSafetensors { .. }), "got {error:?}");
    }

    #[test]
    fn non_json_header_rejected() {
        let bytes = file_with_header("\u{fffd}not json", 0);
        let Err(error) = TensorFile::parse(&bytes, None) else { panic!("a non-JSON header was accepted") };
        assert!(error.to_string().starts_with("the in-memory data is not a valid safetensors file: its header is invalid"), "{error}");
    }
}
