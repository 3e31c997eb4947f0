//! The four benchmark workloads W1–W4: training throughput, final loss and prediction latency
//! and throughput, printed as one JSON object per figure.
//!
//! Run with `cargo bench --bench workloads`, or name workloads to run a subset:
//! `cargo bench --bench workloads -- W2 W4`.
//!
//! Each workload builds its synthetic data from a seeded RNG, trains from Keras's default
//! initializers with Adam (learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-7) for 4 epochs, and
//! reports N / median(seconds of epochs 2–4). `fit` times an epoch from before its shuffle to
//! after its last optimizer step.

use std::hint::black_box;
use std::time::Instant;

use keramic::prelude::*;
use keramic::train::Predictor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

model! {
    /// Maps a team id to one learned strength.
    pub struct TeamStrength {
        input team: Id<TEAMS>;
        let strength = Embedding::<TEAMS, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// W1: the score difference of a game from the two teams' strengths and home advantage.
    pub struct TeamGame {
        input team_1: Id<TEAMS>;
        input team_2: Id<TEAMS>;
        input home: [1];
        layer strength = TeamStrength;
        let difference = Subtract(strength(team_1), strength(team_2));
        output score_diff = Dense::<1>(Concatenate(home, difference));
    }
}

model! {
    /// W2 and W4: a multilayer perceptron with two hidden layers.
    pub struct Mlp {
        input x: [MLP_FEATURES];
        let hidden_1 = Dense::<64, Relu>(x);
        let hidden_2 = Dense::<64, Relu>(hidden_1);
        output y = Dense::<1>(hidden_2);
    }
}

model! {
    /// W3: a linear trunk shared by a regression head and a classification head.
    pub struct TwoHeads {
        input x: [2];
        let trunk = Dense::<2>(x);
        output regression = Dense::<1>(trunk);
        output class = Dense::<1, Sigmoid>(trunk);
    }
}

const TEAMS: usize = 10_888;
const MLP_FEATURES: usize = 32;
const EPOCHS: usize = 4;

fn main() {
    // `cargo bench` passes `--bench`; any other argument names a workload to run.
    let selected: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with("--")).collect();
    let is_selected = |name: &str| selected.is_empty() || selected.iter().any(|arg| arg.eq_ignore_ascii_case(name));
    if is_selected("W1") {
        team_strength();
    }
    if is_selected("W2") {
        mlp_training(32);
        mlp_training(256);
    }
    if is_selected("W3") {
        two_heads();
    }
    if is_selected("W4") {
        mlp_prediction();
    }
}

fn normal(rng: &mut StdRng) -> f32 {
    rng.sample(StandardNormal)
}

