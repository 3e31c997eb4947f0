//! Results do not depend on the number of threads: training and prediction run in rayon pools
//! of 1 and 2 threads and must agree bit for bit.
//!
//! Training runs on the calling thread today (see BENCHMARKS.md for why), so its check guards
//! against a future parallel step that would change the sums with the thread count.
//! `Predictor::predict_into` does split batches of 1,024 rows or more across the pool.

use keramic::prelude::*;
use keramic::train::Predictor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    pub struct Mlp {
        input x: [16];
        let hidden_1 = Dense::<64, Relu>(x);
        let hidden_2 = Dense::<32, Tanh>(hidden_1);
        output y = Dense::<1>(hidden_2);
        output class = Dense::<3, Softmax>(hidden_2);
    }
}

fn data(rows: usize) -> Dataset<MlpInput, MlpOutput> {
    let mut rng = StdRng::seed_from_u64(8);
    (0..rows)
        .map(|_| {
            let x: [f32; 16] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
            let y = x.iter().take(8).sum::<f32>() - x[9] * x[10];
            let mut class = [0.0; 3];
            class[(y.abs() * 2.0) as usize % 3] = 1.0;
            (MlpInput { x }, MlpOutput { y: [y], class })
        })
        .collect()
}

fn in_pool<R: Send>(threads: usize, run: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("failed to build a thread pool");
    pool.install(run)
}

/// Returns every weight after 2 epochs from a fixed seed, as bits.
fn trained_weights() -> Vec<u32> {
    let data = data(1500);
    let mut model = Mlp::new(&mut StdRng::seed_from_u64(9));
    let mut training = model.compile((MeanSquaredError, CategoricalCrossentropy), Adam::default());
    training.fit(&data, &Fit::epochs(2).batch_size(64).seed(10).verbose(false)).expect("training failed");
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |_, param| weights.extend(param.value.iter().map(|w| w.to_bits())));
    weights
}

#[test]
fn training_ignores_thread_count() {
    let one_thread = in_pool(1, trained_weights);
    let two_threads = in_pool(2, trained_weights);
    assert_eq!(one_thread.len(), Mlp::TOTAL_PARAMS);
    assert!(one_thread == two_threads, "the weights after training differ between 1 and 2 threads");
}

fn predictions_as_bits(outputs: &[MlpOutput]) -> Vec<u32> {
    outputs.iter().flat_map(|output| output.y.iter().chain(&output.class)).map(|v| v.to_bits()).collect()
}

#[test]
fn predictor_ignores_thread_count() {
    // 5,000 rows: one full batch of 4,096 rows, split in two on 2 threads, and one of 904
    // rows, below the split threshold.
    let data = data(5000);
    let model = Mlp::new(&mut StdRng::seed_from_u64(11));
    let predict_in_pool = |threads| {
        in_pool(threads, || {
            let mut outputs = Vec::new();
            Predictor::new(&model).predict_into(data.inputs(), &mut outputs).expect("prediction failed");
            predictions_as_bits(&outputs)
        })
    };
    let one_thread = predict_in_pool(1);
    let two_threads = predict_in_pool(2);
    let serial = predictions_as_bits(&model.predict(data.inputs()).expect("prediction failed"));
    let single_rows: Vec<u32> = data.inputs()[..50]
        .iter()
        .flat_map(|input| predictions_as_bits(&[model.predict_one(input).expect("prediction failed")]))
        .collect();

    assert_eq!(one_thread.len(), data.len() * 4);
    assert!(one_thread == two_threads, "predictions differ between 1 and 2 threads");
    assert!(one_thread == serial, "Predictor and NetworkExt::predict differ");
    assert!(single_rows[..] == one_thread[..50 * 4], "predict_one differs from batched prediction");
}
