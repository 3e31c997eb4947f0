//! Compile-time checks that generated code runs where the macro cannot see a size: the input
//! and output sizes of a model used inside another one.
//!
//! Each check is a trait implemented only when two sizes are equal. A mismatch is a compile
//! error whose message names the model or layer and both shapes, at the span that generated
//! code gives the check.

use crate::layers::Batch;

/// The two sizes of an argument are equal, so it can be passed on unchanged.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects an input of shape [{EXPECTED}] here, but the argument has shape [{GOT}]",
    label = "this argument has shape [{GOT}]"
)]
pub trait InputSize<const EXPECTED: usize, const GOT: usize> {
    /// Returns `batch` with the expected size in its type.
    fn coerce<T: crate::Real>(batch: &Batch<T, GOT>) -> &Batch<T, EXPECTED>;
    /// Returns the argument's gradient buffer with the expected size in its type.
    fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, GOT>) -> &mut Batch<T, EXPECTED>;
}

impl<M: ?Sized, const N: usize> InputSize<N, N> for M {
    fn coerce<T: crate::Real>(batch: &Batch<T, N>) -> &Batch<T, N> {
        batch
    }
    fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, N>) -> &mut Batch<T, N> {
        batch
    }
}

/// A model is called with as many arguments as it has inputs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` takes {EXPECTED} input(s), but it is called with {GOT} argument(s)",
    label = "called with {GOT} argument(s)"
)]
pub trait InputCount<const EXPECTED: usize, const GOT: usize> {
    /// Present only when the counts are equal.
    const MATCHES: () = ();
}

impl<M: ?Sized, const N: usize> InputCount<N, N> for M {}

macro_rules! merge_check {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(message = $message, label = "inputs of shapes [{FIRST}] and [{OTHER}]")]
        pub trait $name<const FIRST: usize, const OTHER: usize> {
            /// Returns `batch` with the first operand's size in its type.
            fn coerce<T: crate::Real>(batch: &Batch<T, OTHER>) -> &Batch<T, FIRST>;
            /// Returns an operand gradient with the first operand's size in its type.
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, OTHER>) -> &mut Batch<T, FIRST>;
        }

        impl<M: ?Sized, const N: usize> $name<N, N> for M {
            fn coerce<T: crate::Real>(batch: &Batch<T, N>) -> &Batch<T, N> {
                batch
            }
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, N>) -> &mut Batch<T, N> {
                batch
            }
        }
    };
}

merge_check!(
    /// The operands of an Add have equal sizes.
    AddSizes, "Add needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);
merge_check!(
    /// The operands of a Subtract have equal sizes.
    SubtractSizes, "Subtract needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);
merge_check!(
    /// The operands of a Multiply have equal sizes.
    MultiplySizes, "Multiply needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);

/// A model used as a layer has exactly one output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has {COUNT} outputs, but a model used as a layer must have exactly one",
    label = "used as a layer here"
)]
pub trait SingleOutput<const COUNT: usize> {
    /// Present only for a count of 1.
    const MATCHES: () = ();
}

impl<M: ?Sized> SingleOutput<1> for M {}

/// The size of input `index` among `sizes`, or `fallback` when the index is out of range, so
/// that a call with too many arguments reports only the count mismatch.
pub const fn size_at(sizes: &[usize], index: usize, fallback: usize) -> usize {
    if index < sizes.len() { sizes[index] } else { fallback }
}

/// The type that implements the merge checks.
#[allow(missing_debug_implementations)]
pub struct Layer;
