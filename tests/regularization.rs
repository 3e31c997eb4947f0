//! Dropout and the L1/L2 weight penalties of `model!`.
//!
//! The gradient checks compare, in `f64`, the gradient that training uses (`backward`, then
//! `penalty(true)`) with central finite differences of the objective that training minimizes:
//! the data loss plus `penalty(false)`. For Dropout, every forward pass runs in training mode
//! with the generator reseeded to one value, so that each evaluation draws the same mask.

use keramic::layers::DropoutState;
use keramic::prelude::*;
use keramic::train::LossSet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Step of the central differences. For objectives of order 1 in `f64`, rounding adds an error
/// of about 1e-16 / STEP = 1e-10 and truncation one of about STEP² = 1e-12.
const STEP: f64 = 1e-6;
/// Largest accepted relative difference between the analytic gradient and the central
/// differences.
const RTOL: f64 = 1e-6;
/// Gradients smaller than this in magnitude are compared with the absolute tolerance
/// `RTOL × FLOOR`.
const FLOOR: f64 = 1e-2;
/// Rows in every gradient-check batch.
const ROWS: usize = 6;
/// The smallest magnitude of a weight in the gradient checks, so that every weight stays far
/// from the kink of |w| at 0 compared with `STEP`.
const MIN_WEIGHT: f64 = 0.05;

/// The gradient of one weight tensor after `backward` and `penalty(true)`.
#[derive(Debug, PartialEq)]
struct TensorGradient {
    path: String,
    trainable: bool,
    grad: Vec<f64>,
}

/// One loaded batch with its targets, and the training objective on it.
struct Objective<M: Network<f64>> {
    workspace: M::Workspace,
    /// The targets of output `k`, in the layout of `HeadOutput::values`.
    targets: Vec<Vec<f64>>,
    /// The seed that reseeds the dropout generator before every forward pass, with dropout
    /// on. `None` runs with dropout off, as prediction does.
    dropout_seed: Option<u64>,
}

impl<M: Network<f64>> Objective<M> {
    fn new(inputs: &[M::Input], targets: &[M::Output], dropout_seed: Option<u64>) -> Self {
        assert_eq!(inputs.len(), targets.len(), "every input row needs a target row");
        let mut workspace = M::Workspace::default();
        let indices: Vec<usize> = (0..inputs.len()).collect();
        M::load_inputs(&mut workspace, inputs, &indices).expect("the test batch is valid");
        let targets = M::OUTPUT_WIDTHS
            .iter()
            .enumerate()
            .map(|(k, &width)| {
                let mut buffer = vec![0.0; targets.len() * width];
                for (chunk, target) in buffer.chunks_exact_mut(width).zip(targets) {
                    M::write_target(target, k, chunk);
                }
                buffer
            })
            .collect();
        Objective { workspace, targets, dropout_seed }
    }

    /// Runs the forward pass, first restarting the dropout generator when a seed is set, so
    /// that every pass draws the same mask.
    fn forward(&mut self, model: &M) {
        let state = M::dropout_state(&mut self.workspace);
        match self.dropout_seed {
            Some(seed) => {
                state.training = true;
                state.reseed(seed);
            }
            None => state.training = false,
        }
        model.forward(&mut self.workspace);
    }

    /// Returns the sum over outputs of weight × loss, without the penalties.
    fn data_loss<L: LossSet<M>>(&mut self, model: &M, losses: &L) -> f64 {
        self.forward(model);
        (0..M::OUTPUT_NAMES.len())
            .map(|k| {
                let head = M::head(&self.workspace, k);
                let (loss, _) = losses.compute(k, &head, &self.targets[k], None);
                losses.weight(k) * loss
            })
            .sum()
    }

    /// Returns the training objective: the data loss plus the weight penalties.
    fn value<L: LossSet<M>>(&mut self, model: &mut M, losses: &L) -> f64 {
        self.data_loss(model, losses) + model.penalty(false)
    }

    /// Takes the steps of a training step up to the optimizer: forward, loss gradients,
    /// `zero_grads`, `backward` and, when `with_penalty` is set, `penalty(true)`. Returns every
    /// weight tensor's gradient.
    fn gradients<L: LossSet<M>>(&mut self, model: &mut M, losses: &L, with_penalty: bool) -> Vec<TensorGradient> {
        self.forward(model);
        let mut seeds = Vec::new();
        let mut kinds = Vec::new();
        for k in 0..M::OUTPUT_NAMES.len() {
            let head = M::head(&self.workspace, k);
            let mut seed = vec![f64::NAN; head.values.len()];
            let (_, kind) = losses.compute(k, &head, &self.targets[k], Some(&mut seed));
            seeds.push(seed);
            kinds.push(kind);
        }
        model.zero_grads();
        model.backward(&mut self.workspace, &seeds, &kinds);
        if with_penalty {
            model.penalty(true);
        }

        let mut gradients = Vec::new();
        model.visit_named_params("", &mut |path, param| {
            gradients.push(TensorGradient { path: path.to_owned(), trainable: param.trainable, grad: param.grad.to_vec() })
        });
        gradients
    }

    /// Returns the flat outputs of the last forward pass, output after output.
    fn outputs(&mut self, model: &M) -> Vec<f64> {
        self.forward(model);
        (0..M::OUTPUT_NAMES.len()).flat_map(|k| M::head(&self.workspace, k).values.to_vec()).collect()
    }
}

