//! Gradient checks of the backward pass that `model!` generates.
//!
//! Every case builds a model in `f64` with random weights and a random batch. It compares the
//! gradient of each trainable weight after one `backward` with central finite differences of
//! the total loss, the sum over outputs of weight × loss, computed with `forward` alone.

use keramic::loss::GradientOf;
use keramic::prelude::*;
use keramic::train::LossSet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Step of the central differences. For losses of order 1 in `f64`, rounding adds an error of
/// about 1e-16 / STEP = 1e-10 and truncation one of about STEP² = 1e-12.
const STEP: f64 = 1e-6;
/// Largest accepted relative difference between `backward` and the central differences.
const RTOL: f64 = 1e-6;
/// Gradients smaller than this in magnitude are compared with the absolute tolerance
/// `RTOL × FLOOR`.
const FLOOR: f64 = 1e-2;
/// Rows in every batch.
const ROWS: usize = 5;

/// The gradient of one weight tensor, as `backward` left it.
#[derive(Debug, PartialEq)]
struct ParamGradient {
    name: &'static str,
    trainable: bool,
    grad: Vec<f64>,
}

/// What a gradient check measured.
#[derive(Debug)]
struct GradientReport {
    /// What each output's loss gradient was taken with respect to.
    kinds: Vec<GradientOf>,
    /// The gradient of every weight tensor, in `visit_params` order.
    gradients: Vec<ParamGradient>,
}

/// One loaded batch with its targets, and the losses computed on it.
struct LossEvaluator<M: Network<f64>> {
    workspace: M::Workspace,
    /// The targets of output `k`, in the layout of `HeadOutput::values`.
    targets: Vec<Vec<f64>>,
}

impl<M: Network<f64>> LossEvaluator<M> {
    fn new(inputs: &[M::Input], targets: &[M::Output]) -> Self {
        let mut evaluator = LossEvaluator { workspace: M::Workspace::default(), targets: Vec::new() };
        evaluator.load(inputs, targets);
        evaluator
    }

    /// Loads another batch into the same workspace, as a training loop does from batch to
    /// batch.
    fn load(&mut self, inputs: &[M::Input], targets: &[M::Output]) {
        assert_eq!(inputs.len(), targets.len(), "every input row needs a target row");
        let indices: Vec<usize> = (0..inputs.len()).collect();
        M::load_inputs(&mut self.workspace, inputs, &indices).expect("the test batch is valid");
        self.targets = M::OUTPUT_WIDTHS
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
    }

    /// Runs the forward pass and returns the sum over outputs of weight × loss.
    fn total_loss<L: LossSet<M>>(&mut self, model: &M, losses: &L) -> f64 {
        model.forward(&mut self.workspace);
        (0..M::OUTPUT_NAMES.len())
            .map(|k| {
                let head = M::head(&self.workspace, k);
                let (loss, _) = losses.compute(k, &head, &self.targets[k], None);
                losses.weight(k) * loss
            })
            .sum()
    }

    /// Takes the steps of one training step up to the optimizer: forward, loss gradients,
    /// `zero_grads` and `backward`. Returns the gradient kinds and every weight's gradient.
    fn backward<L: LossSet<M>>(&mut self, model: &mut M, losses: &L) -> (Vec<GradientOf>, Vec<ParamGradient>) {
        model.forward(&mut self.workspace);
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

        let mut gradients = Vec::new();
        model.visit_params(&mut |param| {
            gradients.push(ParamGradient { name: param.name, trainable: param.trainable, grad: param.grad.to_vec() })
        });
        (kinds, gradients)
    }
}

/// Returns element `element` of weight tensor `param` (in `visit_params` order).
fn weight<M: Network<f64>>(model: &mut M, param: usize, element: usize) -> f64 {
    let mut index = 0;
    let mut found = None;
    model.visit_params(&mut |view| {
        if index == param {
            found = Some(view.value[element]);
        }
        index += 1;
    });
    found.expect("weight index is in range")
}

/// Sets element `element` of weight tensor `param` (in `visit_params` order).
fn set_weight<M: Network<f64>>(model: &mut M, param: usize, element: usize, value: f64) {
    let mut index = 0;
    model.visit_params(&mut |view| {
        if index == param {
            view.value[element] = value;
        }
        index += 1;
    });
}

/// Replaces every weight, frozen ones included, with a draw from U(−scale, scale).
fn randomize_weights<M: Network<f64>>(model: &mut M, rng: &mut StdRng, scale: f64) {
    model.visit_params(&mut |view| {
        for value in view.value.iter_mut() {
            *value = rng.random_range(-scale..scale);
        }
    });
}

