//! Matrix products of the Dense layer on batches stored one sample per column.
//!
//! Every product here has the form `C(l, t) = C₀(l, t) + Σ_k A(l, k) · B(k, t)`, where the
//! index `l` runs along contiguous memory of `A`, so the loop over `l` becomes vector
//! instructions, and `B(k, t)` is broadcast to all lanes. A block of `W × S` elements of `C`
//! stays in registers while `k` runs. Each element is summed over `k` in increasing order,
//! except in the generic code's blocks of a single lane, which sum 4 interleaved partial sums.
//! Which blocks run depends on the matrix sizes and the instruction set alone, so a sample's
//! result does not depend on the batch it is in, nor the sums on the number of threads. The
//! instruction set can change the last bits of a result.
//!
//! The instruction set is detected once: AVX-512 (with FMA), AVX2 with FMA, or the compiler's
//! baseline.

use crate::Real;

/// Strided views of the three matrices of one product, and its sizes.
///
/// `A(l, k) = a[l + k·a_k]`, `B(k, t) = b[k·b_k + t·b_t]` and `C(l, t) = c[l·c_l + t·c_t]`.
pub(crate) struct Product<'a, T> {
    pub a: &'a [T],
    pub a_k: usize,
    pub b: &'a [T],
    pub b_k: usize,
    pub b_t: usize,
    pub c: &'a mut [T],
    pub c_l: usize,
    pub c_t: usize,
    /// The sizes of the `l`, `t` and `k` ranges.
    pub lanes: usize,
    pub columns: usize,
    pub depth: usize,
    /// The initial value `C₀`: the current contents of `c`, or `bias[l]` (zero when `None`).
    pub start: Start<'a, T>,
}

/// The initial value `C₀` of a product.
#[derive(Clone, Copy)]
pub(crate) enum Start<'a, T> {
    /// Add to what `c` contains.
    Accumulate,
    /// Overwrite `c`, starting from `bias[l]` or from zero.
    Bias(Option<&'a [T]>),
}

impl<T: Real> Product<'_, T> {
    /// Checks that every index the product reads or writes is in bounds, so that the kernels
    /// can use unchecked pointer arithmetic.
    fn check(&self) {
        if self.lanes == 0 || self.columns == 0 {
            return;
        }
        let (l, t) = (self.lanes - 1, self.columns - 1);
        assert!(self.c.len() > l * self.c_l + t * self.c_t, "matrix product: C is too short");
        if self.depth > 0 {
            let k = self.depth - 1;
            assert!(self.a.len() > l + k * self.a_k, "matrix product: A is too short");
            assert!(self.b.len() > k * self.b_k + t * self.b_t, "matrix product: B is too short");
        }
        if let Start::Bias(Some(bias)) = self.start {
            assert!(bias.len() >= self.lanes, "matrix product: the bias is too short");
        }
    }
}

/// Runs `C = C₀ + A · B` with the widest instruction set this CPU has.
pub(crate) fn multiply<T: Real>(product: Product<'_, T>) {
    product.check();
    #[cfg(target_arch = "x86_64")]
    {
        match isa::detect() {
            // SAFETY: `detect` returned the level only after the CPU reported its features.
            isa::Level::Avx512 => return unsafe { isa::multiply_avx512(product) },
            isa::Level::Avx2 => return unsafe { isa::multiply_avx2(product) },
            isa::Level::Baseline => {}
        }
    }
    // SAFETY: `check` verified every index.
    unsafe { multiply_blocks::<T, false, 16, 4>(product) }
}

/// Computes `out[t] = bias + Σ_k a[k] · b[t·depth + k]` for every column `t` of `b`, the
/// product of a one-row matrix with a batch, with the widest instruction set this CPU has.
///
/// From a depth of 16, each sum runs over 16 interleaved partial sums, added up in a fixed
/// order at the end.
pub(crate) fn dot_columns<T: Real>(a: &[T], b: &[T], bias: T, out: &mut [T]) {
    let depth = a.len();
    assert_eq!(b.len(), depth * out.len(), "dot products: the batch does not match the output");
    #[cfg(target_arch = "x86_64")]
    {
        match isa::detect() {
            // SAFETY: `detect` returned the level only after the CPU reported its features.
            isa::Level::Avx512 | isa::Level::Avx2 => return unsafe { isa::dot_columns_fma(a, b, bias, out) },
            isa::Level::Baseline => {}
        }
    }
    dot_columns_body::<T, false>(a, b, bias, out);
}

