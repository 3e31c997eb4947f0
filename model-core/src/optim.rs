//! Optimizers: SGD and Adam, with the update rules of Keras 3.
//!
//! Hyperparameters are stored as `f64` and rounded to the model's scalar type `T` when they
//! are used, as Keras casts them to the variable's dtype. Per-tensor state is kept in `T`, so
//! an `f32` model follows Keras's float32 arithmetic step by step.
//!
//! The optimizer types take `T` as a type parameter that defaults to `f32`. A call such as
//! `Adam::new(0.01)` leaves `T` to inference, which takes it from the model the optimizer is
//! passed to.

use std::collections::BTreeMap;

use crate::{Error, Real};

/// An optimizer that updates parameter tensors from their gradients.
pub trait Optimizer<T: Real>: Send {
    /// Starts one optimizer step. Called once before the `update` calls of that step.
    fn begin_step(&mut self);

    /// Updates one parameter tensor in place from its gradient.
    ///
    /// `slot` identifies the tensor across steps, so that per-tensor state (such as Adam's
    /// moments) is kept for it. Frozen tensors are never passed, so they get no state.
    ///
    /// # Panics
    ///
    /// Panics when `grad` and `value` differ in length, or when an optimizer with per-tensor
    /// state gets a `value` whose length differs from the earlier tensor of the same `slot`.
    /// Both are bugs in the caller.
    fn update(&mut self, slot: usize, value: &mut [T], grad: &[T]);

    /// Returns the learning rate that the next `update` uses.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate for the following updates, keeping all other state.
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// Checks the hyperparameters. `fit` calls it before the first step.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidOption`] naming the first invalid hyperparameter.
    fn validate(&self) -> Result<(), Error>;

    /// Returns the hyperparameters, the step count and the per-tensor state, for a checkpoint.
    ///
    /// # Errors
    ///
    /// The default implementation returns [`Error::CheckpointUnsupported`]. [`Sgd`] and
    /// [`Adam`] never fail.
    fn export_state(&self) -> Result<OptimizerState<T>, Error> {
        Err(Error::CheckpointUnsupported { optimizer: core::any::type_name::<Self>() })
    }

    /// Replaces the hyperparameters (the learning rate included), the step count and the
    /// per-tensor state with `state`, as [`Optimizer::export_state`] returned it.
    ///
    /// The whole state is checked first, so on error the optimizer is unchanged. The lengths
    /// of the per-tensor buffers are not checked against the model. The caller checks them,
    /// because only the caller has the tensors behind the slots.
    ///
    /// # Errors
    ///
    /// [`Error::CheckpointMismatch`] when `state` belongs to another kind of optimizer, lacks a
    /// hyperparameter or a buffer, has unknown ones, or has invalid hyperparameters. The
    /// default implementation returns [`Error::CheckpointUnsupported`].
    fn import_state(&mut self, state: OptimizerState<T>) -> Result<(), Error> {
        let _ = state;
        Err(Error::CheckpointUnsupported { optimizer: core::any::type_name::<Self>() })
    }
}

/// A snapshot of an optimizer, as checkpoints store it.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    /// The kind of optimizer, `adam` or `sgd`, so that a state is never imported into
    /// another kind.
    pub kind: String,
    /// Every hyperparameter by its Keras name: `learning_rate` and `momentum` for SGD;
    /// `learning_rate`, `beta_1`, `beta_2` and `epsilon` for Adam.
    pub hyperparameters: BTreeMap<String, f64>,
    /// The number of steps taken: Adam's `t`. SGD does not count steps and exports 0.
    pub step: u64,
    /// The buffers of each slot that has state, by slot, then by buffer name: `m` and `v`
    /// for Adam, `velocity` for SGD with momentum. Slots are numbered as in
    /// [`Optimizer::update`].
    pub slots: BTreeMap<usize, BTreeMap<String, Vec<T>>>,
}

