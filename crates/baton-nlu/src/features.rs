//! Hashed word and character n-gram features with TF-IDF weights.
//!
//! A message becomes two blocks of features: word unigrams and bigrams, and
//! character n-grams taken inside each word padded with spaces (so that
//! "refnd" still shares most of its pieces with "refund"). Each n-gram is
//! hashed to 64 bits; the vocabulary keeps the hashes seen often enough in
//! training and gives each a column. Each block is L2-normalised on its own.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::text::{tokens, TokenKind};

/// Which n-grams to extract and how to weigh the two blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Longest word n-gram (1 = unigrams only).
    pub word_max: usize,
    pub char_min: usize,
    pub char_max: usize,
    /// Weight of the character block relative to the word block.
    pub char_weight: f32,
    /// An n-gram must appear in at least this many training messages.
    pub min_df: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self { word_max: 2, char_min: 2, char_max: 5, char_weight: 1.0, min_df: 2 }
    }
}

/// A sparse feature vector: sorted column indices and their values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVec {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
}

impl SparseVec {
    pub fn dot(&self, dense: &[f32]) -> f32 {
        self.idx.iter().zip(&self.val).map(|(&i, &v)| dense[i as usize] * v).sum()
    }

    pub fn norm_sq(&self) -> f32 {
        self.val.iter().map(|v| v * v).sum()
    }
}

/// The keys are already well-mixed hashes, so the map only needs to spread
/// them over buckets; SipHash would cost more than the rest of a lookup.
#[derive(Default)]
pub struct PremixedHasher(u64);

impl Hasher for PremixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type HashIndex = HashMap<u64, u32, BuildHasherDefault<PremixedHasher>>;

const WORD_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const CHAR_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn hash_str(seed: u64, s: &str) -> u64 {
    let mut h = seed;
    for &b in s.as_bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    mix(h)
}

/// The same hash as `hash_str` of the characters' UTF-8 bytes.
fn hash_folded(seed: u64, cs: &[char]) -> u64 {
    let mut h = seed;
    let mut utf8 = [0u8; 4];
    for c in cs {
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    mix(h)
}

fn hash_chars(seed: u64, cs: &[char]) -> u64 {
    let mut h = seed ^ cs.len() as u64;
    for &c in cs {
        h = (h ^ c as u64).wrapping_mul(0x100_0000_01b3);
    }
    mix(h)
}

/// The raw n-gram hashes of one message, before the vocabulary is applied.
#[derive(Default)]
pub struct RawFeatures {
    pub words: Vec<u64>,
    pub chars: Vec<u64>,
}

/// Extracts the hashed n-grams of a message.
pub fn extract(cfg: &FeatureConfig, text: &str) -> RawFeatures {
    let mut raw = RawFeatures::default();
    let mut prev_hash = hash_str(WORD_SEED, "<s>");
    // One buffer for the padded, lower-cased word being cut into n-grams.
    let mut buf: Vec<char> = Vec::with_capacity(32);
    for t in tokens(text) {
        if t.kind == TokenKind::Punct {
            continue;
        }
        // The word folded as `fold` does, straight into the buffer: no
        // string is allocated per word.
        buf.clear();
        buf.push(' ');
        for c in t.raw.chars() {
            if c == '’' {
                buf.push('\'');
            } else {
                buf.extend(c.to_lowercase());
            }
        }
        buf.push(' ');
        let h = hash_folded(WORD_SEED, &buf[1..buf.len() - 1]);
        raw.words.push(h);
        if cfg.word_max >= 2 {
            raw.words.push(mix(h ^ prev_hash.rotate_left(17) ^ 0x5bd1_e995));
        }
        prev_hash = h;
        for n in cfg.char_min..=cfg.char_max {
            if buf.len() < n {
                break;
            }
            for win in buf.windows(n) {
                raw.chars.push(hash_chars(CHAR_SEED, win));
            }
        }
    }
    raw
}

/// The columns and inverse document frequencies learned from training.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    pub config: FeatureConfig,
    pub hashes: Vec<u64>,
    pub idf: Vec<f32>,
    index: HashIndex,
}

