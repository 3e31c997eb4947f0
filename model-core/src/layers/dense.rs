//! The densely connected layer.

use rand::Rng;

use super::kernels::{self, Product, Start};
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
    /// The kernel transposed to `[OUT, IN]`, rebuilt by each backward pass that computes an
    /// input gradient. Empty until then.
    transposed: Vec<T>,
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
            transposed: Vec::new(),
        }
    }

    /// Returns the activation applied after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Returns the kernel, row-major `[IN, OUT]`.
    pub fn kernel(&self) -> &[T] {
        self.kernel.values()
    }

    /// Returns the bias, if the layer has one.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_ref().map(Param::values)
    }

    /// Returns whether the optimizer updates this layer.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Freezes (`false`) or unfreezes (`true`) the layer.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// Returns the number of weights: `IN × OUT`, plus `OUT` with a bias.
    pub fn param_count(&self) -> usize {
        IN * OUT + if self.bias.is_some() { OUT } else { 0 }
    }

    /// Computes the pre-activation values `pre` and the outputs `out` of a batch.
    pub fn forward(&self, x: &Batch<T, IN>, pre: &mut Batch<T, OUT>, out: &mut Batch<T, OUT>) {
        let samples = x.ncols();
        super::resize_batch(pre, samples);
        super::resize_batch(out, samples);
        let kernel = self.kernel.values();
        let bias = self.bias.as_ref().map(Param::values);
        if OUT == 1 {
            // One unit: a dot product per sample runs along the input, which is contiguous.
            let bias = bias.map_or(T::zero(), |bias| bias[0]);
            kernels::dot_columns(kernel, x.as_slice(), bias, pre.as_mut_slice());
        } else {
            // The row-major [IN, OUT] kernel is the column-major OUT × IN matrix W of y = W x.
            kernels::multiply(Product {
                a: kernel,
                a_k: OUT,
                b: x.as_slice(),
                b_k: 1,
                b_t: IN,
                c: pre.as_mut_slice(),
                c_l: 1,
                c_t: OUT,
                lanes: OUT,
                columns: samples,
                depth: IN,
                start: Start::Bias(bias),
            });
        }
        self.activation.apply_batch(pre.as_slice(), out.as_mut_slice(), OUT);
    }

    /// Back-propagates `grad`, the gradient with respect to the outputs, and adds
    /// `logits_seeds`, gradients taken directly with respect to the pre-activation values (as
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
        logits_seeds: &[Option<&[T]>],
        input_grad: Option<&mut Batch<T, IN>>,
    ) {
        if self.activation != Activation::Linear {
            self.activation.backward_batch(pre.as_slice(), out.as_slice(), grad.as_mut_slice(), OUT);
        }
        for seed in logits_seeds.iter().flatten() {
            for (g, &s) in grad.as_mut_slice().iter_mut().zip(seed.iter()) {
                *g += s;
            }
        }

        let samples = x.ncols();
        if self.trainable {
            // kernel_grad[i * OUT + j] += Σ_s grad[j, s] · x[i, s]. The vector lanes run along
            // the wider of the two contiguous axes: the units, or the inputs when there are
            // few units.
            let product = if OUT >= 16 {
                Product {
                    a: grad.as_slice(),
                    a_k: OUT,
                    b: x.as_slice(),
                    b_k: IN,
                    b_t: 1,
                    c: &mut self.kernel.grad,
                    c_l: 1,
                    c_t: OUT,
                    lanes: OUT,
                    columns: IN,
                    depth: samples,
                    start: Start::Accumulate,
                }
            } else {
                Product {
                    a: x.as_slice(),
                    a_k: IN,
                    b: grad.as_slice(),
                    b_k: OUT,
                    b_t: 1,
                    c: &mut self.kernel.grad,
                    c_l: OUT,
                    c_t: 1,
                    lanes: IN,
                    columns: OUT,
                    depth: samples,
                    start: Start::Accumulate,
                }
            };
            kernels::multiply(product);
            if let Some(bias) = &mut self.bias {
                for column in grad.as_slice().chunks_exact(OUT) {
                    for (b, &g) in bias.grad.iter_mut().zip(column) {
                        *b += g;
                    }
                }
            }
        }

        if let Some(input_grad) = input_grad {
            // input_grad[i, s] += Σ_j W[j, i] · grad[j, s], with the vector lanes along the
            // inputs. That needs W transposed, which is the kernel itself when OUT is 1.
            let transposed: &[T] = if OUT == 1 {
                self.kernel.values()
            } else {
                self.transposed.resize(IN * OUT, T::zero());
                for (i, row) in self.kernel.values().chunks_exact(OUT).enumerate() {
                    for (j, &w) in row.iter().enumerate() {
                        self.transposed[j * IN + i] = w;
                    }
                }
                &self.transposed
            };
            kernels::multiply(Product {
                a: transposed,
                a_k: IN,
                b: grad.as_slice(),
                b_k: 1,
                b_t: OUT,
                c: input_grad.as_mut_slice(),
                c_l: 1,
                c_t: IN,
                lanes: IN,
                columns: samples,
                depth: OUT,
                start: Start::Accumulate,
            });
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
