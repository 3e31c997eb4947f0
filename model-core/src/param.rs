//! Weight tensors and the view optimizers get of them.

use crate::Real;

/// A mutable view of one weight tensor and its gradient, handed to optimizers and visitors.
#[derive(Debug)]
pub struct ParamMut<'a, T> {
    /// The tensor's name inside its layer: `kernel`, `bias` or `embeddings`.
    pub name: &'static str,
    /// The weights, in Keras's row-major layout (see the layer's docs).
    pub value: &'a mut [T],
    /// The gradient of the last backward pass, in the layout of `value`.
    pub grad: &'a mut [T],
    /// Keras's shape of the tensor, for example `[in, out]` for a Dense kernel.
    pub shape: ParamShape,
    /// Whether the optimizer updates this tensor. Frozen tensors are `false`.
    pub trainable: bool,
}

/// A read-only view of one weight tensor, handed to visitors that save or inspect weights.
#[derive(Clone, Copy, Debug)]
pub struct ParamRef<'a, T> {
    /// The tensor's name inside its layer: `kernel`, `bias` or `embeddings`.
    pub name: &'static str,
    /// The weights, in Keras's row-major layout.
    pub value: &'a [T],
    /// Keras's shape of the tensor.
    pub shape: ParamShape,
    /// Whether the optimizer updates this tensor.
    pub trainable: bool,
}

/// The shape of a weight tensor, of rank 1 or 2, as Keras gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamShape {
    dims: [usize; 2],
    rank: usize,
}

impl ParamShape {
    /// Creates the shape of a matrix of `rows × columns`, stored row-major.
    pub const fn matrix(rows: usize, columns: usize) -> Self {
        ParamShape { dims: [rows, columns], rank: 2 }
    }

    /// Creates the shape of a vector of `len` values.
    pub const fn vector(len: usize) -> Self {
        ParamShape { dims: [len, 1], rank: 1 }
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// Returns the number of values.
    pub fn len(&self) -> usize {
        self.dims().iter().product()
    }

    /// Returns whether the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl core::fmt::Display for ParamShape {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let dims: Vec<String> = self.dims().iter().map(ToString::to_string).collect();
        write!(f, "[{}]", dims.join(", "))
    }
}

/// One weight tensor with its gradient, stored on the heap.
#[derive(Clone, Debug, PartialEq)]
pub struct Param<T> {
    pub(crate) value: Vec<T>,
    pub(crate) grad: Vec<T>,
}

impl<T: Real> Param<T> {
    /// Creates a tensor of `len` zeros.
    pub fn zeros(len: usize) -> Self {
        Param { value: vec![T::zero(); len], grad: vec![T::zero(); len] }
    }

    /// Creates a tensor from its values.
    pub fn from_values(value: Vec<T>) -> Self {
        let grad = vec![T::zero(); value.len()];
        Param { value, grad }
    }

    /// The weights.
    pub fn values(&self) -> &[T] {
        &self.value
    }

    /// Returns the weights, mutably.
    pub fn values_mut(&mut self) -> &mut [T] {
        &mut self.value
    }

    /// Returns the gradient accumulated since the last [`Param::zero_grad`].
    pub fn grad(&self) -> &[T] {
        &self.grad
    }

    /// Resets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.grad.fill(T::zero());
    }

    /// Returns the read-only view that saving and inspection get.
    pub fn view_ref(&self, name: &'static str, shape: ParamShape, trainable: bool) -> ParamRef<'_, T> {
        ParamRef { name, value: &self.value, shape, trainable }
    }

    /// Returns the view that optimizers and visitors get.
    pub fn view(&mut self, name: &'static str, shape: ParamShape, trainable: bool) -> ParamMut<'_, T> {
        ParamMut { name, value: &mut self.value, grad: &mut self.grad, shape, trainable }
    }
}
