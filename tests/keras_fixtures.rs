//! Parity with Keras. Each test declares the model of one Keras reference case and loads its
//! weights and batch. It compares the outputs, the losses, the gradients and the weights after
//! 1 and 3 Adam steps with what Keras 3.15.1 (TensorFlow 2.21.0, float32) computed.
//!
//! The case files are read from `../shared/fixtures/keras` relative to the repository. Where
//! that folder is missing, every test prints why it is skipped and passes.

use std::path::PathBuf;

use keramic::prelude::*;
use keramic::train::LossSet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

/// Tolerance of forward values and losses: `|a − b| ≤ rtol · max(|b|, 1)`.
const FORWARD_RTOL: f64 = 1e-5;
/// Tolerance of gradients and of weights after optimizer steps.
const STEP_RTOL: f64 = 1e-4;

/// Reads a case file, or prints why the test is skipped and returns `None`.
fn load_fixture(name: &str) -> Option<Value> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/keras");
    let path = directory.join(name);
    if !path.exists() {
        println!(
            "skipped: Keras fixture {} not found; the Keras reference cases are only in a checkout with the shared folder beside the repository",
            path.display()
        );
        return None;
    }
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display())))
}

/// Returns the `values` of a fixture array, which are all float32, as `f64`.
///
/// Each value goes through `f32` because serde_json's default float parser can land one `f64`
/// ulp away from the decimal, and rounding to `f32` recovers the exact value Keras used.
fn values(array: &Value) -> Vec<f64> {
    array["values"].as_array().unwrap_or_else(|| panic!("array without values: {array}")).iter().map(float32).collect()
}

/// Reads a float32 number of a fixture, such as a loss, exactly, as [`values`] does.
fn float32(value: &Value) -> f64 {
    f64::from(number(value) as f32)
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("expected a number, found {value}"))
}

/// Finds the entry named `name` in a list of named arrays.
fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array().expect("a list of named arrays").iter().find(|item| item["name"] == name)
}

/// Returns row `row` of a `[batch, N]` float array.
fn float_row<const N: usize>(array: &Value, row: usize) -> [f32; N] {
    assert_eq!(array["shape"][1], N, "array width");
    let values = values(array);
    std::array::from_fn(|i| values[row * N + i] as f32)
}

/// Returns row `row` of a `[batch, N]` id array.
fn id_row<const N: usize>(array: &Value, row: usize) -> [u32; N] {
    assert_eq!(array["shape"][1], N, "array width");
    let values = values(array);
    std::array::from_fn(|i| {
        let id = values[row * N + i];
        assert!(id >= 0.0, "id {id} is negative");
        assert_eq!(id.fract(), 0.0, "id {id} is not an integer");
        id as u32
    })
}

fn batch_size(fixture: &Value) -> usize {
    fixture["batch_size"].as_u64().expect("batch_size is an integer") as usize
}

/// Checks Keras's parameter counts against the model's constants.
fn check_counts(fixture: &Value, trainable: usize, non_trainable: usize) {
    assert_eq!(fixture["trainable_params"], trainable, "trainable parameters");
    assert_eq!(fixture["non_trainable_params"], non_trainable, "non-trainable parameters");
}

/// Compares `actual` with Keras's `expected` element by element, requiring
/// `|a − b| ≤ rtol · max(|b|, 1)`, and exact zeros where Keras has exact zeros when
/// `exact_zeros` is set. Returns the largest `|a − b| / max(|b|, 1)`.
fn compare(description: &str, actual: &[f64], expected: &[f64], rtol: f64, exact_zeros: bool) -> f64 {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{description}: keramic has {} values, Keras {}",
        actual.len(),
        expected.len()
    );
    let mut max_error: f64 = 0.0;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        if exact_zeros && e == 0.0 {
            assert_eq!(a, 0.0, "{description}[{i}]: Keras has exactly 0, keramic {a}");
        }
        let error = (a - e).abs() / e.abs().max(1.0);
        assert!(
            error <= rtol,
            "{description}[{i}]: keramic {a}, Keras {e} (relative error {error:.2e}, tolerance {rtol:.0e})"
        );
        max_error = max_error.max(error);
    }
    max_error
}

/// The largest relative error of each category, for the printed table.
#[derive(Debug, Default)]
struct Errors {
    outputs: f64,
    losses: f64,
    gradients: f64,
    after_1_step: f64,
    after_3_steps: f64,
}

