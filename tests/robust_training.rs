//! Training that goes wrong or must repeat: NaN and overflow mid-training, and bit-identical
//! runs.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

model! {
    /// A small regression network whose loss overflows under a huge learning rate.
    pub struct Deep {
        input x: [2];
        output y = Dense::<1>(Dense::<4, Relu>(x));
    }
}

model! {
    /// A network whose tanh saturates under a huge learning rate, giving NaN gradients.
    pub struct Saturating {
        input x: [2];
        output y = Dense::<1>(Dense::<4, Tanh>(x));
    }
}

model! {
    /// Two classes through a ReLU head, whose rows can sum to 0.
    pub struct ReluClasses {
        input x: [2];
        output class = Dense::<2, Relu>(x);
    }
}

model! {
    /// Ids and floats into two outputs, for the reproducibility test.
    pub struct Mixed {
        input user: Id<16>;
        input extra: [3];
        let vector = Flatten(Embedding::<16, 4>(user));
        let hidden = Dense::<8, Relu>(Concatenate(vector, extra));
        output score = Dense::<1>(hidden);
        output win = Dense::<1, Sigmoid>(hidden);
    }
}

const BATCH: usize = 8;

/// Returns every weight of `model` as bits, by path, so that comparisons are exact.
fn weight_bits<M: Network<f32>>(model: &M) -> Vec<(String, Vec<u32>)> {
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        weights.push((name.to_owned(), param.value.iter().map(|w| w.to_bits()).collect()));
    });
    weights
}

fn assert_all_finite<M: Network<f32>>(model: &M) {
    model.visit_named_weights("", &mut |name, param| {
        assert!(param.value.iter().all(|w| w.is_finite()), "`{name}` has a non-finite weight: {:?}", param.value);
    });
}

/// Returns the epoch and batch that a non-finite error names.
fn location(error: &Error) -> (usize, usize) {
    match *error {
        Error::NonFiniteLoss { epoch, batch, .. }
        | Error::NonFiniteGradient { epoch, batch, .. }
        | Error::NonFiniteWeight { epoch, batch, .. } => (epoch, batch),
        _ => panic!("expected a non-finite loss, gradient or weight, got {error:?}"),
    }
}

fn deep_rows() -> Dataset<DeepInput, DeepOutput> {
    (0..64).map(|i| (DeepInput { x: [i as f32 / 8.0 - 4.0, 1.0] }, DeepOutput { y: [i as f32] })).collect()
}

fn saturating_rows() -> Dataset<SaturatingInput, SaturatingOutput> {
    (0..64).map(|i| (SaturatingInput { x: [i as f32 / 8.0 - 4.0, 1.0] }, SaturatingOutput { y: [i as f32] })).collect()
}

fn in_order(epochs: usize) -> Fit {
    Fit::epochs(epochs).batch_size(BATCH).shuffle(false).verbose(false)
}

/// Trains a fresh model up to the start of batch `batch` of epoch `epoch`, without
/// shuffling, in two `fit` calls on one `Training` so that the optimizer state carries over.
fn replay<M: Network<f32>, L: keramic::train::LossSet<M::Heads>, O: Optimizer<f32>>(
    model: &mut M,
    loss: L,
    optimizer: O,
    data: &Dataset<M::Input, M::Output>,
    (epoch, batch): (usize, usize),
) {
    let mut training = model.compile(loss, optimizer);
    if epoch > 1 {
        training.fit(data, &in_order(epoch - 1)).expect("the epochs before the bad one are finite");
    }
    if batch > 1 {
        let rows: Vec<usize> = (0..(batch - 1) * BATCH).collect();
        training.fit(&data.select(&rows), &in_order(1)).expect("the batches before the bad one are finite");
    }
}

#[test]
fn infinite_loss_mid_training_keeps_last_weights() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(1));
    let error = model.compile(MeanSquaredError, Sgd::new(10.0)).fit(&data, &in_order(5)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteLoss { value, .. } if value == f64::INFINITY), "{error:?}");
    let (epoch, batch) = location(&error);
    assert!(epoch > 1, "the loss should overflow after the first epoch, got {error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the loss became inf at epoch {epoch}, batch {batch}; the model keeps the weights from before this \
             batch. Lower the learning rate or check the data for extreme values"
        )
    );

    let mut expected = Deep::new(&mut StdRng::seed_from_u64(1));
    replay(&mut expected, MeanSquaredError, Sgd::new(10.0), &data, (epoch, batch));
    assert_all_finite(&model);
    assert_eq!(weight_bits(&model), weight_bits(&expected));
}

#[test]
fn nan_gradient_mid_training_keeps_last_weights() {
    let data = saturating_rows();
    let mut model = Saturating::new(&mut StdRng::seed_from_u64(1));
    let error = model.compile(MeanSquaredError, Sgd::new(10.0)).fit(&data, &in_order(5)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteGradient { value, .. } if value.is_nan()), "{error:?}");
    let (epoch, batch) = location(&error);
    assert!((epoch, batch) > (1, 1), "the gradient should become NaN mid-training, got {error:?}");
    assert!(error.to_string().starts_with(&format!("a gradient became NaN at epoch {epoch}, batch {batch};")), "{error}");

    let mut expected = Saturating::new(&mut StdRng::seed_from_u64(1));
    replay(&mut expected, MeanSquaredError, Sgd::new(10.0), &data, (epoch, batch));
    assert_all_finite(&model);
    assert_eq!(weight_bits(&model), weight_bits(&expected));
}

