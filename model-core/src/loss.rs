//! Losses: mean absolute error, mean squared error, binary and categorical cross-entropy, and
//! the from-logits forms of both cross-entropies.
//!
//! Every loss reduces a batch as Keras 3 does with its default `sum_over_batch_size`
//! reduction: a row's loss is first reduced over the output's features, then the rows are
//! averaged over the batch. An empty batch has loss 0, because Keras divides with
//! `divide_no_nan`. Losses are computed and accumulated in `f64` whatever the scalar type of
//! the model, and gradients are rounded to that type when they are written.

use crate::Real;

/// The activation that ends a head, when the head ends in a Dense layer with a squashing
/// activation. Cross-entropies use it to work from the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Squash {
    /// The head has no sigmoid or softmax of its own.
    None,
    /// The head is `sigmoid(logits)`.
    Sigmoid,
    /// The head is `softmax(logits)` over its width.
    Softmax,
}

/// One output of a model on one batch, as a loss receives it.
///
/// Matrices are stored sample by sample: the values of sample `r` are
/// `values[r * width..(r + 1) * width]`.
#[derive(Clone, Copy, Debug)]
pub struct HeadOutput<'a, T> {
    /// The output values (after the activation).
    pub values: &'a [T],
    /// The pre-activation values, when `squash` is not [`Squash::None`].
    pub logits: Option<&'a [T]>,
    /// The activation between `logits` and `values`.
    pub squash: Squash,
    /// Features per sample.
    pub width: usize,
}

/// What a loss gradient was taken with respect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientOf {
    /// The output values.
    Values,
    /// The logits before the head's sigmoid or softmax.
    Logits,
}

/// A loss function for one output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loss",
    label = "give one loss per output: a single loss, or a tuple such as `(MeanAbsoluteError, BinaryCrossentropy)` for several",
    note = "`compile` takes the losses as a tuple, not as an array or a nested tuple"
)]
pub trait Loss: Send + Sync {
    /// The outputs this loss can train, which `compile` checks at compile time:
    /// [`AnyOutput`], [`Probabilities`], [`ClassProbabilities`], [`Logits`] or
    /// [`ClassLogits`]. A loss of your own that reads values as they are takes [`AnyOutput`].
    type Outputs: crate::checks::OutputRule;

    /// Returns the short name used in progress lines and results, for example `mae`.
    fn name(&self) -> &'static str;

    /// Returns the factor this loss is multiplied by in the total loss. 1 unless set with
    /// [`Loss::weighted`].
    fn weight(&self) -> f64 {
        1.0
    }

    /// Computes the unweighted loss, averaged over the batch as Keras does.
    ///
    /// When `grad` is given, writes into it the gradient of `weight() × loss` with respect to
    /// the values or to the logits, as the returned [`GradientOf`] states. `targets` and
    /// `grad` have the layout of `head.values`.
    ///
    /// # Panics
    ///
    /// Panics when the slices break the layout contract: `head.values.len()` is not a
    /// multiple of a nonzero `head.width`, or `targets`, `grad` or `head.logits` has a length
    /// other than `head.values.len()`. The model builds these slices, so a panic here is a
    /// bug in the caller, never a property of the data.
    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf);

    /// Returns whether `evaluate` reports accuracy for an output trained with this loss: true for the
    /// cross-entropies.
    fn reports_accuracy(&self) -> bool {
        false
    }

    /// Wraps this loss so that it counts `weight` times in the total loss.
    fn weighted(self, weight: f64) -> Weighted<Self>
    where
        Self: Sized,
    {
        Weighted { loss: self, weight }
    }
}

/// The [`Loss::Outputs`] of a loss that fits any output, such as mean absolute error.
#[derive(Clone, Copy, Debug)]
pub struct AnyOutput;

/// The [`Loss::Outputs`] of binary cross-entropy: an output of probabilities. That is the
/// output of a sigmoid or softmax `Dense`, a Flatten, Concatenate or Multiply of such outputs
/// only, or the output of another model whose output is such a value. A Dropout of
/// probabilities is not, because training scales the kept values above 1.
#[derive(Clone, Copy, Debug)]
pub struct Probabilities;

/// The [`Loss::Outputs`] of categorical cross-entropy: an output of probabilities with one
/// unit per class. The softmax of a single value is always 1, so `compile` rejects an output
/// of width 1.
#[derive(Clone, Copy, Debug)]
pub struct ClassProbabilities;

/// The [`Loss::Outputs`] of binary cross-entropy from logits: an output that no sigmoid or
/// softmax reaches, because the loss applies the sigmoid itself.
#[derive(Clone, Copy, Debug)]
pub struct Logits;

/// The [`Loss::Outputs`] of categorical cross-entropy from logits: an output with one unit
/// per class that does not end in a sigmoid or softmax, because the loss applies the softmax
/// itself.
#[derive(Clone, Copy, Debug)]
pub struct ClassLogits;

/// A loss with a weight in the total loss. Made by [`Loss::weighted`].
///
/// [`Loss::compute`] still returns the unweighted loss, as Keras logs it, and scales only the
/// gradient by the weight.
#[derive(Clone, Copy, Debug)]
pub struct Weighted<L> {
    loss: L,
    weight: f64,
}

/// Mean absolute error, `mean(|prediction − target|)`.
///
/// The derivative of `|d|` at `d = 0` is taken as 0, as TensorFlow does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanAbsoluteError;

/// Mean squared error, `mean((prediction − target)²)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredError;

/// Binary cross-entropy, averaged over the output's features.
///
/// On a head that ends in a sigmoid and provides its logits `z`, each element's loss is
/// `max(z, 0) − z·y + ln(1 + exp(−|z|))`, which stays finite and accurate for any `z`, and
/// the gradient `sigmoid(z) − y` is taken with respect to the logits. Otherwise the values are
/// probabilities `p`, clipped to `[1e-7, 1 − 1e-7]`, and the loss is
/// `−(y·ln p + (1 − y)·ln(1 − p))`. A value outside the clip bounds gets a gradient of 0.
/// Keras 3 with the TensorFlow backend makes the same choices.
///
/// `compile` accepts it only for an output of probabilities (see [`Probabilities`]). For a
/// linear output, use [`BinaryCrossentropy::from_logits`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossentropy;

/// Categorical cross-entropy, summed over the classes of a row.
///
/// On a head that ends in a softmax and provides its logits `z`, a row's loss is
/// `−Σ y·log_softmax(z)`, and the gradient is taken with respect to the logits. Otherwise each
/// row of values is first divided by its sum, then clipped to `[1e-7, 1 − 1e-7]`, and the
/// loss is `−Σ y·ln p`. A clipped class passes no gradient through its own probability, but
/// its value still gets a gradient through the row sum. Keras 3 with the TensorFlow backend
/// makes the same choices.
///
/// `compile` accepts it only for an output of probabilities with one unit per class (see
/// [`ClassProbabilities`]). For a linear output, use [`CategoricalCrossentropy::from_logits`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategoricalCrossentropy;