/// A fixture's model with its batch, in keramic's types.
struct Case<'a, M: Network<f32>> {
    /// The case file's name, for messages.
    name: &'a str,
    fixture: &'a Value,
    /// The Keras name of each weight tensor, in `visit_params` order.
    keras_names: &'a [&'a str],
    inputs: Vec<M::Input>,
    targets: Vec<M::Output>,
}

impl<M: Network<f32>> Case<'_, M> {
    /// Copies `weights_initial` into the model, checking that every Keras weight is mapped
    /// once, with the same shape and the same trainable flag.
    fn load_weights(&self, model: &mut M) {
        let initial = &self.fixture["weights_initial"];
        let keras_count = initial.as_array().expect("weights_initial is a list").len();
        assert_eq!(self.keras_names.len(), keras_count, "{}: one Keras name per weight tensor", self.name);

        let mut index = 0;
        model.visit_params(&mut |param| {
            let keras_name = self
                .keras_names
                .get(index)
                .unwrap_or_else(|| panic!("{}: the model has more weight tensors than Keras names", self.name));
            let keras = named(initial, keras_name)
                .unwrap_or_else(|| panic!("{}: no Keras weight named {keras_name}", self.name));
            let keras_shape: Vec<usize> = keras["shape"]
                .as_array()
                .expect("shape is a list")
                .iter()
                .map(|d| d.as_u64().expect("dimension") as usize)
                .collect();
            assert_eq!(
                param.shape.dims(),
                keras_shape.as_slice(),
                "{}: shape of {keras_name} ({})",
                self.name,
                param.name
            );
            assert_eq!(keras["trainable"], param.trainable, "{}: trainable flag of {keras_name}", self.name);
            for (w, v) in param.value.iter_mut().zip(values(keras)) {
                *w = v as f32;
            }
            index += 1;
        });
        assert_eq!(index, self.keras_names.len(), "{}: the model has fewer weight tensors than Keras names", self.name);
    }

    /// Returns every weight tensor of the model as `(Keras name, trainable, values, gradient)`.
    fn read_params(&self, model: &mut M) -> Vec<(&str, bool, Vec<f64>, Vec<f64>)> {
        let mut params = Vec::new();
        let mut index = 0;
        model.visit_params(&mut |param| {
            let to_f64 = |x: &[f32]| x.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
            params.push((self.keras_names[index], param.trainable, to_f64(param.value), to_f64(param.grad)));
            index += 1;
        });
        params
    }

    /// Compares the weights with a Keras list of weights after some steps.
    fn compare_weights(&self, model: &mut M, expected: &Value, label: &str) -> f64 {
        let mut max_error: f64 = 0.0;
        for (keras_name, _, value, _) in self.read_params(model) {
            let keras = named(expected, keras_name).unwrap_or_else(|| panic!("{}: no {keras_name} {label}", self.name));
            let description = format!("{}: {keras_name} {label}", self.name);
            max_error = max_error.max(compare(&description, &value, &values(keras), STEP_RTOL, false));
        }
        max_error
    }

    /// Runs every comparison and prints the largest relative error of each category.
    fn check<L: LossSet<M> + Clone>(&self, mut model: M, losses: L) -> Errors {
        let name = self.name;
        let fixture = self.fixture;
        assert_eq!(self.inputs.len(), batch_size(fixture), "{name}: one input row per batch row");
        self.load_weights(&mut model);
        let mut errors = Errors::default();

        // Forward pass and losses on the whole batch.
        let mut workspace = M::Workspace::default();
        let indices: Vec<usize> = (0..self.inputs.len()).collect();
        M::load_inputs(&mut workspace, &self.inputs, &indices).expect("fixture inputs are valid");
        model.forward(&mut workspace);
        let per_output = &fixture["losses"]["per_output"];
        let mut total = 0.0;
        let mut seeds = Vec::new();
        let mut kinds = Vec::new();
        for (k, output) in M::OUTPUT_NAMES.iter().enumerate() {
            let head = M::head(&workspace, k);
            let actual: Vec<f64> = head.values.iter().map(|&v| f64::from(v)).collect();
            let expected = values(&fixture["outputs"][output]);
            errors.outputs = errors.outputs.max(compare(
                &format!("{name}: output {output}"),
                &actual,
                &expected,
                FORWARD_RTOL,
                false,
            ));

            let mut targets = vec![0.0f32; head.values.len()];
            for (chunk, target) in targets.chunks_exact_mut(head.width).zip(&self.targets) {
                M::write_target(target, k, chunk);
            }
            let mut seed = vec![0.0f32; head.values.len()];
            let (loss, kind) = losses.compute(k, &head, &targets, Some(&mut seed));
            let keras = &per_output[output];
            assert_eq!(losses.weight(k), number(&keras["weight"]), "{name}: loss weight of {output}");
            let description = format!("{name}: loss of {output}");
            errors.losses =
                errors.losses.max(compare(&description, &[loss], &[float32(&keras["value"])], FORWARD_RTOL, false));
            total += losses.weight(k) * loss;
            seeds.push(seed);
            kinds.push(kind);
        }
        let description = format!("{name}: total loss");
        errors.losses = errors.losses.max(compare(
            &description,
            &[total],
            &[float32(&fixture["losses"]["total"])],
            FORWARD_RTOL,
            false,
        ));

        // Gradients of one step, as the training loop computes them.
        model.zero_grads();
        model.backward(&mut workspace, &seeds, &kinds);
        let gradients = &fixture["gradients"];
        for (keras_name, trainable, _, grad) in self.read_params(&mut model) {
            if !trainable {
                assert!(named(gradients, keras_name).is_none(), "{name}: Keras has a gradient for frozen {keras_name}");
                assert!(grad.iter().all(|&g| g == 0.0), "{name}: frozen {keras_name} has gradient {grad:?}");
                continue;
            }
            let keras =
                named(gradients, keras_name).unwrap_or_else(|| panic!("{name}: no Keras gradient for {keras_name}"));
            let description = format!("{name}: gradient of {keras_name}");
            errors.gradients = errors.gradients.max(compare(&description, &grad, &values(keras), STEP_RTOL, true));
        }

        // Three Adam steps, one per call of fit. Keras applies Adam to an Embedding's gradient
        // one lookup at a time, keramic to the summed gradient, so those cases compare with
        // Keras's run on summed gradients.
        let steps = fixture.get("after_steps_dense_gradients").unwrap_or(&fixture["after_steps"]);
        let config = &steps["optimizer"];
        assert_eq!(config["class"], "Adam", "{name}: optimizer");
        assert_eq!(config["amsgrad"], false, "{name}: amsgrad");
        assert!(config["weight_decay"].is_null(), "{name}: weight decay");
        let adam = Adam::new(number(&config["learning_rate"]))
            .beta_1(number(&config["beta_1"]))
            .beta_2(number(&config["beta_2"]))
            .epsilon(number(&config["epsilon"]));
        let data = Dataset::new(self.inputs.clone(), self.targets.clone()).expect("one target row per input row");
        let options = Fit::epochs(1).batch_size(self.inputs.len()).shuffle(false).verbose(false);
        let losses_before = steps["losses_before_each_step"].as_array().expect("losses before each step");
        let mut training = model.compile(losses, adam);
        for step in 1..=3 {
            let history =
                training.fit(&data, &options).unwrap_or_else(|error| panic!("{name}: step {step} failed: {error}"));
            let description = format!("{name}: loss before step {step}");
            let loss = history.epochs[0].train.loss;
            errors.losses = errors.losses.max(compare(
                &description,
                &[loss],
                &[float32(&losses_before[step - 1])],
                FORWARD_RTOL,
                false,
            ));
            match step {
                1 => {
                    errors.after_1_step =
                        self.compare_weights(training.model_mut(), &steps["weights_after_1_step"], "after 1 step")
                }
                3 => {
                    errors.after_3_steps =
                        self.compare_weights(training.model_mut(), &steps["weights_after_3_steps"], "after 3 steps")
                }
                _ => {}
            }
        }

        println!(
            "{name}: largest |keramic − Keras| / max(|Keras|, 1): outputs {:.2e}, losses {:.2e}, gradients {:.2e}, after 1 step {:.2e}, after 3 steps {:.2e}",
            errors.outputs, errors.losses, errors.gradients, errors.after_1_step, errors.after_3_steps
        );
        errors
    }
}

