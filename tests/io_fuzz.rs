//! Feeds mutated and hostile safetensors files to the loaders: every one must be loaded or
//! rejected with an error, never panic, leave the model unchanged when rejected, and never
//! allocate a size that the file merely claims.
//!
//! A global allocator records the largest single allocation of the current thread, so that
//! each check measures only the loader call it wraps.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use keramic::Real;
use keramic::prelude::*;
use keramic::train::{checkpoint_from_bytes, checkpoint_to_bytes};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::SeedableRng;
use rand::rngs::StdRng;

thread_local! {
    /// The largest allocation of this thread since the last [`largest_allocation`] began.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, recording the largest request of each thread in [`LARGEST`].
struct RecordingAllocator;

impl RecordingAllocator {
    fn record(size: usize) {
        // `try_with` fails only while the thread is being torn down, and nothing is measured
        // then.
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    }
}

// SAFETY: every call is forwarded unchanged to `System`, and recording a size allocates
// nothing.
unsafe impl GlobalAlloc for RecordingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::record(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::record(new_size);
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: RecordingAllocator = RecordingAllocator;

/// Runs `load` and returns its result with the largest allocation it made on this thread.
fn largest_allocation<R>(load: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|largest| largest.set(0));
    let result = load();
    (result, LARGEST.with(Cell::get))
}

/// Returns the largest allocation a loader may make for an input of `len` bytes. Its own
/// copies of the header (strings, shape lists, a map of tensors) are a small multiple of the
/// input.
/// NOTE: the factor and the constant are generous estimates, not a measured bound. What the
/// checks rule out is an allocation of a size the file claims, which is far larger.
fn allocation_limit(len: usize) -> usize {
    8 * len + 64 * 1024
}

model! {
    /// A model with an id sequence, an embedding, two Dense layers with biases and two
    /// outputs: seven tensors of rank 1 and 2.
    pub struct Fuzzed {
        input words: [Id<20>; 3];
        input extra: [2];
        let embedded = Flatten(Embedding::<20, 2>(words));
        let hidden = Dense::<4, Tanh>(Concatenate(embedded, extra));
        output class = Dense::<3, Softmax>(hidden);
        output score = Dense::<1>(hidden);
    }
}

fn weight_bits<T: Real, M: Network<T>>(model: &M) -> Vec<u64> {
    let mut bits = Vec::new();
    model.visit_named_weights("", &mut |_, param| bits.extend(param.value.iter().map(|value| value.to_f64().to_bits())));
    bits
}

/// One change to the bytes of a valid file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Keeps the first `len` bytes, scaled to the file's length.
    Truncate(prop::sample::Index),
    /// Flips one bit.
    FlipBit(prop::sample::Index, u8),
    /// Overwrites one byte.
    SetByte(prop::sample::Index, u8),
    /// Replaces the 8-byte header length.
    SetHeaderLength(u64),
    /// Adds a small amount to the header length.
    ShiftHeaderLength(i16),
    /// Replaces one ASCII digit of the header, which keeps the JSON valid but changes a shape
    /// or an offset.
    ReplaceDigit(prop::sample::Index, u8),
    /// Replaces one `F32` dtype of the header with another dtype name.
    ReplaceDtype(prop::sample::Index, &'static str),
    /// Appends bytes.
    Append(Vec<u8>),
}

const DTYPES: [&str; 8] = ["F64", "F16", "I32", "U8", "I64", "F8_E4M3", "XYZ", "F4"];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        prop_oneof![
            any::<u64>(),
            Just(u64::MAX),
            Just(1 << 40),
            Just(100_000_001),
            0..2048u64,
        ]
        .prop_map(Mutation::SetHeaderLength),
        (-64..64i16).prop_map(Mutation::ShiftHeaderLength),
        (any::<prop::sample::Index>(), b'0'..=b'9').prop_map(|(at, digit)| Mutation::ReplaceDigit(at, digit)),
        (any::<prop::sample::Index>(), prop::sample::select(DTYPES.to_vec()))
            .prop_map(|(at, dtype)| Mutation::ReplaceDtype(at, dtype)),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
    ]
}

