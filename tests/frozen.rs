//! Frozen layers and submodels: `#[frozen] layer NAME = Kind;` in `model!`, and
//! `set_trainable` at run time.
//!
//! A frozen weight gets no gradient and no optimizer state, keeps its exact bits through
//! `fit`, and counts as non-trainable in the parameter constants and the summary. Gradients
//! still flow through a frozen layer, so the layers before it keep training.

use std::collections::BTreeSet;

use keramic::loss::GradientOf;
use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// Maps a team id to one learned strength.
    struct TeamStrength {
        input team: Id<10888>;
        let strength = Embedding::<10888, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// Predicts the score difference from both teams' strengths and home court, with the
    /// team strengths frozen.
    struct FrozenStrengthPair {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        #[frozen] layer strength = TeamStrength;
        output score_diff = Dense::<1>(Concatenate(strength(team_1), strength(team_2), home));
    }
}

model! {
    /// Three Dense layers with the middle one frozen, so that `first` trains only through the
    /// gradient that flows back through `middle`.
    struct FrozenMiddle {
        input x: [3];
        #[frozen] layer middle = Dense::<4, Tanh>;
        let first = Dense::<4, Tanh>(x);
        output prediction = Dense::<1>(middle(first));
    }
}

model! {
    /// Two trainable Dense layers, frozen and unfrozen at run time.
    struct TwoLayers {
        input x: [2];
        let hidden = Dense::<4, Tanh>(x);
        output y = Dense::<1>(hidden);
    }
}

// The frozen team strength: 10,888 embeddings, and a Dense layer with 3 inputs and a bias.
const _: () = assert!(FrozenStrengthPair::TOTAL_PARAMS == 10_892);
const _: () = assert!(FrozenStrengthPair::TRAINABLE_PARAMS == 4);
const _: () = assert!(FrozenStrengthPair::NON_TRAINABLE_PARAMS == 10_888);

// `middle` has 4 × 4 + 4 weights, `first` 3 × 4 + 4 and `prediction` 4 + 1.
const _: () = assert!(FrozenMiddle::TOTAL_PARAMS == 41);
const _: () = assert!(FrozenMiddle::TRAINABLE_PARAMS == 21);
const _: () = assert!(FrozenMiddle::NON_TRAINABLE_PARAMS == 20);

/// The number of teams in the synthetic games, whose ids run from 0 to `SYNTHETIC_TEAMS − 1`.
const SYNTHETIC_TEAMS: u32 = 200;

/// One weight tensor: its path, whether it is trainable, and its values.
#[derive(Clone, Debug)]
struct Tensor {
    path: String,
    trainable: bool,
    values: Vec<f32>,
}

/// Returns every weight tensor of the model, in `visit_params` order.
fn snapshot<M: Network<f32>>(model: &M) -> Vec<Tensor> {
    let mut tensors = Vec::new();
    model.visit_named_weights("", &mut |path, param| {
        tensors.push(Tensor { path: path.to_owned(), trainable: param.trainable, values: param.value.to_vec() });
    });
    tensors
}

/// Returns the weights of the tensor at `path`.
fn tensor<'a>(tensors: &'a [Tensor], path: &str) -> &'a [f32] {
    let found = tensors.iter().find(|tensor| tensor.path == path);
    &found.unwrap_or_else(|| panic!("no weight tensor {path}")).values
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|value| value.to_bits()).collect()
}

/// Asserts that the tensor at `path` has the same bits in both snapshots.
fn assert_unchanged(before: &[Tensor], after: &[Tensor], path: &str) {
    assert_eq!(bits(tensor(before, path)), bits(tensor(after, path)), "{path} changed");
}

/// Asserts that at least one weight of the tensor at `path` differs between the snapshots.
fn assert_moved(before: &[Tensor], after: &[Tensor], path: &str) {
    assert_ne!(bits(tensor(before, path)), bits(tensor(after, path)), "{path} did not change");
}