/// Stochastic gradient descent with optional momentum, as Keras's `SGD`.
///
/// Without momentum, each update is `w ← w − lr·g`. With momentum `μ`, each tensor keeps a
/// velocity `u` that starts at 0, and the update is `u ← μ·u − lr·g`, then `w ← w + u`.
#[derive(Clone, Debug)]
pub struct Sgd<T = f32> {
    learning_rate: f64,
    momentum: f64,
    /// Velocity per slot, created on the slot's first update when momentum is nonzero.
    velocities: Vec<Option<Vec<T>>>,
}

impl<T: Real> Sgd<T> {
    /// Creates plain SGD with the given learning rate and no momentum.
    #[must_use]
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            momentum: 0.0,
            velocities: Vec::new(),
        }
    }

    /// Sets the momentum, which Keras requires to be in `[0, 1]`. Default: 0.
    #[must_use]
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn validate(&self) -> Result<(), Error> {
        validate_learning_rate(self.learning_rate)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(invalid(
                "momentum",
                format!("must be in [0, 1], got {}", self.momentum),
            ));
        }
        Ok(())
    }

    fn begin_step(&mut self) {}

    fn update(&mut self, slot: usize, value: &mut [T], grad: &[T]) {
        check_lengths(value, grad);
        let learning_rate = <T as Real>::from_f64(self.learning_rate);

        if self.momentum == 0.0 {
            for (w, &g) in value.iter_mut().zip(grad) {
                *w -= g * learning_rate;
            }
            return;
        }

        let momentum = <T as Real>::from_f64(self.momentum);
        let velocity = slot_state(&mut self.velocities, slot, || vec![T::zero(); value.len()]);
        assert_eq!(
            velocity.len(),
            value.len(),
            "SGD: slot {slot} changed length"
        );
        for ((w, u), &g) in value.iter_mut().zip(velocity.iter_mut()).zip(grad) {
            *u = *u * momentum - g * learning_rate;
            *w += *u;
        }
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn export_state(&self) -> Result<OptimizerState<T>, Error> {
        let hyperparameters = [("learning_rate", self.learning_rate), ("momentum", self.momentum)];
        let slots = self.velocities.iter().enumerate().filter_map(|(slot, velocity)| {
            let velocity = velocity.as_ref()?;
            Some((slot, BTreeMap::from([(SGD_VELOCITY.to_owned(), velocity.clone())])))
        });
        Ok(OptimizerState {
            kind: SGD_KIND.to_owned(),
            hyperparameters: hyperparameters.into_iter().map(|(name, value)| (name.to_owned(), value)).collect(),
            step: 0,
            slots: slots.collect(),
        })
    }

    fn import_state(&mut self, mut state: OptimizerState<T>) -> Result<(), Error> {
        check_kind(&state, SGD_KIND)?;
        let mut hyperparameters = take_hyperparameters(&mut state, &["learning_rate", "momentum"])?;
        let restored = Sgd {
            learning_rate: hyperparameters.remove("learning_rate").unwrap_or_default(),
            momentum: hyperparameters.remove("momentum").unwrap_or_default(),
            velocities: Vec::new(),
        };
        restored.validate().map_err(|error| mismatch(format!("its SGD settings are invalid: {error}")))?;

        let mut velocities = Vec::new();
        for (slot, buffers) in state.slots {
            let [velocity] = take_buffers(slot, buffers, [SGD_VELOCITY])?;
            *slot_state(&mut velocities, slot, Vec::new) = velocity;
        }
        *self = Sgd { velocities, ..restored };
        Ok(())
    }
}