/// Compares the gradient of every trainable weight with central differences of the total
/// loss, and checks that frozen weights get no gradient.
///
/// Panics on the first weight whose gradient is off, naming the case, the tensor and the
/// element. The one-sided differences in the message tell a kink (they disagree) from a
/// wrong gradient (they agree with each other but not with `backward`).
fn check_gradients<M, L>(
    case: &str,
    model: &mut M,
    losses: &L,
    inputs: &[M::Input],
    targets: &[M::Output],
) -> GradientReport
where
    M: Network<f64>,
    L: LossSet<M>,
{
    let mut evaluator = LossEvaluator::<M>::new(inputs, targets);
    let (kinds, gradients) = evaluator.backward(model, losses);
    // A second step must give the same gradients, so no state leaks from one step to the next.
    let (_, repeated) = evaluator.backward(model, losses);
    assert_eq!(gradients, repeated, "{case}: a second backward pass gives other gradients");

    let base = evaluator.total_loss(model, losses);
    assert!(base.is_finite(), "{case}: the loss is {base}");
    let mut max_error: f64 = 0.0;
    for (p, param) in gradients.iter().enumerate() {
        if !param.trainable {
            assert!(
                param.grad.iter().all(|&g| g == 0.0),
                "{case}: frozen tensor {p} ({}) has gradient {:?}",
                param.name,
                param.grad
            );
            continue;
        }
        for (i, &analytic) in param.grad.iter().enumerate() {
            let original = weight(model, p, i);
            set_weight(model, p, i, original + STEP);
            let plus = evaluator.total_loss(model, losses);
            set_weight(model, p, i, original - STEP);
            let minus = evaluator.total_loss(model, losses);
            set_weight(model, p, i, original);

            let numeric = (plus - minus) / (2.0 * STEP);
            let error = (analytic - numeric).abs() / numeric.abs().max(FLOOR);
            assert!(
                error <= RTOL,
                "{case}: tensor {p} ({}) element {i}: backward gives {analytic}, the central \
                 difference {numeric} (relative error {error:.2e}); one-sided differences are \
                 {} and {}",
                param.name,
                (plus - base) / STEP,
                (base - minus) / STEP,
            );
            max_error = max_error.max(error);
        }
    }

    let count: usize = gradients.iter().filter(|p| p.trainable).map(|p| p.grad.len()).sum();
    println!("{case}: {count} trainable weights, largest relative error {max_error:.2e}");
    GradientReport { kinds, gradients }
}

fn floats<const N: usize>(rng: &mut StdRng, low: f32, high: f32) -> [f32; N] {
    std::array::from_fn(|_| rng.random_range(low..high))
}

fn ids<const N: usize>(rng: &mut StdRng, vocabulary: u32) -> [u32; N] {
    std::array::from_fn(|_| rng.random_range(0..vocabulary))
}

/// How to draw the targets of an output.
#[derive(Clone, Copy, Debug)]
enum Targets {
    /// The prediction moved by 0.5 to 1.5 either way, so that no MAE residual is near its
    /// kink at 0.
    AwayFromPrediction,
    /// Independent values in [0, 1], for binary cross-entropy.
    Probabilities,
    /// Rows of positive values that sum to 1, for categorical cross-entropy.
    Distributions,
}

fn draw_targets<const N: usize>(kind: Targets, prediction: &[f32; N], rng: &mut StdRng) -> [f32; N] {
    match kind {
        Targets::AwayFromPrediction => std::array::from_fn(|i| {
            let shift: f32 = rng.random_range(0.5..1.5);
            if rng.random_bool(0.5) { prediction[i] + shift } else { prediction[i] - shift }
        }),
        Targets::Probabilities => floats(rng, 0.0, 1.0),
        Targets::Distributions => {
            let weights: [f32; N] = floats(rng, 0.1, 1.0);
            let sum: f32 = weights.iter().sum();
            weights.map(|w| w / sum)
        }
    }
}

// Dense with every activation, with and without a bias. The hidden layer has the same
// activation as the head, so its backward pass runs on the gradient of a value too.

macro_rules! dense_activation_case {
    ($test:ident, $model:ident, $input:ident, $output:ident, seed $seed:literal, [$($option:ident),+],
     expected_kinds [$($kind:ident),+], losses [$(($loss:expr, $targets:ident)),+ $(,)?]) => {
        model! {
            struct $model {
                input x: [4];
                let hidden = Dense::<5, $($option),+>(x);
                output y = Dense::<3, $($option),+>(hidden);
            }
        }

        #[test]
        fn $test() {
            let mut rng = StdRng::seed_from_u64($seed);
            let mut model = $model::<f64>::from_rng(&mut rng);
            randomize_weights(&mut model, &mut rng, 0.8);
            let inputs: Vec<$input> = (0..ROWS).map(|_| $input { x: floats(&mut rng, -1.0, 1.0) }).collect();
            let predictions = model.predict(&inputs).expect("inputs are valid");
            let expected_kinds = [$(GradientOf::$kind),+];
            let mut index = 0;
            $(
                let targets: Vec<$output> = predictions
                    .iter()
                    .map(|prediction| $output { y: draw_targets(Targets::$targets, &prediction.y, &mut rng) })
                    .collect();
                let case = format!("{} with {}", stringify!($model), stringify!($loss));
                let report = check_gradients(&case, &mut model, &$loss, &inputs, &targets);
                assert_eq!(report.kinds, [expected_kinds[index]], "{case}: gradient kind");
                index += 1;
            )+
            assert_eq!(index, expected_kinds.len(), "one expected kind per loss");
        }
    };
}

