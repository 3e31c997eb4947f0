//! Training that goes wrong or must repeat: NaN and overflow mid-training, early stopping,
//! learning-rate schedules and bit-identical runs.

use keramic::prelude::*;
use keramic::train::{Callback, EpochEnd};
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
    /// Two classes through a sigmoid head, whose rows sum to 0 when both units saturate at 0.
    pub struct SigmoidClasses {
        input x: [1];
        output class = Dense::<2, Sigmoid>(x);
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
fn replay<M: Network<f32>, L: keramic::train::LossSet<M>, O: Optimizer<f32>>(
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
    // With this seed both kernel weights are negative, so an input of 1e30 drives both sigmoid
    // units to exactly 0 in f32. Such a row of the categorical cross-entropy sums to 0, and its
    // loss is NaN.
    let data: Dataset<_, _> = (0..64)
        .map(|i| {
            let class = if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
            (SigmoidClassesInput { x: [1e30] }, SigmoidClassesOutput { class })
        })
        .collect();
    let mut model = SigmoidClasses::new(&mut StdRng::seed_from_u64(2));
    let initial = weight_bits(&model);

    let error = model.compile(CategoricalCrossentropy, Sgd::new(0.1)).fit(&data, &in_order(3)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteLoss { epoch: 1, batch: 1, value } if value.is_nan()), "{error:?}");
    assert!(error.to_string().starts_with("the loss became NaN at epoch 1, batch 1; the model keeps the weights"), "{error}");
    assert_eq!(weight_bits(&model), initial);
}

/// A callback that records the learning rate of each epoch and the model at each epoch end.
struct Recorder<M> {
    rates: Vec<f64>,
    models: Vec<M>,
}

impl<M> Recorder<M> {
    fn new() -> Self {
        Recorder { rates: Vec::new(), models: Vec::new() }
    }
}

impl<M: Clone> Callback<f32, M> for Recorder<M> {
    fn on_epoch_begin(&mut self, _epoch: usize, optimizer: &mut dyn Optimizer<f32>) {
        self.rates.push(optimizer.learning_rate());
    }

    fn on_epoch_end(&mut self, end: &mut EpochEnd<'_, f32, M>) -> Result<(), Error> {
        self.models.push(end.model.clone());
        Ok(())
    }
}

/// Rows whose first 80 teach `y = 2·x0` and whose last 20, the validation rows of a 0.2
/// split, have target 0, so the validation loss grows as training goes on.
fn diverging_rows() -> Dataset<DeepInput, DeepOutput> {
    (0..100)
        .map(|i| {
            let x = [(i % 10) as f32 / 10.0, 1.0];
            let y = if i < 80 { 2.0 * x[0] + 3.0 } else { 0.0 };
            (DeepInput { x }, DeepOutput { y: [y] })
        })
        .collect()
}

#[test]
fn early_stopping_waits_for_patience() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    // A learning rate of 0 keeps the loss the same, so no epoch after the first improves.
    let mut stopping = EarlyStopping::new(Monitor::Loss).patience(2);
    let history = model
        .compile(MeanSquaredError, Sgd::new(0.0))
        .fit_with_callbacks(&data, &in_order(10), &mut [&mut stopping])
        .unwrap();

    assert_eq!(history.epochs.len(), 3);
    assert_eq!(stopping.stopped_epoch(), Some(3));
    assert_eq!(stopping.best_epoch(), Some(1));
    assert_eq!(stopping.best(), Some(history.epochs[0].train.loss));
}

#[test]
fn early_stopping_zero_patience_stops_at_first_stall() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut stopping = EarlyStopping::new(Monitor::Loss);
    let history = model
        .compile(MeanSquaredError, Sgd::new(0.0))
        .fit_with_callbacks(&data, &in_order(10), &mut [&mut stopping])
        .unwrap();
    assert_eq!(history.epochs.len(), 2);
}