/// Adam, with the update rule of Keras 3 (without AMSGrad or weight decay).
///
/// For step `t` (counted from 1 by [`Optimizer::begin_step`]), each tensor's moments `m` and
/// `v` start at 0 and are updated as
///
/// ```text
/// m ← m + (g − m)·(1 − β1)
/// v ← v + (g² − v)·(1 − β2)
/// α = lr·√(1 − β2^t) / (1 − β1^t)
/// w ← w − α·m / (√v + ε)
/// ```
///
/// `ε` is added to `√v` without bias correction. All arithmetic is in `T`, and `1 − β1` and
/// `1 − β2` are computed in `f64` before rounding, as Keras does.
#[derive(Clone, Debug)]
pub struct Adam<T = f32> {
    learning_rate: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    /// The current step `t`, 0 before the first `begin_step`.
    step: u64,
    /// Moments per slot, created on the slot's first update.
    moments: Vec<Option<Moments<T>>>,
}

/// Adam's state for one tensor.
#[derive(Clone, Debug)]
struct Moments<T> {
    /// First moment `m`, the moving average of the gradient.
    first: Vec<T>,
    /// Second moment `v`, the moving average of the squared gradient.
    second: Vec<T>,
}

impl<T: Real> Adam<T> {
    /// Creates Adam with the given learning rate and Keras's defaults for the other
    /// hyperparameters: β1 = 0.9, β2 = 0.999, ε = 1e-7.
    #[must_use]
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            step: 0,
            moments: Vec::new(),
        }
    }

    /// Sets β1, the decay rate of the first moment. Default: 0.9.
    #[must_use]
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        self.beta_1 = beta_1;
        self
    }

    /// Sets β2, the decay rate of the second moment. Default: 0.999.
    #[must_use]
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        self.beta_2 = beta_2;
        self
    }

    /// Sets ε, the constant added to `√v`. Default: 1e-7.
    #[must_use]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }
}

/// Adam with a learning rate of 0.001, the Keras default.
impl<T: Real> Default for Adam<T> {
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn validate(&self) -> Result<(), Error> {
        validate_learning_rate(self.learning_rate)?;
        for (option, beta) in [("beta_1", self.beta_1), ("beta_2", self.beta_2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(invalid(option, format!("must be in [0, 1), got {beta}")));
            }
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(invalid(
                "epsilon",
                format!("must be finite and positive, got {}", self.epsilon),
            ));
        }
        Ok(())
    }

    fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Applies one Adam update. An update before the first `begin_step` counts as step 1.
    fn update(&mut self, slot: usize, value: &mut [T], grad: &[T]) {
        check_lengths(value, grad);

        let one = T::one();
        let step = <T as Real>::from_f64(self.step.max(1) as f64);
        let beta_1_power = <T as Real>::from_f64(self.beta_1).powf(step);
        let beta_2_power = <T as Real>::from_f64(self.beta_2).powf(step);
        let learning_rate = <T as Real>::from_f64(self.learning_rate);
        let alpha = learning_rate * (one - beta_2_power).sqrt() / (one - beta_1_power);
        let one_minus_beta_1 = <T as Real>::from_f64(1.0 - self.beta_1);
        let one_minus_beta_2 = <T as Real>::from_f64(1.0 - self.beta_2);
        let epsilon = <T as Real>::from_f64(self.epsilon);

        let moments = slot_state(&mut self.moments, slot, || Moments {
            first: vec![T::zero(); value.len()],
            second: vec![T::zero(); value.len()],
        });
        assert_eq!(
            moments.first.len(),
            value.len(),
            "Adam: slot {slot} changed length"
        );

        let state = moments.first.iter_mut().zip(moments.second.iter_mut());
        for ((w, (m, v)), &g) in value.iter_mut().zip(state).zip(grad) {
            *m += (g - *m) * one_minus_beta_1;
            *v += (g * g - *v) * one_minus_beta_2;
            *w -= *m * alpha / (v.sqrt() + epsilon);
        }
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn export_state(&self) -> Result<OptimizerState<T>, Error> {
        let hyperparameters = [
            ("learning_rate", self.learning_rate),
            ("beta_1", self.beta_1),
            ("beta_2", self.beta_2),
            ("epsilon", self.epsilon),
        ];
        let slots = self.moments.iter().enumerate().filter_map(|(slot, moments)| {
            let moments = moments.as_ref()?;
            let buffers = [(ADAM_FIRST_MOMENT, &moments.first), (ADAM_SECOND_MOMENT, &moments.second)];
            Some((slot, buffers.into_iter().map(|(name, buffer)| (name.to_owned(), buffer.clone())).collect()))
        });
        Ok(OptimizerState {
            kind: ADAM_KIND.to_owned(),
            hyperparameters: hyperparameters.into_iter().map(|(name, value)| (name.to_owned(), value)).collect(),
            step: self.step,
            slots: slots.collect(),
        })
    }

    fn import_state(&mut self, mut state: OptimizerState<T>) -> Result<(), Error> {
        check_kind(&state, ADAM_KIND)?;
        let names = ["learning_rate", "beta_1", "beta_2", "epsilon"];
        let mut hyperparameters = take_hyperparameters(&mut state, &names)?;
        let mut take = |name: &str| hyperparameters.remove(name).unwrap_or_default();
        let restored = Adam {
            learning_rate: take("learning_rate"),
            beta_1: take("beta_1"),
            beta_2: take("beta_2"),
            epsilon: take("epsilon"),
            step: state.step,
            moments: Vec::new(),
        };
        restored.validate().map_err(|error| mismatch(format!("its Adam settings are invalid: {error}")))?;

        let mut moments = Vec::new();
        for (slot, buffers) in state.slots {
            let [first, second] = take_buffers(slot, buffers, [ADAM_FIRST_MOMENT, ADAM_SECOND_MOMENT])?;
            if first.len() != second.len() {
                return Err(mismatch(format!(
                    "slot {slot} has a first moment of {} values but a second moment of {}",
                    first.len(),
                    second.len()
                )));
            }
            *slot_state(&mut moments, slot, || Moments { first: Vec::new(), second: Vec::new() }) =
                Moments { first, second };
        }
        *self = Adam { moments, ..restored };
        Ok(())
    }
}

/// The [`OptimizerState::kind`] of [`Sgd`].
const SGD_KIND: &str = "sgd";
/// The [`OptimizerState::kind`] of [`Adam`].
const ADAM_KIND: &str = "adam";
/// The name of SGD's per-tensor velocity `u` in [`OptimizerState::slots`].
const SGD_VELOCITY: &str = "velocity";
/// The name of Adam's first moment `m` in [`OptimizerState::slots`].
const ADAM_FIRST_MOMENT: &str = "m";
/// The name of Adam's second moment `v` in [`OptimizerState::slots`].
const ADAM_SECOND_MOMENT: &str = "v";

/// Returns the error for a state that does not fit the optimizer it is imported into.
fn mismatch(message: String) -> Error {
    Error::CheckpointMismatch { path: None, message }
}

fn check_kind<T>(state: &OptimizerState<T>, expected: &str) -> Result<(), Error> {
    if state.kind == expected {
        Ok(())
    } else {
        Err(mismatch(format!(
            "it contains the state of the optimizer `{}`, but the training uses `{expected}`",
            state.kind
        )))
    }
}

/// Takes the hyperparameters out of `state`, checking that it has exactly `names`.
fn take_hyperparameters<T>(state: &mut OptimizerState<T>, names: &[&str]) -> Result<BTreeMap<String, f64>, Error> {
    let hyperparameters = core::mem::take(&mut state.hyperparameters);
    if let Some(missing) = names.iter().find(|name| !hyperparameters.contains_key(**name)) {
        return Err(mismatch(format!("the `{}` state lacks the hyperparameter `{missing}`", state.kind)));
    }
    if let Some(unknown) = hyperparameters.keys().find(|name| !names.contains(&name.as_str())) {
        return Err(mismatch(format!("the `{}` state has an unknown hyperparameter `{unknown}`", state.kind)));
    }
    Ok(hyperparameters)
}

/// Takes the buffers `names` of one slot, checking that the slot has exactly those.
fn take_buffers<T, const N: usize>(
    slot: usize,
    mut buffers: BTreeMap<String, Vec<T>>,
    names: [&str; N],
) -> Result<[Vec<T>; N], Error> {
    let mut taken = Vec::with_capacity(N);
    for name in names {
        match buffers.remove(name) {
            Some(buffer) => taken.push(buffer),
            None => return Err(mismatch(format!("slot {slot} lacks the buffer `{name}`"))),
        }
    }
    if let Some(unknown) = buffers.keys().next() {
        return Err(mismatch(format!("slot {slot} has an unknown buffer `{unknown}`")));
    }
    taken
        .try_into()
        .map_err(|_| mismatch(format!("slot {slot} has the wrong number of buffers")))
}

/// Returns the state of `slot`, creating it with `create` on the slot's first use.
///
/// The list grows only when a new slot appears, so later updates of a slot allocate nothing.
fn slot_state<S>(states: &mut Vec<Option<S>>, slot: usize, create: impl FnOnce() -> S) -> &mut S {
    if slot >= states.len() {
        states.resize_with(slot + 1, || None);
    }
    states[slot].get_or_insert_with(create)
}

fn check_lengths<T>(value: &[T], grad: &[T]) {
    assert_eq!(
        value.len(),
        grad.len(),
        "optimizer: the gradient has {} elements but the tensor has {}",
        grad.len(),
        value.len()
    );
}

fn validate_learning_rate(learning_rate: f64) -> Result<(), Error> {
    if learning_rate.is_finite() && learning_rate >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            "learning_rate",
            format!("must be finite and non-negative, got {learning_rate}"),
        ))
    }
}