/// A cross-entropy that reads a head's values as logits, as Keras's `from_logits=True` does.
/// Made by [`BinaryCrossentropy::from_logits`] and [`CategoricalCrossentropy::from_logits`].
///
/// It is meant for a head without a squashing activation, such as a linear `Dense`, which is
/// cheaper than a sigmoid or softmax head and needs no clipping. The gradient is taken with
/// respect to the values, so it flows back through the head's own activation, if it has one.
/// On a head that ends in a sigmoid or softmax the values are already probabilities, and
/// reading them as logits would apply the squash a second time, so `compile` rejects that
/// head. Keras 3 accepts it and only prints a warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FromLogits<L> {
    loss: L,
}

impl BinaryCrossentropy {
    /// Returns the binary cross-entropy of `sigmoid(values)`, for a head whose values are
    /// logits.
    ///
    /// Each element's loss is `max(z, 0) − z·y + ln(1 + exp(−|z|))`, finite for every finite
    /// logit `z`, and its gradient is `sigmoid(z) − y`. The result is averaged over the
    /// output's features and the batch, as [`BinaryCrossentropy`] is.
    ///
    /// NOTE: `evaluate` and `fit` report no accuracy for this loss, because the accuracy
    /// metric thresholds the values at 0.5, the probability threshold, while a logit's
    /// threshold is 0.
    #[must_use]
    pub const fn from_logits() -> FromLogits<BinaryCrossentropy> {
        FromLogits { loss: BinaryCrossentropy }
    }
}

impl CategoricalCrossentropy {
    /// Returns the categorical cross-entropy of `softmax(values)`, for a head whose values
    /// are logits.
    ///
    /// A row's loss is `−Σ y·log_softmax(z)`, computed after subtracting the row's maximum so
    /// that no exponential overflows, and its gradient is `softmax(z)·Σy − y`. Accuracy is
    /// reported as for [`CategoricalCrossentropy`], because the largest logit is also the
    /// largest probability.
    #[must_use]
    pub const fn from_logits() -> FromLogits<CategoricalCrossentropy> {
        FromLogits { loss: CategoricalCrossentropy }
    }
}

impl<L: Loss> Loss for Weighted<L> {
    type Outputs = L::Outputs;

    fn reports_accuracy(&self) -> bool {
        self.loss.reports_accuracy()
    }

    fn name(&self) -> &'static str {
        self.loss.name()
    }

    /// Returns the weight given to [`Loss::weighted`]. When the wrapped loss is itself
    /// weighted, the two weights multiply.
    fn weight(&self) -> f64 {
        self.weight * self.loss.weight()
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        let Some(grad) = grad else {
            return self.loss.compute(head, targets, None);
        };

        // The wrapped loss writes the gradient of `self.loss.weight() × loss`, so one more
        // factor gives the gradient of `self.weight() × loss`.
        let result = self.loss.compute(head, targets, Some(&mut *grad));
        let factor = <T as Real>::from_f64(self.weight);
        for g in grad.iter_mut() {
            *g *= factor;
        }
        result
    }
}

impl Loss for MeanAbsoluteError {
    type Outputs = AnyOutput;

    fn name(&self) -> &'static str {
        "mae"
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        check_layout(head, targets, grad.as_deref());
        let loss = mean_over_elements(head.values, targets, grad, self.weight(), |p, y| {
            let residual = p - y;
            (residual.abs(), sign(residual))
        });
        (loss, GradientOf::Values)
    }
}

impl Loss for MeanSquaredError {
    type Outputs = AnyOutput;

    fn name(&self) -> &'static str {
        "mse"
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        check_layout(head, targets, grad.as_deref());
        let loss = mean_over_elements(head.values, targets, grad, self.weight(), |p, y| {
            let residual = p - y;
            (residual * residual, 2.0 * residual)
        });
        (loss, GradientOf::Values)
    }
}

impl Loss for BinaryCrossentropy {
    type Outputs = Probabilities;

    fn reports_accuracy(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "bce"
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        check_layout(head, targets, grad.as_deref());

        if let (Some(logits), Squash::Sigmoid) = (head.logits, head.squash) {
            let loss = binary_crossentropy_of_logits(logits, targets, grad, self.weight());
            return (loss, GradientOf::Logits);
        }

        let (low, high) = probability_bounds::<T>();
        let loss = mean_over_elements(head.values, targets, grad, self.weight(), |p, y| {
            let clipped = clip(p, low, high);
            let loss = -(y * clipped.ln() + (1.0 - y) * (1.0 - clipped).ln());
            // Like TensorFlow's `clip_by_value`, the clip passes the gradient on and inside the
            // bounds and blocks it outside.
            let derivative = if p < low || p > high {
                0.0
            } else {
                (clipped - y) / (clipped * (1.0 - clipped))
            };
            (loss, derivative)
        });
        (loss, GradientOf::Values)
    }
}

impl Loss for CategoricalCrossentropy {
    type Outputs = ClassProbabilities;

    fn reports_accuracy(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "cce"
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        let rows = check_layout(head, targets, grad.as_deref());
        if rows == 0 {
            let of = match (head.logits, head.squash) {
                (Some(_), Squash::Softmax) => GradientOf::Logits,
                _ => GradientOf::Values,
            };
            return (0.0, of);
        }

        if let (Some(logits), Squash::Softmax) = (head.logits, head.squash) {
            let loss = categorical_crossentropy_of_logits(
                logits,
                targets,
                head.width,
                grad,
                self.weight(),
            );
            return (loss, GradientOf::Logits);
        }

        // Each row's loss is a sum over classes, so only the batch average scales the gradient.
        let scale = self.weight() / rows as f64;
        let width = head.width;
        let mut grad = grad;
        let mut total = 0.0;
        for r in 0..rows {
            let span = r * width..(r + 1) * width;
            let row_grad = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
            total += normalized_crossentropy_row(
                &head.values[span.clone()],
                &targets[span],
                row_grad,
                scale,
            );
        }
        (total / rows as f64, GradientOf::Values)
    }
}

impl Loss for FromLogits<BinaryCrossentropy> {
    type Outputs = Logits;

    fn name(&self) -> &'static str {
        self.loss.name()
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        check_layout(head, targets, grad.as_deref());
        let loss = binary_crossentropy_of_logits(head.values, targets, grad, self.weight());
        (loss, GradientOf::Values)
    }
}