/// Returns the trainable and the non-trainable weights, counted from the run-time flags.
fn count_by_flags<M: Network<f32>>(model: &M) -> (usize, usize) {
    let mut counts = (0, 0);
    model.visit_named_weights("", &mut |_, param| {
        if param.trainable {
            counts.0 += param.value.len();
        } else {
            counts.1 += param.value.len();
        }
    });
    counts
}

/// Runs one forward and backward pass with a gradient of 1 on every output value, and returns
/// each tensor's path, trainable flag and gradient.
fn gradients<M: Network<f32>>(model: &mut M, inputs: &[M::Input]) -> Vec<Tensor> {
    let mut workspace = M::Workspace::default();
    let indices: Vec<usize> = (0..inputs.len()).collect();
    M::load_inputs(&mut workspace, inputs, &indices).expect("the inputs are valid");
    model.forward(&mut workspace);
    let seeds: Vec<Vec<f32>> = M::OUTPUT_WIDTHS.iter().map(|width| vec![1.0; width * inputs.len()]).collect();
    let kinds = vec![GradientOf::Values; seeds.len()];
    model.zero_grads();
    model.backward(&mut workspace, &seeds, &kinds);

    let mut tensors = Vec::new();
    model.visit_named_params("", &mut |path, param| {
        tensors.push(Tensor { path: path.to_owned(), trainable: param.trainable, values: param.grad.to_vec() });
    });
    tensors
}

/// Adam that records the slots of the tensors it updates. Adam creates a tensor's moments on
/// the first update of its slot, so a slot that the training loop never passes gets no state.
struct RecordingAdam {
    adam: Adam<f32>,
    /// The slots passed to `update`, which are positions in `visit_params` order.
    updated_slots: BTreeSet<usize>,
}

impl RecordingAdam {
    fn new(learning_rate: f64) -> Self {
        RecordingAdam { adam: Adam::new(learning_rate), updated_slots: BTreeSet::new() }
    }

    /// Returns the slots updated since the last call, and starts a new record.
    fn take_updated_slots(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.updated_slots).into_iter().collect()
    }
}

impl Optimizer<f32> for RecordingAdam {
    fn begin_step(&mut self) {
        self.adam.begin_step();
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        self.updated_slots.insert(slot);
        self.adam.update(slot, value, grad);
    }

    fn learning_rate(&self) -> f64 {
        self.adam.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.adam.set_learning_rate(learning_rate);
    }

    fn validate(&self) -> Result<(), Error> {
        self.adam.validate()
    }
}

/// Returns the `visit_params` positions of the trainable tensors.
fn trainable_slots(tensors: &[Tensor]) -> Vec<usize> {
    tensors.iter().enumerate().filter(|(_, tensor)| tensor.trainable).map(|(slot, _)| slot).collect()
}

/// Games between random teams, with a score difference that depends on hidden strengths.
fn strength_games(rows: usize, seed: u64) -> Dataset<FrozenStrengthPairInput, FrozenStrengthPairOutput> {
    let mut rng = StdRng::seed_from_u64(seed);
    let strengths: Vec<f32> = (0..SYNTHETIC_TEAMS).map(|_| rng.random_range(-5.0..5.0)).collect();
    (0..rows)
        .map(|_| {
            let team_1 = rng.random_range(0..SYNTHETIC_TEAMS);
            let team_2 = rng.random_range(0..SYNTHETIC_TEAMS);
            let home = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
            let score_diff = strengths[team_1 as usize] - strengths[team_2 as usize] + 3.0 * home;
            (FrozenStrengthPairInput { team_1, team_2, home: [home] }, FrozenStrengthPairOutput { score_diff: [score_diff] })
        })
        .collect()
}

