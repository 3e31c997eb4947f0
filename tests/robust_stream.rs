//! Training and evaluation on data read in chunks.

use std::io::Write;
use std::path::PathBuf;

use keramic::prelude::*;
use keramic::train::{BatchEnd, Callback};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    pub struct Ratings {
        input user: Id<8>;
        input extra: [2];
        let vector = Flatten(Embedding::<8, 3>(user));
        output rating = Dense::<1>(Dense::<4, Relu>(Concatenate(vector, extra)));
    }
}

model! {
    /// Logistic regression on four features.
    pub struct Logistic {
        input x: [4];
        output label = Dense::<1, Sigmoid>(x);
    }
}

fn ratings(count: usize) -> Dataset<RatingsInput, RatingsOutput> {
    (0..count)
        .map(|i| {
            let user = (i * 7 % 8) as u32;
            let extra = [(i % 5) as f32 / 5.0, (i % 3) as f32 - 1.0];
            let rating = user as f32 / 2.0 + extra[0] - extra[1];
            (RatingsInput { user, extra }, RatingsOutput { rating: [rating] })
        })
        .collect()
}

fn weight_bits<M: Network<f32>>(model: &M) -> Vec<(String, Vec<u32>)> {
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        weights.push((name.to_owned(), param.value.iter().map(|w| w.to_bits()).collect()));
    });
    weights
}

fn losses(history: &History) -> Vec<u64> {
    history.epochs.iter().map(|log| log.train.loss.to_bits()).collect()
}

#[test]
fn one_chunk_matches_fit() {
    let data = ratings(200);
    let options = Fit::epochs(3).batch_size(16).seed(5).verbose(false);

    let mut in_memory = Ratings::new(&mut StdRng::seed_from_u64(1));
    let fit_history = in_memory.compile(MeanSquaredError, Adam::new(0.01)).fit(&data, &options).unwrap();

    let mut streamed = Ratings::new(&mut StdRng::seed_from_u64(1));
    let mut source = DatasetChunks::new(&data, data.len()).unwrap();
    let stream_history = streamed.compile(MeanSquaredError, Adam::new(0.01)).fit_stream(&mut source, &options).unwrap();

    assert_eq!(weight_bits(&streamed), weight_bits(&in_memory));
    assert_eq!(losses(&stream_history), losses(&fit_history));
}

#[test]
fn many_chunks_repeat_exactly() {
    let data = ratings(200);
    let run = || {
        let mut model = Ratings::new(&mut StdRng::seed_from_u64(1));
        let mut source = DatasetChunks::new(&data, 37).unwrap();
        let history = model
            .compile(MeanSquaredError, Adam::new(0.01))
            .fit_stream(&mut source, &Fit::epochs(3).batch_size(8).seed(9).verbose(false))
            .unwrap();
        (weight_bits(&model), losses(&history))
    };
    let first = run();
    assert_eq!(run(), first);
}

#[test]
fn unshuffled_chunks_match_fit() {
    // Without shuffling, chunks that are whole batches give the batches of fit.
    let data = ratings(96);
    let options = Fit::epochs(2).batch_size(8).shuffle(false).verbose(false);
    let mut in_memory = Ratings::new(&mut StdRng::seed_from_u64(2));
    in_memory.compile(MeanSquaredError, Sgd::new(0.05)).fit(&data, &options).unwrap();
    let mut streamed = Ratings::new(&mut StdRng::seed_from_u64(2));
    let mut source = DatasetChunks::new(&data, 24).unwrap();
    streamed.compile(MeanSquaredError, Sgd::new(0.05)).fit_stream(&mut source, &options).unwrap();
    assert_eq!(weight_bits(&streamed), weight_bits(&in_memory));
}

#[test]
fn overflow_in_stream_names_epoch_and_batch() {
    let data = ratings(96);
    let options = Fit::epochs(5).batch_size(8).shuffle(false).verbose(false);
    let mut in_memory = Ratings::new(&mut StdRng::seed_from_u64(2));
    let fit_error = in_memory.compile(MeanSquaredError, Sgd::new(5e3)).fit(&data, &options).unwrap_err();

    let mut streamed = Ratings::new(&mut StdRng::seed_from_u64(2));
    let mut source = DatasetChunks::new(&data, 24).unwrap();
    let stream_error = streamed.compile(MeanSquaredError, Sgd::new(5e3)).fit_stream(&mut source, &options).unwrap_err();

    assert_eq!(stream_error.to_string(), fit_error.to_string());
    assert!(stream_error.to_string().contains("the model keeps the weights from before this batch"), "{stream_error}");
    assert_eq!(weight_bits(&streamed), weight_bits(&in_memory));
}

/// Records the batch counts that `fit_stream` reports.
#[derive(Default)]
struct BatchCounts {
    seen: Vec<(usize, usize, usize)>,
}

impl Callback<f32, Ratings> for BatchCounts {
    fn on_batch_end(&mut self, progress: &BatchEnd) {
        self.seen.push((progress.epoch, progress.batch, progress.batches));
    }
}