#[test]
fn early_stopping_min_delta_ignores_small_gains() {
    let data = deep_rows();
    let fit = |min_delta: f64| {
        let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
        let mut stopping = EarlyStopping::new(Monitor::Loss).patience(1).min_delta(min_delta).unwrap();
        let history = model
            .compile(MeanSquaredError, Sgd::new(1e-4))
            .fit_with_callbacks(&data, &in_order(6), &mut [&mut stopping])
            .unwrap();
        let losses: Vec<f64> = history.epochs.iter().map(|log| log.train.loss).collect();
        (losses, stopping.stopped_epoch())
    };

    let (losses, stopped) = fit(0.0);
    assert_eq!(losses.len(), 6, "every epoch improves a little: {losses:?}");
    assert!(losses.windows(2).all(|pair| pair[1] < pair[0]), "{losses:?}");
    assert_eq!(stopped, None);

    // A min_delta above every gain makes the second epoch a stall, which a patience of 1
    // makes the last.
    let largest_gain = losses.windows(2).map(|pair| pair[0] - pair[1]).fold(0.0, f64::max);
    let (losses, stopped) = fit(largest_gain * 2.0);
    assert_eq!(losses.len(), 2, "{losses:?}");
    assert_eq!(stopped, Some(2));
}

#[test]
fn early_stopping_restores_best_weights() {
    let data = diverging_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(4));
    let mut recorder = Recorder::new();
    let mut stopping = EarlyStopping::new(Monitor::ValLoss).patience(2).restore_best_weights(true);
    let history = model
        .compile(MeanSquaredError, Adam::new(0.05))
        .fit_with_callbacks(&data, &in_order(30).validation_split(0.2), &mut [&mut recorder, &mut stopping])
        .unwrap();

    let validation: Vec<f64> = history.epochs.iter().map(|log| log.validation.as_ref().unwrap().loss).collect();
    let best = stopping.best_epoch().expect("a best epoch");
    let stopped = stopping.stopped_epoch().expect("the validation loss stops improving");
    assert_eq!(history.epochs.len(), stopped, "{validation:?}");
    assert_eq!(stopped, best + 2, "{validation:?}");
    let lowest = validation.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(validation[best - 1], lowest);

    assert_eq!(weight_bits(&model), weight_bits(&recorder.models[best - 1]));
    assert_ne!(weight_bits(&model), weight_bits(&recorder.models[stopped - 1]), "the last epoch's weights differ");
}

#[test]
fn early_stopping_restores_without_stopping() {
    let data = diverging_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(4));
    let mut recorder = Recorder::new();
    let mut stopping = EarlyStopping::new(Monitor::ValLoss).patience(100).restore_best_weights(true);
    let history = model
        .compile(MeanSquaredError, Adam::new(0.05))
        .fit_with_callbacks(&data, &in_order(8).validation_split(0.2), &mut [&mut recorder, &mut stopping])
        .unwrap();

    assert_eq!(history.epochs.len(), 8);
    assert_eq!(stopping.stopped_epoch(), None);
    let best = stopping.best_epoch().expect("a best epoch");
    assert_eq!(weight_bits(&model), weight_bits(&recorder.models[best - 1]));
}

#[test]
fn early_stopping_resets_between_fits() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut stopping = EarlyStopping::new(Monitor::Loss).patience(1);
    let mut training = model.compile(MeanSquaredError, Sgd::new(0.0));
    for _ in 0..2 {
        let history = training.fit_with_callbacks(&data, &in_order(10), &mut [&mut stopping]).unwrap();
        assert_eq!(history.epochs.len(), 2);
        assert_eq!(stopping.best_epoch(), Some(1));
    }
}

#[test]
fn val_loss_without_validation_is_rejected() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut stopping = EarlyStopping::new(Monitor::ValLoss);
    let error = model
        .compile(MeanSquaredError, Sgd::new(0.01))
        .fit_with_callbacks(&data, &in_order(3), &mut [&mut stopping])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid monitor: val_loss needs validation rows, but this fit has none; set validation_split (or pass a \
         validation source to fit_stream), or monitor loss"
    );
}

#[test]
fn invalid_min_delta_is_rejected() {
    for min_delta in [-0.1, f64::NAN, f64::INFINITY] {
        let error = EarlyStopping::<Deep>::new(Monitor::ValLoss).min_delta(min_delta).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "invalid min_delta: {min_delta} is not a finite value of at least 0; pass the smallest decrease \
                 of val_loss that counts as an improvement, such as 1e-4"
            )
        );
        assert!(ReduceLrOnPlateau::new(Monitor::Loss).min_delta(min_delta).is_err());
    }
}

