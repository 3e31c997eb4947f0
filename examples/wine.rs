//! Trains a model with two outputs on the red wine quality data set that ships inside
//! `linfa-datasets`. One output regresses the quality score with mean absolute error, and the
//! other classifies good wines with binary cross-entropy. The example then compares the test
//! scores with two constant baselines.
//!
//! Run with `cargo run --release --example wine`.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Number of physicochemical measurements per wine, such as acidity, sulphates and alcohol.
const FEATURES: usize = 11;

/// The lowest quality score that counts as a good wine. Scores in this data set are integers
/// from 3 to 8, and 217 of the 1,599 wines score 7 or 8.
const GOOD_QUALITY: f32 = 7.0;

/// The share of rows held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the train/test split, the initial weights and the batch shuffling.
const SEED: u64 = 42;

model! {
    /// Scores a wine from its standardized measurements, with one shared trunk and two heads.
    pub struct WineQuality {
        input features: [FEATURES];
        let hidden = Dense::<32, Relu>(features);
        let trunk = Dense::<16, Relu>(hidden);
        output quality = Dense::<1>(trunk);
        output good = Dense::<1, Sigmoid>(trunk);
    }
}

type WineData = Dataset<WineQualityInput, WineQualityOutput>;

/// Per-feature mean and standard deviation, measured on the training rows only so that no
/// information from the test rows reaches the model.
struct Standardizer {
    mean: [f32; FEATURES],
    std: [f32; FEATURES],
}

/// The scores of the two constant predictors that the model has to beat.
struct Baselines {
    /// Test MAE of predicting the training mean quality for every wine.
    mean_quality_mae: f64,
    /// Test accuracy of predicting the training set's majority class of `good`.
    majority_accuracy: f64,
    /// Test binary cross-entropy of predicting the training positive rate for every wine.
    positive_rate_bce: f64,
}

fn main() -> Result<(), Error> {
    let wines = load_wines();
    let (raw_train, raw_test) = wines.split_shuffled(TEST_FRACTION, SEED)?;
    print_data_summary(&raw_train, &raw_test);

    let standardizer = Standardizer::fit(&raw_train);
    let train = standardizer.apply(&raw_train);
    let test = standardizer.apply(&raw_test);
    let baselines = Baselines::measure(&train, &test);

    println!("{}", WineQuality::summary());
    println!();
    let mut model = WineQuality::new(&mut StdRng::seed_from_u64(SEED));
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.001));
    // `split_shuffled` already shuffled the rows, so the last 10% that `validation_split`
    // holds out are a random sample of the training set.
    let options = Fit::epochs(80)
        .batch_size(32)
        .validation_split(0.1)
        .seed(SEED);
    training.fit(&train, &options)?;

    let evaluation = training.evaluate(&test)?;
    print_comparison(&evaluation, &baselines);
    Ok(())
}

/// Loads the 1,599 red wines with their raw measurements, the quality score and the good-wine
/// label as targets.
fn load_wines() -> WineData {
    // `winequality()` parses a CSV file compiled into linfa-datasets 0.8.1 and panics only if
    // that embedded file is corrupt.
    let wines = linfa_datasets::winequality();
    wines
        .records
        .rows()
        .into_iter()
        .zip(wines.targets.iter())
        .map(|(row, &quality)| {
            let mut features = [0.0; FEATURES];
            for (feature, &value) in features.iter_mut().zip(row.iter()) {
                *feature = value as f32;
            }
            (WineQualityInput { features }, wine_targets(quality as f32))
        })
        .collect()
}

fn wine_targets(quality: f32) -> WineQualityOutput {
    let good = if quality >= GOOD_QUALITY { 1.0 } else { 0.0 };
    WineQualityOutput {
        quality: [quality],
        good: [good],
    }
}

fn print_data_summary(train: &WineData, test: &WineData) {
    println!(
        "Red wine quality: {} training rows, {} test rows",
        train.len(),
        test.len()
    );
    println!(
        "Good wines (quality {GOOD_QUALITY} or more): {:.1}% of training rows, {:.1}% of test rows",
        100.0 * positive_rate(train),
        100.0 * positive_rate(test),
    );
    println!();
}