#[inline(always)]
fn dot_columns_body<T: Real, const FMA: bool>(a: &[T], b: &[T], bias: T, out: &mut [T]) {
    const LANES: usize = 16;
    let depth = a.len();
    if depth == 0 {
        out.fill(bias);
        return;
    }
    if depth < LANES {
        // Too short for partial sums to pay: one chain, in order.
        for (value, column) in out.iter_mut().zip(b.chunks_exact(depth)) {
            let sum = a.iter().zip(column).fold(T::zero(), |sum, (&x, &y)| multiply_add::<T, FMA>(x, y, sum));
            *value = bias + sum;
        }
        return;
    }
    let full = depth / LANES * LANES;
    for (value, column) in out.iter_mut().zip(b.chunks_exact(depth)) {
        let mut partial = [T::zero(); LANES];
        for (a_chunk, b_chunk) in a[..full].chunks_exact(LANES).zip(column[..full].chunks_exact(LANES)) {
            for ((sum, &x), &y) in partial.iter_mut().zip(a_chunk).zip(b_chunk) {
                *sum = multiply_add::<T, FMA>(x, y, *sum);
            }
        }
        for ((sum, &x), &y) in partial.iter_mut().zip(&a[full..]).zip(&column[full..]) {
            *sum = multiply_add::<T, FMA>(x, y, *sum);
        }
        // A pairwise tree, so the additions of each level are independent.
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for i in 0..width {
                partial[i] += partial[i + width];
            }
        }
        *value = bias + partial[0];
    }
}

