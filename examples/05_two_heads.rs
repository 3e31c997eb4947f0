//! Two heads: one model with two outputs, a regression and a classification, trained together.
//!
//! Each output gets its own loss, given as a tuple in output order, and the compiler rejects a
//! tuple of the wrong length. `weighted` scales one loss in the total. Here the model predicts
//! the score difference of a synthetic game and, from that prediction, whether the first team
//! wins, as the two-head model of the basketball example does.
//!
//! Run with `cargo run --release --example 05_two_heads`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// Predicts the score difference from two ratings, then the win probability from the
    /// predicted score difference.
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output win = Dense::<1, Sigmoid>(score_diff);
    }
}

/// The number of synthetic games.
const GAMES: usize = 10_000;

/// The share of games held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 5;

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = (0..GAMES)
        .map(|_| {
            let ratings = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let luck = rng.random_range(-0.5..0.5);
            let score_diff = 2.0 * ratings[0] - ratings[1] + luck;
            let win = if score_diff > 0.0 { 1.0 } else { 0.0 };
            (TwoHeadsInput { ratings }, TwoHeadsOutput { score_diff: [score_diff], win: [win] })
        })
        .collect();
    let (train, test) = data.split_shuffled(TEST_FRACTION, SEED)?;

    println!("{}", TwoHeads::summary());
    let mut model = TwoHeads::new(&mut rng);
    // One loss per output, in declaration order. The classification counts half in the total.
    let losses = (MeanAbsoluteError, BinaryCrossentropy.weighted(0.5));
    let mut training = model.compile(losses, Adam::new(0.02));
    training.fit(&train, &Fit::epochs(20).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    println!();
    for output in &scores.outputs {
        let accuracy = output.accuracy.map(|accuracy| format!(", accuracy {accuracy:.4}")).unwrap_or_default();
        println!("Test {}: {} {:.4}{accuracy}", output.name, output.loss_name, output.loss);
    }
    let wins = test.targets().iter().filter(|target| target.win[0] > 0.5).count() as f64 / test.len() as f64;
    println!("Test win rate of the first team: {wins:.4}, so always predicting the majority class has accuracy {:.4}", wins.max(1.0 - wins));
    Ok(())
}
