//! A small neural network over the sparse TF-IDF features: one hidden layer
//! of rectified units with dropout, and a softmax over the classes, trained
//! with mini-batch Adam. It sees combinations of n-grams that a linear model
//! cannot weigh together, and is averaged with the linear machines.

use serde::{Deserialize, Serialize};

use crate::features::SparseVec;

/// The network's shape and training schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Hidden units (0 turns the network off).
    pub hidden: usize,
    pub epochs: usize,
    pub learning_rate: f32,
    pub dropout: f32,
    pub batch: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            // Chosen on a held-out fifth of the Banking77 training file:
            // 128 units for 8 epochs matched 256 for 6 at half the cost.
            hidden: 128,
            epochs: 8,
            learning_rate: 1e-3,
            dropout: 0.5,
            batch: 32,
        }
    }
}

/// Trained weights. The first layer is feature-major (`n_features x
/// hidden`) and stored as bytes with one scale per feature: a message
/// touches a few hundred scattered rows, and reading a quarter of the
/// memory is what makes prediction fast. `w2` is hidden-major.
#[derive(Clone, Debug, Default)]
pub struct Mlp {
    pub hidden: usize,
    pub classes: usize,
    pub w1: Vec<i8>,
    pub w1_scale: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        // Sum of uniforms: close enough to a normal for initial weights.
        (0..4).map(|_| self.unit()).sum::<f32>() - 2.0
    }
}

/// Adam moments for one parameter block.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self { m: vec![0.0; n], v: vec![0.0; n] }
    }
}

const B1: f32 = 0.9;
const B2: f32 = 0.999;

/// What the network learns from.
struct TrainData<'a> {
    xs: &'a [SparseVec],
    labels: &'a [u16],
    class_weights: &'a [f32],
    n_features: usize,
    n_classes: usize,
}

#[inline(always)]
fn adam_step(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], lr_t: f32) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = B1 * *m + (1.0 - B1) * g;
        *v = B2 * *v + (1.0 - B2) * g * g;
        *w -= lr_t * *m / (v.sqrt() + 1e-8);
    }
}

impl Mlp {
    /// The class logits for one message.
    pub fn logits(&self, x: &SparseVec) -> Vec<f32> {
        let h = self.hidden_layer(x);
        // The rectified units that fired, as a sparse vector over `w2`.
        let mut active = SparseVec::default();
        for (k, &v) in h.iter().enumerate().filter(|(_, &v)| v != 0.0) {
            active.idx.push(k as u32);
            active.val.push(v);
        }
        let mut o = self.b2.clone();
        crate::kernels::add_rows(&mut o, &self.w2, &active);
        o
    }

    fn hidden_layer(&self, x: &SparseVec) -> Vec<f32> {
        let mut z = self.b1.clone();
        crate::kernels::add_rows_i8(&mut z, &self.w1, &self.w1_scale, x);
        for a in &mut z {
            *a = a.max(0.0);
        }
        z
    }

    #[inline(always)]
    fn output(&self, h: &[f32]) -> Vec<f32> {
        let mut o = self.b2.clone();
        for (k, &hv) in h.iter().enumerate() {
            if hv == 0.0 {
                continue;
            }
            let row = &self.w2[k * self.classes..(k + 1) * self.classes];
            for (a, w) in o.iter_mut().zip(row) {
                *a += hv * w;
            }
        }
        o
    }

    /// Trains on sparse examples with class labels; each example's loss
    /// counts its class's weight.
    pub fn train(
        xs: &[SparseVec],
        labels: &[u16],
        class_weights: &[f32],
        n_features: usize,
        n_classes: usize,
        cfg: &MlpConfig,
        seed: u64,
    ) -> Mlp {
        let data = TrainData { xs, labels, class_weights, n_features, n_classes };
        #[cfg(target_arch = "x86_64")]
        if crate::kernels::has_avx2() {
            // SAFETY: the processor was just found to support AVX2 and FMA.
            return unsafe { Self::train_avx2(&data, cfg, seed) };
        }
        Self::train_body(&data, cfg, seed)
    }