fn invalid(option: &'static str, message: String) -> Error {
    Error::InvalidOption { option, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;

    fn assert_close(actual: &[f64], expected: &[f64], rtol: f64, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            let tolerance = rtol * e.abs().max(1.0);
            assert!(
                (a - e).abs() <= tolerance,
                "{what}[{i}]: got {a}, expected {e} (tolerance {tolerance})"
            );
        }
    }

    #[test]
    fn sgd_without_momentum() {
        let mut sgd = Sgd::new(0.1);
        let mut w = [1.0f64, -2.0, 0.5];
        for grad in [[1.0, 0.5, -2.0], [0.0, -1.0, 4.0]] {
            sgd.begin_step();
            sgd.update(0, &mut w, &grad);
        }
        assert_close(&w, &[0.9, -1.95, 0.3], 1e-15, "weights");
        assert!(sgd.velocities.is_empty(), "plain SGD keeps no state");
    }

    #[test]
    fn sgd_with_momentum() {
        let (learning_rate, momentum) = (0.1, 0.9);
        let mut sgd = Sgd::new(learning_rate).momentum(momentum);
        let mut w = [1.0f64, -2.0];
        let grads = [[1.0, 0.5], [0.5, -1.0], [-2.0, 0.0]];

        // Keras: u ← μ·u − lr·g, then w ← w + u, with u starting at 0.
        let mut expected = w;
        let mut velocity = [0.0; 2];
        for grad in grads {
            sgd.begin_step();
            sgd.update(3, &mut w, &grad);
            for i in 0..2 {
                velocity[i] = momentum * velocity[i] - learning_rate * grad[i];
                expected[i] += velocity[i];
            }
        }
        assert_close(&w, &expected, 1e-15, "weights");
        // Slots 0 to 2 were never updated, so they have no velocity.
        assert!(sgd.velocities[..3].iter().all(Option::is_none));
    }

    #[test]
    fn adam_three_steps_by_hand() {
        let (learning_rate, beta_1, beta_2, epsilon) = (0.01, 0.8, 0.95, 1e-3);
        let mut adam = Adam::new(learning_rate)
            .beta_1(beta_1)
            .beta_2(beta_2)
            .epsilon(epsilon);
        let mut w = [0.5f64, -1.0, 2.0];
        // The third element always has a zero gradient, so it must not move.
        let grads = [[0.3, -0.2, 0.0], [0.1, 0.4, 0.0], [-0.5, 0.2, 0.0]];

        // The textbook form with bias-corrected moments, which equals Keras's form when ε is
        // scaled by √(1 − β2^t).
        let mut expected = w;
        let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
        for (t, grad) in grads.iter().enumerate() {
            adam.begin_step();
            adam.update(0, &mut w, grad);

            let t = (t + 1) as i32;
            for i in 0..3 {
                m[i] = beta_1 * m[i] + (1.0 - beta_1) * grad[i];
                v[i] = beta_2 * v[i] + (1.0 - beta_2) * grad[i] * grad[i];
                let m_hat = m[i] / (1.0 - beta_1.powi(t));
                let v_hat = v[i] / (1.0 - beta_2.powi(t));
                let epsilon_hat = epsilon / (1.0 - beta_2.powi(t)).sqrt();
                expected[i] -= learning_rate * m_hat / (v_hat.sqrt() + epsilon_hat);
            }
        }
        assert_close(&w, &expected, 1e-14, "weights");
        assert_eq!(
            w[2], 2.0,
            "a zero gradient leaves the weight exactly unchanged"
        );
    }

    #[test]
    fn adam_first_step_moves_by_learning_rate() {
        let mut adam = Adam::<f32>::default();
        let mut w = [1.0f32, 1.0, 1.0];
        adam.begin_step();
        adam.update(0, &mut w, &[2.0, -0.5, 0.0]);
        // On step 1, α·m / √v equals lr·sign(g), so each weight moves by the learning rate,
        // up to the effect of ε.
        assert_close(&w.map(f64::from), &[0.999, 1.001, 1.0], 1e-6, "weights");
    }

    #[test]
    fn adam_state_only_for_updated_slots() {
        let mut adam = Adam::<f64>::new(0.01);
        let mut w = vec![1.0; 4];
        let grad = vec![0.5; 4];
        adam.begin_step();
        adam.update(2, &mut w, &grad);
        assert!(adam.moments[0].is_none(), "slot 0 has state");
        assert!(adam.moments[1].is_none(), "slot 1 has state");

        // Later steps reuse the slot's buffers.
        let Some(moments) = &adam.moments[2] else {
            panic!("slot 2 has no state")
        };
        let buffers = (moments.first.as_ptr(), moments.second.as_ptr());
        for _ in 0..2 {
            adam.begin_step();
            adam.update(2, &mut w, &grad);
        }
        let Some(moments) = &adam.moments[2] else {
            panic!("slot 2 lost its state")
        };
        assert_eq!((moments.first.as_ptr(), moments.second.as_ptr()), buffers);
        assert_eq!(adam.moments.len(), 3);
    }

    #[test]
    fn learning_rate_can_change() {
        let mut adam = Adam::<f32>::new(0.01);
        assert_eq!(Optimizer::<f32>::learning_rate(&adam), 0.01);
        adam.set_learning_rate(0.5);
        assert_eq!(adam.learning_rate(), 0.5);

        let mut sgd = Sgd::<f32>::new(0.1);
        assert_eq!(sgd.learning_rate(), 0.1);
        sgd.set_learning_rate(0.2);
        let mut w = [1.0f32];
        sgd.update(0, &mut w, &[1.0]);
        assert_eq!(w, [0.8]);
    }

    /// Takes any `f32` optimizer, as a training loop on an `f32` model does.
    fn train_f32(mut optimizer: impl Optimizer<f32>) -> f32 {
        let mut w = [1.0f32];
        optimizer.begin_step();
        optimizer.update(0, &mut w, &[1.0]);
        w[0]
    }

    #[test]
    fn constructors_infer_scalar_type() {
        assert!(train_f32(Adam::new(0.01)) < 1.0);
        assert!(train_f32(Adam::default()) < 1.0);
        assert!(train_f32(Adam::new(0.01).beta_1(0.8).beta_2(0.99).epsilon(1e-6)) < 1.0);
        assert!(train_f32(Sgd::new(0.1)) < 1.0);
        assert!(train_f32(Sgd::new(0.1).momentum(0.9)) < 1.0);
    }

    #[test]
    fn validate_rejects_invalid_hyperparameters() {
        assert!(Adam::<f32>::default().validate().is_ok());
        assert!(Sgd::<f32>::new(0.1).momentum(1.0).validate().is_ok());

        let invalid_option = |result: Result<(), Error>| match result {
            Err(Error::InvalidOption { option, .. }) => option,
            other => panic!("expected InvalidOption, got {other:?}"),
        };
        assert_eq!(
            invalid_option(Adam::<f32>::new(-0.1).validate()),
            "learning_rate"
        );
        assert_eq!(
            invalid_option(Adam::<f32>::new(f64::NAN).validate()),
            "learning_rate"
        );
        assert_eq!(
            invalid_option(Adam::<f32>::default().beta_1(1.0).validate()),
            "beta_1"
        );
        assert_eq!(
            invalid_option(Adam::<f32>::default().beta_2(-0.1).validate()),
            "beta_2"
        );
        assert_eq!(
            invalid_option(Adam::<f32>::default().epsilon(0.0).validate()),
            "epsilon"
        );
        assert_eq!(
            invalid_option(Sgd::<f32>::new(0.1).momentum(1.5).validate()),
            "momentum"
        );
        assert_eq!(
            invalid_option(Sgd::<f32>::new(f64::INFINITY).validate()),
            "learning_rate"
        );
    }

    #[test]
    fn adam_state_round_trip() {
        let mut adam = Adam::<f64>::new(0.01).beta_1(0.8);
        let mut w = [1.0, -2.0];
        for grad in [[0.5, -0.25], [0.125, 1.0]] {
            adam.begin_step();
            adam.update(1, &mut w, &grad);
        }
        let state = adam.export_state().unwrap();
        assert_eq!(state.kind, "adam");
        assert_eq!(state.step, 2);
        assert_eq!(state.hyperparameters["beta_1"], 0.8);
        assert_eq!(state.slots.keys().copied().collect::<Vec<_>>(), [1]);

        // The restored optimizer takes the same next step as the original.
        let mut restored = Adam::<f64>::new(0.5);
        restored.import_state(state).unwrap();
        let mut restored_w = w;
        for (optimizer, weights) in [(&mut adam, &mut w), (&mut restored, &mut restored_w)] {
            optimizer.begin_step();
            optimizer.update(1, weights, &[0.75, -0.5]);
        }
        assert_eq!(restored_w.map(f64::to_bits), w.map(f64::to_bits));
    }

    #[test]
    fn sgd_state_round_trip() {
        let mut sgd = Sgd::<f32>::new(0.1).momentum(0.9);
        let mut w = [1.0f32];
        sgd.update(0, &mut w, &[2.0]);
        let state = sgd.export_state().unwrap();
        assert_eq!(state.slots[&0]["velocity"], [-0.2f32]);

        let mut restored = Sgd::<f32>::new(0.3);
        restored.import_state(state).unwrap();
        let mut restored_w = w;
        sgd.update(0, &mut w, &[1.0]);
        restored.update(0, &mut restored_w, &[1.0]);
        assert_eq!(restored_w, w);
    }

    #[test]
    fn import_rejects_bad_state_unchanged() {
        let mut sgd = Sgd::<f32>::new(0.1).momentum(0.5);
        sgd.update(0, &mut [1.0], &[1.0]);
        let adam_state = Adam::<f32>::new(0.01).export_state().unwrap();

        let mut missing = sgd.export_state().unwrap();
        missing.hyperparameters.remove("momentum");
        let mut unknown_buffer = sgd.export_state().unwrap();
        unknown_buffer.slots.entry(0).or_default().insert("m".to_owned(), vec![0.0]);
        let mut invalid = sgd.export_state().unwrap();
        invalid.hyperparameters.insert("momentum".to_owned(), 2.0);

        let cases = [
            (adam_state, "the state of the optimizer `adam`"),
            (missing, "lacks the hyperparameter `momentum`"),
            (unknown_buffer, "unknown buffer `m`"),
            (invalid, "momentum: must be in [0, 1], got 2"),
        ];
        for (state, expected) in cases {
            let mut target = sgd.clone();
            let error = target.import_state(state).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
            assert_eq!(target.export_state().unwrap(), sgd.export_state().unwrap(), "after: {error}");
        }
    }

    #[test]
    #[should_panic(expected = "the gradient has 1 elements but the tensor has 2")]
    fn mismatched_gradient_panics() {
        let mut adam = Adam::<f64>::default();
        adam.begin_step();
        adam.update(0, &mut [1.0, 2.0], &[1.0]);
    }

    /// Loads a Keras reference case, or prints why it is skipped and returns `None`.
    fn load_fixture(name: &str) -> Option<Value> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/keras")
            .join(name);
        if !path.exists() {
            println!("skipped: Keras fixture {} not found", path.display());
            return None;
        }
        let text = std::fs::read_to_string(&path).expect("fixture is readable");
        Some(serde_json::from_str(&text).expect("fixture is valid JSON"))
    }

    fn array_values(array: &Value) -> Vec<f32> {
        let values = array["values"].as_array().expect("array has values");
        values
            .iter()
            .map(|v| v.as_f64().expect("value is a number") as f32)
            .collect()
    }

    fn number(value: &Value) -> f64 {
        value.as_f64().expect("hyperparameter is a number")
    }

    /// Replays Keras's first Adam step from the initial weights and Keras's gradients.
    ///
    /// Frozen weights get no gradient and must come out unchanged. Where Keras's sparse
    /// Embedding gradients make `Model.fit` differ from a dense update, the case also stores
    /// the step taken with dense gradients, and that one is compared.
    fn check_first_adam_step(case: &str) {
        let Some(fixture) = load_fixture(case) else {
            return;
        };
        let steps = match fixture.get("after_steps_dense_gradients") {
            Some(dense) => dense,
            None => &fixture["after_steps"],
        };
        let config = &steps["optimizer"];
        assert_eq!(config["class"], "Adam", "{case}");
        let mut adam = Adam::<f32>::new(number(&config["learning_rate"]))
            .beta_1(number(&config["beta_1"]))
            .beta_2(number(&config["beta_2"]))
            .epsilon(number(&config["epsilon"]));

        let gradients = fixture["gradients"].as_array().expect("gradients list");
        let expected = steps["weights_after_1_step"]
            .as_array()
            .expect("weights after 1 step");
        adam.begin_step();
        for (slot, initial) in fixture["weights_initial"]
            .as_array()
            .expect("initial weights")
            .iter()
            .enumerate()
        {
            let name = initial["name"].as_str().expect("weight name");
            let mut weights = array_values(initial);
            if let Some(gradient) = gradients.iter().find(|g| g["name"] == name) {
                adam.update(slot, &mut weights, &array_values(gradient));
            }
            let after = expected
                .iter()
                .find(|w| w["name"] == name)
                .expect("weight after 1 step");
            let actual: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
            let keras: Vec<f64> = array_values(after).iter().map(|&w| f64::from(w)).collect();
            // The update repeats Keras's float32 operations in order. With glibc 2.36 on x86-64
            // every weight matches bit for bit. The tolerance of 1e-6 (about 8 float32 ulps at 1)
            // leaves room for a `powf` that rounds differently.
            assert_close(&actual, &keras, 1e-6, &format!("{case} {name}"));
        }
    }

    #[test]
    fn keras_adam_first_step() {
        for case in [
            "dense_linear_mae.json",
            "mlp_relu_mse.json",
            "shared_embedding_subtract.json",
            "shared_dense_twice.json",
            "two_heads_reg_class.json",
            "frozen_middle.json",
            "embedding_seq_flatten.json",
        ] {
            check_first_adam_step(case);
        }
    }
}
