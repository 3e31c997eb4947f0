//! Dropout and the random state it draws its masks from.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Batch;
use crate::Real;

/// Whether dropout is active, and the generator its masks come from.
///
/// `fit` turns dropout on for its training steps and seeds the generator from the fit seed,
/// so a seeded run repeats exactly. Evaluation and prediction run with dropout off.
#[derive(Clone, Debug)]
pub struct DropoutState {
    /// Whether Dropout layers drop values. Off, they are the identity.
    pub training: bool,
    rng: StdRng,
}

impl Default for DropoutState {
    fn default() -> Self {
        DropoutState { training: false, rng: StdRng::seed_from_u64(0) }
    }
}

impl DropoutState {
    /// Restarts the generator from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// Hands a submodel a state with the same mode and a generator derived from this one, so
    /// that the submodel's masks also repeat for a given seed.
    pub fn fork(&mut self) -> DropoutState {
        DropoutState { training: self.training, rng: StdRng::seed_from_u64(self.rng.random()) }
    }
}

/// Dropout: during training, sets each value to 0 with probability `rate` and scales the
/// others by `1 / (1 - rate)`, so the expected value is unchanged; otherwise the identity.
///
/// # Shapes
/// - input and output: any shape, stored flat (`N` values)
///
/// `mask` keeps the factor each value was multiplied by, for the backward pass.
pub fn dropout<T: Real, const N: usize>(
    rate: f64,
    state: &mut DropoutState,
    x: &Batch<T, N>,
    mask: &mut Batch<T, N>,
    out: &mut Batch<T, N>,
) {
    super::resize_batch(mask, x.ncols());
    super::resize_batch(out, x.ncols());
    if !state.training || rate == 0.0 {
        mask.fill(T::one());
        out.copy_from(x);
        return;
    }
    let keep = <T as Real>::from_f64(1.0 / (1.0 - rate));
    for m in mask.as_mut_slice() {
        *m = if state.rng.random::<f64>() < rate { T::zero() } else { keep };
    }
    for ((o, &v), &m) in out.as_mut_slice().iter_mut().zip(x.as_slice()).zip(mask.as_slice()) {
        *o = v * m;
    }
}

/// Back-propagates Dropout: adds the output gradient times the mask to `input_grad`.
pub fn dropout_backward<T: Real, const N: usize>(grad: &Batch<T, N>, mask: &Batch<T, N>, input_grad: &mut Batch<T, N>) {
    for ((i, &g), &m) in input_grad.as_mut_slice().iter_mut().zip(grad.as_slice()).zip(mask.as_slice()) {
        *i += g * m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_is_identity_outside_training() {
        let x = Batch::<f64, 3>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let (mut mask, mut out) = (Batch::zeros(0), Batch::zeros(0));
        dropout(0.5, &mut DropoutState::default(), &x, &mut mask, &mut out);
        assert_eq!(out, x);
    }

    #[test]
    fn dropout_scales_kept_values_and_repeats_for_seed() {
        let x = Batch::<f64, 4>::from_element(500, 1.0);
        let mut state = DropoutState { training: true, ..DropoutState::default() };
        state.reseed(9);
        let (mut mask, mut out) = (Batch::zeros(0), Batch::zeros(0));
        dropout(0.25, &mut state, &x, &mut mask, &mut out);

        let kept = out.iter().filter(|&&v| v != 0.0).count() as f64 / 2000.0;
        assert!((kept - 0.75).abs() < 0.03, "kept share {kept}");
        assert!(out.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-12));

        state.reseed(9);
        let (mut mask_again, mut out_again) = (Batch::zeros(0), Batch::zeros(0));
        dropout(0.25, &mut state, &x, &mut mask_again, &mut out_again);
        assert_eq!(out, out_again);
    }

    #[test]
    fn dropout_backward_uses_forward_mask() {
        let mask = Batch::<f64, 2>::from_column_slice(&[0.0, 2.0, 2.0, 0.0]);
        let grad = Batch::<f64, 2>::from_column_slice(&[1.0, 1.0, 3.0, 3.0]);
        let mut input_grad = Batch::<f64, 2>::from_column_slice(&[0.5, 0.5, 0.5, 0.5]);
        dropout_backward(&grad, &mask, &mut input_grad);
        assert_eq!(input_grad.as_slice(), &[0.5, 2.5, 6.5, 0.5]);
    }
}