#[cfg(target_arch = "x86_64")]
mod isa {
    use super::{Product, Start, multiply_blocks};
    use crate::Real;
    use std::sync::atomic::{AtomicU8, Ordering};

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) enum Level {
        Baseline = 1,
        Avx2 = 2,
        Avx512 = 3,
    }

    static LEVEL: AtomicU8 = AtomicU8::new(0);

    pub(super) fn detect() -> Level {
        let cached = LEVEL.load(Ordering::Relaxed);
        let level = match cached {
            1 => Level::Baseline,
            2 => Level::Avx2,
            3 => Level::Avx512,
            _ => {
                let level = if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                    Level::Avx512
                } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    Level::Avx2
                } else {
                    Level::Baseline
                };
                LEVEL.store(level as u8, Ordering::Relaxed);
                level
            }
        };
        level
    }

    /// 32 vector registers: a block of 4 samples × 64 lanes is 16 registers of 16 floats.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn multiply_avx512<T: Real>(product: Product<'_, T>) {
        let mut product = product;
        if let Some(product) = as_f32(&mut product) {
            // SAFETY: the caller checked the product's bounds.
            return unsafe { multiply_f32_avx512(product) };
        }
        // SAFETY: the caller checked the product's bounds.
        unsafe { multiply_blocks::<T, true, 64, 4>(product) }
    }

    /// Returns the product in `f32` when `T` is `f32`.
    fn as_f32<'p, T: Real>(product: &'p mut Product<'_, T>) -> Option<Product<'p, f32>> {
        if core::any::TypeId::of::<T>() != core::any::TypeId::of::<f32>() {
            return None;
        }
        fn cast<T>(values: &[T]) -> &[f32] {
            // SAFETY: the caller checked that `T` is `f32`.
            unsafe { core::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
        }
        let c = &mut *product.c;
        // SAFETY: as in `cast`.
        let c = unsafe { core::slice::from_raw_parts_mut(c.as_mut_ptr().cast(), c.len()) };
        Some(Product {
            a: cast(product.a),
            a_k: product.a_k,
            b: cast(product.b),
            b_k: product.b_k,
            b_t: product.b_t,
            c,
            c_l: product.c_l,
            c_t: product.c_t,
            lanes: product.lanes,
            columns: product.columns,
            depth: product.depth,
            start: match product.start {
                Start::Accumulate => Start::Accumulate,
                Start::Bias(bias) => Start::Bias(bias.map(cast)),
            },
        })
    }

    /// Runs the blocks of 64 lanes, then of 16 lanes or fewer, with explicit AVX-512
    /// registers. Every element sums over `k` in increasing order.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn multiply_f32_avx512(product: Product<'_, f32>) {
        const W: usize = 64;
        let mut l = 0;
        while l + W <= product.lanes {
            let mut t = 0;
            // SAFETY (all blocks): they lie inside the ranges that `check` bounded.
            while t + 4 <= product.columns {
                unsafe { block_f32_avx512::<4>(&product, l, t) };
                t += 4;
            }
            while t < product.columns {
                unsafe { block_f32_avx512::<1>(&product, l, t) };
                t += 1;
            }
            l += W;
        }
        // The remaining lanes in one register per column, the last one masked.
        while l < product.lanes {
            let width = (product.lanes - l).min(16);
            let mask = if width == 16 { u16::MAX } else { (1u16 << width) - 1 };
            let mut t = 0;
            while t + 4 <= product.columns {
                unsafe { block16_f32_avx512::<4>(&product, l, t, mask) };
                t += 4;
            }
            while t < product.columns {
                unsafe { block16_f32_avx512::<1>(&product, l, t, mask) };
                t += 1;
            }
            l += width;
        }
    }

    /// Computes the block of up to 16 lanes × `S` columns at `(l, t)`, the lanes set in
    /// `mask`, in `S` registers. Masked loads never touch the lanes outside the mask.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn block16_f32_avx512<const S: usize>(product: &Product<'_, f32>, l: usize, t: usize, mask: u16) {
        use core::arch::x86_64::*;
        let c = product.c.as_ptr().cast_mut();
        let width = mask.count_ones() as usize;
        // SAFETY: the caller keeps the block and its unmasked lanes inside the checked ranges.
        unsafe {
            let load_c = |s: usize| match product.start {
                Start::Accumulate if product.c_l == 1 => _mm512_maskz_loadu_ps(mask, c.add(l + (t + s) * product.c_t)),
                Start::Accumulate => {
                    let mut lanes = [0.0f32; 16];
                    for (i, lane) in lanes.iter_mut().enumerate().take(width) {
                        *lane = *c.add((l + i) * product.c_l + (t + s) * product.c_t);
                    }
                    _mm512_loadu_ps(lanes.as_ptr())
                }
                Start::Bias(Some(bias)) => _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(l)),
                Start::Bias(None) => _mm512_setzero_ps(),
            };
            let a = product.a.as_ptr().add(l);
            let b = product.b.as_ptr().add(t * product.b_t);
            let mut acc = [_mm512_setzero_ps(); S];
            if S == 4 {
                let (mut c0, mut c1, mut c2, mut c3) = (load_c(0), load_c(1), load_c(2), load_c(3));
                for k in 0..product.depth {
                    let a_values = _mm512_maskz_loadu_ps(mask, a.add(k * product.a_k));
                    let b_row = b.add(k * product.b_k);
                    c0 = _mm512_fmadd_ps(_mm512_set1_ps(*b_row), a_values, c0);
                    c1 = _mm512_fmadd_ps(_mm512_set1_ps(*b_row.add(product.b_t)), a_values, c1);
                    c2 = _mm512_fmadd_ps(_mm512_set1_ps(*b_row.add(2 * product.b_t)), a_values, c2);
                    c3 = _mm512_fmadd_ps(_mm512_set1_ps(*b_row.add(3 * product.b_t)), a_values, c3);
                }
                acc.copy_from_slice(&[c0, c1, c2, c3][..S]);
            } else {
                for (s, value) in acc.iter_mut().enumerate() {
                    let mut sum = load_c(s);
                    let b = b.add(s * product.b_t);
                    for k in 0..product.depth {
                        let a_values = _mm512_maskz_loadu_ps(mask, a.add(k * product.a_k));
                        sum = _mm512_fmadd_ps(_mm512_set1_ps(*b.add(k * product.b_k)), a_values, sum);
                    }
                    *value = sum;
                }
            }
            for (s, &value) in acc.iter().enumerate() {
                if product.c_l == 1 {
                    _mm512_mask_storeu_ps(c.add(l + (t + s) * product.c_t), mask, value);
                } else {
                    let mut lanes = [0.0f32; 16];
                    _mm512_storeu_ps(lanes.as_mut_ptr(), value);
                    for (i, &lane) in lanes.iter().enumerate().take(width) {
                        *c.add((l + i) * product.c_l + (t + s) * product.c_t) = lane;
                    }
                }
            }
        }
    }

    /// Computes the block of 64 lanes × `S` columns at `(l, t)` in 4·`S` registers.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn block_f32_avx512<const S: usize>(product: &Product<'_, f32>, l: usize, t: usize) {
        use core::arch::x86_64::*;
        const V: usize = 4;
        let c = product.c.as_ptr().cast_mut();
        // SAFETY: the caller keeps the block inside the checked ranges.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); V]; S];
            for (s, column) in acc.iter_mut().enumerate() {
                for (v, value) in column.iter_mut().enumerate() {
                    *value = match product.start {
                        Start::Accumulate if product.c_l == 1 => _mm512_loadu_ps(c.add(l + 16 * v + (t + s) * product.c_t)),
                        Start::Accumulate => {
                            let lanes: [f32; 16] = core::array::from_fn(|i| *c.add((l + 16 * v + i) * product.c_l + (t + s) * product.c_t));
                            _mm512_loadu_ps(lanes.as_ptr())
                        }
                        Start::Bias(Some(bias)) => _mm512_loadu_ps(bias.as_ptr().add(l + 16 * v)),
                        Start::Bias(None) => _mm512_setzero_ps(),
                    };
                }
            }
            let a = product.a.as_ptr().add(l);
            let b = product.b.as_ptr().add(t * product.b_t);
            // Named registers rather than indexing `acc` in the loop: with the array, the
            // compiler stored the accumulators to the stack on every step.
            if S == 4 {
                let [[mut c00, mut c01, mut c02, mut c03], [mut c10, mut c11, mut c12, mut c13], [mut c20, mut c21, mut c22, mut c23], [mut c30, mut c31, mut c32, mut c33]] =
                    [acc[0], acc[1], acc[2], acc[3]];
                for k in 0..product.depth {
                    let a_row = a.add(k * product.a_k);
                    let (a0, a1, a2, a3) = (
                        _mm512_loadu_ps(a_row),
                        _mm512_loadu_ps(a_row.add(16)),
                        _mm512_loadu_ps(a_row.add(32)),
                        _mm512_loadu_ps(a_row.add(48)),
                    );
                    let b_row = b.add(k * product.b_k);
                    let scale = _mm512_set1_ps(*b_row);
                    c00 = _mm512_fmadd_ps(scale, a0, c00);
                    c01 = _mm512_fmadd_ps(scale, a1, c01);
                    c02 = _mm512_fmadd_ps(scale, a2, c02);
                    c03 = _mm512_fmadd_ps(scale, a3, c03);
                    let scale = _mm512_set1_ps(*b_row.add(product.b_t));
                    c10 = _mm512_fmadd_ps(scale, a0, c10);
                    c11 = _mm512_fmadd_ps(scale, a1, c11);
                    c12 = _mm512_fmadd_ps(scale, a2, c12);
                    c13 = _mm512_fmadd_ps(scale, a3, c13);
                    let scale = _mm512_set1_ps(*b_row.add(2 * product.b_t));
                    c20 = _mm512_fmadd_ps(scale, a0, c20);
                    c21 = _mm512_fmadd_ps(scale, a1, c21);
                    c22 = _mm512_fmadd_ps(scale, a2, c22);
                    c23 = _mm512_fmadd_ps(scale, a3, c23);
                    let scale = _mm512_set1_ps(*b_row.add(3 * product.b_t));
                    c30 = _mm512_fmadd_ps(scale, a0, c30);
                    c31 = _mm512_fmadd_ps(scale, a1, c31);
                    c32 = _mm512_fmadd_ps(scale, a2, c32);
                    c33 = _mm512_fmadd_ps(scale, a3, c33);
                }
                acc[0] = [c00, c01, c02, c03];
                acc[1] = [c10, c11, c12, c13];
                acc[2] = [c20, c21, c22, c23];
                acc[3] = [c30, c31, c32, c33];
            } else {
                for (s, column) in acc.iter_mut().enumerate() {
                    let [mut c0, mut c1, mut c2, mut c3] = *column;
                    let b = b.add(s * product.b_t);
                    for k in 0..product.depth {
                        let a_row = a.add(k * product.a_k);
                        let scale = _mm512_set1_ps(*b.add(k * product.b_k));
                        c0 = _mm512_fmadd_ps(scale, _mm512_loadu_ps(a_row), c0);
                        c1 = _mm512_fmadd_ps(scale, _mm512_loadu_ps(a_row.add(16)), c1);
                        c2 = _mm512_fmadd_ps(scale, _mm512_loadu_ps(a_row.add(32)), c2);
                        c3 = _mm512_fmadd_ps(scale, _mm512_loadu_ps(a_row.add(48)), c3);
                    }
                    *column = [c0, c1, c2, c3];
                }
            }
            for (s, column) in acc.iter().enumerate() {
                for (v, &value) in column.iter().enumerate() {
                    if product.c_l == 1 {
                        _mm512_storeu_ps(c.add(l + 16 * v + (t + s) * product.c_t), value);
                    } else {
                        let mut lanes = [0.0f32; 16];
                        _mm512_storeu_ps(lanes.as_mut_ptr(), value);
                        for (i, &lane) in lanes.iter().enumerate() {
                            *c.add((l + 16 * v + i) * product.c_l + (t + s) * product.c_t) = lane;
                        }
                    }
                }
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_columns_fma<T: Real>(a: &[T], b: &[T], bias: T, out: &mut [T]) {
        super::dot_columns_body::<T, true>(a, b, bias, out);
    }

    /// 16 vector registers: a block of 4 samples × 16 lanes is 8 registers of 8 floats.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn multiply_avx2<T: Real>(product: Product<'_, T>) {
        // SAFETY: the caller checked the product's bounds.
        unsafe { multiply_blocks::<T, true, 16, 4>(product) }
    }
}

