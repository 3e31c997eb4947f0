//! One training step of a two-layer MLP, `IN → HIDDEN (ReLU) → 10 (softmax)` with categorical
//! cross-entropy and Adam, in keramic's statically sized layers and in a hand-written version
//! on nalgebra's dynamically sized `DMatrix`, for several layer sizes.
//!
//! Run with `cargo bench --bench storage`. Both versions gather the batch from the rows, run
//! forward and backward passes and update every weight with Adam. What differs is the
//! storage and the matrix kernels: keramic's own blocked kernels against nalgebra's gemm,
//! which hands large products to the `matrixmultiply` crate.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keramic::prelude::*;
use nalgebra::DMatrix;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 64;
const CLASSES: usize = 10;
const ROWS: usize = 1024;

macro_rules! static_mlp {
    ($name:ident, $input:ident, $output:ident, $inputs:literal, $hidden:literal) => {
        model! {
            pub struct $name {
                input pixels: [$inputs];
                let hidden = Dense::<$hidden, Relu>(pixels);
                output class = Dense::<10, Softmax>(hidden);
            }
        }
    };
}

static_mlp!(Mlp32, Mlp32Input, Mlp32Output, 32, 32);
static_mlp!(Mlp128, Mlp128Input, Mlp128Output, 128, 128);
static_mlp!(Mlp256, Mlp256Input, Mlp256Output, 256, 256);
static_mlp!(Mlp784, Mlp784Input, Mlp784Output, 784, 512);

/// Random rows with a one-hot class each.
fn rows(inputs: usize) -> Vec<(Vec<f32>, usize)> {
    let mut rng = StdRng::seed_from_u64(21);
    (0..ROWS).map(|_| ((0..inputs).map(|_| rng.random_range(-1.0..1.0)).collect(), rng.random_range(0..CLASSES))).collect()
}

fn one_hot(class: usize) -> [f32; CLASSES] {
    let mut target = [0.0; CLASSES];
    target[class] = 1.0;
    target
}

/// Adam's state and update for one tensor, with Keras's defaults.
struct AdamSlot {
    first: Vec<f32>,
    second: Vec<f32>,
}

impl AdamSlot {
    fn new(len: usize) -> Self {
        AdamSlot { first: vec![0.0; len], second: vec![0.0; len] }
    }

    fn update(&mut self, step: i32, value: &mut [f32], grad: &[f32]) {
        let alpha = 1e-3 * (1.0 - 0.999f32.powi(step)).sqrt() / (1.0 - 0.9f32.powi(step));
        for (((w, m), v), &g) in value.iter_mut().zip(&mut self.first).zip(&mut self.second).zip(grad) {
            *m += (g - *m) * 0.1;
            *v += (g * g - *v) * 0.001;
            *w -= *m * alpha / (v.sqrt() + 1e-7);
        }
    }
}

/// The same MLP on `DMatrix`, with every buffer allocated once.
struct DynamicMlp {
    w1: DMatrix<f32>,
    b1: DMatrix<f32>,
    w2: DMatrix<f32>,
    b2: DMatrix<f32>,
    grads: [DMatrix<f32>; 4],
    slots: [AdamSlot; 4],
    step: i32,
    x: DMatrix<f32>,
    x_t: DMatrix<f32>,
    y: DMatrix<f32>,
    hidden: DMatrix<f32>,
    hidden_t: DMatrix<f32>,
    probabilities: DMatrix<f32>,
    hidden_grad: DMatrix<f32>,
}

impl DynamicMlp {
    fn new(inputs: usize, hidden: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(22);
        let mut glorot = |rows: usize, columns: usize| {
            let limit = (6.0 / (rows + columns) as f32).sqrt();
            DMatrix::from_fn(rows, columns, |_, _| rng.random_range(-limit..limit))
        };
        let (w1, w2) = (glorot(hidden, inputs), glorot(CLASSES, hidden));
        let shapes = [(hidden, inputs), (hidden, 1), (CLASSES, hidden), (CLASSES, 1)];
        DynamicMlp {
            w1,
            b1: DMatrix::zeros(hidden, 1),
            w2,
            b2: DMatrix::zeros(CLASSES, 1),
            grads: shapes.map(|(rows, columns)| DMatrix::zeros(rows, columns)),
            slots: shapes.map(|(rows, columns)| AdamSlot::new(rows * columns)),
            step: 0,
            x: DMatrix::zeros(inputs, BATCH),
            x_t: DMatrix::zeros(BATCH, inputs),
            y: DMatrix::zeros(CLASSES, BATCH),
            hidden: DMatrix::zeros(hidden, BATCH),
            hidden_t: DMatrix::zeros(BATCH, hidden),
            probabilities: DMatrix::zeros(CLASSES, BATCH),
            hidden_grad: DMatrix::zeros(hidden, BATCH),
        }
    }

