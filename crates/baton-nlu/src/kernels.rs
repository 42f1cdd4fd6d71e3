//! The dense inner loops of prediction: adding the weight rows of a sparse
//! message's features into an accumulator. They are written once and
//! compiled twice, for the baseline x86-64 instruction set and for AVX2
//! with FMA, and the second is chosen at run time when the processor has
//! it; other architectures get the portable loop alone.

use crate::features::SparseVec;

/// `acc += sum over features of value * rows[feature]`, rows of f32.
pub fn add_rows(acc: &mut [f32], rows: &[f32], x: &SparseVec) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the processor was just found to support AVX2 and FMA.
        return unsafe { add_rows_avx2(acc, rows, x) };
    }
    add_rows_body(acc, rows, x)
}

/// `acc += sum over features of value * scale[feature] * rows[feature]`,
/// rows of bytes with one scale each.
pub fn add_rows_i8(acc: &mut [f32], rows: &[i8], scale: &[f32], x: &SparseVec) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the processor was just found to support AVX2 and FMA.
        return unsafe { add_rows_i8_avx2(acc, rows, scale, x) };
    }
    add_rows_i8_body(acc, rows, scale, x)
}

/// `rows[feature] += value * e` for every feature of `x`: the gradient of
/// a first layer, in training.
pub fn scatter_rows(rows: &mut [f32], e: &[f32], x: &SparseVec) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the processor was just found to support AVX2 and FMA.
        return unsafe { scatter_rows_avx2(rows, e, x) };
    }
    scatter_rows_body(rows, e, x)
}

/// `y += x * w` for a few rows: `x` is `m` rows of `k`, `w` is `k` rows of
/// `n` (a dense layer's weights, stored input-major) and `y` is `m` rows of
/// `n`, already holding the bias. It streams the weights once without
/// repacking them, which is what a single message of a few dozen tokens
/// needs; large batches go to a blocked matrix product instead.
pub fn add_products(y: &mut [f32], x: &[f32], w: &[f32], m: usize, k: usize, n: usize) {
    assert!(x.len() >= m * k && w.len() >= k * n && y.len() >= m * n, "matrix sizes");
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the processor was just found to support AVX2 and FMA.
        return unsafe { add_products_avx2(y, x, w, m, k, n) };
    }
    add_products_body(y, x, w, m, k, n)
}

