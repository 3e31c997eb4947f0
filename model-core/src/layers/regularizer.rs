//! Weight penalties: L1, L2 or both, as Keras's `kernel_regularizer`, `bias_regularizer` and
//! `embeddings_regularizer`.

use crate::Real;

/// A penalty `l1 · Σ|w| + l2 · Σw²` on one weight tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Regularizer {
    /// The L1 factor.
    pub l1: f64,
    /// The L2 factor.
    pub l2: f64,
}

impl Regularizer {
    /// Returns the penalty of `weights`, and adds its gradient, `l1 · sign(w) + 2 · l2 · w`, to
    /// `grad` when one is given. The sign of 0 is taken as 0.
    pub fn apply<T: Real>(&self, weights: &[T], grad: Option<&mut [T]>) -> f64 {
        let penalty: f64 = weights.iter().map(|w| {
            let w = w.to_f64();
            self.l1 * w.abs() + self.l2 * w * w
        }).sum();
        if let Some(grad) = grad {
            let l1 = <T as Real>::from_f64(self.l1);
            let two_l2 = <T as Real>::from_f64(2.0 * self.l2);
            for (g, &w) in grad.iter_mut().zip(weights) {
                let sign = if w > T::zero() { T::one() } else if w < T::zero() { -T::one() } else { T::zero() };
                *g += l1 * sign + two_l2 * w;
            }
        }
        penalty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regularizer_gradient_matches_finite_differences() {
        let regularizer = Regularizer { l1: 0.03, l2: 0.2 };
        let weights = [0.7_f64, -1.2, 0.05, 2.0];
        let mut grad = [0.0; 4];
        let penalty = regularizer.apply(&weights, Some(&mut grad));
        assert!((penalty - (0.03 * 3.95 + 0.2 * (0.49 + 1.44 + 0.0025 + 4.0))).abs() < 1e-12);
        for i in 0..4 {
            let h = 1e-6;
            let mut plus = weights;
            plus[i] += h;
            let mut minus = weights;
            minus[i] -= h;
            let numeric = (regularizer.apply(&plus, None) - regularizer.apply(&minus, None)) / (2.0 * h);
            assert!((numeric - grad[i]).abs() < 1e-8, "weight {i}: {numeric} vs {}", grad[i]);
        }
    }
}
