//! Numerics through whole models: saturated sigmoid and softmax heads, cross-entropy at
//! probabilities 0 and 1, and the from-logits cross-entropies with gradient checks.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

model! {
    pub struct SigmoidHead {
        input x: [1];
        output p = Dense::<1, Sigmoid>(x);
    }
}

model! {
    pub struct SoftmaxHead {
        input x: [1];
        output p = Dense::<3, Softmax>(x);
    }
}

model! {
    /// The square of one sigmoid unit: probabilities, but with no logits for the loss.
    pub struct SquaredGate {
        input x: [1];
        layer gate = Dense::<1, Sigmoid>;
        output p = Multiply(gate(x), gate(x));
    }
}

model! {
    /// A hidden layer and a linear head, whose values are logits.
    pub struct BinaryLogits {
        input x: [2];
        output p = Dense::<1>(Dense::<4, Tanh>(x));
    }
}

model! {
    /// The same layers as `BinaryLogits`, with a sigmoid head.
    pub struct BinaryProbabilities {
        input x: [2];
        output p = Dense::<1, Sigmoid>(Dense::<4, Tanh>(x));
    }
}

model! {
    pub struct ClassLogits {
        input x: [2];
        output p = Dense::<3>(Dense::<4, Tanh>(x));
    }
}

model! {
    pub struct ClassProbabilities {
        input x: [2];
        output p = Dense::<3, Softmax>(Dense::<4, Tanh>(x));
    }
}

/// Sets every weight of `model` from `(path, values)` pairs.
fn set_weights<T: keramic::Real, M: Network<T>>(model: &mut M, weights: &[(&str, &[f64])]) {
    model.visit_named_params("", &mut |name, param| {
        let (_, values) = weights.iter().find(|(path, _)| *path == name).unwrap_or_else(|| panic!("no values for `{name}`"));
        for (w, &v) in param.value.iter_mut().zip(values.iter()) {
            *w = <T as keramic::Real>::from_f64(v);
        }
    });
}

fn weight_values<T: keramic::Real, M: Network<T>>(model: &M) -> Vec<f64> {
    let mut values = Vec::new();
    model.visit_named_weights("", &mut |_, param| values.extend(param.value.iter().map(|&w| keramic::Real::to_f64(w))));
    values
}

fn quiet(epochs: usize, batch_size: usize) -> Fit {
    Fit::epochs(epochs).batch_size(batch_size).shuffle(false).verbose(false)
}

#[test]
fn sigmoid_head_at_plus_minus_1000() {
    let mut model = SigmoidHead::new(&mut StdRng::seed_from_u64(1));
    set_weights(&mut model, &[("p.kernel", &[1000.0]), ("p.bias", &[0.0])]);
    let inputs = [SigmoidHeadInput { x: [1.0] }, SigmoidHeadInput { x: [-1.0] }];
    let outputs = model.predict(&inputs).unwrap();
    assert_eq!(outputs[0].p, [1.0]);
    assert_eq!(outputs[1].p, [0.0]);

    // Both rows are confidently wrong by a logit of 1000.
    let data = Dataset::new(inputs.to_vec(), vec![SigmoidHeadOutput { p: [0.0] }, SigmoidHeadOutput { p: [1.0] }]).unwrap();
    let mut training = model.compile(BinaryCrossentropy, Sgd::new(1e-3));
    let scores = training.evaluate(&data).unwrap();
    assert_eq!(scores.loss, 1000.0);
    assert_eq!(scores.outputs[0].accuracy, Some(0.0));
    training.fit(&data, &quiet(3, 2)).unwrap();

    // Each step moves the kernel by 1e-3 · mean(x · (sigmoid(z) − y)) = 1e-3.
    let kernel = weight_values(&model)[0];
    assert!((kernel - 999.997).abs() < 1e-3, "kernel {kernel}");
}

