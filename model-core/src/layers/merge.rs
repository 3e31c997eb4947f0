//! Merge layers: Add, Subtract, Multiply and Concatenate.
//!
//! Each forward function writes a fresh output. Each backward function adds into the operand
//! gradient it is given, because an operand may feed several layers. Add and Subtract need no
//! backward function: their operand gradients are the output gradient, added or subtracted.

use super::Batch;
use crate::Real;

/// Add: the element-wise sum of two or more values of equal shape.
///
/// # Shapes
/// every operand and the output: `[N]` (or a rank-2 value stored flat)
pub fn add<T: Real, const N: usize>(operands: &[&Batch<T, N>], out: &mut Batch<T, N>) {
    super::resize_batch(out, operands[0].ncols());
    out.copy_from(operands[0]);
    for operand in &operands[1..] {
        *out += *operand;
    }
}

/// Subtract: `a - b` for two values of equal shape.
pub fn subtract<T: Real, const N: usize>(a: &Batch<T, N>, b: &Batch<T, N>, out: &mut Batch<T, N>) {
    super::resize_batch(out, a.ncols());
    a.sub_to(b, out);
}

/// Multiply: the element-wise product of two or more values of equal shape.
pub fn multiply<T: Real, const N: usize>(operands: &[&Batch<T, N>], out: &mut Batch<T, N>) {
    super::resize_batch(out, operands[0].ncols());
    out.copy_from(operands[0]);
    for operand in &operands[1..] {
        out.component_mul_assign(*operand);
    }
}

/// Back-propagates Multiply to one operand: adds the output gradient times the product of
/// the `others` operands to `operand_grad`.
pub fn multiply_backward<T: Real, const N: usize>(grad: &Batch<T, N>, others: &[&Batch<T, N>], operand_grad: &mut Batch<T, N>) {
    for (k, (o, &g)) in operand_grad.as_mut_slice().iter_mut().zip(grad.as_slice()).enumerate() {
        let product = others.iter().fold(T::one(), |product, other| product * other.as_slice()[k]);
        *o += g * product;
    }
}

/// Concatenate along the last axis.
///
/// Operand `i` is `[positions, widths[i]]` (rank 1 when `positions` is 1), stored flat per
/// sample; the output is `[positions, Σ widths]`. `operands[i]` holds the samples of operand
/// `i` one after another, as a batch's `as_slice()` does.
pub fn concatenate<T: Real>(operands: &[&[T]], widths: &[usize], positions: usize, out: &mut [T]) {
    let out_width: usize = widths.iter().sum();
    let sample_size = positions * out_width;
    for (sample, out_sample) in out.chunks_exact_mut(sample_size).enumerate() {
        let mut offset = 0;
        for (operand, &width) in operands.iter().zip(widths) {
            let operand_sample = &operand[sample * positions * width..(sample + 1) * positions * width];
            for p in 0..positions {
                let start = p * out_width + offset;
                out_sample[start..start + width].copy_from_slice(&operand_sample[p * width..(p + 1) * width]);
            }
            offset += width;
        }
    }
}

/// Back-propagates Concatenate to operand `index`: adds its part of the output gradient to
/// `operand_grad`.
pub fn concatenate_backward<T: Real>(grad: &[T], widths: &[usize], positions: usize, index: usize, operand_grad: &mut [T]) {
    let out_width: usize = widths.iter().sum();
    let offset: usize = widths[..index].iter().sum();
    let width = widths[index];
    let sample_size = positions * out_width;
    for (grad_sample, operand_sample) in grad.chunks_exact(sample_size).zip(operand_grad.chunks_exact_mut(positions * width)) {
        for p in 0..positions {
            let start = p * out_width + offset;
            for (o, &g) in operand_sample[p * width..(p + 1) * width].iter_mut().zip(&grad_sample[start..start + width]) {
                *o += g;
            }
        }
    }
}
