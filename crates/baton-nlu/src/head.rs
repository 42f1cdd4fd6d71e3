//! The intent classifier over sentence embeddings: a softmax regression, or
//! with `hidden > 0` one layer of rectified units before it, trained with
//! mini-batch AdamW on the embeddings of the training examples. Training
//! runs on candle's tensors (with its automatic gradients); prediction is a
//! plain loop over one 384-number vector.

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

/// How the embedding classifier is trained and combined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingOptions {
    /// Hidden units (0: a softmax regression straight on the embedding).
    pub hidden: usize,
    pub epochs: usize,
    pub learning_rate: f32,
    pub weight_decay: f32,
    pub batch: usize,
    /// How much more an out-of-scope training example counts in the loss.
    pub out_of_scope_weight: f32,
    /// Messages run through the encoder at once while training.
    pub encode_batch: usize,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        Self {
            hidden: 0,
            epochs: 40,
            learning_rate: 0.01,
            weight_decay: 1e-4,
            batch: 64,
            out_of_scope_weight: 4.0,
            encode_batch: 8,
        }
    }
}

/// Trained weights, row-major: `w1` is `dim x hidden`, `w2` is
/// `inputs x classes` where `inputs` is `hidden`, or `dim` without a
/// hidden layer (then `w1` and `b1` are empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbeddingHead {
    pub dim: usize,
    pub hidden: usize,
    pub classes: usize,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

impl EmbeddingHead {
    /// Numbers the model file stores for a head of this shape.
    pub fn n_floats(dim: usize, hidden: usize, classes: usize) -> usize {
        let inputs = if hidden > 0 { hidden } else { dim };
        if hidden > 0 {
            dim * hidden + hidden + inputs * classes + classes
        } else {
            inputs * classes + classes
        }
    }

