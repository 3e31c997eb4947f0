//! Layers with their forward and backward passes.
//!
//! A batch of values is a matrix with one column per sample and a static number of rows, the
//! value's size: see [`Batch`]. A rank-2 value `[L, D]` is stored flat, row-major (position `p`,
//! component `d` at row `p * D + d`), as Keras's Flatten reads it.

mod activation;
mod dense;
mod dropout;
mod embedding;
mod kernels;
mod merge;
mod regularizer;

pub use activation::Activation;
pub use dense::Dense;
pub use dropout::{DropoutState, dropout, dropout_backward};
pub use embedding::{Embedding, IdBatch};
pub use regularizer::Regularizer;
pub use merge::{add, concatenate, concatenate_backward, multiply, multiply_backward, subtract};

use nalgebra::{Const, Dyn, OMatrix};

/// A batch of values of size `N`: `N` rows, one column per sample.
pub type Batch<T, const N: usize> = OMatrix<T, Const<N>, Dyn>;

/// Resizes `batch` to `samples` columns. An unchanged count keeps the values; a new count
/// sets every value to zero. The storage keeps its capacity, so a batch that shrinks and
/// grows back to its largest size does not allocate.
pub fn resize_batch<T: crate::Real, const N: usize>(batch: &mut Batch<T, N>, samples: usize) {
    if batch.ncols() != samples {
        let mut values: Vec<T> = core::mem::replace(batch, Batch::<T, N>::zeros(0)).data.into();
        values.clear();
        values.resize(N * samples, T::zero());
        *batch = Batch::<T, N>::from_vec(values);
    }
}

/// Creates an empty batch, for workspaces.
pub fn empty_batch<T: crate::Real, const N: usize>() -> Batch<T, N> {
    Batch::<T, N>::zeros(0)
}