impl Loss for FromLogits<CategoricalCrossentropy> {
    type Outputs = ClassLogits;

    fn reports_accuracy(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        self.loss.name()
    }

    fn compute<T: Real>(
        &self,
        head: &HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, GradientOf) {
        check_layout(head, targets, grad.as_deref());
        let loss = categorical_crossentropy_of_logits(
            head.values,
            targets,
            head.width,
            grad,
            self.weight(),
        );
        (loss, GradientOf::Values)
    }
}

/// Computes the binary cross-entropy of `sigmoid(logits)`, averaged over all elements, and
/// writes `weight × ∂loss/∂logits` into `grad`.
fn binary_crossentropy_of_logits<T: Real>(
    logits: &[T],
    targets: &[T],
    grad: Option<&mut [T]>,
    weight: f64,
) -> f64 {
    mean_over_elements(logits, targets, grad, weight, |z, y| {
        // One exponential serves both the loss and the sigmoid: with e = exp(−|z|),
        // sigmoid(z) is 1 / (1 + e) for z ≥ 0 and e / (1 + e) otherwise.
        let e = (-z.abs()).exp();
        let loss = z.max(0.0) - z * y + e.ln_1p();
        let probability = if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
        (loss, probability - y)
    })
}

/// Computes the categorical cross-entropy of the row-wise softmax of `logits`, averaged over
/// the rows, and writes `weight × ∂loss/∂logits` into `grad`. The layout is checked by the
/// caller.
fn categorical_crossentropy_of_logits<T: Real>(
    logits: &[T],
    targets: &[T],
    width: usize,
    mut grad: Option<&mut [T]>,
    weight: f64,
) -> f64 {
    if logits.is_empty() {
        return 0.0;
    }
    let rows = logits.len() / width;
    // Each row's loss is a sum over classes, so only the batch average scales the gradient.
    let scale = weight / rows as f64;
    let mut total = 0.0;
    for r in 0..rows {
        let span = r * width..(r + 1) * width;
        let row_grad = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
        total += softmax_crossentropy_row(&logits[span.clone()], &targets[span], row_grad, scale);
    }
    total / rows as f64
}

/// Checks the layout contract of [`Loss::compute`] and returns the number of rows.
fn check_layout<T>(head: &HeadOutput<'_, T>, targets: &[T], grad: Option<&[T]>) -> usize {
    let len = head.values.len();
    assert_eq!(
        targets.len(),
        len,
        "loss: targets and values differ in length"
    );
    if let Some(grad) = grad {
        assert_eq!(
            grad.len(),
            len,
            "loss: gradient buffer and values differ in length"
        );
    }
    if let Some(logits) = head.logits {
        assert_eq!(
            logits.len(),
            len,
            "loss: logits and values differ in length"
        );
    }
    if len == 0 {
        return 0;
    }

    assert!(
        head.width > 0,
        "loss: width is 0 but there are {len} values"
    );
    assert!(
        len.is_multiple_of(head.width),
        "loss: {len} values do not form whole rows of width {}",
        head.width
    );
    len / head.width
}

/// Averages an element-wise loss over all elements and returns the mean.
///
/// `element(prediction, target)` returns the element's loss and its derivative with respect
/// to the prediction. When `grad` is given, each element's derivative times
/// `weight / element count` is written to it. Averaging over all elements equals averaging
/// each row over its features and then the rows over the batch, because all rows have the
/// same width.
fn mean_over_elements<T: Real>(
    predictions: &[T],
    targets: &[T],
    grad: Option<&mut [T]>,
    weight: f64,
    element: impl Fn(f64, f64) -> (f64, f64),
) -> f64 {
    if predictions.is_empty() {
        return 0.0;
    }

    let count = predictions.len() as f64;
    let scale = weight / count;
    let mut total = 0.0;
    match grad {
        Some(grad) => {
            for ((g, &p), &y) in grad.iter_mut().zip(predictions).zip(targets) {
                let (loss, derivative) = element(p.to_f64(), y.to_f64());
                total += loss;
                *g = <T as Real>::from_f64(scale * derivative);
            }
        }
        None => {
            for (&p, &y) in predictions.iter().zip(targets) {
                total += element(p.to_f64(), y.to_f64()).0;
            }
        }
    }
    total / count
}

/// Computes `−Σ y·log_softmax(z)` for one row of logits and writes `scale × (softmax(z)·Σy − y)`,
/// its gradient with respect to the logits, into `grad`.
fn softmax_crossentropy_row<T: Real>(
    logits: &[T],
    targets: &[T],
    grad: Option<&mut [T]>,
    scale: f64,
) -> f64 {
    // Subtracting the maximum keeps every `exp` at most 1, so large logits cannot overflow.
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |max, &z| max.max(z.to_f64()));
    let sum_exp: f64 = logits.iter().map(|&z| (z.to_f64() - max).exp()).sum();
    let log_sum_exp = max + sum_exp.ln();

    let mut loss = 0.0;
    let mut target_sum = 0.0;
    for (&z, &y) in logits.iter().zip(targets) {
        let y = y.to_f64();
        loss -= y * (z.to_f64() - log_sum_exp);
        target_sum += y;
    }

    if let Some(grad) = grad {
        for ((g, &z), &y) in grad.iter_mut().zip(logits).zip(targets) {
            let softmax = (z.to_f64() - log_sum_exp).exp();
            *g = <T as Real>::from_f64(scale * (softmax * target_sum - y.to_f64()));
        }
    }
    loss
}

/// Computes `−Σ y·ln q` for one row of values `p`, where `q` is `p / Σp` clipped to the
/// probability bounds, and writes `scale × ∂loss/∂p` into `grad`.
///
/// A clipped class passes no gradient to `q`, but every `p` still reaches the loss through the
/// row sum. A row that sums to 0 gives a NaN loss, which training reports as a non-finite loss.
fn normalized_crossentropy_row<T: Real>(
    values: &[T],
    targets: &[T],
    grad: Option<&mut [T]>,
    scale: f64,
) -> f64 {
    let (low, high) = probability_bounds::<T>();
    let sum: f64 = values.iter().map(|&p| p.to_f64()).sum();

    // `derivative(q, y)` is ∂loss/∂q for one class before the normalization.
    let derivative = |q: f64, y: f64| if q < low || q > high { 0.0 } else { -y / q };

    let mut loss = 0.0;
    let mut weighted_derivatives = 0.0;
    for (&p, &y) in values.iter().zip(targets) {
        let q = p.to_f64() / sum;
        let y = y.to_f64();
        loss -= y * clip(q, low, high).ln();
        weighted_derivatives += derivative(q, y) * q;
    }

    // With q = p / S, ∂q_j/∂p_k = (δ_jk − q_j) / S, so
    // ∂loss/∂p_k = (∂loss/∂q_k − Σ_j ∂loss/∂q_j · q_j) / S.
    if let Some(grad) = grad {
        for ((g, &p), &y) in grad.iter_mut().zip(values).zip(targets) {
            let q = p.to_f64() / sum;
            let d = (derivative(q, y.to_f64()) - weighted_derivatives) / sum;
            *g = <T as Real>::from_f64(scale * d);
        }
    }
    loss
}