    /// Trains on unit-length embeddings; each example's loss counts its
    /// class's weight.
    pub fn train(
        xs: &[Vec<f32>],
        labels: &[u16],
        class_weights: &[f32],
        n_classes: usize,
        opts: &EmbeddingOptions,
        seed: u64,
    ) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        let n = xs.len();
        let dim = xs.first().map_or(0, Vec::len);
        let flat: Vec<f32> = xs.iter().flatten().copied().collect();
        let x_all = Tensor::from_vec(flat, (n, dim), &dev)?;
        let y_all = Tensor::from_vec(labels.iter().map(|&l| l as u32).collect(), n, &dev)?;
        let w_all = Tensor::from_vec(
            labels.iter().map(|&l| class_weights[l as usize]).collect::<Vec<f32>>(),
            n,
            &dev,
        )?;
        let hidden = opts.hidden;
        let inputs = if hidden > 0 { hidden } else { dim };
        // Small random starting weights from a fixed seed, so that training
        // twice gives the same model.
        let mut rng = seed ^ 0x5DEE_CE66_D1CE_4E5B;
        let mut init = |len: usize, scale: f32| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    let u = (xorshift(&mut rng) >> 40) as f32 / (1u64 << 24) as f32;
                    (u * 2.0 - 1.0) * scale
                })
                .collect()
        };
        let w1 = Var::from_vec(
            init(dim * hidden, (6.0 / (dim + hidden.max(1)) as f32).sqrt()),
            (dim, hidden),
            &dev,
        )?;
        let b1 = Var::zeros(hidden, DType::F32, &dev)?;
        let w2 = Var::from_vec(init(inputs * n_classes, 0.01), (inputs, n_classes), &dev)?;
        let b2 = Var::zeros(n_classes, DType::F32, &dev)?;
        let mut vars = vec![w2.clone(), b2.clone()];
        if hidden > 0 {
            vars.extend([w1.clone(), b1.clone()]);
        }
        let mut adam = AdamW::new(
            vars,
            ParamsAdamW {
                lr: opts.learning_rate as f64,
                weight_decay: opts.weight_decay as f64,
                ..ParamsAdamW::default()
            },
        )?;
        let mut order: Vec<u32> = (0..n as u32).collect();
        let batch = opts.batch.max(1);
        for _ in 0..opts.epochs {
            for i in (1..order.len()).rev() {
                order.swap(i, (xorshift(&mut rng) % (i as u64 + 1)) as usize);
            }
            for chunk in order.chunks(batch) {
                let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
                let x = x_all.index_select(&idx, 0)?;
                let y = y_all.index_select(&idx, 0)?.unsqueeze(1)?;
                let w = w_all.index_select(&idx, 0)?;
                let h = if hidden > 0 {
                    x.matmul(w1.as_tensor())?.broadcast_add(b1.as_tensor())?.relu()?
                } else {
                    x
                };
                let logits = h.matmul(w2.as_tensor())?.broadcast_add(b2.as_tensor())?;
                let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                let picked = logp.gather(&y, 1)?.squeeze(1)?;
                let loss =
                    ((picked * &w)?.sum_all()? / w.sum_all()?.to_scalar::<f32>()? as f64)?.neg()?;
                adam.backward_step(&loss)?;
            }
        }
        let flat =
            |v: &Var| -> candle_core::Result<Vec<f32>> { v.as_tensor().flatten_all()?.to_vec1() };
        Ok(EmbeddingHead {
            dim,
            hidden,
            classes: n_classes,
            w1: if hidden > 0 { flat(&w1)? } else { Vec::new() },
            b1: if hidden > 0 { flat(&b1)? } else { Vec::new() },
            w2: flat(&w2)?,
            b2: flat(&b2)?,
        })
    }

    /// The raw class scores of one embedding.
    pub fn logits(&self, x: &[f32]) -> Vec<f32> {
        let hidden_out;
        let inputs: &[f32] = if self.hidden > 0 {
            let mut h = self.b1.clone();
            for (d, &v) in x.iter().enumerate().take(self.dim) {
                let row = &self.w1[d * self.hidden..(d + 1) * self.hidden];
                for (a, &w) in h.iter_mut().zip(row) {
                    *a += v * w;
                }
            }
            for a in &mut h {
                *a = a.max(0.0);
            }
            hidden_out = h;
            &hidden_out
        } else {
            &x[..self.dim.min(x.len())]
        };
        let mut out = self.b2.clone();
        for (i, &v) in inputs.iter().enumerate() {
            let row = &self.w2[i * self.classes..(i + 1) * self.classes];
            for (a, &w) in out.iter_mut().zip(row) {
                *a += v * w;
            }
        }
        out
    }

    /// The weights in the order the model file stores them.
    pub fn floats(&self) -> impl Iterator<Item = &f32> {
        self.w1.iter().chain(&self.b1).chain(&self.w2).chain(&self.b2)
    }

    /// Rebuilds a head from [`EmbeddingHead::floats`].
    pub fn from_floats(dim: usize, hidden: usize, classes: usize, floats: &[f32]) -> Option<Self> {
        if floats.len() != Self::n_floats(dim, hidden, classes) {
            return None;
        }
        let inputs = if hidden > 0 { hidden } else { dim };
        let mut rest = floats;
        let mut take = |len: usize| {
            let (head, tail) = rest.split_at(len);
            rest = tail;
            head.to_vec()
        };
        let (w1, b1) =
            if hidden > 0 { (take(dim * hidden), take(hidden)) } else { (Vec::new(), Vec::new()) };
        Some(EmbeddingHead {
            dim,
            hidden,
            classes,
            w1,
            b1,
            w2: take(inputs * classes),
            b2: take(classes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn a_head_separates_two_directions_and_round_trips() {
        let xs = vec![
            unit([1.0, 0.1, 0.0]),
            unit([0.9, 0.0, 0.2]),
            unit([0.0, 1.0, 0.1]),
            unit([0.1, 0.9, 0.0]),
        ];
        let labels = [0, 0, 1, 1];
        for hidden in [0, 8] {
            let opts = EmbeddingOptions { hidden, epochs: 200, batch: 4, ..Default::default() };
            let head = EmbeddingHead::train(&xs, &labels, &[1.0, 1.0], 2, &opts, 7).unwrap();
            for (x, &l) in xs.iter().zip(&labels) {
                let s = head.logits(x);
                assert_eq!((s[1] > s[0]) as u16, l, "hidden {hidden}: {s:?}");
            }
            let floats: Vec<f32> = head.floats().copied().collect();
            assert_eq!(floats.len(), EmbeddingHead::n_floats(3, hidden, 2));
            assert_eq!(EmbeddingHead::from_floats(3, hidden, 2, &floats), Some(head));
        }
    }
}