dense_activation_case!(dense_linear_bias, LinearBias, LinearBiasInput, LinearBiasOutput, seed 11, [Linear],
    expected_kinds [Values, Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction),
            (MeanSquaredError.weighted(0.25), AwayFromPrediction)]);
dense_activation_case!(dense_linear_no_bias, LinearNoBias, LinearNoBiasInput, LinearNoBiasOutput, seed 12, [Linear, NoBias],
    expected_kinds [Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction)]);
dense_activation_case!(dense_relu_bias, ReluBias, ReluBiasInput, ReluBiasOutput, seed 13, [Relu],
    expected_kinds [Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction)]);
dense_activation_case!(dense_relu_no_bias, ReluNoBias, ReluNoBiasInput, ReluNoBiasOutput, seed 14, [Relu, NoBias],
    expected_kinds [Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction)]);
dense_activation_case!(dense_sigmoid_bias, SigmoidBias, SigmoidBiasInput, SigmoidBiasOutput, seed 15, [Sigmoid],
    expected_kinds [Values, Values, Logits, Logits, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction),
            (BinaryCrossentropy, Probabilities), (BinaryCrossentropy.weighted(2.0), Probabilities),
            (CategoricalCrossentropy, Distributions)]);
dense_activation_case!(dense_sigmoid_no_bias, SigmoidNoBias, SigmoidNoBiasInput, SigmoidNoBiasOutput, seed 16, [Sigmoid, NoBias],
    expected_kinds [Values, Values, Logits, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction),
            (BinaryCrossentropy, Probabilities), (CategoricalCrossentropy, Distributions)]);
dense_activation_case!(dense_tanh_bias, TanhBias, TanhBiasInput, TanhBiasOutput, seed 17, [Tanh],
    expected_kinds [Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction)]);
dense_activation_case!(dense_tanh_no_bias, TanhNoBias, TanhNoBiasInput, TanhNoBiasOutput, seed 18, [Tanh, NoBias],
    expected_kinds [Values, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction)]);
dense_activation_case!(dense_softmax_bias, SoftmaxBias, SoftmaxBiasInput, SoftmaxBiasOutput, seed 19, [Softmax],
    expected_kinds [Values, Values, Logits, Logits, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction),
            (CategoricalCrossentropy, Distributions), (CategoricalCrossentropy.weighted(0.5), Distributions),
            (BinaryCrossentropy, Probabilities)]);
dense_activation_case!(dense_softmax_no_bias, SoftmaxNoBias, SoftmaxNoBiasInput, SoftmaxNoBiasOutput, seed 20, [Softmax, NoBias],
    expected_kinds [Values, Values, Logits, Values],
    losses [(MeanAbsoluteError, AwayFromPrediction), (MeanSquaredError, AwayFromPrediction),
            (CategoricalCrossentropy, Distributions), (BinaryCrossentropy, Probabilities)]);

// Cross-entropies on heads that are not a Dense layer's own sigmoid or softmax, so they take
// the clipped path on probabilities.

model! {
    struct ProbabilityProduct {
        input x: [4];
        let p = Dense::<3, Sigmoid>(x);
        let q = Dense::<3, Sigmoid>(x);
        output y = Multiply(p, q);
    }
}

#[test]
fn crossentropy_on_probability_product() {
    let mut rng = StdRng::seed_from_u64(21);
    let mut model = ProbabilityProduct::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<ProbabilityProductInput> =
        (0..ROWS).map(|_| ProbabilityProductInput { x: floats(&mut rng, -1.0, 1.0) }).collect();

    let targets: Vec<ProbabilityProductOutput> =
        (0..ROWS).map(|_| ProbabilityProductOutput { y: floats(&mut rng, 0.0, 1.0) }).collect();
    let report = check_gradients("product of sigmoids with bce", &mut model, &BinaryCrossentropy, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Values]);

    let targets: Vec<ProbabilityProductOutput> = (0..ROWS)
        .map(|_| ProbabilityProductOutput { y: draw_targets(Targets::Distributions, &[0.0; 3], &mut rng) })
        .collect();
    let report =
        check_gradients("product of sigmoids with cce", &mut model, &CategoricalCrossentropy, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Values]);
}

model! {
    struct AliasedSigmoidHead {
        input x: [4];
        let p = Dense::<2, Sigmoid>(x);
        output y = p;
    }
}

