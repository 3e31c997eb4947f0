//! Generated inputs for CSV reading, data set building and fit: random bytes, mutated valid
//! files and arbitrary values. No input may panic, and every reader must agree.
//!
//! The three properties run 10,500 cases in all, with fixed seeds so that CI runs the same cases.

use keramic::data::csv::read_csv_from;
use keramic::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::SeedableRng;
use rand::rngs::StdRng;

model! {
    pub struct Ratings {
        input user: Id<4>;
        input extra: [2];
        let vector = Flatten(Embedding::<4, 2>(user));
        output rating = Dense::<1>(Concatenate(vector, extra));
    }
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct RatingRow {
    user: u32,
    a: f32,
    b: f32,
    rating: f32,
    note: Option<String>,
}

fn to_pair(row: RatingRow) -> (RatingsInput, RatingsOutput) {
    (RatingsInput { user: row.user, extra: [row.a, row.b] }, RatingsOutput { rating: [row.rating] })
}

/// Bytes that CSV parsing and number parsing treat specially.
const TRICKY_BYTES: &[u8] = b",\"\n\r \t0123456789.-+eEnaNfiIy\xff\xc3\xa9";

/// Runs `property` on `cases` inputs from `strategy` with a fixed seed.
fn run<S: Strategy>(cases: u32, seed: u8, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    if let Err(failure) = runner.run(&strategy, property) {
        panic!("{failure}");
    }
}

/// Reads every chunk of one pass of `text` with chunks of `rows_per_chunk` rows.
fn read_chunks(text: &[u8], rows_per_chunk: usize) -> Result<Vec<RatingsInput>, Error> {
    let mut source = CsvChunks::from_bytes(text.to_vec(), "fuzz.csv", rows_per_chunk, to_pair)?;
    source.rewind()?;
    let mut inputs = Vec::new();
    while let Some(chunk) = source.next_chunk()? {
        inputs.extend_from_slice(chunk.inputs());
    }
    Ok(inputs)
}

/// Checks that the whole-file reader, the data set reader and the chunk reader agree on
/// `text`: the same rows, or the same error.
fn readers_agree(text: &[u8], rows_per_chunk: usize) -> Result<(), TestCaseError> {
    let rows = read_csv_from::<RatingRow, _>(text, "fuzz.csv");
    let data = Dataset::read_csv_from(text, "fuzz.csv", to_pair);
    let chunks = read_chunks(text, rows_per_chunk);
    match (&rows, &data, &chunks) {
        (Ok(rows), Ok(data), Ok(chunks)) => {
            prop_assert!(!rows.is_empty());
            prop_assert_eq!(rows.len(), data.len());
            prop_assert_eq!(data.inputs(), &chunks[..]);
            let users: Vec<u32> = rows.iter().map(|row| row.user).collect();
            let data_users: Vec<u32> = data.inputs().iter().map(|input| input.user).collect();
            prop_assert_eq!(users, data_users);
        }
        (Ok(rows), Err(data_error), Err(chunk_error)) => {
            // Only a file without records reads as rows but not as a data set.
            prop_assert!(rows.is_empty());
            prop_assert!(matches!(data_error, Error::EmptyCsv { .. }), "{:?}", data_error);
            prop_assert_eq!(data_error.to_string(), chunk_error.to_string());
        }
        (Err(error), Err(data_error), Err(chunk_error)) => {
            prop_assert_eq!(error.to_string(), data_error.to_string());
            prop_assert_eq!(error.to_string(), chunk_error.to_string());
        }
        _ => prop_assert!(false, "readers disagree: {:?} / {:?} / {:?}", rows, data, chunks),
    }
    Ok(())
}

/// Fits a small model on `data` and checks that every weight is finite afterwards, whether fit
/// succeeded or returned an error.
fn fit_keeps_weights_finite(data: &Dataset<RatingsInput, RatingsOutput>, options: &Fit) -> Result<(), TestCaseError> {
    let mut model = Ratings::new(&mut StdRng::seed_from_u64(1));
    let result = model.compile(MeanSquaredError, Sgd::new(0.1)).fit(data, options);
    let mut finite = true;
    model.visit_named_weights("", &mut |_, param| finite &= param.value.iter().all(|w| w.is_finite()));
    prop_assert!(finite, "fit left a non-finite weight; result {:?}", result);
    if let Err(error) = result {
        prop_assert!(!error.to_string().is_empty());
    }
    Ok(())
}

#[test]
fn random_bytes_never_panic() {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(proptest::sample::select(TRICKY_BYTES), 0..200),
    ];
    run(4000, 1, (bytes, 1..5usize), |(bytes, rows_per_chunk)| readers_agree(&bytes, rows_per_chunk));
}