model! {
    struct DenseLinearMae {
        input x: [1];
        output dense = Dense::<1>(x);
    }
}

#[test]
fn dense_linear_mae() {
    let Some(fixture) = load_fixture("dense_linear_mae.json") else { return };
    check_counts(&fixture, DenseLinearMae::TRAINABLE_PARAMS, DenseLinearMae::NON_TRAINABLE_PARAMS);
    let rows = 0..batch_size(&fixture);
    let case = Case::<DenseLinearMae> {
        name: "dense_linear_mae",
        fixture: &fixture,
        keras_names: &["dense/kernel", "dense/bias"],
        inputs: rows.clone().map(|r| DenseLinearMaeInput { x: float_row(&fixture["inputs"]["x"], r) }).collect(),
        targets: rows.map(|r| DenseLinearMaeOutput { dense: float_row(&fixture["targets"]["dense"], r) }).collect(),
    };
    case.check(DenseLinearMae::new(&mut StdRng::seed_from_u64(0)), MeanAbsoluteError);
}

model! {
    struct MlpReluMse {
        input x: [4];
        let hidden_relu = Dense::<5, Relu>(x);
        let hidden_tanh = Dense::<3, Tanh>(hidden_relu);
        output prediction = Dense::<1>(hidden_tanh);
    }
}