/// Rows of a smooth function of three inputs.
fn middle_rows(rows: usize, seed: u64) -> Dataset<FrozenMiddleInput, FrozenMiddleOutput> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..rows)
        .map(|_| {
            let x: [f32; 3] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
            let target = (x[0] - 0.5 * x[1]).sin() + x[2] * x[2];
            (FrozenMiddleInput { x }, FrozenMiddleOutput { prediction: [target] })
        })
        .collect()
}

/// Rows of a smooth function of two inputs.
fn two_layer_rows(rows: usize, seed: u64) -> Dataset<TwoLayersInput, TwoLayersOutput> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..rows)
        .map(|_| {
            let x: [f32; 2] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
            (TwoLayersInput { x }, TwoLayersOutput { y: [x[0] * x[1] + 0.3 * x[0]] })
        })
        .collect()
}

fn fit_options(epochs: usize) -> Fit {
    Fit::epochs(epochs).batch_size(32).seed(3).verbose(false)
}

#[test]
fn frozen_submodel_counts_in_summary() {
    let summary = FrozenStrengthPair::summary();
    assert_eq!(summary.trainable_params, 4, "trainable params of the summary");
    assert_eq!(summary.non_trainable_params, 10_888, "non-trainable params of the summary");
    assert_eq!(summary.total_params(), 10_892, "total params of the summary");

    let strength = summary.rows.iter().find(|row| row.name == "strength").expect("a row for strength");
    assert!(strength.frozen, "the strength row is not marked frozen");
    assert_eq!(strength.kind, "TeamStrength", "kind of the strength row");
    assert_eq!(strength.params, 10_888, "params of the strength row");
    let dense = summary.rows.iter().find(|row| row.name == "score_diff").expect("a row for score_diff");
    assert!(!dense.frozen, "the score_diff row is marked frozen");
    assert_eq!(dense.params, 4, "params of the score_diff row");

    let text = summary.to_string();
    println!("{text}");
    assert!(text.contains(" strength (TeamStrength, frozen) "), "the frozen row is not marked:\n{text}");
    assert!(text.contains(" score_diff (Dense) "), "the Dense row is missing or marked:\n{text}");
    assert!(
        text.ends_with(" Total params: 10892\n Trainable params: 4\n Non-trainable params: 10888"),
        "wrong totals:\n{text}"
    );
}

#[test]
fn frozen_layer_counts_in_summary() {
    let summary = FrozenMiddle::summary();
    let text = summary.to_string();
    assert!(text.contains(" middle (Dense, frozen) "), "the frozen row is not marked:\n{text}");
    assert!(text.contains(" first (Dense) "), "the first row is missing or marked:\n{text}");
    assert!(text.ends_with(" Total params: 41\n Trainable params: 21\n Non-trainable params: 20"), "wrong totals:\n{text}");
}

#[test]
fn new_model_flags_match_constants() {
    let pair = FrozenStrengthPair::new(&mut StdRng::seed_from_u64(1));
    assert_eq!(
        count_by_flags(&pair),
        (FrozenStrengthPair::TRAINABLE_PARAMS, FrozenStrengthPair::NON_TRAINABLE_PARAMS),
        "FrozenStrengthPair"
    );
    assert!(!pair.strength.is_trainable(), "the declared frozen submodel is trainable");
    assert!(pair.is_trainable(), "the model with a trainable Dense layer reports not trainable");

    let middle = FrozenMiddle::new(&mut StdRng::seed_from_u64(1));
    assert_eq!(
        count_by_flags(&middle),
        (FrozenMiddle::TRAINABLE_PARAMS, FrozenMiddle::NON_TRAINABLE_PARAMS),
        "FrozenMiddle"
    );
    assert!(!middle.middle.is_trainable(), "the declared frozen layer is trainable");
    assert!(middle.first.is_trainable(), "the layer before the frozen one is frozen");
}