/// Generates a valid file: the header in some column order, with an optional extra column,
/// and up to eight records.
fn valid_csv() -> impl Strategy<Value = Vec<u8>> {
    let record = (0..6u32, -100.0..100.0f32, -1e3..1e3f32, -10.0..10.0f32, proptest::option::of("[a-z]{0,4}"));
    (any::<u8>(), any::<bool>(), proptest::collection::vec(record, 0..8)).prop_map(
        |(order, extra_column, records)| {
            let mut columns = vec!["user", "a", "b", "rating", "note"];
            let count = columns.len();
            columns.rotate_left(usize::from(order) % count);
            if extra_column {
                columns.insert(usize::from(order) % 3, "unused");
            }
            let mut text = columns.join(",");
            text.push('\n');
            for (user, a, b, rating, note) in records {
                let fields: Vec<String> = columns
                    .iter()
                    .map(|&column| match column {
                        "user" => user.to_string(),
                        "a" => a.to_string(),
                        "b" => format!("{b:e}"),
                        "rating" => format!("{rating:.2}"),
                        "note" => note.clone().unwrap_or_default(),
                        _ => "x".to_owned(),
                    })
                    .collect();
                text.push_str(&fields.join(","));
                text.push('\n');
            }
            text.into_bytes()
        },
    )
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    DuplicateLine(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![proptest::sample::select(TRICKY_BYTES), any::<u8>()];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::Replace(at, byte)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &mut Vec<u8>, mutation: &Mutation) {
    let position = |at: usize, len: usize| if len == 0 { 0 } else { at % len };
    match *mutation {
        Mutation::Insert(at, byte) => {
            let at = position(at, text.len() + 1);
            text.insert(at, byte);
        }
        Mutation::Delete(at) if !text.is_empty() => {
            let at = position(at, text.len());
            text.remove(at);
        }
        Mutation::Replace(at, byte) if !text.is_empty() => {
            let at = position(at, text.len());
            text[at] = byte;
        }
        Mutation::DuplicateLine(at) => {
            let lines: Vec<&[u8]> = text.split_inclusive(|&byte| byte == b'\n').collect();
            if let Some(line) = lines.get(position(at, lines.len())) {
                let line = line.to_vec();
                text.extend_from_slice(&line);
            }
        }
        Mutation::Truncate(at) => {
            let at = position(at, text.len() + 1);
            text.truncate(at);
        }
        _ => {}
    }
}

#[test]
fn mutated_csv_never_panics() {
    let strategy = (valid_csv(), proptest::collection::vec(mutation(), 0..5), 1..5usize, 1..6usize);
    run(4000, 2, strategy, |(mut text, mutations, rows_per_chunk, batch_size)| {
        for mutation in &mutations {
            apply(&mut text, mutation);
        }
        readers_agree(&text, rows_per_chunk)?;
        if let Ok(data) = Dataset::read_csv_from(&text[..], "fuzz.csv", to_pair) {
            fit_keeps_weights_finite(&data, &Fit::epochs(1).batch_size(batch_size).verbose(false))?;
        }
        Ok(())
    });
}

#[test]
fn arbitrary_values_fit_or_fail_cleanly() {
    let value = prop_oneof![
        4 => -10.0..10.0f32,
        1 => any::<f32>(),
        1 => proptest::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 0.0]),
    ];
    let row = (prop_oneof![4 => 0..4u32, 1 => any::<u32>()], value.clone(), value.clone(), value);
    let strategy = (proptest::collection::vec(row, 0..12), 0..5usize, prop_oneof![Just(0.0), -0.5..1.5f64]);
    run(2500, 3, strategy, |(rows, batch_size, split)| {
        let data: Dataset<_, _> = rows
            .into_iter()
            .map(|(user, a, b, rating)| (RatingsInput { user, extra: [a, b] }, RatingsOutput { rating: [rating] }))
            .collect();
        fit_keeps_weights_finite(&data, &Fit::epochs(2).batch_size(batch_size).validation_split(split).verbose(false))
    });
}