/// Returns element `element` of weight tensor `tensor` (in `visit_params` order).
fn weight_at<M: Network<f64>>(model: &mut M, tensor: usize, element: usize) -> f64 {
    let mut index = 0;
    let mut found = None;
    model.visit_params(&mut |param| {
        if index == tensor {
            found = Some(param.value[element]);
        }
        index += 1;
    });
    found.expect("tensor index is in range")
}

/// Sets element `element` of weight tensor `tensor` (in `visit_params` order).
fn set_weight<M: Network<f64>>(model: &mut M, tensor: usize, element: usize, value: f64) {
    let mut index = 0;
    model.visit_params(&mut |param| {
        if index == tensor {
            param.value[element] = value;
        }
        index += 1;
    });
}

/// Replaces every weight with a draw of magnitude in [MIN_WEIGHT, MIN_WEIGHT + scale) and a
/// random sign, so that no weight sits near the kink of the L1 penalty.
fn randomize_weights<M: Network<f64>>(model: &mut M, rng: &mut StdRng, scale: f64) {
    model.visit_params(&mut |param| {
        for value in param.value.iter_mut() {
            let magnitude = MIN_WEIGHT + rng.random_range(0.0..scale);
            *value = if rng.random_bool(0.5) { magnitude } else { -magnitude };
        }
    });
}

/// Compares the gradient of every trainable weight with central differences of the training
/// objective, and checks that frozen weights get no gradient. Returns the gradients.
///
/// Panics on the first weight whose gradient is off, naming the case, the tensor and the
/// element. The one-sided differences in the message tell a kink (they disagree) from a
/// wrong gradient (they agree with each other but not with the analytic gradient).
fn check_gradients<M, L>(
    case: &str,
    model: &mut M,
    losses: &L,
    inputs: &[M::Input],
    targets: &[M::Output],
    dropout_seed: Option<u64>,
) -> Vec<TensorGradient>
where
    M: Network<f64>,
    L: LossSet<M>,
{
    let mut objective = Objective::<M>::new(inputs, targets, dropout_seed);
    let gradients = objective.gradients(model, losses, true);
    // A second step must give the same gradients, so neither the mask nor the penalty
    // gradient leaks from one step into the next.
    let repeated = objective.gradients(model, losses, true);
    assert_eq!(gradients, repeated, "{case}: a second step gives other gradients");

    let base = objective.value(model, losses);
    assert!(base.is_finite(), "{case}: the objective is {base}");
    let mut max_error: f64 = 0.0;
    for (t, tensor) in gradients.iter().enumerate() {
        if !tensor.trainable {
            assert!(tensor.grad.iter().all(|&g| g == 0.0), "{case}: frozen tensor {} has gradient {:?}", tensor.path, tensor.grad);
            continue;
        }
        for (i, &analytic) in tensor.grad.iter().enumerate() {
            let original = weight_at(model, t, i);
            set_weight(model, t, i, original + STEP);
            let plus = objective.value(model, losses);
            set_weight(model, t, i, original - STEP);
            let minus = objective.value(model, losses);
            set_weight(model, t, i, original);

            let numeric = (plus - minus) / (2.0 * STEP);
            let error = (analytic - numeric).abs() / numeric.abs().max(FLOOR);
            assert!(
                error <= RTOL,
                "{case}: {} element {i}: the analytic gradient is {analytic}, the central \
                 difference {numeric} (relative error {error:.2e}); one-sided differences are \
                 {} and {}",
                tensor.path,
                (plus - base) / STEP,
                (base - minus) / STEP,
            );
            max_error = max_error.max(error);
        }
    }

    let count: usize = gradients.iter().filter(|t| t.trainable).map(|t| t.grad.len()).sum();
    println!("{case}: {count} trainable weights, largest relative error {max_error:.2e}");
    gradients
}

/// The L1 and L2 factors that a test expects on the tensor at `path`.
struct ExpectedPenalty {
    path: &'static str,
    l1: f64,
    l2: f64,
}

const fn penalty(path: &'static str, l1: f64, l2: f64) -> ExpectedPenalty {
    ExpectedPenalty { path, l1, l2 }
}

/// Computes `Σ l1 · |w| + l2 · w²` over the trainable tensors listed in `expected`, straight
/// from the weights. Panics when a listed path is not a tensor of the model.
fn expected_penalty<M: Network<f64>>(model: &M, expected: &[ExpectedPenalty]) -> f64 {
    let mut total = 0.0;
    let mut found = vec![false; expected.len()];
    model.visit_named_weights("", &mut |path, param| {
        if let Some(index) = expected.iter().position(|entry| entry.path == path) {
            found[index] = true;
            if param.trainable {
                let entry = &expected[index];
                total += param.value.iter().map(|w| entry.l1 * w.abs() + entry.l2 * w * w).sum::<f64>();
            }
        }
    });
    for (entry, found) in expected.iter().zip(found) {
        assert!(found, "the model has no tensor `{}`", entry.path);
    }
    total
}