/// Returns the range of the header of `bytes`, as far as the (possibly mutated) length
/// prefix and the file allow.
fn header_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let Some(prefix) = bytes.first_chunk::<8>() else { return 0..0 };
    let len = usize::try_from(u64::from_le_bytes(*prefix)).unwrap_or(usize::MAX);
    8..bytes.len().min(8usize.saturating_add(len))
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::Truncate(len) => bytes.truncate(len.index(bytes.len() + 1)),
        Mutation::FlipBit(at, bit) if !bytes.is_empty() => {
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        Mutation::SetByte(at, byte) if !bytes.is_empty() => {
            let at = at.index(bytes.len());
            bytes[at] = *byte;
        }
        Mutation::SetHeaderLength(len) if bytes.len() >= 8 => bytes[..8].copy_from_slice(&len.to_le_bytes()),
        Mutation::ShiftHeaderLength(delta) if bytes.len() >= 8 => {
            let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()).wrapping_add_signed(i64::from(*delta));
            bytes[..8].copy_from_slice(&len.to_le_bytes());
        }
        Mutation::ReplaceDigit(at, digit) => {
            let header = header_range(bytes);
            let digits: Vec<usize> = header.filter(|&i| bytes[i].is_ascii_digit()).collect();
            if !digits.is_empty() {
                bytes[digits[at.index(digits.len())]] = *digit;
            }
        }
        Mutation::ReplaceDtype(at, dtype) => {
            let header = header_range(bytes);
            let text = &bytes[header.clone()];
            let found: Vec<usize> = text.windows(5).enumerate().filter(|(_, window)| window == b"\"F32\"").map(|(i, _)| i).collect();
            if !found.is_empty() {
                let start = header.start + found[at.index(found.len())] + 1;
                bytes.splice(start..start + 3, dtype.bytes());
            }
        }
        Mutation::Append(extra) => bytes.extend_from_slice(extra),
        _ => {}
    }
}

/// The number of cases of the main fuzz test.
const WEIGHT_CASES: u32 = 10_000;