#[test]
fn bce_on_aliased_sigmoid_head() {
    let mut rng = StdRng::seed_from_u64(22);
    let mut model = AliasedSigmoidHead::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<AliasedSigmoidHeadInput> =
        (0..ROWS).map(|_| AliasedSigmoidHeadInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<AliasedSigmoidHeadOutput> =
        (0..ROWS).map(|_| AliasedSigmoidHeadOutput { y: floats(&mut rng, 0.0, 1.0) }).collect();
    let report = check_gradients("aliased sigmoid head with bce", &mut model, &BinaryCrossentropy, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Logits], "a `let` alias keeps the head's logits");
}

// Embeddings: repeated ids must add up, unused ids get exactly zero.

model! {
    struct SequenceEmbedding {
        input ids: [Id<6>; 4];
        let vectors = Embedding::<6, 3>(ids);
        output y = Dense::<2, Tanh>(Flatten(vectors));
    }
}

#[test]
fn embedding_with_repeated_ids() {
    let mut rng = StdRng::seed_from_u64(23);
    let mut model = SequenceEmbedding::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    // Id 1 repeats within row 0, id 3 within row 1 and across rows, id 4 fills row 3, and
    // id 5 is never looked up.
    let rows = [[1, 1, 2, 3], [3, 0, 3, 3], [2, 1, 0, 4], [4, 4, 4, 4], [0, 2, 1, 1]];
    let inputs: Vec<SequenceEmbeddingInput> = rows.iter().map(|&ids| SequenceEmbeddingInput { ids }).collect();
    let targets: Vec<SequenceEmbeddingOutput> =
        (0..ROWS).map(|_| SequenceEmbeddingOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    let report = check_gradients("sequence embedding with mse", &mut model, &MeanSquaredError, &inputs, &targets);

    let table = &report.gradients[0];
    assert_eq!(table.name, "embeddings");
    assert_eq!(&table.grad[15..18], &[0.0; 3], "id 5 is never looked up");
    assert!(table.grad[3..6].iter().all(|&g| g != 0.0), "id 1 is looked up");
}

model! {
    struct SingleIdEmbedding {
        input id: Id<4>;
        input x: [2];
        let vector = Flatten(Embedding::<4, 2>(id));
        output y = Dense::<1>(Concatenate(vector, x));
    }
}

#[test]
fn embedding_of_single_id() {
    let mut rng = StdRng::seed_from_u64(24);
    let mut model = SingleIdEmbedding::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let ids = [2, 0, 2, 2, 1];
    let inputs: Vec<SingleIdEmbeddingInput> =
        ids.iter().map(|&id| SingleIdEmbeddingInput { id, x: floats(&mut rng, -1.0, 1.0) }).collect();
    let predictions = model.predict(&inputs).expect("inputs are valid");
    let targets: Vec<SingleIdEmbeddingOutput> = predictions
        .iter()
        .map(|p| SingleIdEmbeddingOutput { y: draw_targets(Targets::AwayFromPrediction, &p.y, &mut rng) })
        .collect();
    let report = check_gradients("single id embedding with mae", &mut model, &MeanAbsoluteError, &inputs, &targets);
    assert_eq!(&report.gradients[0].grad[6..8], &[0.0; 2], "id 3 is never looked up");
}

// Shared layers and submodels: one set of weights, the gradient summed over the calls.

model! {
    struct SharedDense {
        input a: [3];
        input b: [3];
        layer shared = Dense::<2, Relu>;
        let sum = Add(shared(a), shared(b));
        output p = Dense::<1, Sigmoid>(sum);
    }
}

#[test]
fn shared_dense_called_twice() {
    let mut rng = StdRng::seed_from_u64(25);
    let mut model = SharedDense::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<SharedDenseInput> = (0..ROWS)
        .map(|_| SharedDenseInput { a: floats(&mut rng, -1.0, 1.0), b: floats(&mut rng, -1.0, 1.0) })
        .collect();
    let targets: Vec<SharedDenseOutput> =
        (0..ROWS).map(|_| SharedDenseOutput { p: floats(&mut rng, 0.0, 1.0) }).collect();
    let report = check_gradients("shared dense with bce", &mut model, &BinaryCrossentropy, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Logits]);
    assert_eq!(report.gradients.len(), 4, "the shared layer is visited once");
}

model! {
    /// One learned strength per team id.
    struct Strength {
        input team: Id<7>;
        output strength = Flatten(Embedding::<7, 1>(team));
    }
}

model! {
    struct StrengthGame {
        input team_1: Id<7>;
        input team_2: Id<7>;
        input home: [1];
        layer strength = Strength;
        let difference = Subtract(strength(team_1), strength(team_2));
        output score = Dense::<1>(Concatenate(home, difference));
    }
}