/// Checks that `penalty(false)` matches the penalty computed from the weights, and that the
/// penalty gradient of every tensor is `l1 · sign(w) + 2 · l2 · w`, and 0 for tensors without
/// a penalty.
fn check_penalty_terms<M: Network<f64>>(case: &str, model: &mut M, expected: &[ExpectedPenalty]) {
    let reported = model.penalty(false);
    let computed = expected_penalty(model, expected);
    assert!(computed > 0.0, "{case}: the expected penalty is {computed}");
    assert!((reported - computed).abs() <= 1e-12 * computed, "{case}: penalty(false) is {reported}, the weights give {computed}");

    model.zero_grads();
    let reported_with_gradient = model.penalty(true);
    assert_eq!(reported_with_gradient, reported, "{case}: penalty(true) returns another value than penalty(false)");
    model.visit_named_params("", &mut |path, param| {
        let (l1, l2) = expected.iter().find(|entry| entry.path == path).map_or((0.0, 0.0), |entry| (entry.l1, entry.l2));
        for (i, (&w, &g)) in param.value.iter().zip(param.grad.iter()).enumerate() {
            let gradient = if param.trainable { l1 * w.signum() + 2.0 * l2 * w } else { 0.0 };
            assert!((g - gradient).abs() <= 1e-12, "{case}: {path} element {i}: penalty gradient {g}, expected {gradient}");
        }
    });
}

fn floats<const N: usize>(rng: &mut StdRng, low: f32, high: f32) -> [f32; N] {
    std::array::from_fn(|_| rng.random_range(low..high))
}

fn ids<const N: usize>(rng: &mut StdRng, vocabulary: u32) -> [u32; N] {
    std::array::from_fn(|_| rng.random_range(0..vocabulary))
}

/// Returns every weight of the model as bits, for exact comparisons.
fn weight_bits<M: Network<f32>>(model: &mut M) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_params(&mut |param| bits.extend(param.value.iter().map(|w| w.to_bits())));
    bits
}

/// Copies every weight of `source` into `target`, which must have tensors of the same shapes
/// in the same `visit_params` order.
fn copy_weights<T: keramic::Real, A: Network<T>, B: Network<T>>(source: &mut A, target: &mut B) {
    let mut tensors = Vec::new();
    source.visit_params(&mut |param| tensors.push((param.shape, param.value.to_vec())));
    let mut index = 0;
    target.visit_params(&mut |param| {
        let (shape, values) = &tensors[index];
        assert_eq!(param.shape, *shape, "tensor {index} has another shape in the target");
        param.value.copy_from_slice(values);
        index += 1;
    });
    assert_eq!(index, tensors.len(), "the target has another number of tensors");
}

// Penalties on Dense kernels and biases: every option, L1, L2 and L1L2 on each tensor kind.

model! {
    /// Three Dense layers that together use all six kernel and bias penalties.
    struct DensePenalties {
        input x: [4];
        let first = Dense::<3, Tanh, KernelL1<0.05>, BiasL2<0.1>>(x);
        let second = Dense::<3, Sigmoid, KernelL1L2<0.02, 0.3>, BiasL1<0.04>>(first);
        output y = Dense::<2, KernelL2<0.2>, BiasL1L2<0.03, 0.07>>(second);
    }
}

const DENSE_PENALTIES: [ExpectedPenalty; 6] = [
    penalty("first.kernel", 0.05, 0.0),
    penalty("first.bias", 0.0, 0.1),
    penalty("second.kernel", 0.02, 0.3),
    penalty("second.bias", 0.04, 0.0),
    penalty("y.kernel", 0.0, 0.2),
    penalty("y.bias", 0.03, 0.07),
];