fn print_figure(workload: &str, metric: &str, value: f64, unit: &str, params: usize, batch_size: usize) {
    println!(
        "{{\"peer\":\"keramic\",\"workload\":\"{workload}\",\"metric\":\"{metric}\",\"value\":{value},\"unit\":\"{unit}\",\"params\":{params},\"batch_size\":{batch_size}}}"
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

/// Samples per second from the epochs after the warm-up epoch.
fn training_throughput(history: &History, rows: usize) -> f64 {
    let mut seconds: Vec<f64> = history.epochs[1..].iter().map(|epoch| epoch.seconds).collect();
    rows as f64 / median(&mut seconds)
}

fn fit_options(batch_size: usize) -> Fit {
    Fit::epochs(EPOCHS).batch_size(batch_size).verbose(false).seed(1)
}

fn team_strength() {
    const ROWS: usize = 312_000;
    const BATCH: usize = 2048;
    let mut rng = StdRng::seed_from_u64(101);
    let strengths: Vec<f32> = (0..TEAMS).map(|_| normal(&mut rng)).collect();
    let data: Dataset<TeamGameInput, TeamGameOutput> = (0..ROWS)
        .map(|_| {
            let team_1 = rng.random_range(0..TEAMS as u32);
            let team_2 = rng.random_range(0..TEAMS as u32);
            let home = f32::from(rng.random_range(0..2u8));
            let noise = normal(&mut rng);
            let y = 2.0 * (strengths[team_1 as usize] - strengths[team_2 as usize]) + 0.5 * home + 0.25 + 0.5 * noise;
            (TeamGameInput { team_1, team_2, home: [home] }, TeamGameOutput { score_diff: [y] })
        })
        .collect();

    let mut model = TeamGame::new(&mut rng);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(1e-3));
    let history = training.fit(&data, &fit_options(BATCH)).expect("W1 training failed");
    let params = TeamGame::TRAINABLE_PARAMS;
    print_figure("W1", "train_samples_per_s", training_throughput(&history, ROWS), "samples/s", params, BATCH);
    let loss = training.evaluate(&data).expect("W1 evaluation failed").loss;
    print_figure("W1", "final_loss", loss, "mae", params, BATCH);
}

type MlpData = Dataset<MlpInput, MlpOutput>;

fn mlp_data() -> MlpData {
    const ROWS: usize = 100_000;
    let mut rng = StdRng::seed_from_u64(202);
    let a: Vec<f32> = (0..MLP_FEATURES).map(|_| normal(&mut rng)).collect();
    let b: Vec<f32> = (0..MLP_FEATURES).map(|_| normal(&mut rng)).collect();
    let scale = (MLP_FEATURES as f32).sqrt();
    (0..ROWS)
        .map(|_| {
            let x: [f32; MLP_FEATURES] = std::array::from_fn(|_| normal(&mut rng));
            let xa: f32 = x.iter().zip(&a).map(|(x, a)| x * a).sum();
            let xb: f32 = x.iter().zip(&b).map(|(x, b)| x * b).sum();
            let y = xa / scale + 0.5 * (xb / scale).tanh() + 0.1 * normal(&mut rng);
            (MlpInput { x }, MlpOutput { y: [y] })
        })
        .collect()
}

fn mlp_training(batch_size: usize) {
    let data = mlp_data();
    let mut model = Mlp::new(&mut StdRng::seed_from_u64(2));
    let mut training = model.compile(MeanSquaredError, Adam::new(1e-3));
    let history = training.fit(&data, &fit_options(batch_size)).expect("W2 training failed");
    let throughput = training_throughput(&history, data.len());
    print_figure("W2", "train_samples_per_s", throughput, "samples/s", Mlp::TRAINABLE_PARAMS, batch_size);
}

fn two_heads() {
    const ROWS: usize = 100_000;
    const BATCH: usize = 256;
    let mut rng = StdRng::seed_from_u64(303);
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = (0..ROWS)
        .map(|_| {
            let x = [normal(&mut rng), normal(&mut rng)];
            let regression = 1.5 * x[0] - 2.0 * x[1] + 0.5 + 0.1 * normal(&mut rng);
            let class = if x[0] + x[1] + 0.5 * normal(&mut rng) > 0.0 { 1.0 } else { 0.0 };
            (TwoHeadsInput { x }, TwoHeadsOutput { regression: [regression], class: [class] })
        })
        .collect();
    let mut model = TwoHeads::new(&mut rng);
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(1e-3));
    let history = training.fit(&data, &fit_options(BATCH)).expect("W3 training failed");
    let throughput = training_throughput(&history, ROWS);
    print_figure("W3", "train_samples_per_s", throughput, "samples/s", TwoHeads::TRAINABLE_PARAMS, BATCH);
}

fn mlp_prediction() {
    const WARM_UP_CALLS: usize = 200;
    const TIMED_CALLS: usize = 10_000;
    const SLICE: usize = 4096;
    let data = mlp_data();
    let model = Mlp::new(&mut StdRng::seed_from_u64(2));
    let params = Mlp::TRAINABLE_PARAMS;
    let inputs = data.inputs();

    let mut predictor = Predictor::new(&model);
    for input in &inputs[..WARM_UP_CALLS] {
        black_box(predictor.predict_one(black_box(input)).expect("W4 prediction failed"));
    }
    let mut micros: Vec<f64> = inputs[WARM_UP_CALLS..WARM_UP_CALLS + TIMED_CALLS]
        .iter()
        .map(|input| {
            let started = Instant::now();
            black_box(predictor.predict_one(black_box(input)).expect("W4 prediction failed"));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    print_figure("W4", "predict_us_median", median(&mut micros), "us", params, 1);

    let mut outputs = Vec::with_capacity(inputs.len());
    let mut pass = |outputs: &mut Vec<MlpOutput>| {
        outputs.clear();
        let started = Instant::now();
        for slice in inputs.chunks(SLICE) {
            predictor.predict_into(slice, outputs).expect("W4 prediction failed");
        }
        black_box(&outputs);
        started.elapsed().as_secs_f64()
    };
    pass(&mut outputs);
    let mut seconds: Vec<f64> = (0..3).map(|_| pass(&mut outputs)).collect();
    print_figure("W4", "predict_samples_per_s", inputs.len() as f64 / median(&mut seconds), "samples/s", params, SLICE);
}
