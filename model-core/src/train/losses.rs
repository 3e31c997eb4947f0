//! The loss tuple that `compile` takes, checked against a model's outputs.

use crate::Real;
use crate::checks::{Admits, ArrayLength, LossCount, LossCountMatches, LossesForOneOutput, OneLossForOutputs};
use crate::loss::{GradientOf, HeadOutput, Loss};
pub use crate::checks::LossTuple;
use crate::network::Outputs;

/// One loss per output of the model `M`, each fitting its output.
///
/// Implemented for a single [`Loss`] (a model with one output), and for tuples of up to six
/// losses and arrays of one loss kind with one element per output. `compile` requires it; the
/// training methods need only [`LossTuple`], so that a rejected loss gives one error at
/// `compile` and none at `fit`.
#[diagnostic::on_unimplemented(
    message = "the losses `{Self}` do not fit the outputs of `{M}`",
    label = "give one loss per output: a single loss for one output, a tuple for several",
    note = "`compile` takes one loss per output, in declaration order"
)]
pub trait LossSet<M: ?Sized>: LossTuple {}

// The count check is a separate bound on a tuple of the losses' own length, so that exactly one
// `LossCountMatches` impl applies to any losses and heads. The compiler then reports the
// where-clause that fails inside that impl, whose message gives both counts, instead of a bare
// "`LossSet` is not implemented".
impl<L, M> LossSet<M> for L
where
    M: Outputs + ?Sized,
    L: LossTuple,
    L::Arity: LossCountMatches<M::Heads, M>,
{
}

/// One model output, as an element of a model's [`Outputs::Heads`] tuple: its width, whether
/// that width is more than 1, and what its values are.
///
/// `MULTI` is always `WIDTH > 1`. Stable Rust cannot compute it from `WIDTH` in a type, so
/// `model!` writes both; losses over classes need `MULTI`. `KIND` is one of
/// [`VALUES`](crate::checks::VALUES), [`PROBABILITIES`](crate::checks::PROBABILITIES) or
/// [`MIXED`](crate::checks::MIXED). An output contains probabilities when it is the output of a
/// sigmoid or softmax, or a Flatten, Concatenate or Multiply of such outputs only. It is
/// mixed when it joins probabilities with other values, or when Dropout scales probabilities
/// during training. The cross-entropies read probabilities, their `from_logits()` forms read
/// other values, and neither reads a mixed output.
#[derive(Clone, Copy, Debug)]
pub struct Head<const WIDTH: usize, const MULTI: bool, const KIND: u8>;

