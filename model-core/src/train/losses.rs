//! The loss tuple that `compile` takes, checked against a model's outputs.

use crate::Real;
use crate::loss::{GradientOf, HeadOutput, Loss};

/// One loss per output of a model whose outputs are described by `Heads`.
///
/// Implemented for a single [`Loss`] (a model with one output) and for tuples of losses with
/// one element per output.
#[diagnostic::on_unimplemented(
    message = "the losses `{Self}` do not fit the model's outputs `{Heads}`",
    label = "give one loss per output: a single loss for one output, a tuple for several",
    note = "each element of `{Heads}` is one output, in declaration order"
)]
pub trait LossSet<Heads> {
    /// Computes the loss of output `k`; see [`Loss::compute`].
    fn compute<T: Real>(&self, k: usize, head: &HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf);
    /// The weight of output `k`'s loss in the total.
    fn weight(&self, k: usize) -> f64;
    /// The name of output `k`'s loss.
    fn name(&self, k: usize) -> &'static str;
    /// Whether output `k`'s loss reports accuracy.
    fn reports_accuracy(&self, k: usize) -> bool;
}

/// The width of one model output, as an element of a model's `Heads` tuple.
#[derive(Clone, Copy, Debug)]
pub struct Head<const WIDTH: usize>;

impl<L: Loss, H> LossSet<(H,)> for L {
    fn compute<T: Real>(&self, _k: usize, head: &HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf) {
        Loss::compute(self, head, targets, grad)
    }
    fn weight(&self, _k: usize) -> f64 {
        Loss::weight(self)
    }
    fn name(&self, _k: usize) -> &'static str {
        Loss::name(self)
    }
    fn reports_accuracy(&self, _k: usize) -> bool {
        Loss::reports_accuracy(self)
    }
}

macro_rules! impl_loss_tuple {
    ($(($index:tt, $loss:ident, $head:ident)),+) => {
        impl<$($loss: Loss, $head),+> LossSet<($($head,)+)> for ($($loss,)+) {
            fn compute<T: Real>(&self, k: usize, head: &HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf) {
                match k {
                    $($index => Loss::compute(&self.$index, head, targets, grad),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn weight(&self, k: usize) -> f64 {
                match k {
                    $($index => Loss::weight(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn name(&self, k: usize) -> &'static str {
                match k {
                    $($index => Loss::name(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
            fn reports_accuracy(&self, k: usize) -> bool {
                match k {
                    $($index => Loss::reports_accuracy(&self.$index),)+
                    _ => unreachable!("output index {k} out of range"),
                }
            }
        }
    };
}

impl_loss_tuple!((0, L0, H0), (1, L1, H1));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3), (4, L4, H4));
impl_loss_tuple!((0, L0, H0), (1, L1, H1), (2, L2, H2), (3, L3, H3), (4, L4, H4), (5, L5, H5));