/// Whether the processor runs the AVX2 and FMA versions.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_rows_avx2(acc: &mut [f32], rows: &[f32], x: &SparseVec) {
    add_rows_body(acc, rows, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_rows_i8_avx2(acc: &mut [f32], rows: &[i8], scale: &[f32], x: &SparseVec) {
    add_rows_i8_body(acc, rows, scale, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scatter_rows_avx2(rows: &mut [f32], e: &[f32], x: &SparseVec) {
    scatter_rows_body(rows, e, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_products_avx2(y: &mut [f32], x: &[f32], w: &[f32], m: usize, k: usize, n: usize) {
    add_products_body(y, x, w, m, k, n)
}

#[inline(always)]
fn add_products_body(y: &mut [f32], x: &[f32], w: &[f32], m: usize, k: usize, n: usize) {
    // Four weight rows at a time, so that each pass over an output row
    // does four multiply-adds per load and store of it.
    let mut kk = 0;
    while kk + 4 <= k {
        let (w0, w1, w2, w3) = (
            &w[kk * n..(kk + 1) * n],
            &w[(kk + 1) * n..(kk + 2) * n],
            &w[(kk + 2) * n..(kk + 3) * n],
            &w[(kk + 3) * n..(kk + 4) * n],
        );
        for i in 0..m {
            let a = &x[i * k + kk..i * k + kk + 4];
            let (a0, a1, a2, a3) = (a[0], a[1], a[2], a[3]);
            let row = &mut y[i * n..(i + 1) * n];
            for j in 0..n {
                row[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j];
            }
        }
        kk += 4;
    }
    for kk in kk..k {
        let wr = &w[kk * n..(kk + 1) * n];
        for i in 0..m {
            let a = x[i * k + kk];
            for (o, &v) in y[i * n..(i + 1) * n].iter_mut().zip(wr) {
                *o += a * v;
            }
        }
    }
}

#[inline(always)]
fn scatter_rows_body(rows: &mut [f32], e: &[f32], x: &SparseVec) {
    let width = e.len();
    for (&i, &v) in x.idx.iter().zip(&x.val) {
        let start = i as usize * width;
        let Some(row) = rows.get_mut(start..start + width) else { continue };
        for (r, &g) in row.iter_mut().zip(e) {
            *r += v * g;
        }
    }
}

#[inline(always)]
fn add_rows_body(acc: &mut [f32], rows: &[f32], x: &SparseVec) {
    let width = acc.len();
    for (&i, &v) in x.idx.iter().zip(&x.val) {
        let start = i as usize * width;
        let Some(row) = rows.get(start..start + width) else { continue };
        for (a, &w) in acc.iter_mut().zip(row) {
            *a += v * w;
        }
    }
}

#[inline(always)]
fn add_rows_i8_body(acc: &mut [f32], rows: &[i8], scale: &[f32], x: &SparseVec) {
    let width = acc.len();
    for (&i, &v) in x.idx.iter().zip(&x.val) {
        let start = i as usize * width;
        let (Some(row), Some(&s)) = (rows.get(start..start + width), scale.get(i as usize)) else {
            continue;
        };
        let f = v * s;
        for (a, &w) in acc.iter_mut().zip(row) {
            *a += f * w as f32;
        }
    }
}

/// Stores rows of `width` weights as bytes, each row scaled so that its
/// largest weight is 127; returns the bytes and one scale per row.
pub fn quantise_rows(weights: &[f32], width: usize) -> (Vec<i8>, Vec<f32>) {
    let mut bytes = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(weights.len() / width.max(1));
    for row in weights.chunks_exact(width.max(1)) {
        let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(scale);
        bytes.extend(row.iter().map(|w| (w / scale).round().clamp(-127.0, 127.0) as i8));
    }
    (bytes, scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_a_few_rows_are_the_matrix_product_plus_what_was_there() {
        // x is 2 x 5, w is 5 x 3: five input rows exercise the block of
        // four and the remainder.
        let x = [1.0, 2.0, 0.5, -1.0, 3.0, 0.0, 1.0, 0.0, 2.0, -0.5];
        let w: Vec<f32> = (0..15).map(|v| v as f32).collect();
        let mut y = vec![10.0, 20.0, 30.0, 0.0, 0.0, 0.0];
        add_products(&mut y, &x, &w, 2, 5, 3);
        // Row 0: 1*[0,1,2] + 2*[3,4,5] + 0.5*[6,7,8] - [9,10,11] + 3*[12,13,14].
        // Row 1: [3,4,5] + 2*[9,10,11] - 0.5*[12,13,14].
        assert_eq!(y, vec![46.0, 61.5, 77.0, 15.0, 17.5, 20.0]);
    }

    #[test]
    fn rows_are_added_with_their_feature_values() {
        let x = SparseVec { idx: vec![0, 2], val: vec![2.0, 0.5] };
        let rows = [1.0, 2.0, 9.0, 9.0, 4.0, 8.0];
        let mut acc = vec![1.0, 1.0];
        add_rows(&mut acc, &rows, &x);
        assert_eq!(acc, vec![5.0, 9.0]);
    }

    #[test]
    fn scattering_adds_the_vector_to_each_feature_row() {
        let x = SparseVec { idx: vec![1], val: vec![2.0] };
        let mut rows = vec![0.0; 4];
        scatter_rows(&mut rows, &[1.0, -1.0], &x);
        assert_eq!(rows, vec![0.0, 0.0, 2.0, -2.0]);
    }

    #[test]
    fn quantised_rows_keep_each_row_largest_weight_exact() {
        let (bytes, scales) = quantise_rows(&[0.5, -1.0, 0.0, 0.0], 2);
        assert_eq!(bytes, vec![64, -127, 0, 0]);
        assert_eq!(scales, vec![1.0 / 127.0, 1.0]);
    }

    #[test]
    fn byte_rows_are_scaled_per_feature() {
        let x = SparseVec { idx: vec![1], val: vec![2.0] };
        let rows = [1i8, 1, -3, 5];
        let mut acc = vec![0.0, 0.0];
        add_rows_i8(&mut acc, &rows, &[1.0, 0.5], &x);
        assert_eq!(acc, vec![-3.0, 5.0]);
    }
}
