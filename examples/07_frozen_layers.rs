//! Frozen layers: reuse trained weights in a new model without changing them.
//!
//! `#[frozen] layer NAME = Kind;` declares an instance whose weights the optimizer never
//! updates; they count as non-trainable parameters, and gradients still flow through them to
//! the layers before. Here a feature extractor is trained on a task with plenty of data, then
//! frozen inside a model for a related task with only 50 rows, and compared with the same
//! model trained from scratch on those rows.
//!
//! Run with `cargo run --release --example 07_frozen_layers`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// Maps eight measurements to sixteen learned features.
    pub struct Features {
        input x: [INPUTS];
        output features = Dense::<16, Tanh>(x);
    }
}

model! {
    /// The first task, with plenty of data: trains the feature extractor.
    pub struct Pretraining {
        input x: [INPUTS];
        layer extractor = Features;
        output a = Dense::<1>(extractor(x));
    }
}

model! {
    /// The second task, on the frozen features of the first.
    pub struct Transfer {
        input x: [INPUTS];
        #[frozen]
        layer extractor = Features;
        output b = Dense::<1>(extractor(x));
    }
}

// Only the new head trains: 16 + 1 weights. The extractor's 8 × 16 + 16 are frozen.
const _: () = assert!(Transfer::TRAINABLE_PARAMS == 17);
const _: () = assert!(Transfer::NON_TRAINABLE_PARAMS == 144);

/// The number of rows of the first task, and of the second task's training and test sets.
const PRETRAINING_ROWS: usize = 5_000;
const TRANSFER_ROWS: usize = 50;
const TEST_ROWS: usize = 2_000;

/// The seed of the data, the initial weights and the shuffling.
const SEED: u64 = 7;

/// The number of measurements per row.
const INPUTS: usize = 8;

/// A synthetic pair of tasks: both targets are different sums of the same three hidden
/// features of the input.
struct Tasks {
    projection: [[f32; INPUTS]; 3],
}

impl Tasks {
    fn hidden(&self, x: &[f32; INPUTS]) -> [f32; 3] {
        self.projection.map(|row| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>().tanh())
    }

    fn task_a(&self, x: &[f32; INPUTS]) -> f32 {
        let h = self.hidden(x);
        h[0] + h[1] - h[2]
    }

    fn task_b(&self, x: &[f32; INPUTS]) -> f32 {
        let h = self.hidden(x);
        2.0 * h[0] - h[1] + 0.5 * h[2]
    }
}

fn random_x(rng: &mut StdRng) -> [f32; INPUTS] {
    [(); INPUTS].map(|()| rng.random_range(-1.0..1.0))
}

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let tasks = Tasks { projection: [(); 3].map(|()| [(); INPUTS].map(|()| rng.random_range(-1.0..1.0))) };
    let task_b_rows = |rows: usize, rng: &mut StdRng| -> Dataset<TransferInput, TransferOutput> {
        (0..rows)
            .map(|_| {
                let x = random_x(rng);
                (TransferInput { x }, TransferOutput { b: [tasks.task_b(&x)] })
            })
            .collect()
    };

    let pretraining_data: Dataset<PretrainingInput, PretrainingOutput> = (0..PRETRAINING_ROWS)
        .map(|_| {
            let x = random_x(&mut rng);
            (PretrainingInput { x }, PretrainingOutput { a: [tasks.task_a(&x)] })
        })
        .collect();
    let transfer_data = task_b_rows(TRANSFER_ROWS, &mut rng);
    let test = task_b_rows(TEST_ROWS, &mut rng);

    println!("Pretraining on {PRETRAINING_ROWS} rows of the first task");
    let mut pretrained = Pretraining::new(&mut rng);
    pretrained.compile(MeanSquaredError, Adam::new(0.01)).fit(&pretraining_data, &Fit::epochs(30).seed(SEED).verbose(false))?;

    // Every layer with weights is a public field, so a trained instance can be copied in. A
    // layer stores whether it is trainable, and the copy comes from a model where it was, so
    // it has to be frozen again.
    let mut transfer = Transfer::new(&mut rng);
    transfer.extractor = pretrained.extractor.clone();
    transfer.extractor.set_trainable(false);
    let before = extractor_weights(&transfer);
    println!("{}", Transfer::summary());
    println!();
    println!("Training the head on {TRANSFER_ROWS} rows of the second task, with the features frozen");
    let mut training = transfer.compile(MeanSquaredError, Adam::new(0.05));
    training.fit(&transfer_data, &Fit::epochs(100).batch_size(16).seed(SEED).verbose(false))?;
    let frozen_scores = training.evaluate(&test)?;
    let unchanged = extractor_weights(&transfer) == before;

    println!("Training the same model from scratch on those {TRANSFER_ROWS} rows, nothing frozen");
    let mut scratch = Transfer::new(&mut rng);
    scratch.set_trainable(true);
    let mut training = scratch.compile(MeanSquaredError, Adam::new(0.05));
    training.fit(&transfer_data, &Fit::epochs(100).batch_size(16).seed(SEED).verbose(false))?;
    let scratch_scores = training.evaluate(&test)?;

    println!();
    println!("Frozen extractor weights unchanged by training: {unchanged}");
    println!("Test MSE with the frozen pretrained features: {:.4}", frozen_scores.loss);
    println!("Test MSE of the model trained from scratch:    {:.4}", scratch_scores.loss);
    Ok(())
}

/// Returns the weight tensors of the extractor with their paths, such as
/// `extractor.features.kernel`.
fn extractor_weights(model: &Transfer) -> Vec<(String, Vec<f32>)> {
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        if name.starts_with("extractor.") {
            weights.push((name.to_owned(), param.value.to_vec()));
        }
    });
    weights
}