/// Returns the bounds that probabilities are clipped to, `[1e-7, 1 − 1e-7]` rounded to `T`
/// as Keras rounds them to the model's float type.
fn probability_bounds<T: Real>() -> (f64, f64) {
    const EPSILON: f64 = 1e-7;
    (
        <T as Real>::from_f64(EPSILON).to_f64(),
        <T as Real>::from_f64(1.0 - EPSILON).to_f64(),
    )
}

/// Limits `x` to `[low, high]`, keeping NaN as NaN so that a broken prediction stays visible.
fn clip(x: f64, low: f64, high: f64) -> f64 {
    if x < low {
        low
    } else if x > high {
        high
    } else {
        x
    }
}

/// Returns the sign of `x` as −1, 0 or 1, and NaN for NaN.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        // 0 for ±0, NaN for NaN.
        x * 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::Value;
    use std::path::PathBuf;

    const STEP: f64 = 1e-6;
    const GRADIENT_RTOL: f64 = 1e-6;
    const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
    const ROWS: usize = 4;

    /// Returns the loss of `values` (with optional logits) as `f64`, without a gradient.
    fn loss_value<L: Loss>(
        loss: &L,
        values: &[f64],
        logits: Option<&[f64]>,
        squash: Squash,
        width: usize,
        targets: &[f64],
    ) -> f64 {
        let head = HeadOutput {
            values,
            logits,
            squash,
            width,
        };
        loss.compute(&head, targets, None).0
    }

    /// Returns the loss, its gradient and what the gradient was taken with respect to.
    fn loss_and_gradient<L: Loss>(
        loss: &L,
        values: &[f64],
        logits: Option<&[f64]>,
        squash: Squash,
        width: usize,
        targets: &[f64],
    ) -> (f64, Vec<f64>, GradientOf) {
        let head = HeadOutput {
            values,
            logits,
            squash,
            width,
        };
        let mut grad = vec![f64::NAN; values.len()];
        let (value, of) = loss.compute(&head, targets, Some(&mut grad));
        (value, grad, of)
    }

    /// Central finite differences of `f` at `x` with the given step.
    fn numeric_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64], step: f64) -> Vec<f64> {
        let mut point = x.to_vec();
        (0..x.len())
            .map(|i| {
                point[i] = x[i] + step;
                let above = f(&point);
                point[i] = x[i] - step;
                let below = f(&point);
                point[i] = x[i];
                (above - below) / (2.0 * step)
            })
            .collect()
    }

    /// Asserts `|actual − expected| ≤ rtol · max(|expected|, floor)` element by element.
    fn assert_close(actual: &[f64], expected: &[f64], rtol: f64, floor: f64, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            let tolerance = rtol * e.abs().max(floor);
            assert!(
                (a - e).abs() <= tolerance,
                "{what}[{i}]: got {a}, expected {e} (tolerance {tolerance})"
            );
        }
    }

    fn uniform(rng: &mut StdRng, count: usize, low: f64, high: f64) -> Vec<f64> {
        (0..count).map(|_| rng.random_range(low..high)).collect()
    }

    /// Binary targets mixing exact 0 and 1 with soft labels.
    fn binary_targets(rng: &mut StdRng, count: usize) -> Vec<f64> {
        (0..count)
            .map(|i| match i % 3 {
                0 => 0.0,
                1 => 1.0,
                _ => rng.random_range(0.0..1.0),
            })
            .collect()
    }

    /// Categorical targets: one-hot rows alternating with soft rows whose sum is not 1.
    fn categorical_targets(rng: &mut StdRng, rows: usize, width: usize) -> Vec<f64> {
        let mut targets = vec![0.0; rows * width];
        for r in 0..rows {
            let row = &mut targets[r * width..(r + 1) * width];
            if r % 2 == 0 {
                row[rng.random_range(0..width)] = 1.0;
            } else {
                for y in row.iter_mut() {
                    *y = rng.random_range(0.0..1.0);
                }
            }
        }
        targets
    }

    fn sigmoid_all(logits: &[f64]) -> Vec<f64> {
        logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect()
    }

    fn softmax_rows(logits: &[f64], width: usize) -> Vec<f64> {
        let mut values = Vec::with_capacity(logits.len());
        for row in logits.chunks(width) {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|&z| (z - max).exp()).sum();
            values.extend(row.iter().map(|&z| (z - max).exp() / sum));
        }
        values
    }

    /// Checks the gradient with respect to the values against finite differences.
    fn check_values_gradient<L: Loss>(
        loss: &L,
        values: &[f64],
        squash: Squash,
        width: usize,
        targets: &[f64],
        what: &str,
    ) {
        let (_, grad, of) = loss_and_gradient(loss, values, None, squash, width, targets);
        assert_eq!(of, GradientOf::Values, "{what}");
        let numeric = numeric_gradient(
            |v| loss_value(loss, v, None, squash, width, targets),
            values,
            STEP,
        );
        assert_close(&grad, &numeric, GRADIENT_RTOL, 1e-2, what);
    }

    /// Checks the gradient with respect to the logits against finite differences, recomputing
    /// the values through the squash for each perturbed logit.
    fn check_logits_gradient<L: Loss>(
        loss: &L,
        logits: &[f64],
        squash: Squash,
        width: usize,
        targets: &[f64],
        what: &str,
    ) {
        let squash_all = |z: &[f64]| match squash {
            Squash::Sigmoid => sigmoid_all(z),
            Squash::Softmax => softmax_rows(z, width),
            Squash::None => z.to_vec(),
        };
        let values = squash_all(logits);
        let (_, grad, of) = loss_and_gradient(loss, &values, Some(logits), squash, width, targets);
        assert_eq!(of, GradientOf::Logits, "{what}");
        let numeric = numeric_gradient(
            |z| loss_value(loss, &squash_all(z), Some(z), squash, width, targets),
            logits,
            STEP,
        );
        assert_close(&grad, &numeric, GRADIENT_RTOL, 1e-2, what);
    }

    #[test]
    fn mae_and_mse_hand_values() {
        let values = [1.0, 2.0, 3.0, 4.0];
        let targets = [0.0, 2.0, 5.0, 4.0];

        let (mae, mae_grad, _) =
            loss_and_gradient(&MeanAbsoluteError, &values, None, Squash::None, 2, &targets);
        assert_eq!(mae, 0.75);
        // sign(0) is 0, so the exact predictions get no gradient.
        assert_eq!(mae_grad, [0.25, 0.0, -0.25, 0.0]);

        let (mse, mse_grad, _) =
            loss_and_gradient(&MeanSquaredError, &values, None, Squash::None, 2, &targets);
        assert_eq!(mse, 1.25);
        assert_eq!(mse_grad, [0.5, 0.0, -1.0, 0.0]);
    }

    #[test]
    fn names() {
        assert_eq!(MeanAbsoluteError.name(), "mae");
        assert_eq!(MeanSquaredError.name(), "mse");
        assert_eq!(BinaryCrossentropy.name(), "bce");
        assert_eq!(CategoricalCrossentropy.name(), "cce");
        assert_eq!(MeanSquaredError.weighted(0.5).name(), "mse");
    }

    #[test]
    fn mae_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = uniform(&mut rng, ROWS * width, -2.0, 2.0);
                let mut values = uniform(&mut rng, ROWS * width, -2.0, 2.0);
                // Keep every residual away from the kink at 0, where finite differences fail.
                for (p, y) in values.iter_mut().zip(&targets) {
                    if (*p - y).abs() < 1e-3 {
                        *p += 0.1;
                    }
                }
                check_values_gradient(
                    &MeanAbsoluteError,
                    &values,
                    Squash::None,
                    width,
                    &targets,
                    &format!("mae seed {seed} width {width}"),
                );
            }
        }
    }

    #[test]
    fn mse_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = uniform(&mut rng, ROWS * width, -2.0, 2.0);
                let values = uniform(&mut rng, ROWS * width, -2.0, 2.0);
                check_values_gradient(
                    &MeanSquaredError,
                    &values,
                    Squash::None,
                    width,
                    &targets,
                    &format!("mse seed {seed} width {width}"),
                );
            }
        }
    }

    #[test]
    fn bce_logits_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = binary_targets(&mut rng, ROWS * width);
                let logits = uniform(&mut rng, ROWS * width, -4.0, 4.0);
                let what = format!("bce logits seed {seed} width {width}");
                check_logits_gradient(
                    &BinaryCrossentropy,
                    &logits,
                    Squash::Sigmoid,
                    width,
                    &targets,
                    &what,
                );
            }
        }
    }

    #[test]
    fn bce_values_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = binary_targets(&mut rng, ROWS * width);
                let values = uniform(&mut rng, ROWS * width, 0.05, 0.95);
                let what = format!("bce values seed {seed} width {width}");
                check_values_gradient(
                    &BinaryCrossentropy,
                    &values,
                    Squash::None,
                    width,
                    &targets,
                    &what,
                );
            }
        }
    }

    #[test]
    fn cce_logits_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = categorical_targets(&mut rng, ROWS, width);
                let logits = uniform(&mut rng, ROWS * width, -3.0, 3.0);
                let what = format!("cce logits seed {seed} width {width}");
                check_logits_gradient(
                    &CategoricalCrossentropy,
                    &logits,
                    Squash::Softmax,
                    width,
                    &targets,
                    &what,
                );
            }
        }
    }

    #[test]
    fn cce_values_gradient_matches_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let targets = categorical_targets(&mut rng, ROWS, width);
                // Rows that do not sum to 1, so the normalization is exercised.
                let values = uniform(&mut rng, ROWS * width, 0.05, 1.0);
                let what = format!("cce values seed {seed} width {width}");
                check_values_gradient(
                    &CategoricalCrossentropy,
                    &values,
                    Squash::None,
                    width,
                    &targets,
                    &what,
                );
            }
        }
    }

    #[test]
    fn cce_values_gradient_with_clipped_class() {
        // Class 0 of row 0 and class 2 of row 1 normalize below 1e-7, so the clip is active
        // there. A step of 1e-8 keeps them clipped on both sides of the difference.
        let values = [0.0, 0.5, 0.7, 0.9, 0.3, 1e-9];
        let targets = [0.3, 0.5, 0.2, 0.0, 0.4, 0.6];
        let (_, grad, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            3,
            &targets,
        );
        let numeric = numeric_gradient(
            |v| loss_value(&CategoricalCrossentropy, v, None, Squash::None, 3, &targets),
            &values,
            1e-8,
        );
        // The smaller step costs precision, so the tolerance is looser.
        assert_close(&grad, &numeric, 1e-5, 1e-2, "cce values with clipped class");
        // A clipped class still gets a gradient through the row sum.
        assert_ne!(grad[0], 0.0, "gradient {grad:?}");
        assert_ne!(grad[5], 0.0, "gradient {grad:?}");
    }

    #[test]
    fn logits_and_values_paths_agree_unclipped() {
        let mut rng = StdRng::seed_from_u64(7);
        let width = 3;

        let targets = binary_targets(&mut rng, ROWS * width);
        let logits = uniform(&mut rng, ROWS * width, -4.0, 4.0);
        let values = sigmoid_all(&logits);
        let from_logits = loss_value(
            &BinaryCrossentropy,
            &values,
            Some(&logits),
            Squash::Sigmoid,
            width,
            &targets,
        );
        let from_values = loss_value(
            &BinaryCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        assert_close(&[from_logits], &[from_values], 1e-12, 1.0, "bce");

        let targets = categorical_targets(&mut rng, ROWS, width);
        let logits = uniform(&mut rng, ROWS * width, -3.0, 3.0);
        let values = softmax_rows(&logits, width);
        let from_logits = loss_value(
            &CategoricalCrossentropy,
            &values,
            Some(&logits),
            Squash::Softmax,
            width,
            &targets,
        );
        let from_values = loss_value(
            &CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        assert_close(&[from_logits], &[from_values], 1e-12, 1.0, "cce");
    }

    #[test]
    fn mismatched_squash_uses_values() {
        let mut rng = StdRng::seed_from_u64(8);
        let width = 3;
        let logits = uniform(&mut rng, ROWS * width, -3.0, 3.0);
        let targets = categorical_targets(&mut rng, ROWS, width);

        // A softmax head under binary cross-entropy, and a sigmoid head under categorical
        // cross-entropy, are both computed from the values.
        let values = softmax_rows(&logits, width);
        let expected = loss_and_gradient(
            &BinaryCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        let actual = loss_and_gradient(
            &BinaryCrossentropy,
            &values,
            Some(&logits),
            Squash::Softmax,
            width,
            &targets,
        );
        assert_eq!(actual, expected);

        let values = sigmoid_all(&logits);
        let expected = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        let actual = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            Some(&logits),
            Squash::Sigmoid,
            width,
            &targets,
        );
        assert_eq!(actual, expected);

        // A sigmoid head without logits falls back to the values too.
        let (_, _, of) = loss_and_gradient(
            &BinaryCrossentropy,
            &values,
            None,
            Squash::Sigmoid,
            width,
            &targets,
        );
        assert_eq!(of, GradientOf::Values);
    }

    /// Checks that `loss.weighted(weight)` keeps the unweighted value and scales the gradient.
    fn check_weighted<L: Loss + Copy>(
        loss: L,
        values: &[f64],
        logits: Option<&[f64]>,
        squash: Squash,
        width: usize,
        targets: &[f64],
    ) {
        let weight = 2.5;
        let (plain_value, plain_grad, plain_of) =
            loss_and_gradient(&loss, values, logits, squash, width, targets);
        let weighted = loss.weighted(weight);
        let (value, grad, of) =
            loss_and_gradient(&weighted, values, logits, squash, width, targets);

        let name = loss.name();
        assert_eq!(weighted.weight(), weight, "{name}: weight");
        assert_eq!(value, plain_value, "{name}: the value stays unweighted");
        assert_eq!(of, plain_of, "{name}: gradient kind");
        let scaled: Vec<f64> = plain_grad.iter().map(|g| g * weight).collect();
        assert_close(&grad, &scaled, 1e-15, 1e-300, name);
    }

    #[test]
    fn weighted_scales_gradient_only() {
        let mut rng = StdRng::seed_from_u64(9);
        let width = 3;
        let targets = uniform(&mut rng, ROWS * width, 0.0, 1.0);
        let values = uniform(&mut rng, ROWS * width, 0.05, 0.95);
        let logits = uniform(&mut rng, ROWS * width, -3.0, 3.0);

        check_weighted(
            MeanAbsoluteError,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        check_weighted(
            MeanSquaredError,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        check_weighted(
            BinaryCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        check_weighted(
            BinaryCrossentropy,
            &sigmoid_all(&logits),
            Some(&logits),
            Squash::Sigmoid,
            width,
            &targets,
        );
        check_weighted(
            CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            width,
            &targets,
        );
        check_weighted(
            CategoricalCrossentropy,
            &softmax_rows(&logits, width),
            Some(&logits),
            Squash::Softmax,
            width,
            &targets,
        );
    }

    #[test]
    fn nested_weights_multiply() {
        let values = [1.0, -1.0];
        let targets = [0.0, 0.0];
        let loss = MeanSquaredError.weighted(2.0).weighted(3.0);
        assert_eq!(loss.weight(), 6.0);

        let (value, grad, _) = loss_and_gradient(&loss, &values, None, Squash::None, 1, &targets);
        assert_eq!(value, 1.0);
        // d/dp of 6 · mean(p²) over 2 rows is 6 · 2p / 2.
        assert_eq!(grad, [6.0, -6.0]);
    }

    #[test]
    fn bce_logits_stable_at_extremes() {
        let logits = [1000.0, 1000.0, -1000.0, -1000.0];
        let targets = [1.0, 0.0, 1.0, 0.0];
        let values = sigmoid_all(&logits);
        let (value, grad, _) = loss_and_gradient(
            &BinaryCrossentropy,
            &values,
            Some(&logits),
            Squash::Sigmoid,
            1,
            &targets,
        );
        assert_eq!(value, 500.0);
        assert_eq!(grad, [0.0, 0.25, -0.25, 0.0]);

        // The same in f32, where exp(1000) overflows.
        let logits32 = logits.map(|z| z as f32);
        let values32 = logits32.map(|z| 1.0 / (1.0 + (-z).exp()));
        let targets32 = targets.map(|y| y as f32);
        let head = HeadOutput {
            values: &values32,
            logits: Some(&logits32),
            squash: Squash::Sigmoid,
            width: 1,
        };
        let mut grad32 = [f32::NAN; 4];
        let (value32, _) = BinaryCrossentropy.compute(&head, &targets32, Some(&mut grad32));
        assert_eq!(value32, 500.0);
        assert_eq!(grad32, [0.0, 0.25, -0.25, 0.0]);
    }

    #[test]
    fn bce_values_finite_at_zero_and_one() {
        let values = [0.0, 0.0, 1.0, 1.0];
        let targets = [1.0, 0.0, 1.0, 0.0];
        let (value, grad, of) = loss_and_gradient(
            &BinaryCrossentropy,
            &values,
            None,
            Squash::None,
            1,
            &targets,
        );
        assert_eq!(of, GradientOf::Values);

        // Two rows are confidently wrong and cost −ln(1e-7) each. The other two cost about 1e-7.
        let expected = 2.0 * -(1e-7f64.ln()) / 4.0;
        assert_close(&[value], &[expected], 1e-6, 1.0, "bce value");
        // Every value is outside the clip bounds, where the clip passes no gradient.
        assert_eq!(grad, [0.0; 4]);
    }

    #[test]
    fn cce_stable_at_extremes() {
        let logits = [1000.0, -1000.0, 0.0, -1000.0, 1000.0, 0.0];
        let targets = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
        let values = softmax_rows(&logits, 3);
        let (value, grad, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            Some(&logits),
            Squash::Softmax,
            3,
            &targets,
        );
        // Row 0 puts the target class 2000 below the maximum, row 1 gets it right.
        assert_eq!(value, 1000.0);
        assert_close(
            &grad,
            &[0.5, -0.5, 0.0, 0.0, 0.0, 0.0],
            1e-12,
            1e-12,
            "cce logits gradient",
        );

        let values = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        let (value, grad, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            3,
            &targets,
        );
        assert!(value.is_finite(), "cce values loss {value}");
        assert!(
            grad.iter().all(|g| g.is_finite()),
            "cce values gradient {grad:?}"
        );
    }

    #[test]
    fn cce_zero_row_gives_nan() {
        let values = [0.0, 0.0];
        let targets = [1.0, 0.0];
        let (value, _, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            None,
            Squash::None,
            2,
            &targets,
        );
        assert!(value.is_nan(), "got {value}");
    }

    #[test]
    fn empty_batch_has_zero_loss() {
        let empty: [f64; 0] = [];
        assert_eq!(
            loss_value(&MeanAbsoluteError, &empty, None, Squash::None, 3, &empty),
            0.0
        );
        assert_eq!(
            loss_value(
                &BinaryCrossentropy,
                &empty,
                Some(&empty),
                Squash::Sigmoid,
                1,
                &empty
            ),
            0.0
        );
        assert_eq!(
            loss_value(
                &CategoricalCrossentropy,
                &empty,
                None,
                Squash::None,
                3,
                &empty
            ),
            0.0
        );
    }

    #[test]
    #[should_panic(expected = "targets and values differ in length")]
    fn mismatched_targets_panic() {
        loss_value(
            &MeanSquaredError,
            &[1.0, 2.0],
            None,
            Squash::None,
            1,
            &[1.0],
        );
    }

    #[test]
    fn f32_matches_f64() {
        let mut rng = StdRng::seed_from_u64(10);
        let width = 3;
        let targets = categorical_targets(&mut rng, ROWS, width);
        let logits = uniform(&mut rng, ROWS * width, -3.0, 3.0);
        let values = softmax_rows(&logits, width);

        let (expected, expected_grad, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &values,
            Some(&logits),
            Squash::Softmax,
            width,
            &targets,
        );

        let to_f32 = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let (values32, logits32, targets32) = (to_f32(&values), to_f32(&logits), to_f32(&targets));
        let head = HeadOutput {
            values: &values32,
            logits: Some(&logits32),
            squash: Squash::Softmax,
            width,
        };
        let mut grad32 = vec![0.0f32; values.len()];
        let (value32, _) = CategoricalCrossentropy.compute(&head, &targets32, Some(&mut grad32));

        assert_close(&[value32], &[expected], 1e-6, 1.0, "cce value");
        let grad: Vec<f64> = grad32.iter().map(|&g| f64::from(g)).collect();
        assert_close(&grad, &expected_grad, 1e-6, 1.0, "cce gradient");
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

    /// The `values` of a fixture array, rounded to `f32` as Keras stored them.
    fn array_values(array: &Value) -> Vec<f32> {
        let values = array["values"].as_array().expect("array has values");
        values
            .iter()
            .map(|v| v.as_f64().expect("value is a number") as f32)
            .collect()
    }

    fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
        let items = list.as_array().expect("list of named arrays");
        items
            .iter()
            .find(|item| item["name"] == name)
            .expect("named array is present")
    }

    /// Keras compares to float32 rounding with `|a − b| ≤ 1e-5 · max(|b|, 1)`.
    fn assert_keras_close(actual: &[f32], expected: &[f32], what: &str) {
        let actual: Vec<f64> = actual.iter().map(|&a| f64::from(a)).collect();
        let expected: Vec<f64> = expected.iter().map(|&e| f64::from(e)).collect();
        assert_close(&actual, &expected, 1e-5, 1.0, what);
    }

    #[test]
    fn keras_per_output_losses() {
        let cases = [
            "dense_linear_mae.json",
            "mlp_relu_mse.json",
            "shared_embedding_subtract.json",
            "shared_dense_twice.json",
            "two_heads_reg_class.json",
            "frozen_middle.json",
            "embedding_seq_flatten.json",
        ];
        for case in cases {
            let Some(fixture) = load_fixture(case) else {
                continue;
            };
            let per_output = fixture["losses"]["per_output"]
                .as_object()
                .expect("per_output is an object");
            for (output, entry) in per_output {
                let values = array_values(&fixture["outputs"][output]);
                let targets = array_values(&fixture["targets"][output]);
                let width = fixture["outputs"][output]["shape"][1]
                    .as_u64()
                    .expect("shape has a width") as usize;
                // The fixtures keep no logits, so the cross-entropy here uses the values path.
                // No probability in them is clipped, so both paths give the same loss.
                let head = HeadOutput {
                    values: &values,
                    logits: None,
                    squash: Squash::None,
                    width,
                };
                let (value, _) = match entry["loss"].as_str() {
                    Some("mean_absolute_error") => MeanAbsoluteError.compute(&head, &targets, None),
                    Some("mean_squared_error") => MeanSquaredError.compute(&head, &targets, None),
                    Some("binary_crossentropy") => {
                        BinaryCrossentropy.compute(&head, &targets, None)
                    }
                    other => panic!("{case}: unexpected loss {other:?}"),
                };
                let expected = entry["value"].as_f64().expect("loss value") as f32;
                assert_keras_close(&[value as f32], &[expected], &format!("{case} {output}"));
            }
        }
    }

    #[test]
    fn keras_mae_gradient_dense_linear() {
        let Some(fixture) = load_fixture("dense_linear_mae.json") else {
            return;
        };
        let x = array_values(&fixture["inputs"]["x"]);
        let outputs = array_values(&fixture["outputs"]["dense"]);
        let targets = array_values(&fixture["targets"]["dense"]);

        let head = HeadOutput {
            values: &outputs,
            logits: None,
            squash: Squash::None,
            width: 1,
        };
        let mut grad = vec![0.0f32; outputs.len()];
        MeanAbsoluteError.compute(&head, &targets, Some(&mut grad));

        // The output is x · kernel + bias, so the chain rule sums over the rows.
        let kernel: f32 = grad.iter().zip(&x).map(|(g, x)| g * x).sum();
        let bias: f32 = grad.iter().sum();
        let gradients = &fixture["gradients"];
        assert_keras_close(
            &[kernel],
            &array_values(named(gradients, "dense/kernel")),
            "kernel gradient",
        );
        assert_keras_close(
            &[bias],
            &array_values(named(gradients, "dense/bias")),
            "bias gradient",
        );
    }

    #[test]
    fn keras_two_heads_weighted_bce() {
        let Some(fixture) = load_fixture("two_heads_reg_class.json") else {
            return;
        };
        let x = array_values(&fixture["inputs"]["x"]);
        let score_kernel = array_values(named(&fixture["weights_initial"], "score_diff/kernel"));
        let win_kernel = array_values(named(&fixture["weights_initial"], "win/kernel"))[0];
        let score_targets = array_values(&fixture["targets"]["score_diff"]);
        let win_targets = array_values(&fixture["targets"]["win"]);

        // Forward pass: score = x · score_kernel, then win = sigmoid(score · win_kernel).
        let score: Vec<f32> = x
            .chunks(2)
            .map(|row| row[0] * score_kernel[0] + row[1] * score_kernel[1])
            .collect();
        let logits: Vec<f32> = score.iter().map(|s| s * win_kernel).collect();
        let win: Vec<f32> = logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect();
        assert_keras_close(
            &win,
            &array_values(&fixture["outputs"]["win"]),
            "win output",
        );

        let score_head = HeadOutput {
            values: &score,
            logits: None,
            squash: Squash::None,
            width: 1,
        };
        let mut score_grad = vec![0.0f32; score.len()];
        let (score_loss, _) =
            MeanAbsoluteError.compute(&score_head, &score_targets, Some(&mut score_grad));

        let win_head = HeadOutput {
            values: &win,
            logits: Some(&logits),
            squash: Squash::Sigmoid,
            width: 1,
        };
        let mut logit_grad = vec![0.0f32; win.len()];
        let (win_loss, of) = BinaryCrossentropy.weighted(0.5).compute(
            &win_head,
            &win_targets,
            Some(&mut logit_grad),
        );
        assert_eq!(of, GradientOf::Logits);

        let per_output = &fixture["losses"]["per_output"];
        let expected_score_loss = per_output["score_diff"]["value"]
            .as_f64()
            .expect("loss value") as f32;
        let expected_win_loss = per_output["win"]["value"].as_f64().expect("loss value") as f32;
        assert_keras_close(
            &[score_loss as f32],
            &[expected_score_loss],
            "score_diff loss",
        );
        assert_keras_close(
            &[win_loss as f32],
            &[expected_win_loss],
            "win loss, unweighted",
        );

        // Backward pass through both heads: the win head reads the score output.
        let win_kernel_grad: f32 = logit_grad.iter().zip(&score).map(|(g, s)| g * s).sum();
        let mut score_kernel_grad = [0.0f32; 2];
        for (r, row) in x.chunks(2).enumerate() {
            let total = score_grad[r] + logit_grad[r] * win_kernel;
            score_kernel_grad[0] += total * row[0];
            score_kernel_grad[1] += total * row[1];
        }
        let gradients = &fixture["gradients"];
        assert_keras_close(
            &[win_kernel_grad],
            &array_values(named(gradients, "win/kernel")),
            "win/kernel gradient",
        );
        assert_keras_close(
            &score_kernel_grad,
            &array_values(named(gradients, "score_diff/kernel")),
            "score_diff/kernel gradient",
        );
    }
    #[test]
    fn from_logits_gradients_match_finite_differences() {
        for seed in SEEDS {
            for width in [1, 3] {
                let mut rng = StdRng::seed_from_u64(seed);
                let logits = uniform(&mut rng, ROWS * width, -4.0, 4.0);
                let binary = binary_targets(&mut rng, ROWS * width);
                check_values_gradient(
                    &BinaryCrossentropy::from_logits(),
                    &logits,
                    Squash::None,
                    width,
                    &binary,
                    &format!("bce from logits seed {seed} width {width}"),
                );
                check_weighted(
                    BinaryCrossentropy::from_logits(),
                    &logits,
                    None,
                    Squash::None,
                    width,
                    &binary,
                );

                let categorical = categorical_targets(&mut rng, ROWS, width);
                check_values_gradient(
                    &CategoricalCrossentropy::from_logits(),
                    &logits,
                    Squash::None,
                    width,
                    &categorical,
                    &format!("cce from logits seed {seed} width {width}"),
                );
                check_weighted(
                    CategoricalCrossentropy::from_logits(),
                    &logits,
                    None,
                    Squash::None,
                    width,
                    &categorical,
                );
            }
        }
    }

    #[test]
    fn from_logits_matches_squashed_heads() {
        let mut rng = StdRng::seed_from_u64(21);
        let width = 3;
        let logits = uniform(&mut rng, ROWS * width, -5.0, 5.0);

        let binary = binary_targets(&mut rng, ROWS * width);
        let (expected, expected_grad, _) = loss_and_gradient(
            &BinaryCrossentropy,
            &sigmoid_all(&logits),
            Some(&logits),
            Squash::Sigmoid,
            width,
            &binary,
        );
        let (value, grad, of) = loss_and_gradient(
            &BinaryCrossentropy::from_logits(),
            &logits,
            None,
            Squash::None,
            width,
            &binary,
        );
        assert_eq!(of, GradientOf::Values);
        assert_eq!(value, expected);
        assert_eq!(grad, expected_grad);

        let categorical = categorical_targets(&mut rng, ROWS, width);
        let (expected, expected_grad, _) = loss_and_gradient(
            &CategoricalCrossentropy,
            &softmax_rows(&logits, width),
            Some(&logits),
            Squash::Softmax,
            width,
            &categorical,
        );
        let (value, grad, of) = loss_and_gradient(
            &CategoricalCrossentropy::from_logits(),
            &logits,
            None,
            Squash::None,
            width,
            &categorical,
        );
        assert_eq!(of, GradientOf::Values);
        assert_eq!(value, expected);
        assert_eq!(grad, expected_grad);
    }

    #[test]
    fn from_logits_finite_at_extreme_logits() {
        let logits = [1000.0_f32, 1000.0, -1000.0, -1000.0];
        let targets = [1.0_f32, 0.0, 1.0, 0.0];
        let head = HeadOutput {
            values: &logits,
            logits: None,
            squash: Squash::None,
            width: 1,
        };
        let mut grad = [f32::NAN; 4];
        let (value, _) = BinaryCrossentropy::from_logits().compute(&head, &targets, Some(&mut grad));
        assert_eq!(value, 500.0);
        assert_eq!(grad, [0.0, 0.25, -0.25, 0.0]);

        let logits = [1000.0_f32, -1000.0, 0.0, -1000.0, 1000.0, 0.0];
        let targets = [0.0_f32, 1.0, 0.0, 0.0, 1.0, 0.0];
        let head = HeadOutput {
            values: &logits,
            logits: None,
            squash: Squash::None,
            width: 3,
        };
        let mut grad = [f32::NAN; 6];
        let (value, _) =
            CategoricalCrossentropy::from_logits().compute(&head, &targets, Some(&mut grad));
        assert_eq!(value, 1000.0);
        assert_eq!(grad, [0.5, -0.5, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn from_logits_reads_squashed_values_as_logits() {
        // A sigmoid head's values are read as logits, as Keras does, so the loss is that of
        // sigmoid(values) and ignores the head's own logits.
        let logits = [2.0, -3.0];
        let values = sigmoid_all(&logits);
        let targets = [1.0, 0.0];
        let on_sigmoid_head = loss_value(
            &BinaryCrossentropy::from_logits(),
            &values,
            Some(&logits),
            Squash::Sigmoid,
            1,
            &targets,
        );
        let on_values = loss_value(
            &BinaryCrossentropy::from_logits(),
            &values,
            None,
            Squash::None,
            1,
            &targets,
        );
        assert_eq!(on_sigmoid_head, on_values);
    }

    #[test]
    fn from_logits_names_and_accuracy() {
        assert_eq!(BinaryCrossentropy::from_logits().name(), "bce");
        assert_eq!(CategoricalCrossentropy::from_logits().name(), "cce");
        assert!(!BinaryCrossentropy::from_logits().reports_accuracy());
        assert!(CategoricalCrossentropy::from_logits().reports_accuracy());
        let empty: [f64; 0] = [];
        assert_eq!(
            loss_value(&CategoricalCrossentropy::from_logits(), &empty, None, Squash::None, 3, &empty),
            0.0
        );
    }
}
