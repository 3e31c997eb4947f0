//! Softmax classification: the three iris species from four flower measurements.
//!
//! A `Dense::<3, Softmax>` output trained with `CategoricalCrossentropy` takes one-hot targets,
//! works from the logits as Keras does, and reports accuracy. The 150 flowers of Fisher's iris
//! data set ship inside the `linfa-datasets` crate, so nothing is downloaded.
//!
//! Run with `cargo run --release --example 08_iris`.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Sepal length, sepal width, petal length and petal width, in centimeters.
const FEATURES: usize = 4;

/// Setosa, versicolor and virginica, labeled 0, 1 and 2 in the data set.
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

model! {
    /// Predicts the probability of each species from standardized measurements.
    pub struct Iris {
        input measurements: [FEATURES];
        let hidden = Dense::<16, Relu>(measurements);
        output species = Dense::<3, Softmax>(hidden);
    }
}

type IrisData = Dataset<IrisInput, IrisOutput>;

/// The share of flowers held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the split, the initial weights and the shuffling.
const SEED: u64 = 8;

fn main() -> Result<(), Error> {
    let flowers = load_flowers();
    let (raw_train, raw_test) = flowers.split_shuffled(TEST_FRACTION, SEED)?;
    let (mean, std) = feature_statistics(&raw_train);
    let train = standardize(&raw_train, &mean, &std);
    let test = standardize(&raw_test, &mean, &std);
    println!("Iris: {} training flowers, {} test flowers", train.len(), test.len());

    println!("{}", Iris::summary());
    let mut model = Iris::new(&mut StdRng::seed_from_u64(SEED));
    let mut training = model.compile(CategoricalCrossentropy, Adam::new(0.01));
    training.fit(&train, &Fit::epochs(60).batch_size(16).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;
    let accuracy = scores.outputs.first().and_then(|output| output.accuracy).unwrap_or(f64::NAN);

    println!();
    println!("Test cross-entropy: {:.4}, test accuracy: {accuracy:.4} (guessing the most common species: about 0.33)", scores.loss);
    print_confusion(&model, &test)?;
    Ok(())
}

/// Loads the 150 flowers with their raw measurements and one-hot species.
fn load_flowers() -> IrisData {
    // `iris()` parses a CSV file compiled into linfa-datasets 0.8.1 and panics only if that
    // embedded file is corrupt.
    let iris = linfa_datasets::iris();
    iris.records
        .rows()
        .into_iter()
        .zip(iris.targets.iter())
        .map(|(row, &species)| {
            let mut measurements = [0.0; FEATURES];
            for (feature, &value) in measurements.iter_mut().zip(row.iter()) {
                *feature = value as f32;
            }
            let mut one_hot = [0.0; 3];
            if let Some(slot) = one_hot.get_mut(species) {
                *slot = 1.0;
            }
            (IrisInput { measurements }, IrisOutput { species: one_hot })
        })
        .collect()
}

/// Returns the mean and standard deviation of each feature over `data`.
fn feature_statistics(data: &IrisData) -> ([f32; FEATURES], [f32; FEATURES]) {
    let rows = data.len().max(1) as f32;
    let mut mean = [0.0; FEATURES];
    let mut std = [0.0; FEATURES];
    for input in data.inputs() {
        for (sum, value) in mean.iter_mut().zip(input.measurements) {
            *sum += value / rows;
        }
    }
    for input in data.inputs() {
        for j in 0..FEATURES {
            std[j] += (input.measurements[j] - mean[j]).powi(2) / rows;
        }
    }
    // A constant feature keeps a scale of 1, so it becomes 0 instead of NaN.
    (mean, std.map(|variance| if variance > 0.0 { variance.sqrt() } else { 1.0 }))
}

fn standardize(data: &IrisData, mean: &[f32; FEATURES], std: &[f32; FEATURES]) -> IrisData {
    data.inputs()
        .iter()
        .zip(data.targets())
        .map(|(input, target)| {
            let mut measurements = input.measurements;
            for j in 0..FEATURES {
                measurements[j] = (measurements[j] - mean[j]) / std[j];
            }
            (IrisInput { measurements }, target.clone())
        })
        .collect()
}

/// Prints how many test flowers of each species the model assigns to each species.
fn print_confusion(model: &Iris, test: &IrisData) -> Result<(), Error> {
    let predictions = model.predict(test.inputs())?;
    let mut counts = [[0usize; 3]; 3];
    for (prediction, target) in predictions.iter().zip(test.targets()) {
        counts[most_likely(&target.species)][most_likely(&prediction.species)] += 1;
    }
    println!();
    println!("Test flowers by true species (rows) and predicted species (columns):");
    println!("{:<12}{}", "", SPECIES.map(|name| format!("{name:>12}")).join(""));
    for (name, row) in SPECIES.iter().zip(counts) {
        println!("{name:<12}{}", row.map(|count| format!("{count:>12}")).join(""));
    }
    Ok(())
}

/// Returns the index of the largest probability.
fn most_likely(probabilities: &[f32; 3]) -> usize {
    (0..3).fold(0, |best, k| if probabilities[k] > probabilities[best] { k } else { best })
}