impl<L: Loss> LossTuple for L {
    type Arity = (L,);
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
    ($(($index:tt, $loss:ident)),+) => {
        impl<$($loss: Loss),+> LossTuple for ($($loss,)+) {
            type Arity = ($($loss,)+);
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

/// An array of one loss kind, one element per output, as Keras takes a list of losses.
impl<L: Loss, const N: usize> LossTuple for [L; N] {
    type Arity = [L; N];
    fn compute<T: Real>(&self, k: usize, head: &HeadOutput<'_, T>, targets: &[T], grad: Option<&mut [T]>) -> (f64, GradientOf) {
        Loss::compute(&self[k], head, targets, grad)
    }
    fn weight(&self, k: usize) -> f64 {
        Loss::weight(&self[k])
    }
    fn name(&self, k: usize) -> &'static str {
        Loss::name(&self[k])
    }
    fn reports_accuracy(&self, k: usize) -> bool {
        Loss::reports_accuracy(&self[k])
    }
}

impl_loss_tuple!((0, L0));
impl_loss_tuple!((0, L0), (1, L1));
impl_loss_tuple!((0, L0), (1, L1), (2, L2));
impl_loss_tuple!((0, L0), (1, L1), (2, L2), (3, L3));
impl_loss_tuple!((0, L0), (1, L1), (2, L2), (3, L3), (4, L4));
impl_loss_tuple!((0, L0), (1, L1), (2, L2), (3, L3), (4, L4), (5, L5));

/// Implements [`LossCountMatches`] for `n` losses and `n` heads, each loss fitting its head, or
/// for unequal counts with a where-clause that is never met. That clause is on the model's type
/// rather than on the losses. rustc (1.95) shows the message of a failing clause, instead of
/// the message of the bound that required it, only when the two have different self types.
macro_rules! impl_count {
    ([$(($loss:ident, $head:ident, $output:literal)),+]) => {
        impl<M: ?Sized, $($loss: Loss,)+ $($head),+> LossCountMatches<($($head,)+), M> for ($($loss,)+)
        where
            $($loss::Outputs: Admits<$head, M, $output>,)+
        {
        }
    };
    ([$($loss:ident),+]; [$($head:ident),+]; $check:path) => {
        impl<M: ?Sized, $($loss,)+ $($head),+> LossCountMatches<($($head,)+), M> for ($($loss,)+) where M: $check {}
    };
}

impl_count!([(L0, H0, 1)]);
impl_count!([L0]; [H0, H1]; OneLossForOutputs<2>);
impl_count!([L0]; [H0, H1, H2]; OneLossForOutputs<3>);
impl_count!([L0]; [H0, H1, H2, H3]; OneLossForOutputs<4>);
impl_count!([L0]; [H0, H1, H2, H3, H4]; OneLossForOutputs<5>);
impl_count!([L0]; [H0, H1, H2, H3, H4, H5]; OneLossForOutputs<6>);
impl_count!([L0, L1]; [H0]; LossesForOneOutput<2>);
impl_count!([(L0, H0, 1), (L1, H1, 2)]);
impl_count!([L0, L1]; [H0, H1, H2]; LossCount<3, 2>);
impl_count!([L0, L1]; [H0, H1, H2, H3]; LossCount<4, 2>);
impl_count!([L0, L1]; [H0, H1, H2, H3, H4]; LossCount<5, 2>);
impl_count!([L0, L1]; [H0, H1, H2, H3, H4, H5]; LossCount<6, 2>);
impl_count!([L0, L1, L2]; [H0]; LossesForOneOutput<3>);
impl_count!([L0, L1, L2]; [H0, H1]; LossCount<2, 3>);
impl_count!([(L0, H0, 1), (L1, H1, 2), (L2, H2, 3)]);
impl_count!([L0, L1, L2]; [H0, H1, H2, H3]; LossCount<4, 3>);
impl_count!([L0, L1, L2]; [H0, H1, H2, H3, H4]; LossCount<5, 3>);
impl_count!([L0, L1, L2]; [H0, H1, H2, H3, H4, H5]; LossCount<6, 3>);
impl_count!([L0, L1, L2, L3]; [H0]; LossesForOneOutput<4>);
impl_count!([L0, L1, L2, L3]; [H0, H1]; LossCount<2, 4>);
impl_count!([L0, L1, L2, L3]; [H0, H1, H2]; LossCount<3, 4>);
impl_count!([(L0, H0, 1), (L1, H1, 2), (L2, H2, 3), (L3, H3, 4)]);
impl_count!([L0, L1, L2, L3]; [H0, H1, H2, H3, H4]; LossCount<5, 4>);
impl_count!([L0, L1, L2, L3]; [H0, H1, H2, H3, H4, H5]; LossCount<6, 4>);
impl_count!([L0, L1, L2, L3, L4]; [H0]; LossesForOneOutput<5>);
impl_count!([L0, L1, L2, L3, L4]; [H0, H1]; LossCount<2, 5>);
impl_count!([L0, L1, L2, L3, L4]; [H0, H1, H2]; LossCount<3, 5>);
impl_count!([L0, L1, L2, L3, L4]; [H0, H1, H2, H3]; LossCount<4, 5>);
impl_count!([(L0, H0, 1), (L1, H1, 2), (L2, H2, 3), (L3, H3, 4), (L4, H4, 5)]);
impl_count!([L0, L1, L2, L3, L4]; [H0, H1, H2, H3, H4, H5]; LossCount<6, 5>);
impl_count!([L0, L1, L2, L3, L4, L5]; [H0]; LossesForOneOutput<6>);
impl_count!([L0, L1, L2, L3, L4, L5]; [H0, H1]; LossCount<2, 6>);
impl_count!([L0, L1, L2, L3, L4, L5]; [H0, H1, H2]; LossCount<3, 6>);
impl_count!([L0, L1, L2, L3, L4, L5]; [H0, H1, H2, H3]; LossCount<4, 6>);
impl_count!([L0, L1, L2, L3, L4, L5]; [H0, H1, H2, H3, H4]; LossCount<5, 6>);
impl_count!([(L0, H0, 1), (L1, H1, 2), (L2, H2, 3), (L3, H3, 4), (L4, H4, 5), (L5, H5, 6)]);

/// Implements [`LossCountMatches`] for an array of losses and a model with as many outputs as
/// the macro lists heads. An array of another length fails the clause on `M`, whose message
/// gives both counts.
macro_rules! impl_array_count {
    ($outputs:literal; $(($head:ident, $output:literal)),+) => {
        impl<M: ?Sized, L: Loss, $($head,)+ const N: usize> LossCountMatches<($($head,)+), M> for [L; N]
        where
            M: ArrayLength<$outputs, N>,
            $(L::Outputs: Admits<$head, M, $output>,)+
        {
        }
    };
}

impl_array_count!(1; (H0, 1));
impl_array_count!(2; (H0, 1), (H1, 2));
impl_array_count!(3; (H0, 1), (H1, 2), (H2, 3));
impl_array_count!(4; (H0, 1), (H1, 2), (H2, 3), (H3, 4));
impl_array_count!(5; (H0, 1), (H1, 2), (H2, 3), (H3, 4), (H4, 5));
impl_array_count!(6; (H0, 1), (H1, 2), (H2, 3), (H3, 4), (H4, 5), (H5, 6));
