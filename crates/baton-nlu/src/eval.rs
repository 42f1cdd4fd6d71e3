//! Measuring the models on labelled files, for `baton eval`.

/// Macro-averaged F1 over the classes that occur in the truth or the
/// predictions.
pub fn macro_f1(pred: &[u16], truth: &[u16], n_classes: usize) -> f32 {
    let mut tp = vec![0usize; n_classes];
    let mut fp = vec![0usize; n_classes];
    let mut fn_ = vec![0usize; n_classes];
    for (&p, &t) in pred.iter().zip(truth) {
        if p == t {
            tp[p as usize] += 1;
        } else {
            fp[p as usize] += 1;
            fn_[t as usize] += 1;
        }
    }
    let mut sum = 0.0;
    let mut n = 0;
    for k in 0..n_classes {
        if tp[k] + fp[k] + fn_[k] == 0 {
            continue;
        }
        n += 1;
        sum += 2.0 * tp[k] as f32 / (2 * tp[k] + fp[k] + fn_[k]) as f32;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}