#[test]
fn frozen_submodel_gets_no_gradient() {
    let mut model = FrozenStrengthPair::new(&mut StdRng::seed_from_u64(2));
    let games = strength_games(16, 3);
    let grads = gradients(&mut model, games.inputs());

    let embeddings = tensor(&grads, "strength.strength.embeddings");
    assert!(embeddings.iter().all(|&g| g == 0.0), "the frozen embeddings have a nonzero gradient");
    let kernel = tensor(&grads, "score_diff.kernel");
    assert!(kernel.iter().all(|&g| g != 0.0), "a Dense kernel weight has no gradient: {kernel:?}");
    let bias = tensor(&grads, "score_diff.bias");
    assert_eq!(bias, [16.0], "the Dense bias gradient is the sum of the 16 output gradients");
}

#[test]
fn gradient_flows_through_frozen_layer() {
    let mut model = FrozenMiddle::new(&mut StdRng::seed_from_u64(4));
    let rows = middle_rows(8, 5);
    let grads = gradients(&mut model, rows.inputs());

    for path in ["middle.kernel", "middle.bias"] {
        assert!(tensor(&grads, path).iter().all(|&g| g == 0.0), "frozen {path} has a nonzero gradient");
    }
    for path in ["first.kernel", "first.bias", "prediction.kernel", "prediction.bias"] {
        assert!(tensor(&grads, path).iter().any(|&g| g != 0.0), "{path} has no gradient");
    }
}

#[test]
fn frozen_layer_unchanged_by_fit() {
    let mut model = FrozenMiddle::new(&mut StdRng::seed_from_u64(6));
    let rows = middle_rows(256, 7);
    let before = snapshot(&model);

    let mut training = model.compile(MeanSquaredError, RecordingAdam::new(0.01));
    let history = training.fit(&rows, &fit_options(10)).expect("training succeeds");
    let first_loss = history.epochs[0].train.loss;
    let last_loss = history.epochs[history.epochs.len() - 1].train.loss;
    assert!(last_loss < first_loss, "the loss did not fall: {first_loss} then {last_loss}");

    let slots = training.optimizer_mut().take_updated_slots();
    let after = snapshot(training.model());
    assert_unchanged(&before, &after, "middle.kernel");
    assert_unchanged(&before, &after, "middle.bias");
    for path in ["first.kernel", "first.bias", "prediction.kernel", "prediction.bias"] {
        assert_moved(&before, &after, path);
    }
    assert_eq!(slots, trainable_slots(&after), "Adam updated other tensors than the trainable ones");
    assert_eq!(slots, [2, 3, 4, 5], "the declared layer `middle` comes first, in slots 0 and 1");
}

#[test]
fn frozen_submodel_unchanged_by_fit() {
    let mut model = FrozenStrengthPair::new(&mut StdRng::seed_from_u64(8));
    let games = strength_games(512, 9);
    let before = snapshot(&model);

    let mut training = model.compile(MeanAbsoluteError, RecordingAdam::new(0.01));
    training.fit(&games, &fit_options(3)).expect("training succeeds");

    let slots = training.optimizer_mut().take_updated_slots();
    let after = snapshot(training.model());
    assert_unchanged(&before, &after, "strength.strength.embeddings");
    assert_moved(&before, &after, "score_diff.kernel");
    assert_moved(&before, &after, "score_diff.bias");
    assert_eq!(slots, [1, 2], "Adam updated the frozen embeddings or missed a Dense tensor");
}

