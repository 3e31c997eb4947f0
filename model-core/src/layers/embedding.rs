//! The embedding layer and batches of integer ids.

use rand::Rng;

use super::Batch;
use crate::Real;
use crate::param::{Param, ParamMut, ParamRef, ParamShape};

/// A batch of integer ids below `VOCAB`, `LEN` ids per sample, stored sample by sample.
///
/// Ids are checked against the vocabulary when the batch is filled, so layers can index
/// with them directly.
#[derive(Clone, Debug, Default)]
pub struct IdBatch<const VOCAB: usize, const LEN: usize> {
    ids: Vec<u32>,
}

impl<const VOCAB: usize, const LEN: usize> IdBatch<VOCAB, LEN> {
    /// Creates an empty batch.
    pub fn new() -> Self {
        IdBatch { ids: Vec::new() }
    }

    /// Returns the number of samples.
    pub fn samples(&self) -> usize {
        self.ids.len() / LEN
    }

    /// Returns the ids, `LEN` per sample.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Empties the batch, keeping its storage.
    pub fn clear(&mut self) {
        self.ids.clear();
    }

    /// Appends one sample's ids, or returns the first id outside the vocabulary.
    pub fn push(&mut self, sample: &[u32; LEN]) -> Result<(), u32> {
        if let Some(&bad) = sample.iter().find(|&&id| id as usize >= VOCAB) {
            return Err(bad);
        }
        self.ids.extend_from_slice(sample);
        Ok(())
    }

    /// Copies another batch into this one, reusing storage.
    pub fn copy_from(&mut self, other: &Self) {
        self.ids.clear();
        self.ids.extend_from_slice(&other.ids);
    }
}

/// A lookup table that maps each id below `VOCAB` to a learned vector of `DIM` values.
///
/// # Shapes
/// - input: `LEN` ids per sample
/// - output: `[LEN, DIM]`, stored flat and row-major (`OUT = LEN × DIM`)
/// - `embeddings`: `[VOCAB, DIM]`, row `k` is the vector of id `k`
#[derive(Clone, Debug)]
pub struct Embedding<T, const VOCAB: usize, const DIM: usize> {
    table: Param<T>,
    trainable: bool,
}

impl<T: Real, const VOCAB: usize, const DIM: usize> Embedding<T, VOCAB, DIM> {
    /// Creates a table with Keras's default initializer, U(-0.05, 0.05).
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let table = (0..VOCAB * DIM).map(|_| <T as Real>::from_f64(rng.random_range(-0.05..0.05))).collect();
        Embedding { table: Param::from_values(table), trainable: true }
    }

    /// Returns the table, row-major `[VOCAB, DIM]`.
    pub fn table(&self) -> &[T] {
        self.table.values()
    }

    /// Returns whether the optimizer updates this layer.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Freezes (`false`) or unfreezes (`true`) the layer.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// Returns the number of weights, `VOCAB × DIM`.
    pub fn param_count(&self) -> usize {
        VOCAB * DIM
    }

    /// Looks up every id of the batch.
    pub fn forward<const LEN: usize, const OUT: usize>(&self, ids: &IdBatch<VOCAB, LEN>, out: &mut Batch<T, OUT>) {
        const { assert!(OUT == LEN * DIM, "Embedding output size must be LEN × DIM") };
        super::resize_batch(out, ids.samples());
        let table = self.table.values();
        for (sample_ids, mut column) in ids.ids().chunks_exact(LEN).zip(out.column_iter_mut()) {
            for (&id, chunk) in sample_ids.iter().zip(column.as_mut_slice().chunks_exact_mut(DIM)) {
                let row = id as usize * DIM;
                chunk.copy_from_slice(&table[row..row + DIM]);
            }
        }
    }

    /// Adds the gradient of each looked-up vector to its table row, when trainable. An id
    /// that repeats gets the sum of its gradients.
    pub fn backward<const LEN: usize, const OUT: usize>(&mut self, ids: &IdBatch<VOCAB, LEN>, grad: &Batch<T, OUT>) {
        if !self.trainable {
            return;
        }
        let table_grad = &mut self.table.grad;
        for (sample_ids, column) in ids.ids().chunks_exact(LEN).zip(grad.column_iter()) {
            for (&id, chunk) in sample_ids.iter().zip(column.as_slice().chunks_exact(DIM)) {
                let row = id as usize * DIM;
                for (t, &g) in table_grad[row..row + DIM].iter_mut().zip(chunk) {
                    *t += g;
                }
            }
        }
    }

    /// Resets the table's gradient to zero.
    pub fn zero_grad(&mut self) {
        self.table.zero_grad();
    }

    /// Calls `visit` on the table, read-only.
    pub fn visit_weights(&self, visit: &mut dyn FnMut(ParamRef<'_, T>)) {
        visit(self.table.view_ref("embeddings", ParamShape::matrix(VOCAB, DIM), self.trainable));
    }

    /// Calls `visit` on the table.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(ParamMut<'_, T>)) {
        let trainable = self.trainable;
        visit(self.table.view("embeddings", ParamShape::matrix(VOCAB, DIM), trainable));
    }
}