#[test]
fn dense_penalty_gradients() {
    let mut rng = StdRng::seed_from_u64(101);
    let mut model = DensePenalties::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    check_penalty_terms("dense penalties", &mut model, &DENSE_PENALTIES);

    let inputs: Vec<DensePenaltiesInput> = (0..ROWS).map(|_| DensePenaltiesInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<DensePenaltiesOutput> = (0..ROWS).map(|_| DensePenaltiesOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    let with_penalty = check_gradients("dense penalties with mse", &mut model, &MeanSquaredError, &inputs, &targets, None);

    // Every tensor has a penalty, so its gradient must differ from the data gradient alone.
    let without_penalty = Objective::<DensePenalties<f64>>::new(&inputs, &targets, None).gradients(&mut model, &MeanSquaredError, false);
    for (with, without) in with_penalty.iter().zip(&without_penalty) {
        assert_ne!(with.grad, without.grad, "{}: the penalty adds nothing to the gradient", with.path);
    }
}

model! {
    /// A penalized Dense layer shared by two calls, whose penalty counts once.
    struct SharedDensePenalty {
        input a: [3];
        input b: [3];
        layer shared = Dense::<2, Tanh, KernelL1L2<0.05, 0.1>, BiasL2<0.2>>;
        output y = Dense::<1>(Add(shared(a), shared(b)));
    }
}

#[test]
fn shared_dense_penalty_counts_once() {
    let mut rng = StdRng::seed_from_u64(113);
    let mut model = SharedDensePenalty::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    check_penalty_terms("shared dense penalty", &mut model, &[penalty("shared.kernel", 0.05, 0.1), penalty("shared.bias", 0.0, 0.2)]);

    let inputs: Vec<SharedDensePenaltyInput> = (0..ROWS)
        .map(|_| SharedDensePenaltyInput { a: floats(&mut rng, -1.0, 1.0), b: floats(&mut rng, -1.0, 1.0) })
        .collect();
    let targets: Vec<SharedDensePenaltyOutput> = (0..ROWS).map(|_| SharedDensePenaltyOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("shared dense penalty with mse", &mut model, &MeanSquaredError, &inputs, &targets, None);
}

// Penalties on embeddings, including one in a submodel shared by two calls.

model! {
    /// A team's strength vector, with an L1L2 penalty on its embeddings.
    struct PenalizedStrength {
        input team: Id<7>;
        let vector = Embedding::<7, 2, L1L2<0.01, 0.05>>(team);
        output strength = Flatten(vector);
    }
}

model! {
    /// Embeddings with each penalty: the shared submodel's L1L2, an L1 and an L2 table.
    struct EmbeddingPenalties {
        input team_1: Id<7>;
        input team_2: Id<7>;
        input tags: [Id<5>; 3];
        layer strength = PenalizedStrength;
        let diff = Subtract(strength(team_1), strength(team_2));
        let sparse = Embedding::<5, 2, L1<0.03>>(tags);
        let smooth = Embedding::<5, 1, L2<0.2>>(tags);
        output y = Dense::<1>(Concatenate(diff, Flatten(sparse), Flatten(smooth)));
    }
}

const EMBEDDING_PENALTIES: [ExpectedPenalty; 3] = [
    penalty("strength.vector.embeddings", 0.01, 0.05),
    penalty("sparse.embeddings", 0.03, 0.0),
    penalty("smooth.embeddings", 0.0, 0.2),
];

#[test]
fn embedding_penalty_gradients() {
    let mut rng = StdRng::seed_from_u64(102);
    let mut model = EmbeddingPenalties::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    // The shared submodel's table is one tensor, so its penalty counts once.
    check_penalty_terms("embedding penalties", &mut model, &EMBEDDING_PENALTIES);

    // Team 6 and tag 4 are never looked up, so their rows get the penalty gradient alone.
    let inputs: Vec<EmbeddingPenaltiesInput> = (0..ROWS)
        .map(|_| EmbeddingPenaltiesInput { team_1: rng.random_range(0..6), team_2: rng.random_range(0..6), tags: ids(&mut rng, 4) })
        .collect();
    let predictions = model.predict(&inputs).expect("inputs are valid");
    // MAE with targets 0.5 to 1.5 away from the prediction, so that no residual is near the
    // kink of |r| at 0.
    let targets: Vec<EmbeddingPenaltiesOutput> = predictions
        .iter()
        .map(|prediction| {
            let shift: f32 = rng.random_range(0.5..1.5);
            EmbeddingPenaltiesOutput { y: [if rng.random_bool(0.5) { prediction.y[0] + shift } else { prediction.y[0] - shift }] }
        })
        .collect();
    let gradients = check_gradients("embedding penalties with mae", &mut model, &MeanAbsoluteError, &inputs, &targets, None);

    let strength = &gradients[0];
    assert_eq!(strength.path, "strength.vector.embeddings");
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |path, param| {
        if path == "strength.vector.embeddings" {
            weights = param.value.to_vec();
        }
    });
    for (i, (&w, &g)) in weights.iter().zip(&strength.grad).enumerate().skip(12) {
        let expected = 0.01 * w.signum() + 2.0 * 0.05 * w;
        assert!((g - expected).abs() < 1e-12, "team 6, element {i}: gradient {g}, penalty gradient {expected}");
    }
}

// Dropout with a fixed mask: Dense outputs in the model and an embedding inside a submodel,
// whose generator is forked from the model's.

model! {
    /// A team's strength vector with dropout on the looked-up embedding.
    struct DroppedStrength {
        input team: Id<6>;
        let vector = Dropout::<0.4>(Embedding::<6, 3>(team));
        output strength = Flatten(vector);
    }
}

model! {
    /// Dropout on a Dense layer's output and, through the submodel, on an embedding, with an
    /// L2 penalty on the Dense kernel as well.
    struct DropoutGame {
        input team_1: Id<6>;
        input team_2: Id<6>;
        input x: [4];
        layer strength = DroppedStrength;
        let hidden = Dense::<8, Tanh, KernelL2<0.1>>(x);
        let dropped = Dropout::<0.5>(hidden);
        let diff = Subtract(strength(team_1), strength(team_2));
        output y = Dense::<2>(Concatenate(diff, dropped));
    }
}

fn dropout_game_batch(rng: &mut StdRng, rows: usize) -> (Vec<DropoutGameInput>, Vec<DropoutGameOutput>) {
    let inputs = (0..rows)
        .map(|_| DropoutGameInput { team_1: rng.random_range(0..6), team_2: rng.random_range(0..6), x: floats(rng, -1.0, 1.0) })
        .collect();
    let targets = (0..rows).map(|_| DropoutGameOutput { y: floats(rng, -1.0, 1.0) }).collect();
    (inputs, targets)
}

#[test]
fn dropout_gradients_with_fixed_mask() {
    let mut rng = StdRng::seed_from_u64(103);
    let mut model = DropoutGame::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let (inputs, targets) = dropout_game_batch(&mut rng, ROWS);

    // The mask must change the outputs, or this case would check the identity.
    let masked_outputs = Objective::<DropoutGame<f64>>::new(&inputs, &targets, Some(17)).outputs(&model);
    let unmasked_outputs = Objective::<DropoutGame<f64>>::new(&inputs, &targets, None).outputs(&model);
    assert_ne!(masked_outputs, unmasked_outputs, "dropout with seed 17 leaves every output unchanged");

    for seed in [17, 18] {
        let case = format!("dropout with mask seed {seed} and mse");
        let masked = check_gradients(&case, &mut model, &MeanSquaredError, &inputs, &targets, Some(seed));
        let unmasked = Objective::<DropoutGame<f64>>::new(&inputs, &targets, None).gradients(&mut model, &MeanSquaredError, true);
        assert_ne!(masked, unmasked, "{case}: the gradients ignore the mask");
    }
    check_gradients("dropout off with mse", &mut model, &MeanSquaredError, &inputs, &targets, None);
}

// Dropout at prediction time, and its scaling during training.

model! {
    /// Two Dropout layers around a hidden Dense layer.
    struct WithDropout {
        input x: [4];
        let hidden = Dense::<6, Tanh>(x);
        let dropped = Dropout::<0.5>(hidden);
        output y = Dense::<1>(Dropout::<0.3>(dropped));
    }
}

model! {
    /// `WithDropout` without its Dropout layers.
    struct WithoutDropout {
        input x: [4];
        let hidden = Dense::<6, Tanh>(x);
        output y = Dense::<1>(hidden);
    }
}

#[test]
fn dropout_is_identity_when_predicting() {
    let mut rng = StdRng::seed_from_u64(104);
    let mut with = WithDropout::new(&mut rng);
    let mut without = WithoutDropout::new(&mut rng);
    let data: Dataset<WithDropoutInput, WithDropoutOutput> = (0..300)
        .map(|_| {
            let x: [f32; 4] = floats(&mut rng, -1.0, 1.0);
            (WithDropoutInput { x }, WithDropoutOutput { y: [x[0] - 2.0 * x[1] + x[2] * x[3]] })
        })
        .collect();
    let plain_inputs: Vec<WithoutDropoutInput> = data.inputs().iter().map(|input| WithoutDropoutInput { x: input.x }).collect();
    let plain_data: Dataset<WithoutDropoutInput, WithoutDropoutOutput> =
        plain_inputs.iter().zip(data.targets()).map(|(input, target)| (input.clone(), WithoutDropoutOutput { y: target.y })).collect();

    // Before and after training, which runs its steps with dropout on.
    for trained in [false, true] {
        let mut training = with.compile(MeanSquaredError, Adam::new(0.01));
        if trained {
            training.fit(&data, &Fit::epochs(2).batch_size(16).seed(5).validation_split(0.2).verbose(false)).expect("the data is valid");
        }
        let scores = training.evaluate(&data).expect("the data is valid");
        copy_weights(&mut with, &mut without);
        let plain_scores = without.compile(MeanSquaredError, Adam::new(0.01)).evaluate(&plain_data).expect("the data is valid");
        assert_eq!(scores.loss, plain_scores.loss, "trained {trained}: evaluate with and without Dropout layers");

        let predictions: Vec<[f32; 1]> = with.predict(data.inputs()).expect("inputs are valid").iter().map(|p| p.y).collect();
        let plain: Vec<[f32; 1]> = without.predict(&plain_inputs).expect("inputs are valid").iter().map(|p| p.y).collect();
        assert_eq!(predictions, plain, "trained {trained}: predict with and without Dropout layers");
        let again: Vec<[f32; 1]> = with.predict(data.inputs()).expect("inputs are valid").iter().map(|p| p.y).collect();
        assert_eq!(predictions, again, "trained {trained}: a second predict gives other outputs");

        let mut predictor = with.predictor();
        for (input, expected) in data.inputs().iter().zip(&predictions).take(20) {
            assert_eq!(predictor.predict_one(input).expect("the input is valid").y, *expected, "trained {trained}: Predictor");
        }
    }
}

model! {
    /// Dropout of an input with rate 0.3.
    struct DropThirty {
        input x: [200];
        output y = Dropout::<0.3>(x);
    }
}

model! {
    /// Dropout of an input with rate 0.75.
    struct DropThreeQuarters {
        input x: [200];
        output y = Dropout::<0.75>(x);
    }
}

model! {
    /// Dropout of an input with rate 0, which is the identity even in training.
    struct DropNothing {
        input x: [200];
        output y = Dropout::<0>(x);
    }
}

/// Loads `inputs` into a workspace and returns the outputs of one training-mode forward pass
/// with the dropout generator seeded with `seed`.
fn dropout_outputs<M: Network<f64>>(model: &M, inputs: &[M::Input], seed: u64) -> Vec<f64> {
    let mut workspace = M::Workspace::default();
    let indices: Vec<usize> = (0..inputs.len()).collect();
    M::load_inputs(&mut workspace, inputs, &indices).expect("inputs are valid");
    let state: &mut DropoutState = M::dropout_state(&mut workspace);
    state.training = true;
    state.reseed(seed);
    model.forward(&mut workspace);
    M::head(&workspace, 0).values.to_vec()
}

/// Checks that training-mode dropout keeps each value scaled by `1 / (1 − rate)` or sets it to
/// 0, drops a share of about `rate`, and keeps the mean of constant inputs.
fn check_inverted_scaling(rate: f64, ones: &[f64], random: (&[f64], &[f64])) {
    let n = ones.len() as f64;
    let scale = 1.0 / (1.0 - rate);
    let dropped = ones.iter().filter(|&&v| v == 0.0).count() as f64 / n;
    let mean = ones.iter().sum::<f64>() / n;
    // Each output of an input 1 has mean 1 and variance rate / (1 − rate), so five standard
    // errors bound the deviation of the mean except with probability below 1e-6.
    let tolerance = 5.0 * (rate / (1.0 - rate) / n).sqrt();
    assert!((mean - 1.0).abs() < tolerance, "rate {rate}: mean {mean} of inputs 1, tolerance {tolerance}");
    let share_tolerance = 5.0 * (rate * (1.0 - rate) / n).sqrt();
    assert!((dropped - rate).abs() < share_tolerance, "rate {rate}: dropped share {dropped}, tolerance {share_tolerance}");

    let (inputs, outputs) = random;
    for (i, (&x, &y)) in inputs.iter().zip(outputs).enumerate() {
        assert!(y == 0.0 || (y - x * scale).abs() <= 1e-12 * (x * scale).abs(), "rate {rate}: value {i} is {x}, output {y}, scale {scale}");
    }
}

#[test]
fn dropout_inverted_scaling_keeps_mean() {
    let mut rng = StdRng::seed_from_u64(105);
    let rows = 500;
    let ones = vec![DropThirtyInput { x: [1.0; 200] }; rows];
    let random: Vec<DropThirtyInput> = (0..rows).map(|_| DropThirtyInput { x: floats(&mut rng, 0.5, 2.0) }).collect();
    let random_values: Vec<f64> = random.iter().flat_map(|input| input.x.map(f64::from)).collect();

    let thirty = DropThirty::<f64>::from_rng(&mut rng);
    let outputs = dropout_outputs(&thirty, &random, 2);
    check_inverted_scaling(0.3, &dropout_outputs(&thirty, &ones, 1), (&random_values, &outputs));
    assert_eq!(outputs, dropout_outputs(&thirty, &random, 2), "the same seed draws the same mask");
    assert_ne!(outputs, dropout_outputs(&thirty, &random, 3), "another seed draws another mask");

    let quarters = DropThreeQuarters::<f64>::from_rng(&mut rng);
    let ones: Vec<DropThreeQuartersInput> = ones.iter().map(|input| DropThreeQuartersInput { x: input.x }).collect();
    let random: Vec<DropThreeQuartersInput> = random.iter().map(|input| DropThreeQuartersInput { x: input.x }).collect();
    let outputs = dropout_outputs(&quarters, &random, 4);
    check_inverted_scaling(0.75, &dropout_outputs(&quarters, &ones, 3), (&random_values, &outputs));

    let nothing = DropNothing::<f64>::from_rng(&mut rng);
    let random: Vec<DropNothingInput> = random.iter().map(|input| DropNothingInput { x: input.x }).collect();
    assert_eq!(dropout_outputs(&nothing, &random, 5), random_values, "Dropout::<0> changes values in training");
}

// Fit with dropout: masks come from the fit seed.

/// Trains a `DropoutGame` from the weights of `init_seed` and returns its weights as bits and
/// the history with the epoch times set to 0.
fn train_dropout_game(data: &Dataset<DropoutGameInput, DropoutGameOutput>, init_seed: u64, options: &Fit) -> (Vec<u32>, History) {
    let mut model = DropoutGame::new(&mut StdRng::seed_from_u64(init_seed));
    let mut history = model.compile(MeanSquaredError, Adam::new(0.01)).fit(data, options).expect("the data is valid");
    for epoch in &mut history.epochs {
        epoch.seconds = 0.0;
    }
    (weight_bits(&mut model), history)
}

#[test]
fn seeded_fit_with_dropout_repeats() {
    let mut rng = StdRng::seed_from_u64(106);
    let (inputs, targets) = dropout_game_batch(&mut rng, 240);
    let data: Dataset<DropoutGameInput, DropoutGameOutput> = inputs.into_iter().zip(targets).collect();

    let options = Fit::epochs(3).batch_size(16).seed(11).validation_split(0.25).verbose(false);
    let (weights, history) = train_dropout_game(&data, 1, &options);
    let (weights_again, history_again) = train_dropout_game(&data, 1, &options);
    assert_eq!(weights, weights_again, "a seeded fit with dropout gives other weights the second time");
    assert_eq!(history, history_again, "a seeded fit with dropout gives another history the second time");

    // Without shuffling, the fit seed only draws the dropout masks, so another seed must give
    // other weights, and the same seed the same ones.
    let unshuffled = |seed| Fit::epochs(2).batch_size(16).seed(seed).shuffle(false).verbose(false);
    let (first, _) = train_dropout_game(&data, 1, &unshuffled(11));
    let (same, _) = train_dropout_game(&data, 1, &unshuffled(11));
    let (other, _) = train_dropout_game(&data, 1, &unshuffled(12));
    assert_eq!(first, same, "an unshuffled fit with seed 11 gives other weights the second time");
    assert_ne!(first, other, "the dropout masks do not depend on the fit seed");
}

// How training reports the penalty.

model! {
    /// A linear model with an L1 penalty on its team embedding and an L2 penalty on its kernel.
    struct PenalizedLine {
        input team: Id<10>;
        input x: [2];
        let strength = Embedding::<10, 1, L1<0.1>>(team);
        output y = Dense::<1, KernelL2<0.5>>(Concatenate(Flatten(strength), x));
    }
}

const LINE_PENALTIES: [ExpectedPenalty; 2] = [penalty("strength.embeddings", 0.1, 0.0), penalty("y.kernel", 0.0, 0.5)];

fn line_data(rng: &mut StdRng, rows: usize) -> Dataset<PenalizedLineInput, PenalizedLineOutput> {
    (0..rows)
        .map(|_| {
            let team = rng.random_range(0..10);
            let x: [f32; 2] = floats(rng, -1.0, 1.0);
            let y = team as f32 / 5.0 + x[0] - x[1];
            (PenalizedLineInput { team, x }, PenalizedLineOutput { y: [y] })
        })
        .collect()
}

/// Returns the mean absolute error of the model's predictions on `data`, computed from
/// `predict` rather than by `evaluate`.
fn line_mae(model: &PenalizedLine<f64>, data: &Dataset<PenalizedLineInput, PenalizedLineOutput>) -> f64 {
    let predictions = model.predict(data.inputs()).expect("inputs are valid");
    let total: f64 = predictions.iter().zip(data.targets()).map(|(p, t)| (f64::from(p.y[0]) - f64::from(t.y[0])).abs()).sum();
    total / data.len() as f64
}

#[test]
fn evaluate_keeps_penalty_apart() {
    let mut rng = StdRng::seed_from_u64(107);
    let data = line_data(&mut rng, 200);
    let mut model = PenalizedLine::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 1.0);
    let penalty = expected_penalty(&model, &LINE_PENALTIES);
    let mae = line_mae(&model, &data);
    assert!(penalty > 0.1, "the penalty {penalty} is too small to tell apart from rounding");

    let scores = model.compile(MeanAbsoluteError, Adam::new(0.01)).evaluate(&data).expect("the data is valid");
    assert!((scores.penalty - penalty).abs() <= 1e-12 * penalty, "evaluate reports the penalty {}, the weights give {penalty}", scores.penalty);
    // Predictions pass through f32, hence the tolerance.
    assert!((scores.outputs[0].loss - mae).abs() < 1e-6, "the output's loss {} is not the MAE {mae}", scores.outputs[0].loss);
    assert!((scores.loss - mae).abs() < 1e-6, "the total loss {} is not the MAE {mae}", scores.loss);
}

#[test]
fn training_objective_includes_penalty() {
    let mut rng = StdRng::seed_from_u64(108);
    let data = line_data(&mut rng, 64);
    let mut model = PenalizedLine::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 1.0);
    let all_rows: Vec<usize> = (0..data.len()).collect();

    let mut training = model.compile(MeanAbsoluteError, Sgd::new(0.01));
    let before = training.evaluate(&data).expect("the data is valid");
    let objective = training.train_on_batch(&data, &all_rows).expect("the data is valid");
    assert!(
        (objective - (before.loss + before.penalty)).abs() < 1e-12,
        "train_on_batch returns {objective}, but the data loss is {} and the penalty {}",
        before.loss,
        before.penalty
    );
}

