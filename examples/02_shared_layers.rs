//! Shared layers: one set of weights applied to two inputs, as in a siamese network.
//!
//! A layer declared with `layer NAME = Kind;` is one instance: every call of `NAME(...)` uses
//! the same weights, and the gradients of all calls add up. Here the same two layers score two
//! points, and the model learns the difference of the two scores from synthetic data.
//!
//! Run with `cargo run --release --example 02_shared_layers`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// Scores points `a` and `b` with the same layers and predicts the difference of the scores.
    pub struct Comparison {
        input a: [2];
        input b: [2];
        layer hidden = Dense::<16, Tanh>;
        layer score = Dense::<1>;
        output difference = Subtract(score(hidden(a)), score(hidden(b)));
    }
}

// Each shared layer counts once: (2 × 16 + 16) + (16 + 1), although each is called twice.
const _: () = assert!(Comparison::TRAINABLE_PARAMS == 65);

/// The number of synthetic pairs of points.
const ROWS: usize = 4_000;

/// The share of rows held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 2;

/// The hidden score of a point, which is not among the model's inputs.
fn hidden_score(point: [f32; 2]) -> f32 {
    (1.5 * point[0]).sin() + 0.5 * point[1] * point[1]
}

fn random_point(rng: &mut StdRng) -> [f32; 2] {
    [rng.random_range(-1.5..1.5), rng.random_range(-1.5..1.5)]
}

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let data: Dataset<ComparisonInput, ComparisonOutput> = (0..ROWS)
        .map(|_| {
            let (a, b) = (random_point(&mut rng), random_point(&mut rng));
            (ComparisonInput { a, b }, ComparisonOutput { difference: [hidden_score(a) - hidden_score(b)] })
        })
        .collect();
    let (train, test) = data.split_shuffled(TEST_FRACTION, SEED)?;

    // The summary lists `hidden` and `score` once each, connected to both of their operands.
    println!("{}", Comparison::summary());
    let mut model = Comparison::new(&mut rng);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.01));
    training.fit(&train, &Fit::epochs(30).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    // The targets are differences of two draws of the same distribution, so their mean is
    // close to 0, and predicting 0 is the natural baseline.
    let baseline = test.targets().iter().map(|target| f64::from(target.difference[0].abs())).sum::<f64>() / test.len() as f64;
    println!();
    println!("Test MAE: {:.4} (predicting 0: {baseline:.4})", scores.loss);
    Ok(())
}