#[test]
fn overflowing_update_is_undone() {
    // Every gradient is finite, but a learning rate of 1e5 takes a weight past f32::MAX.
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(1));
    let error = model.compile(MeanSquaredError, Sgd::new(1e5)).fit(&data, &in_order(5)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteWeight { .. }), "{error:?}");
    let (epoch, batch) = location(&error);
    assert!((epoch, batch) > (1, 1), "the update should overflow mid-training, got {error:?}");
    let Error::NonFiniteWeight { name, value, .. } = &error else { unreachable!() };
    assert_eq!(
        error.to_string(),
        format!(
            "the optimizer step made weight `{name}` {value} at epoch {epoch}, batch {batch}; the model keeps \
             the weights from before this batch. Lower the learning rate"
        )
    );
    assert!(name.ends_with(".kernel") || name.ends_with(".bias"), "{name}");

    let mut expected = Deep::new(&mut StdRng::seed_from_u64(1));
    replay(&mut expected, MeanSquaredError, Sgd::new(1e5), &data, (epoch, batch));
    assert_all_finite(&model);
    assert_eq!(weight_bits(&model), weight_bits(&expected));
}

#[test]
fn huge_adam_rate_keeps_last_weights() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(5));
    let error = model.compile(MeanSquaredError, Adam::new(1e37)).fit(&data, &in_order(5)).unwrap_err();

    let (epoch, batch) = location(&error);
    let mut expected = Deep::new(&mut StdRng::seed_from_u64(5));
    replay(&mut expected, MeanSquaredError, Adam::new(1e37), &data, (epoch, batch));
    assert_all_finite(&model);
    assert_eq!(weight_bits(&model), weight_bits(&expected), "{error}");
}

#[test]
fn nan_loss_on_first_batch_keeps_initial_weights() {
    // With this seed both ReLU units start at 0 for every row, so each row of the categorical
    // cross-entropy sums to 0 and its loss is NaN.
    let data: Dataset<_, _> = (0..64)
        .map(|i| {
            let class = if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
            (ReluClassesInput { x: [1.0 + i as f32 / 64.0, 1.0] }, ReluClassesOutput { class })
        })
        .collect();
    let mut model = ReluClasses::new(&mut StdRng::seed_from_u64(2));
    let initial = weight_bits(&model);

    let error = model.compile(CategoricalCrossentropy, Sgd::new(0.1)).fit(&data, &in_order(3)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteLoss { epoch: 1, batch: 1, value } if value.is_nan()), "{error:?}");
    assert!(error.to_string().starts_with("the loss became NaN at epoch 1, batch 1; the model keeps the weights"), "{error}");
    assert_eq!(weight_bits(&model), initial);
}

fn mixed_rows() -> Dataset<MixedInput, MixedOutput> {
    (0..300u32)
        .map(|i| {
            let extra = [(i % 7) as f32 / 7.0, (i % 5) as f32 / 5.0 - 0.5, (i % 3) as f32];
            let score = (i % 16) as f32 / 4.0 + extra[0] - extra[1];
            let win = if score > 2.0 { 1.0 } else { 0.0 };
            (MixedInput { user: i % 16, extra }, MixedOutput { score: [score], win: [win] })
        })
        .collect()
}

/// Trains a `Mixed` model from seed `init` with shuffling seed `seed` and returns its weights
/// and the losses of every epoch, as bits.
fn train_mixed(init: u64, seed: u64) -> (Vec<(String, Vec<u32>)>, Vec<u64>) {
    let mut model = Mixed::new(&mut StdRng::seed_from_u64(init));
    let history = model
        .compile((MeanSquaredError, BinaryCrossentropy), Adam::new(0.01))
        .fit(&mixed_rows(), &Fit::epochs(4).batch_size(16).validation_split(0.2).seed(seed).verbose(false))
        .unwrap();
    let losses = history
        .epochs
        .iter()
        .flat_map(|log| [log.train.loss, log.validation.as_ref().unwrap().loss])
        .map(f64::to_bits)
        .collect();
    (weight_bits(&model), losses)
}

#[test]
fn same_seed_gives_identical_weights() {
    let (first_weights, first_losses) = train_mixed(7, 11);
    for _ in 0..2 {
        let (weights, losses) = train_mixed(7, 11);
        assert_eq!(weights, first_weights);
        assert_eq!(losses, first_losses);
    }
    assert_eq!(first_weights.len(), 7, "embedding, two Dense layers with bias and one hidden");
}

#[test]
fn other_seeds_give_other_weights() {
    let (weights, _) = train_mixed(7, 11);
    assert_ne!(train_mixed(7, 12).0, weights, "the shuffling seed changes the run");
    assert_ne!(train_mixed(8, 11).0, weights, "the initialization seed changes the run");
}