#[test]
fn history_reports_penalty_separately() {
    let mut rng = StdRng::seed_from_u64(109);
    let data = line_data(&mut rng, 80);
    let mut model = PenalizedLine::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 1.0);
    let initial_penalty = expected_penalty(&model, &LINE_PENALTIES);
    let initial_train_mae = line_mae(&model, &Dataset::from_iter(data.inputs()[..60].iter().cloned().zip(data.targets()[..60].iter().cloned())));

    // One step per epoch, so each epoch's training penalty is the penalty of the weights the
    // previous epoch's validation saw, and the first epoch's that of the initial weights.
    let options = Fit::epochs(4).batch_size(60).validation_split(0.25).seed(3).verbose(false);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.05));
    let history = training.fit(&data, &options).expect("the data is valid");

    let first = &history.epochs[0].train;
    assert!((first.penalty - initial_penalty).abs() <= 1e-12 * initial_penalty, "epoch 1 reports the penalty {}, the initial weights give {initial_penalty}", first.penalty);
    assert!((first.loss - initial_train_mae).abs() < 1e-6, "epoch 1 reports the training loss {}, the initial MAE is {initial_train_mae}", first.loss);
    for pair in history.epochs.windows(2) {
        let validation = pair[0].validation.as_ref().expect("fit holds out validation rows");
        let train = &pair[1].train;
        assert!(
            (train.penalty - validation.penalty).abs() <= 1e-12 * validation.penalty,
            "epoch {}: training penalty {}, but after epoch {} the weights had the penalty {}",
            pair[1].epoch,
            train.penalty,
            pair[0].epoch,
            validation.penalty
        );
    }

    let last = history.epochs.last().and_then(|epoch| epoch.validation.clone()).expect("fit holds out validation rows");
    let validation_rows: Dataset<PenalizedLineInput, PenalizedLineOutput> =
        data.inputs()[60..].iter().cloned().zip(data.targets()[60..].iter().cloned()).collect();
    let scores = training.evaluate(&validation_rows).expect("the data is valid");
    assert_eq!(last, scores, "the last epoch's validation scores differ from evaluate on the validation rows");
    let mae = line_mae(training.model(), &validation_rows);
    assert!((last.loss - mae).abs() < 1e-6, "the validation loss {} is not the MAE {mae}", last.loss);
    assert!(last.penalty > 1e-3, "the validation penalty is {}", last.penalty);
}