impl Standardizer {
    fn fit(train: &WineData) -> Self {
        let rows = train.len().max(1) as f64;
        let mut sums = [0.0f64; FEATURES];
        let mut squares = [0.0f64; FEATURES];
        for input in train.inputs() {
            for (j, &value) in input.features.iter().enumerate() {
                sums[j] += f64::from(value);
                squares[j] += f64::from(value) * f64::from(value);
            }
        }

        let mut mean = [0.0; FEATURES];
        let mut std = [1.0; FEATURES];
        for j in 0..FEATURES {
            let feature_mean = sums[j] / rows;
            let variance = (squares[j] / rows - feature_mean * feature_mean).max(0.0);
            mean[j] = feature_mean as f32;
            // A constant feature keeps a scale of 1, so it becomes 0 instead of NaN.
            if variance > 0.0 {
                std[j] = variance.sqrt() as f32;
            }
        }
        Standardizer { mean, std }
    }

    fn apply(&self, data: &WineData) -> WineData {
        data.inputs()
            .iter()
            .zip(data.targets())
            .map(|(input, target)| {
                let mut features = input.features;
                for (j, value) in features.iter_mut().enumerate() {
                    *value = (*value - self.mean[j]) / self.std[j];
                }
                (WineQualityInput { features }, target.clone())
            })
            .collect()
    }
}

impl Baselines {
    fn measure(train: &WineData, test: &WineData) -> Self {
        let test_quality = quality_scores(test);
        let test_good = good_labels(test);

        let mean_quality = mean(quality_scores(train));
        let mean_quality_mae = mean(
            test_quality
                .iter()
                .map(|quality| (quality - mean_quality).abs()),
        );

        let rate = positive_rate(train);
        let majority = if rate >= 0.5 { 1.0 } else { 0.0 };
        let majority_accuracy = mean(
            test_good
                .iter()
                .map(|&good| if good == majority { 1.0 } else { 0.0 }),
        );
        let positive_rate_bce = mean(
            test_good
                .iter()
                .map(|&good| binary_crossentropy(rate, good)),
        );

        Baselines {
            mean_quality_mae,
            majority_accuracy,
            positive_rate_bce,
        }
    }
}

fn quality_scores(data: &WineData) -> Vec<f64> {
    data.targets()
        .iter()
        .map(|target| f64::from(target.quality[0]))
        .collect()
}

/// Returns the good-wine labels, 1 for good and 0 otherwise.
fn good_labels(data: &WineData) -> Vec<f64> {
    data.targets()
        .iter()
        .map(|target| f64::from(target.good[0]))
        .collect()
}

/// Computes the share of rows labeled good.
fn positive_rate(data: &WineData) -> f64 {
    mean(good_labels(data))
}

/// Computes the mean of `values`, or 0 when there are none.
fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, count), value| {
            (sum + value, count + 1)
        });
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// Computes the binary cross-entropy of predicting probability `p` for label `y`, with `p` clipped to
/// [1e-7, 1 - 1e-7] as `BinaryCrossentropy` clips probabilities.
fn binary_crossentropy(p: f64, y: f64) -> f64 {
    let p = p.clamp(1e-7, 1.0 - 1e-7);
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

fn print_comparison(evaluation: &Evaluation, baselines: &Baselines) {
    // `WineQuality` declares both outputs, so the lookups succeed. A NaN in the table would
    // mean that an output was renamed without updating these names.
    let quality = evaluation.output("quality");
    let good = evaluation.output("good");
    let quality_mae = quality.map_or(f64::NAN, |scores| scores.loss);
    let good_bce = good.map_or(f64::NAN, |scores| scores.loss);
    let good_accuracy = good.and_then(|scores| scores.accuracy).unwrap_or(f64::NAN);

    println!();
    println!("Test set         model   baseline");
    println!(
        "quality MAE     {quality_mae:6.4}     {:6.4}   (training mean quality)",
        baselines.mean_quality_mae
    );
    println!(
        "good accuracy   {good_accuracy:6.4}     {:6.4}   (majority class)",
        baselines.majority_accuracy
    );
    println!(
        "good BCE        {good_bce:6.4}     {:6.4}   (training positive rate)",
        baselines.positive_rate_bce
    );
}