    /// The training loop compiled for AVX2 and FMA: the dense updates of
    /// the hidden layer and of Adam then run eight lanes at a time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn train_avx2(data: &TrainData, cfg: &MlpConfig, seed: u64) -> Mlp {
        Self::train_body(data, cfg, seed)
    }

    #[inline(always)]
    fn train_body(data: &TrainData, cfg: &MlpConfig, seed: u64) -> Mlp {
        let TrainData { xs, labels, class_weights, n_features, n_classes } = *data;
        let (h, c) = (cfg.hidden, n_classes);
        let mut rng = Rng(seed | 1);
        let s1 = 0.05;
        let s2 = (1.0 / h as f32).sqrt();
        let mut w1: Vec<f32> = (0..n_features * h).map(|_| rng.normal() * s1).collect();
        let mut net = Mlp {
            hidden: h,
            classes: c,
            w1: Vec::new(),
            w1_scale: Vec::new(),
            b1: vec![0.0; h],
            w2: (0..h * c).map(|_| rng.normal() * s2).collect(),
            b2: vec![0.0; c],
        };
        let (mut a1, mut ab1, mut a2, mut ab2) =
            (Adam::new(n_features * h), Adam::new(h), Adam::new(h * c), Adam::new(c));
        let mut g1 = vec![0.0f32; n_features * h];
        let mut touched = vec![false; n_features];
        let mut rows: Vec<usize> = Vec::new();
        let (mut gb1, mut g2, mut gb2) = (vec![0.0f32; h], vec![0.0f32; h * c], vec![0.0f32; c]);
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let keep = 1.0 - cfg.dropout;
        let mut step = 0i32;
        for _ in 0..cfg.epochs {
            for i in (1..order.len()).rev() {
                order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            for batch in order.chunks(cfg.batch.max(1)) {
                let scale = 1.0 / batch.len() as f32;
                for &n in batch {
                    let x = &xs[n];
                    let scale = scale * class_weights.get(labels[n] as usize).unwrap_or(&1.0);
                    let mut z = net.b1.clone();
                    crate::kernels::add_rows(&mut z, &w1, x);
                    // Dropout: keep each active unit with probability `keep`.
                    let hd: Vec<f32> = z
                        .iter()
                        .map(|&a| if a > 0.0 && rng.unit() < keep { a / keep } else { 0.0 })
                        .collect();
                    let mut p = net.output(&hd);
                    let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for v in &mut p {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                    for v in &mut p {
                        *v = *v / sum * scale;
                    }
                    p[labels[n] as usize] -= scale;
                    // Output layer gradients and the hidden error.
                    let mut gh = vec![0.0f32; h];
                    for k in 0..h {
                        let row = &net.w2[k * c..(k + 1) * c];
                        if hd[k] != 0.0 {
                            let grow = &mut g2[k * c..(k + 1) * c];
                            for (g, &pv) in grow.iter_mut().zip(&p) {
                                *g += hd[k] * pv;
                            }
                            gh[k] = row.iter().zip(&p).map(|(w, pv)| w * pv).sum::<f32>() / keep;
                        }
                    }
                    for (g, pv) in gb2.iter_mut().zip(&p) {
                        *g += pv;
                    }
                    for (g, &e) in gb1.iter_mut().zip(&gh) {
                        *g += e;
                    }
                    for &i in &x.idx {
                        let i = i as usize;
                        if !touched[i] {
                            touched[i] = true;
                            rows.push(i);
                        }
                    }
                    crate::kernels::scatter_rows(&mut g1, &gh, x);
                }
                step += 1;
                let lr_t = cfg.learning_rate * (1.0 - B2.powi(step)).sqrt() / (1.0 - B1.powi(step));
                // Only the rows of features seen in this batch move (lazy Adam).
                for &i in &rows {
                    let r = i * h..(i + 1) * h;
                    adam_step(
                        &mut w1[r.clone()],
                        &g1[r.clone()],
                        &mut a1.m[r.clone()],
                        &mut a1.v[r.clone()],
                        lr_t,
                    );
                    g1[r].fill(0.0);
                    touched[i] = false;
                }
                rows.clear();
                adam_step(&mut net.b1, &gb1, &mut ab1.m, &mut ab1.v, lr_t);
                adam_step(&mut net.w2, &g2, &mut a2.m, &mut a2.v, lr_t);
                adam_step(&mut net.b2, &gb2, &mut ab2.m, &mut ab2.v, lr_t);
                gb1.fill(0.0);
                g2.fill(0.0);
                gb2.fill(0.0);
            }
        }
        net.quantise(&w1);
        net
    }

    /// Stores the first layer as bytes, one scale per feature row.
    fn quantise(&mut self, w1: &[f32]) {
        (self.w1, self.w1_scale) = crate::kernels::quantise_rows(w1, self.hidden);
    }
}