#[test]
fn mutated_weight_files_never_panic() {
    let started = Instant::now();
    let original = Fuzzed::new(&mut StdRng::seed_from_u64(1));
    let valid = original.to_bytes().unwrap();
    let target = Fuzzed::new(&mut StdRng::seed_from_u64(2));
    let target_bits = weight_bits(&target);

    let mut runner = TestRunner::new(Config { cases: WEIGHT_CASES, failure_persistence: None, ..Config::default() });
    let loaded = Cell::new(0);
    let rejected = Cell::new(0);
    let largest = Cell::new(0);
    let result = runner.run(&prop::collection::vec(mutation(), 1..4), |mutations| {
        let mut bytes = valid.clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        let mut model = target.clone();
        let (result, allocated) = largest_allocation(|| model.from_bytes(&bytes));
        largest.set(largest.get().max(allocated));
        prop_assert!(
            allocated <= allocation_limit(bytes.len()),
            "loading {} bytes allocated {allocated} bytes at once",
            bytes.len()
        );
        match result {
            Ok(()) => loaded.set(loaded.get() + 1),
            Err(_) => {
                rejected.set(rejected.get() + 1);
                prop_assert!(weight_bits(&model) == target_bits, "a rejected file changed the model");
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    println!(
        "{WEIGHT_CASES} mutated files in {:.1} s: {} loaded, {} rejected, largest allocation {} bytes",
        started.elapsed().as_secs_f64(),
        loaded.get(),
        rejected.get(),
        largest.get()
    );
    assert_eq!(loaded.get() + rejected.get(), WEIGHT_CASES as usize);
    // Mutations of the header almost always break the file, so most cases test rejection.
    assert!(rejected.get() > WEIGHT_CASES as usize / 2, "only {} of the files were rejected", rejected.get());
}

#[test]
fn mutated_checkpoints_never_panic() {
    let mut model = Fuzzed::new(&mut StdRng::seed_from_u64(3));
    let data: Dataset<FuzzedInput, FuzzedOutput> = (0..40u32)
        .map(|i| {
            let input = FuzzedInput { words: [i % 20, (i * 3) % 20, 7], extra: [i as f32 / 40.0, 0.5] };
            let mut class = [0.0; 3];
            class[(i % 3) as usize] = 1.0;
            (input, FuzzedOutput { class, score: [i as f32 / 10.0] })
        })
        .collect();
    let mut optimizer = Adam::new(0.01);
    let mut training = model.compile((CategoricalCrossentropy, MeanSquaredError), optimizer.clone());
    training.fit(&data, &Fit::epochs(2).verbose(false)).unwrap();
    optimizer = training.optimizer_mut().clone();
    let valid = checkpoint_to_bytes(&model, &optimizer, 2).unwrap();
    let target_bits = weight_bits(&model);

    let mut runner = TestRunner::new(Config { cases: 2_000, failure_persistence: None, ..Config::default() });
    let result = runner.run(&prop::collection::vec(mutation(), 1..4), |mutations| {
        let mut bytes = valid.clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        let mut restored = model.clone();
        let mut restored_optimizer = Adam::new(0.5);
        let (result, allocated) = largest_allocation(|| checkpoint_from_bytes(&bytes, &mut restored, &mut restored_optimizer));
        prop_assert!(allocated <= allocation_limit(bytes.len()), "allocated {allocated} bytes at once");
        if result.is_err() {
            prop_assert!(weight_bits(&restored) == target_bits, "a rejected checkpoint changed the model");
            prop_assert!(Optimizer::<f32>::learning_rate(&restored_optimizer) == 0.5, "a rejected checkpoint changed the optimizer");
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn mutated_files_on_disk_never_panic() {
    // `load` reads the header and the data in separate steps, so it gets its own cases.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("fuzzed.safetensors");
    let valid = Fuzzed::new(&mut StdRng::seed_from_u64(4)).to_bytes().unwrap();
    let target = Fuzzed::new(&mut StdRng::seed_from_u64(5));
    let target_bits = weight_bits(&target);

    let mut runner = TestRunner::new(Config { cases: 500, failure_persistence: None, ..Config::default() });
    let result = runner.run(&prop::collection::vec(mutation(), 1..4), |mutations| {
        let mut bytes = valid.clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        std::fs::write(&path, &bytes).unwrap();
        let mut model = target.clone();
        let (result, allocated) = largest_allocation(|| model.load(&path));
        prop_assert!(allocated <= allocation_limit(bytes.len()), "allocated {allocated} bytes at once");
        if result.is_err() {
            prop_assert!(weight_bits(&model) == target_bits, "a rejected file changed the model");
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Builds a file from a JSON header and `data` bytes of tensor data.
fn file_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Loads `bytes` from memory and from a file and checks that both reject it without a large
/// allocation or a change to the model. Returns the error message of the file load.
fn assert_rejected(bytes: &[u8]) -> String {
    let target = Fuzzed::new(&mut StdRng::seed_from_u64(6));
    let target_bits = weight_bits(&target);

    let mut model = target.clone();
    let (result, allocated) = largest_allocation(|| model.from_bytes(bytes));
    assert!(result.is_err(), "the file was accepted");
    assert!(allocated <= allocation_limit(bytes.len()), "from_bytes allocated {allocated} bytes at once");
    assert_eq!(weight_bits(&model), target_bits);

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("hostile.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let (result, allocated) = largest_allocation(|| model.load(&path));
    assert!(allocated <= allocation_limit(bytes.len()), "load allocated {allocated} bytes at once");
    assert_eq!(weight_bits(&model), target_bits);
    match result {
        Ok(()) => panic!("the file was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn huge_header_length_rejected_without_allocation() {
    let valid = Fuzzed::new(&mut StdRng::seed_from_u64(7)).to_bytes().unwrap();
    for claimed in [u64::MAX, 1 << 40, 100_000_001, valid.len() as u64 - 7] {
        let mut bytes = valid.clone();
        bytes[..8].copy_from_slice(&claimed.to_le_bytes());
        let message = assert_rejected(&bytes);
        assert!(message.contains(&format!("header length is {claimed} bytes, but only")), "{message}");
    }
}

#[test]
fn huge_tensor_claim_rejected_without_allocation() {
    // The header claims a 4 TiB tensor, and the file has 8 bytes of data.
    let header = r#"{"embedding.embeddings":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#;
    let message = assert_rejected(&file_with_header(header, &[0; 8]));
    assert!(message.contains("describes 4398046511104 bytes of tensor data, but the file has 8"), "{message}");

    // A shape whose element count overflows.
    let header = r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#;
    let message = assert_rejected(&file_with_header(header, &[0; 8]));
    assert!(message.contains("not a valid safetensors file"), "{message}");
}

#[test]
fn offsets_past_end_rejected() {
    let header = r#"{"score.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    let message = assert_rejected(&file_with_header(header, &[0; 4]));
    assert!(message.contains("not a valid safetensors file"), "{message}");

    let header = r#"{"score.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}"#;
    let message = assert_rejected(&file_with_header(header, &[0; 4]));
    assert!(message.contains("not a valid safetensors file"), "{message}");
}

#[test]
fn truncated_file_rejected_at_every_length() {
    let valid = Fuzzed::new(&mut StdRng::seed_from_u64(8)).to_bytes().unwrap();
    for len in 0..valid.len() {
        let message = assert_rejected(&valid[..len]);
        assert!(message.contains("not a valid safetensors file"), "truncated to {len} bytes: {message}");
    }
}

#[test]
fn recording_allocator_sees_large_allocations() {
    let (buffer, allocated) = largest_allocation(|| vec![0u8; 1 << 20]);
    assert_eq!(buffer.len(), 1 << 20);
    assert!(allocated >= 1 << 20, "a 1 MiB buffer was recorded as {allocated} bytes");
}