#[test]
fn step_decay_halves_rate_every_two_epochs() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut decay = StepDecay::new(2, 0.5).unwrap();
    let mut recorder = Recorder::new();
    let mut training = model.compile(MeanSquaredError, RateOnly { rate: 0.008 });
    training.fit_with_callbacks(&data, &in_order(5), &mut [&mut decay, &mut recorder]).unwrap();
    assert_eq!(recorder.rates, [0.008, 0.008, 0.004, 0.004, 0.002]);

    // A second fit starts the schedule again from the first rate.
    let mut recorder = Recorder::new();
    training.fit_with_callbacks(&data, &in_order(3), &mut [&mut decay, &mut recorder]).unwrap();
    assert_eq!(recorder.rates, [0.008, 0.008, 0.004]);
}

#[test]
fn step_decay_rejects_bad_settings() {
    assert_eq!(StepDecay::new(0, 0.5).unwrap_err().to_string(), "invalid every: 0 epochs between decays; use at least 1");
    for factor in [0.0, -0.5, 1.5, f64::NAN] {
        assert_eq!(
            StepDecay::new(3, factor).unwrap_err().to_string(),
            format!("invalid factor: {factor} is outside (0, 1]; pass the multiplier of each decay, such as 0.5")
        );
    }
    assert!(StepDecay::new(1, 1.0).is_ok());
}

/// An optimizer that keeps a learning rate for schedules to read and set, but never changes
/// a weight, so that the loss stays the same from epoch to epoch.
struct RateOnly {
    rate: f64,
}

impl Optimizer<f32> for RateOnly {
    fn begin_step(&mut self) {}

    fn update(&mut self, _slot: usize, _value: &mut [f32], _grad: &[f32]) {}

    fn learning_rate(&self) -> f64 {
        self.rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.rate = learning_rate;
    }

    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[test]
fn plateau_reduces_rate_after_patience() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut plateau = ReduceLrOnPlateau::new(Monitor::Loss).patience(2).factor(0.5).unwrap().cooldown(2);
    let mut recorder = Recorder::new();
    model
        .compile(MeanSquaredError, RateOnly { rate: 0.8 })
        .fit_with_callbacks(&data, &in_order(7), &mut [&mut plateau, &mut recorder])
        .unwrap();
    // Epoch 3 reaches the patience and lowers the rate. Epoch 4 is in the cooldown, and
    // epochs 5 and 6 reach the patience again.
    assert_eq!(recorder.rates, [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2]);
}

#[test]
fn plateau_stops_at_min_lr() {
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut plateau = ReduceLrOnPlateau::new(Monitor::Loss).patience(1).factor(0.1).unwrap().min_lr(0.05).unwrap();
    let mut recorder = Recorder::new();
    model
        .compile(MeanSquaredError, RateOnly { rate: 0.9 })
        .fit_with_callbacks(&data, &in_order(5), &mut [&mut plateau, &mut recorder])
        .unwrap();
    assert_eq!(recorder.rates, [0.9, 0.9, 0.9 * 0.1, 0.05, 0.05]);
}

#[test]
fn plateau_counts_improvements() {
    // A rate that trains lowers the loss every epoch, so the rate is never reduced.
    let data = deep_rows();
    let mut model = Deep::new(&mut StdRng::seed_from_u64(3));
    let mut plateau = ReduceLrOnPlateau::new(Monitor::Loss).patience(1).min_delta(0.0).unwrap();
    let mut recorder = Recorder::new();
    model
        .compile(MeanSquaredError, Sgd::new(1e-4))
        .fit_with_callbacks(&data, &in_order(5), &mut [&mut plateau, &mut recorder])
        .unwrap();
    assert_eq!(recorder.rates, [1e-4; 5]);
}

#[test]
fn plateau_rejects_bad_settings() {
    for factor in [0.0, 1.0, 2.0, f64::NAN] {
        assert_eq!(
            ReduceLrOnPlateau::new(Monitor::Loss).factor(factor).unwrap_err().to_string(),
            format!("invalid factor: {factor} is outside (0, 1); pass the multiplier of each reduction, such as 0.2")
        );
    }
    assert_eq!(
        ReduceLrOnPlateau::new(Monitor::Loss).min_lr(-1.0).unwrap_err().to_string(),
        "invalid min_lr: -1 is not a finite learning rate of at least 0"
    );
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