#[test]
fn batch_count_known_after_first_pass() {
    let data = ratings(50);
    let mut model = Ratings::new(&mut StdRng::seed_from_u64(1));
    let mut source = DatasetChunks::new(&data, 20).unwrap();
    let mut counts = BatchCounts::default();
    model
        .compile(MeanSquaredError, Adam::new(0.01))
        .fit_stream_with_callbacks(&mut source, None, &Fit::epochs(2).batch_size(8).verbose(false), &mut [&mut counts])
        .unwrap();
    // Chunks of 20, 20 and 10 rows give batches of 8, 8, 4, 8, 8, 4 and 8, 2.
    let first: Vec<_> = (1..=8).map(|batch| (1, batch, 0)).collect();
    let second: Vec<_> = (1..=8).map(|batch| (2, batch, 8)).collect();
    assert_eq!(counts.seen, [first, second].concat());
}

#[test]
fn validation_source_feeds_early_stopping() {
    let data = ratings(240);
    let (train, validation) = data.split_shuffled(0.25, 3).unwrap();
    let mut model = Ratings::new(&mut StdRng::seed_from_u64(1));
    let mut stopping = EarlyStopping::new(Monitor::ValLoss).patience(2).restore_best_weights(true);
    let mut train_source = DatasetChunks::new(&train, 64).unwrap();
    let mut validation_source = DatasetChunks::new(&validation, 25).unwrap();
    let mut training = model.compile(MeanSquaredError, Adam::new(0.02));
    let history = training
        .fit_stream_with_callbacks(
            &mut train_source,
            Some(&mut validation_source),
            &Fit::epochs(12).batch_size(16).verbose(false),
            &mut [&mut stopping],
        )
        .unwrap();

    let scores: Vec<f64> = history.epochs.iter().map(|log| log.validation.as_ref().unwrap().loss).collect();
    let best = stopping.best_epoch().unwrap();
    let lowest = scores.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(scores[best - 1], lowest);

    // The restored model scores the best epoch's validation loss on the validation rows.
    let restored = training.evaluate(&validation).unwrap().loss;
    assert!((restored - lowest).abs() <= 1e-12 * lowest.max(1.0), "restored {restored}, best {lowest}");
}

#[test]
fn evaluate_stream_matches_evaluate() {
    let data = ratings(1000);
    let mut model = Ratings::new(&mut StdRng::seed_from_u64(1));
    let mut training = model.compile(MeanSquaredError, Adam::new(0.01));
    let whole = training.evaluate(&data).unwrap();
    let mut source = DatasetChunks::new(&data, 333).unwrap();
    let streamed = training.evaluate_stream(&mut source).unwrap();
    assert!((streamed.loss - whole.loss).abs() <= 1e-12 * whole.loss, "{} vs {}", streamed.loss, whole.loss);
}

/// A CSV file in the temporary directory that is removed on drop.
struct TempCsv(PathBuf);

impl Drop for TempCsv {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes `rows` rows of four features and a label `x0 + x1 − x2 > 0` to a temporary file.
fn write_features(rows: usize) -> TempCsv {
    let path = std::env::temp_dir().join(format!("keramic-robust-stream-{}-{rows}.csv", std::process::id()));
    let file = TempCsv(path);
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&file.0).unwrap());
    writeln!(writer, "x0,x1,x2,x3,label").unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..rows {
        let x: [f32; 4] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
        let label = u8::from(x[0] + x[1] - x[2] > 0.0);
        writeln!(writer, "{:.3},{:.3},{:.3},{:.3},{label}", x[0], x[1], x[2], x[3]).unwrap();
    }
    writer.flush().unwrap();
    file
}

#[derive(serde::Deserialize)]
struct FeatureRow {
    x0: f32,
    x1: f32,
    x2: f32,
    x3: f32,
    label: u8,
}

fn to_pair(row: FeatureRow) -> (LogisticInput, LogisticOutput) {
    (LogisticInput { x: [row.x0, row.x1, row.x2, row.x3] }, LogisticOutput { label: [f32::from(row.label)] })
}

#[test]
fn csv_stream_of_100k_rows_trains() {
    let file = write_features(100_000);
    let mut source = CsvChunks::open(&file.0, 8192, to_pair).unwrap();
    let mut model = Logistic::new(&mut StdRng::seed_from_u64(1));
    let mut training = model.compile(BinaryCrossentropy, Adam::new(0.01));

    let before = training.evaluate_stream(&mut source).unwrap();
    let history = training.fit_stream(&mut source, &Fit::epochs(1).batch_size(256).verbose(false)).unwrap();
    let after = training.evaluate_stream(&mut source).unwrap();

    assert_eq!(history.epochs.len(), 1);
    assert!(after.loss < before.loss / 2.0, "loss {} before, {} after", before.loss, after.loss);
    let accuracy = after.outputs[0].accuracy.unwrap();
    assert!(accuracy > 0.95, "accuracy {accuracy}");

    let in_memory = Dataset::read_csv(&file.0, to_pair).unwrap();
    assert_eq!(in_memory.len(), 100_000);
    let whole = training.evaluate(&in_memory).unwrap();
    assert!((whole.loss - after.loss).abs() <= 1e-12 * whole.loss, "{} vs {}", whole.loss, after.loss);
    assert_eq!(whole.outputs[0].accuracy, Some(accuracy));
}