model! {
    /// Two outputs, one with a penalized kernel.
    struct PenalizedHeads {
        input x: [3];
        output score = Dense::<1, KernelL2<0.3>>(x);
        output win = Dense::<1, Sigmoid>(score);
    }
}

#[test]
fn per_output_losses_exclude_penalty() {
    let mut rng = StdRng::seed_from_u64(110);
    let data: Dataset<PenalizedHeadsInput, PenalizedHeadsOutput> = (0..100)
        .map(|_| {
            let x: [f32; 3] = floats(&mut rng, -1.0, 1.0);
            let score = x[0] + x[1] - x[2];
            (PenalizedHeadsInput { x }, PenalizedHeadsOutput { score: [score], win: [f32::from(score > 0.0)] })
        })
        .collect();
    let mut model = PenalizedHeads::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 1.0);
    let penalty = expected_penalty(&model, &[penalty("score.kernel", 0.0, 0.3)]);

    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy.weighted(0.5)), Adam::new(0.01));
    let scores = training.evaluate(&data).expect("the data is valid");
    assert!((scores.penalty - penalty).abs() <= 1e-12 * penalty, "evaluate reports the penalty {}, the weights give {penalty}", scores.penalty);
    let weighted = scores.outputs[0].loss + 0.5 * scores.outputs[1].loss;
    assert!((scores.loss - weighted).abs() < 1e-12, "the total loss {} is not the weighted sum {weighted} of the outputs' losses", scores.loss);

    // The penalty changes no output's loss: the same weights without the penalty score the same.
    let mut plain = TwoPlainHeads::<f64>::from_rng(&mut rng);
    copy_weights(&mut *training.model_mut(), &mut plain);
    let plain_data: Dataset<TwoPlainHeadsInput, TwoPlainHeadsOutput> = data
        .inputs()
        .iter()
        .zip(data.targets())
        .map(|(input, target)| (TwoPlainHeadsInput { x: input.x }, TwoPlainHeadsOutput { score: target.score, win: target.win }))
        .collect();
    let plain_scores = plain.compile((MeanAbsoluteError, BinaryCrossentropy.weighted(0.5)), Adam::new(0.01)).evaluate(&plain_data).expect("the data is valid");
    assert_eq!(plain_scores.penalty, 0.0, "a model without penalties reports a penalty");
    for (with, without) in scores.outputs.iter().zip(&plain_scores.outputs) {
        assert_eq!(with.loss, without.loss, "output {}: the penalty changes its loss", with.name);
    }
    assert_eq!(scores.loss, plain_scores.loss, "the penalty changes the total loss");
}