#[test]
fn shared_submodel_called_twice() {
    let mut rng = StdRng::seed_from_u64(26);
    let mut model = StrengthGame::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    // Id 2 plays as team_1 and team_2, id 4 plays itself in row 3 (its lookups cancel), and
    // id 6 never plays.
    let games = [(2, 5), (5, 2), (2, 1), (4, 4), (0, 3)];
    let inputs: Vec<StrengthGameInput> = games
        .iter()
        .map(|&(team_1, team_2)| StrengthGameInput { team_1, team_2, home: [f32::from(rng.random_bool(0.5))] })
        .collect();
    let predictions = model.predict(&inputs).expect("inputs are valid");
    let targets: Vec<StrengthGameOutput> = predictions
        .iter()
        .map(|p| StrengthGameOutput { score: draw_targets(Targets::AwayFromPrediction, &p.score, &mut rng) })
        .collect();
    let report = check_gradients("shared submodel with mae", &mut model, &MeanAbsoluteError, &inputs, &targets);
    let table = &report.gradients[0].grad;
    assert_eq!(table[4], 0.0, "the lookups of id 4 cancel");
    assert_eq!(table[6], 0.0, "id 6 is never looked up");

    let report = check_gradients("shared submodel with mse", &mut model, &MeanSquaredError, &inputs, &targets);
    assert_eq!(report.gradients.len(), 3, "the submodel's table is visited once");
}

model! {
    /// A Dense block used as a layer on float values.
    struct TanhBlock {
        input v: [4];
        output y = Dense::<3, Tanh>(v);
    }
}

model! {
    struct ThroughSubmodel {
        input x: [2];
        layer block = TanhBlock;
        let a = block(Dense::<4, Sigmoid>(x));
        let b = block(Dense::<4>(x));
        output y = Dense::<1>(Concatenate(a, b));
    }
}