#[test]
fn softmax_head_at_plus_minus_1000() {
    let mut model = SoftmaxHead::new(&mut StdRng::seed_from_u64(1));
    set_weights(&mut model, &[("p.kernel", &[1000.0, -1000.0, 0.0]), ("p.bias", &[0.0, 0.0, 0.0])]);
    let inputs = [SoftmaxHeadInput { x: [1.0] }, SoftmaxHeadInput { x: [-1.0] }];
    let outputs = model.predict(&inputs).unwrap();
    assert_eq!(outputs[0].p, [1.0, 0.0, 0.0]);
    assert_eq!(outputs[1].p, [0.0, 1.0, 0.0]);

    // Row 0 wants the class 2000 below the largest logit, row 1 gets its class.
    let targets = vec![SoftmaxHeadOutput { p: [0.0, 1.0, 0.0] }, SoftmaxHeadOutput { p: [0.0, 1.0, 0.0] }];
    let data = Dataset::new(inputs.to_vec(), targets).unwrap();
    let mut training = model.compile(CategoricalCrossentropy, Sgd::new(1e-3));
    let scores = training.evaluate(&data).unwrap();
    assert_eq!(scores.loss, 1000.0);
    assert_eq!(scores.outputs[0].accuracy, Some(0.5));
    training.fit(&data, &quiet(3, 2)).unwrap();
    assert!(weight_values(&model).iter().all(|w| w.is_finite()));
}

#[test]
fn bce_finite_at_probabilities_zero_and_one() {
    // A product of sigmoids has no logits for the loss, so the values are clipped
    // probabilities. A kernel of 1000 saturates the sigmoid at exactly 0 for x = -1 and at
    // exactly 1 for x = 1, in f32.
    let mut model = SquaredGate::new(&mut StdRng::seed_from_u64(1));
    set_weights(&mut model, &[("gate.kernel", &[1000.0]), ("gate.bias", &[0.0])]);
    let inputs = vec![SquaredGateInput { x: [-1.0] }, SquaredGateInput { x: [1.0] }];
    let targets = vec![SquaredGateOutput { p: [1.0] }, SquaredGateOutput { p: [0.0] }];
    let data = Dataset::new(inputs, targets).unwrap();

    let mut training = model.compile(BinaryCrossentropy, Sgd::new(0.1));
    let loss = training.evaluate(&data).unwrap().loss;
    // The clip bounds are 1e-7 and 1 − 1e-7, rounded to f32 as Keras rounds them. Row 0
    // costs −ln(low) and row 1 costs −ln(1 − high).
    let low = f64::from(1e-7_f32);
    let high = f64::from((1.0 - 1e-7_f64) as f32);
    let expected = (-low.ln() - (1.0 - high).ln()) / 2.0;
    assert!((loss - expected).abs() < 1e-6, "loss {loss}, expected {expected}");

    // The clip passes no gradient outside its bounds, so the weights stay as they are.
    training.fit(&data, &quiet(2, 2)).unwrap();
    assert_eq!(weight_values(&model), [1000.0, 0.0]);
}

fn binary_rows() -> Dataset<BinaryLogitsInput, BinaryLogitsOutput> {
    (0..40)
        .map(|i| {
            let x = [(i % 8) as f32 / 4.0 - 1.0, (i % 5) as f32 / 2.5 - 1.0];
            let y = if x[0] + 0.5 * x[1] > 0.1 { 1.0 } else { 0.0 };
            (BinaryLogitsInput { x }, BinaryLogitsOutput { p: [y] })
        })
        .collect()
}

fn class_rows() -> Dataset<ClassLogitsInput, ClassLogitsOutput> {
    (0..45)
        .map(|i| {
            let x = [(i % 9) as f32 / 4.5 - 1.0, (i % 4) as f32 / 2.0 - 0.75];
            let class = if x[0] > 0.3 { 0 } else if x[1] > 0.0 { 1 } else { 2 };
            let mut p = [0.0; 3];
            p[class] = 1.0;
            (ClassLogitsInput { x }, ClassLogitsOutput { p })
        })
        .collect()
}

#[test]
fn bce_from_logits_trains_like_sigmoid_head() {
    let mut logits_model = BinaryLogits::new(&mut StdRng::seed_from_u64(9));
    let mut sigmoid_model = BinaryProbabilities::new(&mut StdRng::seed_from_u64(9));
    assert_eq!(weight_values(&logits_model), weight_values(&sigmoid_model), "same layers, same seed");

    let data = binary_rows();
    let sigmoid_data: Dataset<_, _> = data
        .inputs()
        .iter()
        .zip(data.targets())
        .map(|(input, target)| (BinaryProbabilitiesInput { x: input.x }, BinaryProbabilitiesOutput { p: target.p }))
        .collect();
    let options = quiet(5, 8).validation_split(0.2);
    let logits_history =
        logits_model.compile(BinaryCrossentropy::from_logits(), Adam::new(0.05)).fit(&data, &options).unwrap();
    let sigmoid_history = sigmoid_model.compile(BinaryCrossentropy, Adam::new(0.05)).fit(&sigmoid_data, &options).unwrap();

    assert_eq!(weight_values(&logits_model), weight_values(&sigmoid_model));
    let last = |history: &History| history.epochs.last().unwrap().train.clone();
    assert_eq!(last(&logits_history).loss, last(&sigmoid_history).loss);
    assert!(last(&logits_history).loss < logits_history.epochs[0].train.loss, "the loss falls");
    // The accuracy metric thresholds values at 0.5, which is wrong for logits, so none is
    // reported for the from-logits loss.
    assert_eq!(last(&logits_history).outputs[0].accuracy, None);
    assert!(last(&sigmoid_history).outputs[0].accuracy.is_some());
}

