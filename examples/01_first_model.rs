//! A first model: declare, train, evaluate and use a small network that learns a nonlinear
//! function of three numbers from synthetic data.
//!
//! This is the whole workflow in one file. `model!` declares the model and checks its shapes at
//! compile time, and `compile` pairs it with a loss and an optimizer. `fit` trains it while it
//! prints its progress, `evaluate` scores it on held-out rows, and `predict_one` runs it on a
//! new row.
//!
//! Run with `cargo run --release --example 01_first_model`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// Predicts `y` from three numbers with one hidden layer.
    pub struct FirstModel {
        input x: [3];
        let hidden = Dense::<32, Relu>(x);
        output y = Dense::<1>(hidden);
    }
}

// Dense::<32> on 3 inputs has 3 × 32 + 32 weights, and Dense::<1> on 32 has 32 + 1.
const _: () = assert!(FirstModel::TRAINABLE_PARAMS == 161);

/// The number of synthetic rows.
const ROWS: usize = 2_000;

/// The share of rows held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 1;

/// The function the model learns.
fn truth(x: [f32; 3]) -> f32 {
    x[0] * x[1] + (2.0 * x[2]).sin()
}

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let data: Dataset<FirstModelInput, FirstModelOutput> = (0..ROWS)
        .map(|_| {
            let x = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            (FirstModelInput { x }, FirstModelOutput { y: [truth(x)] })
        })
        .collect();
    let (train, test) = data.split_shuffled(TEST_FRACTION, SEED)?;

    println!("{}", FirstModel::summary());
    let mut model = FirstModel::new(&mut rng);
    let mut training = model.compile(MeanSquaredError, Adam::new(0.01));
    training.fit(&train, &Fit::epochs(40).batch_size(32).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    let mean = train.targets().iter().map(|target| f64::from(target.y[0])).sum::<f64>() / train.len() as f64;
    let baseline = test.targets().iter().map(|target| (f64::from(target.y[0]) - mean).powi(2)).sum::<f64>() / test.len() as f64;
    println!();
    println!("Test MSE: {:.4} (predicting the training mean: {baseline:.4})", scores.loss);

    let x = [0.5, -0.5, 0.25];
    let prediction = model.predict_one(&FirstModelInput { x })?;
    println!("y({x:?}) = {:.3}, predicted {:.3}", truth(x), prediction.y[0]);
    Ok(())
}