#[test]
fn submodel_on_values_with_weights() {
    let mut rng = StdRng::seed_from_u64(27);
    let mut model = ThroughSubmodel::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<ThroughSubmodelInput> =
        (0..ROWS).map(|_| ThroughSubmodelInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<ThroughSubmodelOutput> =
        (0..ROWS).map(|_| ThroughSubmodelOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    let report =
        check_gradients("submodel on dense outputs with mse", &mut model, &MeanSquaredError, &inputs, &targets);
    // The layers before the submodel must receive a gradient through it.
    for (index, param) in report.gradients.iter().enumerate() {
        assert!(param.grad.iter().any(|&g| g != 0.0), "tensor {index} ({}) got no gradient", param.name);
    }
}

model! {
    /// A submodel with two float inputs, of which the caller needs the gradient of one only.
    struct GatedBlock {
        input u: [3];
        input w: [3];
        output y = Dense::<2, Tanh>(Multiply(u, w));
    }
}

model! {
    /// Nests a submodel inside a submodel.
    struct NestedBlock {
        input v: [3];
        layer inner = TanhBlock;
        output y = Dense::<3, Sigmoid>(inner(Concatenate(v, Dense::<1>(v))));
    }
}

model! {
    struct SubmodelMix {
        input x: [3];
        layer gate = GatedBlock;
        layer nested = NestedBlock;
        let h = Dense::<3, Tanh>(x);
        let gated = gate(h, x);
        output y = Dense::<2>(Concatenate(gated, nested(h)));
    }
}

#[test]
fn submodels_with_partial_and_nested_gradients() {
    let mut rng = StdRng::seed_from_u64(28);
    let mut model = SubmodelMix::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<SubmodelMixInput> =
        (0..ROWS).map(|_| SubmodelMixInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<SubmodelMixOutput> =
        (0..ROWS).map(|_| SubmodelMixOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("partial and nested submodels with mse", &mut model, &MeanSquaredError, &inputs, &targets);
}

// Merge layers.

model! {
    struct Merges {
        input x: [3];
        let a = Dense::<4, Tanh>(x);
        let b = Dense::<4, Sigmoid>(x);
        let c = Dense::<4>(x);
        let sum = Add(a, b, c);
        let twice = Add(c, c);
        let difference = Subtract(a, c);
        let product = Multiply(a, b, c);
        let square = Multiply(sum, sum);
        let cube = Multiply(b, b, b);
        let pair = Concatenate(b, b);
        output y = Dense::<2>(Concatenate(sum, twice, difference, product, square, cube, pair));
    }
}

#[test]
fn add_subtract_multiply_concatenate() {
    let mut rng = StdRng::seed_from_u64(29);
    let mut model = Merges::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<MergesInput> = (0..ROWS).map(|_| MergesInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<MergesOutput> = (0..ROWS).map(|_| MergesOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("merge layers with mse", &mut model, &MeanSquaredError, &inputs, &targets);
}

model! {
    struct RankTwoConcatenate {
        input ids: [Id<5>; 3];
        let narrow = Embedding::<5, 2>(ids);
        let wide = Embedding::<5, 3>(ids);
        let joined = Concatenate(narrow, wide);
        output y = Dense::<1>(Flatten(joined));
    }
}

#[test]
fn concatenate_rank_two() {
    let mut rng = StdRng::seed_from_u64(30);
    let mut model = RankTwoConcatenate::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<RankTwoConcatenateInput> =
        (0..ROWS).map(|_| RankTwoConcatenateInput { ids: ids(&mut rng, 5) }).collect();
    let targets: Vec<RankTwoConcatenateOutput> =
        (0..ROWS).map(|_| RankTwoConcatenateOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("rank-2 concatenate with mse", &mut model, &MeanSquaredError, &inputs, &targets);
}

model! {
    struct RankTwoMerges {
        input ids: [Id<5>; 3];
        input positions: [3, 1];
        let a = Embedding::<5, 2>(ids);
        let b = Embedding::<5, 2>(ids);
        let c = Embedding::<5, 3>(ids);
        let joined = Concatenate(Multiply(a, b), positions, Subtract(a, b), c);
        output y = Dense::<2, Tanh>(Flatten(joined));
    }
}

#[test]
fn rank_two_merges_with_float_input() {
    let mut rng = StdRng::seed_from_u64(31);
    let mut model = RankTwoMerges::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<RankTwoMergesInput> = (0..ROWS)
        .map(|_| RankTwoMergesInput { ids: ids(&mut rng, 5), positions: floats(&mut rng, -1.0, 1.0) })
        .collect();
    let targets: Vec<RankTwoMergesOutput> =
        (0..ROWS).map(|_| RankTwoMergesOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_gradients("rank-2 merges with mse", &mut model, &MeanSquaredError, &inputs, &targets);
}

// Several outputs with weighted losses.

model! {
    struct TwoHeads {
        input x: [3];
        let h = Dense::<4, Tanh>(x);
        output score = Dense::<1>(h);
        output win = Dense::<1, Sigmoid>(score);
    }
}

#[test]
fn two_outputs_with_weighted_losses() {
    let mut rng = StdRng::seed_from_u64(32);
    let mut model = TwoHeads::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<TwoHeadsInput> = (0..ROWS).map(|_| TwoHeadsInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let predictions = model.predict(&inputs).expect("inputs are valid");
    let targets: Vec<TwoHeadsOutput> = predictions
        .iter()
        .map(|p| TwoHeadsOutput {
            score: draw_targets(Targets::AwayFromPrediction, &p.score, &mut rng),
            win: [f32::from(rng.random_bool(0.5))],
        })
        .collect();
    let losses = (MeanAbsoluteError, BinaryCrossentropy.weighted(0.5));
    let report = check_gradients("two heads with mae and 0.5 × bce", &mut model, &losses, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Values, GradientOf::Logits]);

    let losses = (MeanSquaredError.weighted(3.0), BinaryCrossentropy.weighted(0.25));
    check_gradients("two heads with 3 × mse and 0.25 × bce", &mut model, &losses, &inputs, &targets);
}

model! {
    /// A sigmoid and a softmax head that later layers also read, so their Dense layers get a
    /// logits gradient and a value gradient at once.
    struct ReadHeads {
        input x: [3];
        let h = Dense::<4, Tanh>(x);
        output win = Dense::<1, Sigmoid>(h);
        output class = Dense::<3, Softmax>(h);
        output score = Dense::<1>(Concatenate(win, class));
    }
}

#[test]
fn heads_read_by_later_layers() {
    let mut rng = StdRng::seed_from_u64(33);
    let mut model = ReadHeads::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<ReadHeadsInput> = (0..ROWS).map(|_| ReadHeadsInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<ReadHeadsOutput> = (0..ROWS)
        .map(|_| ReadHeadsOutput {
            win: [f32::from(rng.random_bool(0.5))],
            class: draw_targets(Targets::Distributions, &[0.0; 3], &mut rng),
            score: floats(&mut rng, -2.0, 2.0),
        })
        .collect();
    let losses = (BinaryCrossentropy.weighted(0.5), CategoricalCrossentropy.weighted(2.0), MeanSquaredError);
    let report = check_gradients("heads read by later layers", &mut model, &losses, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Logits, GradientOf::Logits, GradientOf::Values]);
}

// Frozen layers pass the gradient on but get none.

model! {
    struct FrozenMiddle {
        input x: [3];
        #[frozen] layer middle = Dense::<4, Tanh>;
        let h = Dense::<4, Tanh>(x);
        output y = Dense::<2>(middle(h));
    }
}

#[test]
fn frozen_layer_passes_gradient() {
    let mut rng = StdRng::seed_from_u64(34);
    let mut model = FrozenMiddle::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<FrozenMiddleInput> =
        (0..ROWS).map(|_| FrozenMiddleInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<FrozenMiddleOutput> =
        (0..ROWS).map(|_| FrozenMiddleOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    let report = check_gradients("frozen middle with mse", &mut model, &MeanSquaredError, &inputs, &targets);
    let trainable: Vec<bool> = report.gradients.iter().map(|p| p.trainable).collect();
    assert_eq!(trainable, [false, false, true, true, true, true], "the declared frozen layer comes first");
    assert!(report.gradients[2].grad.iter().any(|&g| g != 0.0), "the layer before the frozen one gets a gradient");
}

model! {
    /// A frozen submodel between two trainable layers.
    struct FrozenSubmodel {
        input x: [3];
        #[frozen] layer block = TanhBlock;
        let h = Dense::<4, Sigmoid>(x);
        output y = Dense::<2>(block(h));
    }
}

#[test]
fn frozen_submodel_passes_gradient() {
    let mut rng = StdRng::seed_from_u64(37);
    let mut model = FrozenSubmodel::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<FrozenSubmodelInput> =
        (0..ROWS).map(|_| FrozenSubmodelInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<FrozenSubmodelOutput> =
        (0..ROWS).map(|_| FrozenSubmodelOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    let report = check_gradients("frozen submodel with mse", &mut model, &MeanSquaredError, &inputs, &targets);
    let trainable: Vec<bool> = report.gradients.iter().map(|p| p.trainable).collect();
    assert_eq!(trainable, [false, false, true, true, true, true], "the declared frozen submodel comes first");
    assert!(report.gradients[2].grad.iter().any(|&g| g != 0.0), "the layer before the submodel gets a gradient");
}

model! {
    /// One sigmoid Dense layer called twice, each call an output of its own.
    struct SharedSigmoidHeads {
        input a: [3];
        input b: [3];
        layer head = Dense::<2, Sigmoid>;
        output p = head(a);
        output q = head(Dense::<3, Tanh>(b));
    }
}

#[test]
fn shared_sigmoid_layer_as_two_heads() {
    let mut rng = StdRng::seed_from_u64(38);
    let mut model = SharedSigmoidHeads::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<SharedSigmoidHeadsInput> = (0..ROWS)
        .map(|_| SharedSigmoidHeadsInput { a: floats(&mut rng, -1.0, 1.0), b: floats(&mut rng, -1.0, 1.0) })
        .collect();
    let targets: Vec<SharedSigmoidHeadsOutput> = (0..ROWS)
        .map(|_| SharedSigmoidHeadsOutput { p: floats(&mut rng, 0.0, 1.0), q: floats(&mut rng, 0.0, 1.0) })
        .collect();
    let losses = (BinaryCrossentropy, BinaryCrossentropy.weighted(0.5));
    let report = check_gradients("shared sigmoid layer as two heads", &mut model, &losses, &inputs, &targets);
    assert_eq!(report.kinds, [GradientOf::Logits, GradientOf::Logits]);
}

model! {
    /// One sigmoid value declared as two outputs, each with its own loss.
    struct SigmoidTwiceAsOutput {
        input x: [3];
        output p = Dense::<2, Sigmoid>(Dense::<3, Tanh>(x));
        output q = p;
    }
}

// NOTE: `backward` adds the logits gradient of the first output only. The generated code
// picks one output per Dense call (`logit_seed` in model-macros/src/expand.rs), so the loss of
// `q` contributes nothing to any weight.
#[test]
fn sigmoid_value_as_two_outputs() {
    let mut rng = StdRng::seed_from_u64(39);
    let mut model = SigmoidTwiceAsOutput::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<SigmoidTwiceAsOutputInput> =
        (0..ROWS).map(|_| SigmoidTwiceAsOutputInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<SigmoidTwiceAsOutputOutput> = (0..ROWS)
        .map(|_| SigmoidTwiceAsOutputOutput { p: floats(&mut rng, 0.0, 1.0), q: floats(&mut rng, 0.0, 1.0) })
        .collect();
    let losses = (BinaryCrossentropy, BinaryCrossentropy.weighted(0.5));
    check_gradients("sigmoid value as two outputs", &mut model, &losses, &inputs, &targets);
}

model! {
    /// A sigmoid Dense head wrapped in a model, to be used as a layer.
    struct SigmoidHeadBlock {
        input v: [3];
        output p = Dense::<1, Sigmoid>(v);
    }
}

model! {
    struct SigmoidHeadThroughSubmodel {
        input x: [3];
        layer block = SigmoidHeadBlock;
        output p = block(x);
    }
}

model! {
    struct SigmoidHeadFlat {
        input x: [3];
        output p = Dense::<1, Sigmoid>(x);
    }
}

// NOTE: a cross-entropy on a submodel's output takes the clipped path on probabilities, because
// the generated `head` gives logits only for a Dense call of the model itself (`squash` in
// model-macros/src/expand.rs), and a submodel exposes no logits. The same layers without the
// submodel take the logits path. The two agree unless a probability is clipped.
#[test]
fn bce_on_submodel_sigmoid_head() {
    let mut nested = SigmoidHeadThroughSubmodel::<f64>::from_rng(&mut StdRng::seed_from_u64(40));
    let mut flat = SigmoidHeadFlat::<f64>::from_rng(&mut StdRng::seed_from_u64(40));
    // Kernel [4, 4, 4] and bias 4 on the input [2, 2, 2] give the logit 28, where a
    // probability rounds to 1 and is clipped.
    nested.visit_params(&mut |param| param.value.fill(4.0));
    flat.visit_params(&mut |param| param.value.fill(4.0));
    let nested_inputs = [SigmoidHeadThroughSubmodelInput { x: [2.0; 3] }];
    let nested_targets = [SigmoidHeadThroughSubmodelOutput { p: [0.0] }];
    let flat_inputs = [SigmoidHeadFlatInput { x: [2.0; 3] }];
    let flat_targets = [SigmoidHeadFlatOutput { p: [0.0] }];

    let mut nested_evaluator = LossEvaluator::<SigmoidHeadThroughSubmodel<f64>>::new(&nested_inputs, &nested_targets);
    let mut flat_evaluator = LossEvaluator::<SigmoidHeadFlat<f64>>::new(&flat_inputs, &flat_targets);
    let nested_loss = nested_evaluator.total_loss(&nested, &BinaryCrossentropy);
    let flat_loss = flat_evaluator.total_loss(&flat, &BinaryCrossentropy);
    assert!((flat_loss - 28.0).abs() < 1e-9, "the flat model's loss is the logit, {flat_loss}");
    assert!((nested_loss - flat_loss).abs() < 1e-9, "loss through the submodel {nested_loss}, without it {flat_loss}");

    let (_, nested_gradients) = nested_evaluator.backward(&mut nested, &BinaryCrossentropy);
    let (_, flat_gradients) = flat_evaluator.backward(&mut flat, &BinaryCrossentropy);
    for (n, f) in nested_gradients.iter().zip(&flat_gradients) {
        assert_eq!(n.grad, f.grad, "gradient of {} through the submodel and without it", f.name);
    }
}

// A workspace keeps its buffers from batch to batch, and the last batch of an epoch is often
// smaller. Gradients must not depend on what the workspace held before.

/// Checks that batches of changing sizes, loaded one after another into one workspace, give
/// exactly the gradients of a fresh workspace.
fn check_workspace_reuse<M, L>(case: &str, model: &mut M, losses: &L, inputs: &[M::Input], targets: &[M::Output])
where
    M: Network<f64>,
    L: LossSet<M>,
{
    let mut reused = LossEvaluator::<M>::new(inputs, targets);
    reused.backward(model, losses);
    for rows in [2, inputs.len(), 1, 3] {
        reused.load(&inputs[..rows], &targets[..rows]);
        let (_, from_reused) = reused.backward(model, losses);
        let (_, from_fresh) = LossEvaluator::<M>::new(&inputs[..rows], &targets[..rows]).backward(model, losses);
        assert_eq!(from_reused, from_fresh, "{case}: batch of {rows} rows in a reused workspace");
    }
}

#[test]
fn workspace_reuse_across_batch_sizes() {
    let mut rng = StdRng::seed_from_u64(36);

    let mut model = SubmodelMix::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<SubmodelMixInput> =
        (0..ROWS).map(|_| SubmodelMixInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<SubmodelMixOutput> =
        (0..ROWS).map(|_| SubmodelMixOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_workspace_reuse("submodels", &mut model, &MeanSquaredError, &inputs, &targets);

    let mut model = RankTwoMerges::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<RankTwoMergesInput> = (0..ROWS)
        .map(|_| RankTwoMergesInput { ids: ids(&mut rng, 5), positions: floats(&mut rng, -1.0, 1.0) })
        .collect();
    let targets: Vec<RankTwoMergesOutput> =
        (0..ROWS).map(|_| RankTwoMergesOutput { y: floats(&mut rng, -1.0, 1.0) }).collect();
    check_workspace_reuse("rank-2 merges", &mut model, &MeanSquaredError, &inputs, &targets);

    let mut model = StrengthGame::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<StrengthGameInput> = (0..ROWS)
        .map(|_| StrengthGameInput {
            team_1: rng.random_range(0..7),
            team_2: rng.random_range(0..7),
            home: floats(&mut rng, 0.0, 1.0),
        })
        .collect();
    let targets: Vec<StrengthGameOutput> =
        (0..ROWS).map(|_| StrengthGameOutput { score: floats(&mut rng, -2.0, 2.0) }).collect();
    check_workspace_reuse("shared submodel", &mut model, &MeanSquaredError, &inputs, &targets);

    let mut model = ReadHeads::<f64>::from_rng(&mut rng);
    randomize_weights(&mut model, &mut rng, 0.8);
    let inputs: Vec<ReadHeadsInput> = (0..ROWS).map(|_| ReadHeadsInput { x: floats(&mut rng, -1.0, 1.0) }).collect();
    let targets: Vec<ReadHeadsOutput> = (0..ROWS)
        .map(|_| ReadHeadsOutput {
            win: [f32::from(rng.random_bool(0.5))],
            class: draw_targets(Targets::Distributions, &[0.0; 3], &mut rng),
            score: floats(&mut rng, -2.0, 2.0),
        })
        .collect();
    let losses = (BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError);
    check_workspace_reuse("heads read by later layers", &mut model, &losses, &inputs, &targets);
}