#[test]
fn cce_from_logits_trains_like_softmax_head() {
    let mut logits_model = ClassLogits::new(&mut StdRng::seed_from_u64(9));
    let mut softmax_model = ClassProbabilities::new(&mut StdRng::seed_from_u64(9));
    assert_eq!(weight_values(&logits_model), weight_values(&softmax_model), "same layers, same seed");

    let data = class_rows();
    let softmax_data: Dataset<_, _> = data
        .inputs()
        .iter()
        .zip(data.targets())
        .map(|(input, target)| (ClassProbabilitiesInput { x: input.x }, ClassProbabilitiesOutput { p: target.p }))
        .collect();
    let options = quiet(5, 8);
    let logits_history =
        logits_model.compile(CategoricalCrossentropy::from_logits(), Adam::new(0.05)).fit(&data, &options).unwrap();
    let softmax_history =
        softmax_model.compile(CategoricalCrossentropy, Adam::new(0.05)).fit(&softmax_data, &options).unwrap();

    assert_eq!(weight_values(&logits_model), weight_values(&softmax_model));
    let last = |history: &History| history.epochs.last().unwrap().train.clone();
    assert_eq!(last(&logits_history), last(&softmax_history), "same losses and accuracy");
}

/// Checks the gradient that one full-batch SGD step with rate 1 applies, `w_before − w_after`,
/// against central differences of the loss that `evaluate` reports.
fn check_model_gradient<M, L>(model: &mut M, loss: L, data: &Dataset<M::Input, M::Output>)
where
    M: Network<f64> + Clone,
    L: keramic::train::LossSet<M> + Copy,
{
    let loss_at = |model: &mut M| model.compile(loss, Sgd::<f64>::new(1.0)).evaluate(data).unwrap().loss;

    let before = weight_values(model);
    let mut stepped = model.clone();
    stepped.compile(loss, Sgd::<f64>::new(1.0)).fit(data, &quiet(1, data.len())).unwrap();
    let analytic: Vec<f64> = before.iter().zip(weight_values(&stepped)).map(|(b, a)| b - a).collect();

    let step = 1e-6;
    for index in 0..before.len() {
        let mut shifted = model.clone();
        let mut nudge = |delta: f64| {
            let mut position = 0;
            shifted.visit_named_params("", &mut |_, param| {
                for w in param.value.iter_mut() {
                    if position == index {
                        *w = before[index] + delta;
                    }
                    position += 1;
                }
            });
            loss_at(&mut shifted)
        };
        let numeric = (nudge(step) - nudge(-step)) / (2.0 * step);
        let tolerance = 1e-6 * numeric.abs().max(1e-2);
        assert!(
            (analytic[index] - numeric).abs() <= tolerance,
            "weight {index}: analytic {}, numeric {numeric}",
            analytic[index]
        );
    }
}

#[test]
fn bce_from_logits_model_gradient() {
    let data: Dataset<_, _> = binary_rows().inputs().iter().cloned().zip(binary_rows().targets().iter().cloned()).take(12).collect();
    let mut model = BinaryLogits::<f64>::from_rng(&mut StdRng::seed_from_u64(5));
    check_model_gradient(&mut model, BinaryCrossentropy::from_logits(), &data);
}

#[test]
fn cce_from_logits_model_gradient() {
    let data: Dataset<_, _> = class_rows().inputs().iter().cloned().zip(class_rows().targets().iter().cloned()).take(12).collect();
    let mut model = ClassLogits::<f64>::from_rng(&mut StdRng::seed_from_u64(5));
    check_model_gradient(&mut model, CategoricalCrossentropy::from_logits().weighted(0.5), &data);
}