impl Vocabulary {
    /// Learns the vocabulary from training messages.
    pub fn fit(config: FeatureConfig, texts: &[&str]) -> Vocabulary {
        let mut df: HashIndex = HashIndex::default();
        for t in texts {
            let raw = extract(&config, t);
            let mut all = raw.words;
            all.extend(raw.chars);
            all.sort_unstable();
            all.dedup();
            for h in all {
                *df.entry(h).or_insert(0) += 1;
            }
        }
        let n = texts.len() as f32;
        let mut kept: Vec<(u64, u32)> =
            df.into_iter().filter(|&(_, d)| d >= config.min_df).collect();
        kept.sort_unstable();
        let hashes: Vec<u64> = kept.iter().map(|&(h, _)| h).collect();
        let idf = kept.iter().map(|&(_, d)| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0).collect();
        Self::from_parts(config, hashes, idf)
    }

    pub fn from_parts(config: FeatureConfig, hashes: Vec<u64>, idf: Vec<f32>) -> Vocabulary {
        let mut index = HashIndex::default();
        index.reserve(hashes.len());
        for (i, &h) in hashes.iter().enumerate() {
            index.insert(h, i as u32);
        }
        Vocabulary { config, hashes, idf, index }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Turns a message into its weighted, normalised feature vector.
    pub fn transform(&self, text: &str) -> SparseVec {
        let raw = extract(&self.config, text);
        // Each block's hashes become columns first: unknown n-grams drop out
        // before any sorting, and the columns sort as small integers.
        let words = self.block(&raw.words, 1.0);
        let chars = self.block(&raw.chars, self.config.char_weight);
        merge(words, chars)
    }

    /// The columns of one block with their sublinear TF-IDF weights,
    /// sorted by column and scaled to length `weight`.
    fn block(&self, hashes: &[u64], weight: f32) -> Vec<(u32, f32)> {
        let mut cols: Vec<u32> = hashes.iter().filter_map(|h| self.index.get(h).copied()).collect();
        // Count repeats in place: sort (a few hundred small integers), then
        // fold each run into one entry.
        cols.sort_unstable();
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(cols.len());
        for run in cols.chunk_by(|a, b| a == b) {
            let col = run[0];
            out.push((col, (1.0 + (run.len() as f32).ln()) * self.idf[col as usize]));
        }
        let norm = out.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            for p in &mut out {
                p.1 *= weight / norm;
            }
        }
        out
    }
}

/// Merges two column-sorted blocks into one sparse vector; a column in both
/// (a word and a character n-gram with the same hash) keeps both values.
fn merge(a: Vec<(u32, f32)>, b: Vec<(u32, f32)>) -> SparseVec {
    let mut out = SparseVec {
        idx: Vec::with_capacity(a.len() + b.len()),
        val: Vec::with_capacity(a.len() + b.len()),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j == b.len() || (i < a.len() && a[i].0 <= b[j].0);
        let (col, v) = if take_a {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        if out.idx.last() == Some(&col) {
            if let Some(last) = out.val.last_mut() {
                *last += v;
            }
        } else {
            out.idx.push(col);
            out.val.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_keeps_most_character_ngrams_of_the_word() {
        let cfg = FeatureConfig::default();
        let a = extract(&cfg, "refund").chars;
        let b = extract(&cfg, "refnd").chars;
        let shared = b.iter().filter(|h| a.contains(h)).count();
        assert_eq!(shared, 9);
    }

    #[test]
    fn features_are_normalised_per_block() {
        let cfg = FeatureConfig { min_df: 1, ..FeatureConfig::default() };
        let vocab = Vocabulary::fit(cfg, &["where is my card", "my card is lost"]);
        let v = vocab.transform("where is my card");
        assert!((v.norm_sq() - 2.0).abs() < 1e-4);
    }

    #[test]
    fn a_word_hashes_as_its_folded_string_does() {
        let chars: Vec<char> = "don't".chars().collect();
        let folded = crate::text::fold("Don’t");
        assert_eq!(hash_folded(WORD_SEED, &chars), hash_str(WORD_SEED, &folded));
        assert_eq!(
            extract(&FeatureConfig::default(), "Don’t").words[0],
            hash_str(WORD_SEED, "don't")
        );
    }

    #[test]
    fn merged_blocks_keep_columns_sorted_and_add_shared_ones() {
        let v = merge(vec![(1, 1.0), (4, 2.0)], vec![(0, 0.5), (4, 0.5), (7, 1.0)]);
        assert_eq!(v.idx, vec![0, 1, 4, 7]);
        assert_eq!(v.val, vec![0.5, 1.0, 2.5, 1.0]);
    }

    #[test]
    fn unseen_text_gives_an_empty_vector() {
        let vocab = Vocabulary::fit(FeatureConfig::default(), &["a b", "a b"]);
        assert!(vocab.transform("").idx.is_empty());
        assert!(vocab.transform("zzzz").idx.is_empty());
    }
}
