//! Activations applied by Dense layers.

use crate::Real;

/// The activation a Dense layer applies to its pre-activation values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The identity.
    Linear,
    /// `max(x, 0)`; its derivative at 0 is taken as 0, as TensorFlow does.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `exp(x_i) / Σ exp(x_j)` over the layer's units, computed after subtracting the maximum.
    Softmax,
}

impl Activation {
    /// The activation's name as Keras prints it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// Applies the activation to one sample: `pre` in, `out` written.
    pub fn apply<T: Real>(self, pre: &[T], out: &mut [T]) {
        match self {
            Activation::Linear => out.copy_from_slice(pre),
            Activation::Relu => {
                for (o, &x) in out.iter_mut().zip(pre) {
                    *o = if x > T::zero() { x } else { T::zero() };
                }
            }
            Activation::Sigmoid => {
                for (o, &x) in out.iter_mut().zip(pre) {
                    *o = sigmoid(x);
                }
            }
            Activation::Tanh => {
                for (o, &x) in out.iter_mut().zip(pre) {
                    *o = x.tanh();
                }
            }
            Activation::Softmax => softmax(pre, out),
        }
    }

    /// Applies the activation to a batch of samples of `width` values each, stored one after
    /// another. Every activation but softmax works on the values one by one, so the whole
    /// batch runs as one loop.
    pub fn apply_batch<T: Real>(self, pre: &[T], out: &mut [T], width: usize) {
        match self {
            Activation::Softmax => {
                for (pre, out) in pre.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                    softmax(pre, out);
                }
            }
            _ => self.apply(pre, out),
        }
    }

    /// Runs [`Activation::backward`] on a batch of samples of `width` values each.
    pub fn backward_batch<T: Real>(self, pre: &[T], out: &[T], grad: &mut [T], width: usize) {
        match self {
            Activation::Softmax => {
                for ((pre, out), grad) in pre.chunks_exact(width).zip(out.chunks_exact(width)).zip(grad.chunks_exact_mut(width)) {
                    self.backward(pre, out, grad);
                }
            }
            _ => self.backward(pre, out, grad),
        }
    }

    /// Turns the gradient with respect to one sample's output into the gradient with respect
    /// to its pre-activation, in place.
    pub fn backward<T: Real>(self, pre: &[T], out: &[T], grad: &mut [T]) {
        match self {
            Activation::Linear => {}
            Activation::Relu => {
                // A select rather than a conditional store, so the loop vectorizes and has no
                // branch to mispredict on signs that vary at random.
                for (g, &x) in grad.iter_mut().zip(pre) {
                    *g = if x > T::zero() { *g } else { T::zero() };
                }
            }
            Activation::Sigmoid => {
                for (g, &y) in grad.iter_mut().zip(out) {
                    *g *= y * (T::one() - y);
                }
            }
            Activation::Tanh => {
                for (g, &y) in grad.iter_mut().zip(out) {
                    *g *= T::one() - y * y;
                }
            }
            Activation::Softmax => {
                let dot = grad.iter().zip(out).fold(T::zero(), |acc, (&g, &y)| acc + g * y);
                for (g, &y) in grad.iter_mut().zip(out) {
                    *g = y * (*g - dot);
                }
            }
        }
    }
}

/// The logistic sigmoid, computed without overflow for large `|x|`.
pub(crate) fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// The softmax of `pre` into `out`, shifted by the maximum so that no exponential overflows.
pub(crate) fn softmax<T: Real>(pre: &[T], out: &mut [T]) {
    let max = pre.iter().copied().fold(T::min_value().unwrap_or(T::zero()), |m, x| if x > m { x } else { m });
    let mut sum = T::zero();
    for (o, &x) in out.iter_mut().zip(pre) {
        *o = (x - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Activation; 5] =
        [Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh, Activation::Softmax];

    /// Checks `backward` against central differences of `apply` for the loss `Σ c_i · out_i`.
    #[test]
    fn activation_gradients_match_finite_differences() {
        let pre = [0.7_f64, -1.3, 0.2, 2.5];
        let weights = [0.3_f64, -0.8, 1.1, 0.5];
        let loss = |act: Activation, p: &[f64]| {
            let mut out = [0.0; 4];
            act.apply(p, &mut out);
            out.iter().zip(&weights).map(|(o, c)| o * c).sum::<f64>()
        };
        for act in ALL {
            let mut out = [0.0; 4];
            act.apply(&pre, &mut out);
            let mut grad = weights;
            act.backward(&pre, &out, &mut grad);
            for i in 0..4 {
                let h = 1e-6;
                let mut plus = pre;
                plus[i] += h;
                let mut minus = pre;
                minus[i] -= h;
                let numeric = (loss(act, &plus) - loss(act, &minus)) / (2.0 * h);
                assert!((numeric - grad[i]).abs() < 1e-8, "{act:?} input {i}: {numeric} vs {}", grad[i]);
            }
        }
    }

    #[test]
    fn sigmoid_and_softmax_stay_finite_at_extreme_logits() {
        let pre = [1000.0_f32, -1000.0, 0.0];
        let mut out = [0.0; 3];
        Activation::Sigmoid.apply(&pre, &mut out);
        assert_eq!(out, [1.0, 0.0, 0.5]);
        Activation::Softmax.apply(&pre, &mut out);
        assert_eq!(out, [1.0, 0.0, 0.0]);
    }
}