#[inline(always)]
fn multiply_add<T: Real, const FMA: bool>(a: T, b: T, c: T) -> T {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Covers `C` with blocks of `W` lanes by `S` columns, then narrower blocks at the edges.
///
/// # Safety
/// Every index of `product` must be in bounds, as [`Product::check`] verifies.
#[inline(always)]
unsafe fn multiply_blocks<T: Real, const FMA: bool, const W: usize, const S: usize>(product: Product<'_, T>) {
    let mut l = 0;
    // SAFETY (all calls): the blocks lie inside the checked ranges of `l` and `t`.
    while l + W <= product.lanes {
        unsafe { columns_of_block::<T, FMA, W, S>(&product, l) };
        l += W;
    }
    if W > 16 {
        while l + 16 <= product.lanes {
            unsafe { columns_of_block::<T, FMA, 16, S>(&product, l) };
            l += 16;
        }
    }
    while l + 4 <= product.lanes {
        unsafe { columns_of_block::<T, FMA, 4, S>(&product, l) };
        l += 4;
    }
    while l < product.lanes {
        unsafe { columns_of_block::<T, FMA, 1, S>(&product, l) };
        l += 1;
    }
}

/// Runs one row of blocks, `W` lanes from `l`, over all columns.
#[inline(always)]
unsafe fn columns_of_block<T: Real, const FMA: bool, const W: usize, const S: usize>(product: &Product<'_, T>, l: usize) {
    let mut t = 0;
    while t + S <= product.columns {
        unsafe { block::<T, FMA, W, S>(product, l, t) };
        t += S;
    }
    while t < product.columns {
        unsafe { block::<T, FMA, W, 1>(product, l, t) };
        t += 1;
    }
}

/// Computes the `W × S` block of `C` at lanes `l..l + W` and columns `t..t + S`.
#[inline(always)]
unsafe fn block<T: Real, const FMA: bool, const W: usize, const S: usize>(product: &Product<'_, T>, l: usize, t: usize) {
    let c = product.c.as_ptr().cast_mut();
    let mut acc = [[T::zero(); W]; S];
    // SAFETY: the caller keeps `l + W ≤ lanes` and `t + S ≤ columns`, which `check` bounds.
    unsafe {
        for (s, column) in acc.iter_mut().enumerate() {
            for (i, value) in column.iter_mut().enumerate() {
                *value = match product.start {
                    Start::Accumulate => *c.add((l + i) * product.c_l + (t + s) * product.c_t),
                    Start::Bias(Some(bias)) => *bias.get_unchecked(l + i),
                    Start::Bias(None) => T::zero(),
                };
            }
        }
        let a = product.a.as_ptr().add(l);
        let b = product.b.as_ptr().add(t * product.b_t);
        if W == 1 {
            // One lane: a chain of `depth` dependent multiply-adds would wait on each other's
            // latency, so 4 partial sums over k modulo 4 run side by side. This holds for
            // every block width S, so a column's result does not depend on its block.
            for (s, column) in acc.iter_mut().enumerate() {
                let b = b.add(s * product.b_t);
                let mut partial = [T::zero(); 4];
                for k in 0..product.depth {
                    let term = *a.add(k * product.a_k);
                    partial[k % 4] = multiply_add::<T, FMA>(*b.add(k * product.b_k), term, partial[k % 4]);
                }
                column[0] += (partial[0] + partial[1]) + (partial[2] + partial[3]);
                *c.add(l * product.c_l + (t + s) * product.c_t) = column[0];
            }
            return;
        }
        for k in 0..product.depth {
            let a_row = &*a.add(k * product.a_k).cast::<[T; W]>();
            let b_row = b.add(k * product.b_k);
            for (s, column) in acc.iter_mut().enumerate() {
                let scale = *b_row.add(s * product.b_t);
                for (value, &a_value) in column.iter_mut().zip(a_row) {
                    *value = multiply_add::<T, FMA>(scale, a_value, *value);
                }
            }
        }
        for (s, column) in acc.iter().enumerate() {
            for (i, &value) in column.iter().enumerate() {
                *c.add((l + i) * product.c_l + (t + s) * product.c_t) = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_columns_match_naive_sums() {
        for depth in [0, 1, 15, 16, 17, 64, 100] {
            let a: Vec<f64> = (0..depth).map(|i| ((i * 3 % 7) as f64) - 3.0).collect();
            let b: Vec<f64> = (0..depth * 3).map(|i| ((i * 5 % 11) as f64) - 5.0).collect();
            let mut out = [f64::NAN; 3];
            dot_columns(&a, &b, 0.5, &mut out);
            for (t, &value) in out.iter().enumerate() {
                let expected: f64 = 0.5 + (0..depth).map(|k| a[k] * b[t * depth + k]).sum::<f64>();
                assert_eq!(value, expected, "depth {depth}, column {t}");
            }
        }
    }

    /// Compares every layout the Dense layer uses against a plain triple loop.
    #[test]
    fn product_matches_naive_loops() {
        for &(lanes, columns, depth) in &[(1, 1, 1), (3, 5, 2), (64, 4, 32), (70, 9, 17), (130, 33, 5), (10, 1, 784)] {
            let a: Vec<f64> = (0..lanes * depth).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
            let b: Vec<f64> = (0..depth * columns).map(|i| ((i * 5 % 11) as f64) * 0.5 - 2.0).collect();
            let bias: Vec<f64> = (0..lanes).map(|i| i as f64).collect();
            let mut expected = vec![0.0; lanes * columns];
            for t in 0..columns {
                for l in 0..lanes {
                    let mut sum = bias[l];
                    for k in 0..depth {
                        sum += a[l + k * lanes] * b[k + t * depth];
                    }
                    expected[l + t * lanes] = sum;
                }
            }
            let mut c = vec![f64::NAN; lanes * columns];
            multiply(Product {
                a: &a,
                a_k: lanes,
                b: &b,
                b_k: 1,
                b_t: depth,
                c: &mut c,
                c_l: 1,
                c_t: lanes,
                lanes,
                columns,
                depth,
                start: Start::Bias(Some(&bias)),
            });
            assert_eq!(c, expected, "bias start, {lanes}×{columns}×{depth}");

            // The same product accumulated into its transpose.
            let mut transposed = vec![1.0; lanes * columns];
            multiply(Product {
                a: &a,
                a_k: lanes,
                b: &b,
                b_k: 1,
                b_t: depth,
                c: &mut transposed,
                c_l: columns,
                c_t: 1,
                lanes,
                columns,
                depth,
                start: Start::Accumulate,
            });
            for t in 0..columns {
                for l in 0..lanes {
                    let want = expected[l + t * lanes] - bias[l] + 1.0;
                    assert_eq!(transposed[l * columns + t], want, "accumulate, {lanes}×{columns}×{depth} at ({l}, {t})");
                }
            }
        }
    }
}