#[test]
fn mlp_relu_mse() {
    let Some(fixture) = load_fixture("mlp_relu_mse.json") else { return };
    check_counts(&fixture, MlpReluMse::TRAINABLE_PARAMS, MlpReluMse::NON_TRAINABLE_PARAMS);
    let rows = 0..batch_size(&fixture);
    let case = Case::<MlpReluMse> {
        name: "mlp_relu_mse",
        fixture: &fixture,
        keras_names: &[
            "hidden_relu/kernel",
            "hidden_relu/bias",
            "hidden_tanh/kernel",
            "hidden_tanh/bias",
            "prediction/kernel",
            "prediction/bias",
        ],
        inputs: rows.clone().map(|r| MlpReluMseInput { x: float_row(&fixture["inputs"]["x"], r) }).collect(),
        targets: rows
            .map(|r| MlpReluMseOutput { prediction: float_row(&fixture["targets"]["prediction"], r) })
            .collect(),
    };
    case.check(MlpReluMse::new(&mut StdRng::seed_from_u64(0)), MeanSquaredError);
}

model! {
    /// Maps a team id to one learned strength.
    struct TeamStrength {
        input team_id: Id<7>;
        let embedded = Embedding::<7, 1>(team_id);
        output strength = Flatten(embedded);
    }
}

model! {
    struct SharedEmbeddingSubtract {
        input team_1: Id<7>;
        input team_2: Id<7>;
        input home: [1];
        layer team_strength = TeamStrength;
        let strength_diff = Subtract(team_strength(team_1), team_strength(team_2));
        let features = Concatenate(home, strength_diff);
        output score_diff = Dense::<1>(features);
    }
}

#[test]
fn shared_embedding_subtract() {
    let Some(fixture) = load_fixture("shared_embedding_subtract.json") else { return };
    check_counts(&fixture, SharedEmbeddingSubtract::TRAINABLE_PARAMS, SharedEmbeddingSubtract::NON_TRAINABLE_PARAMS);
    let inputs = &fixture["inputs"];
    let rows = 0..batch_size(&fixture);
    let case = Case::<SharedEmbeddingSubtract> {
        name: "shared_embedding_subtract",
        fixture: &fixture,
        keras_names: &["team_strength_embedding/embeddings", "score_diff/kernel", "score_diff/bias"],
        inputs: rows
            .clone()
            .map(|r| SharedEmbeddingSubtractInput {
                team_1: id_row::<1>(&inputs["team_1"], r)[0],
                team_2: id_row::<1>(&inputs["team_2"], r)[0],
                home: float_row(&inputs["home"], r),
            })
            .collect(),
        targets: rows
            .map(|r| SharedEmbeddingSubtractOutput { score_diff: float_row(&fixture["targets"]["score_diff"], r) })
            .collect(),
    };
    case.check(SharedEmbeddingSubtract::new(&mut StdRng::seed_from_u64(0)), MeanAbsoluteError);
}

model! {
    struct SharedDenseTwice {
        input a: [3];
        input b: [3];
        layer shared_dense = Dense::<2, Relu>;
        let sum = Add(shared_dense(a), shared_dense(b));
        output probability = Dense::<1, Sigmoid>(sum);
    }
}

#[test]
fn shared_dense_twice() {
    let Some(fixture) = load_fixture("shared_dense_twice.json") else { return };
    check_counts(&fixture, SharedDenseTwice::TRAINABLE_PARAMS, SharedDenseTwice::NON_TRAINABLE_PARAMS);
    let inputs = &fixture["inputs"];
    let rows = 0..batch_size(&fixture);
    let case = Case::<SharedDenseTwice> {
        name: "shared_dense_twice",
        fixture: &fixture,
        keras_names: &["shared_dense/kernel", "shared_dense/bias", "probability/kernel", "probability/bias"],
        inputs: rows
            .clone()
            .map(|r| SharedDenseTwiceInput { a: float_row(&inputs["a"], r), b: float_row(&inputs["b"], r) })
            .collect(),
        targets: rows
            .map(|r| SharedDenseTwiceOutput { probability: float_row(&fixture["targets"]["probability"], r) })
            .collect(),
    };
    case.check(SharedDenseTwice::new(&mut StdRng::seed_from_u64(0)), BinaryCrossentropy);
}