#[test]
fn freeze_and_unfreeze_between_fits() {
    let mut model = TwoLayers::new(&mut StdRng::seed_from_u64(10));
    let rows = two_layer_rows(256, 11);
    model.compile(MeanSquaredError, Adam::new(0.01)).fit(&rows, &fit_options(5)).expect("first training succeeds");

    model.hidden.set_trainable(false);
    assert!(!model.hidden.is_trainable(), "hidden is still trainable");
    assert!(model.is_trainable(), "the model reports not trainable while y is trainable");
    assert_eq!(count_by_flags(&model), (5, 12), "counts by run-time flags after freezing hidden");
    let trained = snapshot(&model);
    model.compile(MeanSquaredError, Adam::new(0.01)).fit(&rows, &fit_options(5)).expect("training while frozen succeeds");
    let after_frozen = snapshot(&model);
    assert_unchanged(&trained, &after_frozen, "hidden.kernel");
    assert_unchanged(&trained, &after_frozen, "hidden.bias");
    assert_moved(&trained, &after_frozen, "y.kernel");

    model.hidden.set_trainable(true);
    assert_eq!(count_by_flags(&model), (17, 0), "counts by run-time flags after unfreezing hidden");
    model.compile(MeanSquaredError, Adam::new(0.01)).fit(&rows, &fit_options(5)).expect("training after unfreezing succeeds");
    let after_unfrozen = snapshot(&model);
    assert_moved(&after_frozen, &after_unfrozen, "hidden.kernel");
    assert_moved(&after_frozen, &after_unfrozen, "hidden.bias");
}

#[test]
fn freeze_inside_training_skips_optimizer() {
    let mut model = TwoLayers::new(&mut StdRng::seed_from_u64(12));
    let rows = two_layer_rows(256, 13);
    let mut training = model.compile(MeanSquaredError, RecordingAdam::new(0.01));
    training.fit(&rows, &fit_options(3)).expect("first training succeeds");
    assert_eq!(training.optimizer_mut().take_updated_slots(), [0, 1, 2, 3], "slots updated before freezing");

    // The trainable flag is read at every step, so freezing takes effect without compiling again.
    training.model_mut().hidden.set_trainable(false);
    let trained = snapshot(training.model());
    training.fit(&rows, &fit_options(3)).expect("training while frozen succeeds");
    let after_frozen = snapshot(training.model());
    assert_unchanged(&trained, &after_frozen, "hidden.kernel");
    assert_unchanged(&trained, &after_frozen, "hidden.bias");
    assert_moved(&trained, &after_frozen, "y.kernel");
    // `hidden` has slots 0 and 1, so its Adam moments stay as the last step before freezing left them.
    assert_eq!(training.optimizer_mut().take_updated_slots(), [2, 3], "slots updated while hidden is frozen");

    training.model_mut().hidden.set_trainable(true);
    training.fit(&rows, &fit_options(3)).expect("training after unfreezing succeeds");
    let after_unfrozen = snapshot(training.model());
    assert_moved(&after_frozen, &after_unfrozen, "hidden.kernel");
    assert_eq!(training.optimizer_mut().take_updated_slots(), [0, 1, 2, 3], "slots updated after unfreezing");
}

#[test]
fn model_set_trainable_covers_submodels() {
    let mut model = FrozenStrengthPair::new(&mut StdRng::seed_from_u64(14));
    let games = strength_games(512, 15);

    model.set_trainable(false);
    assert!(!model.is_trainable(), "the model is trainable after set_trainable(false)");
    assert_eq!(count_by_flags(&model), (0, 10_892), "counts by run-time flags with every layer frozen");
    let before = snapshot(&model);
    model.compile(MeanAbsoluteError, Adam::new(0.01)).fit(&games, &fit_options(2)).expect("training succeeds");
    let after_frozen = snapshot(&model);
    for tensor in &before {
        assert_unchanged(&before, &after_frozen, &tensor.path);
    }

    // Unfreezing the whole model unfreezes the submodel that the declaration froze, too.
    model.set_trainable(true);
    assert!(model.strength.is_trainable(), "the submodel stays frozen after set_trainable(true)");
    assert_eq!(count_by_flags(&model), (10_892, 0), "counts by run-time flags with every layer trainable");
    model.compile(MeanAbsoluteError, Adam::new(0.01)).fit(&games, &fit_options(2)).expect("training succeeds");
    let after_unfrozen = snapshot(&model);
    assert_moved(&after_frozen, &after_unfrozen, "strength.strength.embeddings");
    assert_moved(&after_frozen, &after_unfrozen, "score_diff.kernel");
}