model! {
    /// `PenalizedHeads` without the penalty.
    struct TwoPlainHeads {
        input x: [3];
        output score = Dense::<1>(x);
        output win = Dense::<1, Sigmoid>(score);
    }
}

// Frozen weights get no penalty and no penalty gradient.

model! {
    /// A frozen penalized Dense layer and a frozen submodel with a penalized embedding, between
    /// trainable penalized layers.
    struct FrozenPenalties {
        input team: Id<7>;
        input x: [3];
        #[frozen] layer middle = Dense::<3, Tanh, KernelL2<0.5>, BiasL1<0.2>>;
        #[frozen] layer strength = PenalizedStrength;
        let hidden = Dense::<3, Tanh, KernelL1<0.1>>(x);
        output y = Dense::<1, BiasL2<0.3>>(Concatenate(middle(hidden), strength(team)));
    }
}

const FROZEN_PENALTIES: [ExpectedPenalty; 5] = [
    penalty("middle.kernel", 0.0, 0.5),
    penalty("middle.bias", 0.2, 0.0),
    penalty("strength.vector.embeddings", 0.01, 0.05),
    penalty("hidden.kernel", 0.1, 0.0),
    penalty("y.bias", 0.0, 0.3),
];

#[test]
fn frozen_weights_get_no_penalty() {
    let mut rng = StdRng::seed_from_u64(111);
    let mut model = FrozenPenalties::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let trainable_only = expected_penalty(&model, &[penalty("hidden.kernel", 0.1, 0.0), penalty("y.bias", 0.0, 0.3)]);
    check_penalty_terms("declared frozen", &mut model, &FROZEN_PENALTIES);
    assert!((model.penalty(false) - trainable_only).abs() <= 1e-12 * trainable_only, "frozen weights add to the penalty");

    let inputs: Vec<FrozenPenaltiesInput> =
        (0..ROWS).map(|_| FrozenPenaltiesInput { team: rng.random_range(0..7), x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<FrozenPenaltiesOutput> = (0..ROWS).map(|_| FrozenPenaltiesOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("frozen penalties with mse", &mut model, &MeanSquaredError, &inputs, &targets, None);

    // Freezing at run time takes the penalty away, and unfreezing brings it back.
    model.hidden.set_trainable(false);
    model.y.set_trainable(false);
    assert_eq!(model.penalty(false), 0.0, "every weight is frozen, but the penalty is not 0");
    model.middle.set_trainable(true);
    model.strength.set_trainable(true);
    check_penalty_terms("frozen at run time", &mut model, &FROZEN_PENALTIES);
    let unfrozen = expected_penalty(&model, &FROZEN_PENALTIES[..3]);
    assert!((model.penalty(false) - unfrozen).abs() <= 1e-12 * unfrozen, "the unfrozen layers' penalty is missing");
}

#[test]
fn fit_keeps_frozen_penalized_weights() {
    let mut rng = StdRng::seed_from_u64(112);
    let data: Dataset<FrozenPenaltiesInput, FrozenPenaltiesOutput> = (0..64)
        .map(|_| {
            let x: [f32; 3] = floats(&mut rng, -1.0, 1.0);
            (FrozenPenaltiesInput { team: rng.random_range(0..7), x }, FrozenPenaltiesOutput { y: [x[0] * x[1]] })
        })
        .collect();
    let mut model = FrozenPenalties::new(&mut rng);
    let frozen_before = frozen_weight_bits(&model);
    let history = model.compile(MeanSquaredError, Adam::new(0.05)).fit(&data, &Fit::epochs(3).batch_size(8).verbose(false)).expect("the data is valid");
    assert!(history.epochs.iter().all(|epoch| epoch.train.penalty > 0.0), "the trainable layers' penalty is missing");
    assert_eq!(frozen_weight_bits(&model), frozen_before, "fit changed a frozen penalized weight");
}

/// Returns the bits of every frozen weight.
fn frozen_weight_bits<M: Network<f32>>(model: &M) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_named_weights("", &mut |_, param| {
        if !param.trainable {
            bits.extend(param.value.iter().map(|w| w.to_bits()));
        }
    });
    assert!(!bits.is_empty(), "the model has no frozen weights");
    bits
}