model! {
    struct TwoHeadsRegClass {
        input x: [2];
        output score_diff = Dense::<1, NoBias>(x);
        output win = Dense::<1, Sigmoid, NoBias>(score_diff);
    }
}

#[test]
fn two_heads_reg_class() {
    let Some(fixture) = load_fixture("two_heads_reg_class.json") else { return };
    check_counts(&fixture, TwoHeadsRegClass::TRAINABLE_PARAMS, TwoHeadsRegClass::NON_TRAINABLE_PARAMS);
    let targets = &fixture["targets"];
    let rows = 0..batch_size(&fixture);
    let case = Case::<TwoHeadsRegClass> {
        name: "two_heads_reg_class",
        fixture: &fixture,
        keras_names: &["score_diff/kernel", "win/kernel"],
        inputs: rows.clone().map(|r| TwoHeadsRegClassInput { x: float_row(&fixture["inputs"]["x"], r) }).collect(),
        targets: rows
            .map(|r| TwoHeadsRegClassOutput {
                score_diff: float_row(&targets["score_diff"], r),
                win: float_row(&targets["win"], r),
            })
            .collect(),
    };
    case.check(
        TwoHeadsRegClass::new(&mut StdRng::seed_from_u64(0)),
        (MeanAbsoluteError, BinaryCrossentropy.weighted(0.5)),
    );
}

model! {
    struct FrozenMiddle {
        input x: [3];
        #[frozen] layer middle = Dense::<4, Relu>;
        let dense_in = Dense::<4, Relu>(x);
        output prediction = Dense::<1>(middle(dense_in));
    }
}

#[test]
fn frozen_middle() {
    let Some(fixture) = load_fixture("frozen_middle.json") else { return };
    check_counts(&fixture, FrozenMiddle::TRAINABLE_PARAMS, FrozenMiddle::NON_TRAINABLE_PARAMS);
    let rows = 0..batch_size(&fixture);
    let case = Case::<FrozenMiddle> {
        name: "frozen_middle",
        fixture: &fixture,
        // The declared layer `middle` comes first in `visit_params`, before the inline layers.
        keras_names: &[
            "frozen/kernel",
            "frozen/bias",
            "dense_in/kernel",
            "dense_in/bias",
            "prediction/kernel",
            "prediction/bias",
        ],
        inputs: rows.clone().map(|r| FrozenMiddleInput { x: float_row(&fixture["inputs"]["x"], r) }).collect(),
        targets: rows
            .map(|r| FrozenMiddleOutput { prediction: float_row(&fixture["targets"]["prediction"], r) })
            .collect(),
    };
    case.check(FrozenMiddle::new(&mut StdRng::seed_from_u64(0)), MeanSquaredError);
}

model! {
    struct EmbeddingSeqFlatten {
        input ids: [Id<5>; 3];
        let embedded = Embedding::<5, 2>(ids);
        let flat = Flatten(embedded);
        output prediction = Dense::<1>(flat);
    }
}

#[test]
fn embedding_seq_flatten() {
    let Some(fixture) = load_fixture("embedding_seq_flatten.json") else { return };
    check_counts(&fixture, EmbeddingSeqFlatten::TRAINABLE_PARAMS, EmbeddingSeqFlatten::NON_TRAINABLE_PARAMS);
    let rows = 0..batch_size(&fixture);
    let case = Case::<EmbeddingSeqFlatten> {
        name: "embedding_seq_flatten",
        fixture: &fixture,
        keras_names: &["embedding/embeddings", "prediction/kernel", "prediction/bias"],
        inputs: rows.clone().map(|r| EmbeddingSeqFlattenInput { ids: id_row(&fixture["inputs"]["ids"], r) }).collect(),
        targets: rows
            .map(|r| EmbeddingSeqFlattenOutput { prediction: float_row(&fixture["targets"]["prediction"], r) })
            .collect(),
    };
    case.check(EmbeddingSeqFlatten::new(&mut StdRng::seed_from_u64(0)), MeanSquaredError);
}
