//! The densely connected layer.

use nalgebra::{Const, MatrixView, MatrixViewMut};
use rand::Rng;

use super::{Activation, Batch};
use crate::Real;
use crate::param::{Param, ParamMut, ParamRef, ParamShape};

/// A densely connected layer: `activation(x · kernel + bias)`.
///
/// # Shapes
/// - input: `[IN]`
/// - output: `[OUT]`
/// - `kernel`: `[IN, OUT]`, row-major as Keras stores it, so `kernel[i * OUT + j]` connects
///   input `i` to unit `j`; `bias`: `[OUT]`.
///
/// Parameters live on the heap, so a 784×512 layer never touches the stack.
#[derive(Clone, Debug)]
pub struct Dense<T, const IN: usize, const OUT: usize> {
    kernel: Param<T>,
    bias: Option<Param<T>>,
    activation: Activation,
    trainable: bool,
}

impl<T: Real, const IN: usize, const OUT: usize> Dense<T, IN, OUT> {
    /// Creates a layer with Keras's default initializers: a Glorot uniform kernel, drawn from
    /// U(-l, l) with l = sqrt(6 / (IN + OUT)), and a zero bias.
    pub fn new<R: Rng + ?Sized>(rng: &mut R, activation: Activation, use_bias: bool) -> Self {
        let limit = (6.0 / (IN + OUT) as f64).sqrt();
        let kernel = (0..IN * OUT).map(|_| <T as Real>::from_f64(rng.random_range(-limit..limit))).collect();
        Dense {
            kernel: Param::from_values(kernel),
            bias: use_bias.then(|| Param::zeros(OUT)),
            activation,
            trainable: true,
        }
    }

    /// The activation applied after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The kernel, row-major `[IN, OUT]`.
    pub fn kernel(&self) -> &[T] {
        self.kernel.values()
    }

    /// The bias, if the layer has one.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_ref().map(Param::values)
    }

    /// Whether the optimizer updates this layer.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Freezes (`false`) or unfreezes (`true`) the layer.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// The number of weights: `IN × OUT`, plus `OUT` with a bias.
    pub fn param_count(&self) -> usize {
        IN * OUT + if self.bias.is_some() { OUT } else { 0 }
    }

    fn kernel_view(&self) -> MatrixView<'_, T, Const<OUT>, Const<IN>> {
        // The row-major [IN, OUT] kernel read column-major is the OUT × IN matrix W with
        // y = W x, so no transpose is stored.
        MatrixView::from_slice_generic(self.kernel.values(), Const::<OUT>, Const::<IN>)
    }

    /// Computes the pre-activation values `pre` and the outputs `out` of a batch.
    pub fn forward(&self, x: &Batch<T, IN>, pre: &mut Batch<T, OUT>, out: &mut Batch<T, OUT>) {
        super::resize_batch(pre, x.ncols());
        super::resize_batch(out, x.ncols());
        pre.gemm(T::one(), &self.kernel_view(), x, T::zero());
        if let Some(bias) = &self.bias {
            let bias = bias.values();
            for mut column in pre.column_iter_mut() {
                for (p, &b) in column.iter_mut().zip(bias) {
                    *p += b;
                }
            }
        }
        for (pre_column, mut out_column) in pre.column_iter().zip(out.column_iter_mut()) {
            self.activation.apply(pre_column.as_slice(), out_column.as_mut_slice());
        }
    }

    /// Back-propagates `grad`, the gradient with respect to the outputs, and adds
    /// `logits_seed`, a gradient taken directly with respect to the pre-activation values (as
    /// a cross-entropy on this layer's sigmoid or softmax gives), when there is one.
    ///
    /// `grad` is overwritten with the pre-activation gradient. The weight gradients are added to
    /// the layer's when it is trainable, and the input gradient is added to `input_grad` when
    /// one is given.
    pub fn backward(
        &mut self,
        x: &Batch<T, IN>,
        pre: &Batch<T, OUT>,
        out: &Batch<T, OUT>,
        grad: &mut Batch<T, OUT>,
        logits_seed: Option<&[T]>,
        input_grad: Option<&mut Batch<T, IN>>,
    ) {
        if self.activation != Activation::Linear {
            for ((pre_column, out_column), mut grad_column) in
                pre.column_iter().zip(out.column_iter()).zip(grad.column_iter_mut())
            {
                self.activation.backward(pre_column.as_slice(), out_column.as_slice(), grad_column.as_mut_slice());
            }
        }
        if let Some(seed) = logits_seed {
            for (g, &s) in grad.as_mut_slice().iter_mut().zip(seed) {
                *g += s;
            }
        }

        if self.trainable {
            let mut kernel_grad =
                MatrixViewMut::from_slice_generic(&mut self.kernel.grad, Const::<OUT>, Const::<IN>);
            kernel_grad.gemm(T::one(), grad, &x.transpose(), T::one());
            if let Some(bias) = &mut self.bias {
                for column in grad.column_iter() {
                    for (b, &g) in bias.grad.iter_mut().zip(column.iter()) {
                        *b += g;
                    }
                }
            }
        }

        if let Some(input_grad) = input_grad {
            input_grad.gemm_tr(T::one(), &self.kernel_view(), grad, T::one());
        }
    }

    /// Resets the weight gradients to zero.
    pub fn zero_grad(&mut self) {
        self.kernel.zero_grad();
        if let Some(bias) = &mut self.bias {
            bias.zero_grad();
        }
    }

    /// Calls `visit` on the kernel, then on the bias, read-only.
    pub fn visit_weights(&self, visit: &mut dyn FnMut(ParamRef<'_, T>)) {
        visit(self.kernel.view_ref("kernel", ParamShape::matrix(IN, OUT), self.trainable));
        if let Some(bias) = &self.bias {
            visit(bias.view_ref("bias", ParamShape::vector(OUT), self.trainable));
        }
    }

    /// Calls `visit` on the kernel, then on the bias.
    pub fn visit_params(&mut self, visit: &mut dyn FnMut(ParamMut<'_, T>)) {
        let trainable = self.trainable;
        visit(self.kernel.view("kernel", ParamShape::matrix(IN, OUT), trainable));
        if let Some(bias) = &mut self.bias {
            visit(bias.view("bias", ParamShape::vector(OUT), trainable));
        }
    }
}