    fn train_step(&mut self, rows: &[(Vec<f32>, usize)], batch: &[usize]) {
        for (column, &row) in batch.iter().enumerate() {
            self.x.column_mut(column).copy_from_slice(&rows[row].0);
            self.y.column_mut(column).copy_from_slice(&one_hot(rows[row].1));
        }

        // Forward: hidden = relu(W1 x + b1), probabilities = softmax(W2 hidden + b2).
        self.hidden.gemm(1.0, &self.w1, &self.x, 0.0);
        for mut column in self.hidden.column_iter_mut() {
            column += &self.b1;
            column.apply(|h| *h = h.max(0.0));
        }
        self.probabilities.gemm(1.0, &self.w2, &self.hidden, 0.0);
        for mut column in self.probabilities.column_iter_mut() {
            column += &self.b2;
            let max = column.max();
            column.apply(|z| *z = (*z - max).exp());
            let sum = column.sum();
            column /= sum;
        }

        // Backward: the logits gradient of the mean cross-entropy is (p − y) / batch.
        let logits_grad = &mut self.probabilities;
        *logits_grad -= &self.y;
        *logits_grad /= BATCH as f32;
        self.hidden.transpose_to(&mut self.hidden_t);
        self.grads[2].gemm(1.0, logits_grad, &self.hidden_t, 0.0);
        self.grads[3].copy_from(&logits_grad.column_sum());
        self.hidden_grad.gemm_tr(1.0, &self.w2, logits_grad, 0.0);
        self.hidden_grad.zip_apply(&self.hidden, |g, h| {
            if h <= 0.0 {
                *g = 0.0;
            }
        });
        self.x.transpose_to(&mut self.x_t);
        self.grads[0].gemm(1.0, &self.hidden_grad, &self.x_t, 0.0);
        self.grads[1].copy_from(&self.hidden_grad.column_sum());

        self.step += 1;
        let weights = [&mut self.w1, &mut self.b1, &mut self.w2, &mut self.b2];
        for ((weights, grad), slot) in weights.into_iter().zip(&self.grads).zip(&mut self.slots) {
            slot.update(self.step, weights.as_mut_slice(), grad.as_slice());
        }
    }
}

macro_rules! bench_size {
    ($group:expr, $name:ident, $input:ident, $output:ident, $inputs:literal, $hidden:literal) => {{
        let rows = rows($inputs);
        let batches: Vec<Vec<usize>> = (0..ROWS / BATCH).map(|b| (b * BATCH..(b + 1) * BATCH).collect()).collect();
        let label = format!("{}-{}-10", $inputs, $hidden);

        let data: Dataset<$input, $output> = rows
            .iter()
            .map(|(x, class)| ($input { pixels: x.as_slice().try_into().unwrap() }, $output { class: one_hot(*class) }))
            .collect();
        let mut model = $name::new(&mut StdRng::seed_from_u64(23));
        let mut training = model.compile(CategoricalCrossentropy, Adam::new(1e-3));
        let mut next = 0;
        $group.bench_function(BenchmarkId::new("static", &label), |bencher| {
            bencher.iter(|| {
                next = (next + 1) % batches.len();
                training.train_on_batch(&data, &batches[next]).unwrap()
            })
        });

        let mut dynamic = DynamicMlp::new($inputs, $hidden);
        let mut next = 0;
        $group.bench_function(BenchmarkId::new("dmatrix", &label), |bencher| {
            bencher.iter(|| {
                next = (next + 1) % batches.len();
                dynamic.train_step(&rows, &batches[next])
            })
        });
    }};
}

fn storage(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("mlp_step_batch_64");
    bench_size!(group, Mlp32, Mlp32Input, Mlp32Output, 32, 32);
    bench_size!(group, Mlp128, Mlp128Input, Mlp128Output, 128, 128);
    bench_size!(group, Mlp256, Mlp256Input, Mlp256Output, 256, 256);
    bench_size!(group, Mlp784, Mlp784Input, Mlp784Output, 784, 512);
    group.finish();
}

criterion_group!(benches, storage);
criterion_main!(benches);
