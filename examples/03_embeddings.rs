//! Embeddings: integer ids as inputs, each mapped to a learned vector.
//!
//! An input declared as `Id<V>` takes one id below `V`, and `Embedding::<V, D>` maps it to a
//! learned `[1, D]` row. Here the model learns how generous each user is and how good each
//! item is from synthetic ratings, and then the learned item embedding is compared with the
//! item quality that generated the data.
//!
//! Run with `cargo run --release --example 03_embeddings`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The number of users and items: ids run from 0 to `USERS - 1` and `ITEMS - 1`.
const USERS: usize = 200;
const ITEMS: usize = 50;

model! {
    /// Predicts a user's rating of an item from a learned bias per user and per item.
    pub struct Ratings {
        input user: Id<USERS>;
        input item: Id<ITEMS>;
        let user_bias = Embedding::<USERS, 1>(user);   // [1, 1]
        let item_quality = Embedding::<ITEMS, 1>(item); // [1, 1]
        let both = Flatten(Concatenate(user_bias, item_quality)); // [2]
        output rating = Dense::<1>(both);
    }
}

const _: () = assert!(Ratings::TRAINABLE_PARAMS == USERS + ITEMS + 3);

/// The number of synthetic ratings.
const ROWS: usize = 20_000;

/// The share of ratings held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The standard deviation of the noise added to each rating.
const NOISE: f32 = 0.3;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 3;

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let generosity: Vec<f32> = (0..USERS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let quality: Vec<f32> = (0..ITEMS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let data: Dataset<RatingsInput, RatingsOutput> = (0..ROWS)
        .map(|_| {
            let user = rng.random_range(0..USERS);
            let item = rng.random_range(0..ITEMS);
            // A uniform draw on [-√3, √3] has standard deviation 1.
            let noise = NOISE * rng.random_range(-3f32.sqrt()..3f32.sqrt());
            let rating = 3.0 + generosity[user] + quality[item] + noise;
            (RatingsInput { user: user as u32, item: item as u32 }, RatingsOutput { rating: [rating] })
        })
        .collect();
    let (train, test) = data.split_shuffled(TEST_FRACTION, SEED)?;

    println!("{}", Ratings::summary());
    let mut model = Ratings::new(&mut rng);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.02));
    training.fit(&train, &Fit::epochs(15).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    let mean = train.targets().iter().map(|target| f64::from(target.rating[0])).sum::<f64>() / train.len() as f64;
    let baseline = test.targets().iter().map(|target| (f64::from(target.rating[0]) - mean).abs()).sum::<f64>() / test.len() as f64;
    println!();
    println!("Test MAE: {:.4} (predicting the training mean: {baseline:.4}; the noise alone gives about {:.4})", scores.loss, NOISE * 3f32.sqrt() / 2.0);

    // The embedding layer is a public field named after the value it defines, and its table
    // has one row per id. The Dense layer may scale the table by any factor, so the
    // correlation with the true quality is what shows that the model found it.
    let learned: Vec<f32> = model.item_quality.table().to_vec();
    println!("Correlation of the learned item embedding with the true quality: {:.3}", correlation(&learned, &quality).abs());
    Ok(())
}

/// Computes Pearson's correlation coefficient of two equally long series.
fn correlation(x: &[f32], y: &[f32]) -> f64 {
    let n = x.len() as f64;
    let mean_x = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let mean_y = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut covariance, mut variance_x, mut variance_y) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (f64::from(a) - mean_x, f64::from(b) - mean_y);
        covariance += dx * dy;
        variance_x += dx * dx;
        variance_y += dy * dy;
    }
    covariance / (variance_x * variance_y).sqrt()
}
