//! keramic: Keras-style functional models declared with [`model!`], with every shape checked at
//! compile time.
//!
//! A model is one `model!` invocation. The macro infers the shape of every value, rejects a
//! mismatch with a compile error at the faulty layer call, and expands to statically sized
//! nalgebra code: a struct that owns the weights, a batched forward pass and a generated
//! backward pass. Training, evaluation and prediction come from [`prelude::NetworkExt`].
//!
//! ```
//! use keramic::prelude::*;
//! use rand::SeedableRng;
//!
//! model! {
//!     /// Predicts a score difference and a win probability from two features.
//!     pub struct TwoHeads {
//!         input x: [2];
//!         output score_diff = Dense::<1, NoBias>(x);
//!         output win = Dense::<1, Sigmoid, NoBias>(score_diff);
//!     }
//! }
//!
//! const _: () = assert!(TwoHeads::TRAINABLE_PARAMS == 3);
//!
//! # fn main() -> Result<(), keramic::Error> {
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let mut model = TwoHeads::new(&mut rng);
//! println!("{}", TwoHeads::summary());
//!
//! let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = (0..200)
//!     .map(|i| {
//!         let x = [(i % 10) as f32 / 10.0, (i % 7) as f32 / 7.0];
//!         let diff = x[0] - x[1];
//!         let won = if diff > 0.0 { 1.0 } else { 0.0 };
//!         (TwoHeadsInput { x }, TwoHeadsOutput { score_diff: [diff], win: [won] })
//!     })
//!     .collect();
//!
//! let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01));
//! training.fit(&data, &Fit::epochs(3).batch_size(32).validation_split(0.1).verbose(false))?;
//! let scores = training.evaluate(&data)?;
//! assert_eq!(scores.outputs.len(), 2);
//!
//! let predictions = model.predict(data.inputs())?;
//! assert_eq!(predictions.len(), 200);
//! # Ok(())
//! # }
//! ```

pub use model_core::*;

/// Declares a model in the style of Keras's functional API.
///
/// # Grammar
///
/// ```text
/// model!  { attribute* visibility struct Name { statement* } }
///
/// statement := input NAME: TYPE;           a model input
///            | #[frozen]? layer NAME = LAYER;  a layer instance, shared by all its calls
///            | let NAME = EXPR;            a named value
///            | output NAME = EXPR;         a model output (a vector)
/// TYPE      := [N] | [L, N]                floats
///            | Id<V>                       one integer id below V
///            | [Id<V>; L]                  L integer ids below V
/// LAYER     := Dense::<UNITS, ACTIVATION?, NoBias?>
///            | Embedding::<VOCABULARY, DIMENSION>
///            | Flatten | Add | Subtract | Multiply | Concatenate
///            | ModelType                   another model, used as a layer
/// EXPR      := NAME                        a value
///            | LAYER(EXPR, ...)            a fresh layer instance, called once
///            | NAME(EXPR, ...)             a call of a declared `layer`
/// ACTIVATION:= Linear | Relu | Sigmoid | Tanh | Softmax
/// ```
///
/// Sizes are integer literals or paths of `usize` constants written in capitals
/// (`Dense::<HIDDEN>`). A layer written inline is a fresh instance, named after the value it
/// defines (`output win = Dense::<1>(h)` makes a layer `win`) or after its kind. A layer declared
/// with `layer` and called several times shares its weights, and the gradients of all its calls
/// add up. A model declared with `model!` is used as a layer in the same way.
///
/// # Shapes
///
/// | layer | operands | output |
/// | --- | --- | --- |
/// | `Dense::<U>` | one vector `[N]` | `[U]` |
/// | `Embedding::<V, D>` | `Id<V>` or `[Id<V>; L]` | `[1, D]` or `[L, D]` |
/// | `Flatten` | `[L, D]` | `[L × D]` |
/// | `Add`, `Multiply` | two or more of equal shape | the same shape |
/// | `Subtract` | exactly two of equal shape | the same shape |
/// | `Concatenate` | two or more of equal rank, equal but for the last axis | last axes summed |
/// | a model | its inputs | its one output |
///
/// Every rule is checked at compile time. A mistake is an error at the faulty token that names
/// the layer and the shapes:
///
/// ```compile_fail
/// use keramic::prelude::*;
///
/// model! {
///     pub struct Broken {
///         input a: [3];
///         input b: [4];
///         output sum = Add(a, b); // error: Add needs inputs of equal shape, but `a` is [3] and `b` is [4]
///     }
/// }
/// # fn main() {}
/// ```
///
/// # What it generates
///
/// For `pub struct Name`:
/// - `Name<T = f32>`, which owns the weights (on the heap) in one public field per layer with
///   weights; `Name::new(&mut rng)` in `f32` and `Name::<f64>::from_rng(&mut rng)` with Keras's
///   default initializers; `Name::TOTAL_PARAMS`, `TRAINABLE_PARAMS` and `NON_TRAINABLE_PARAMS`,
///   usable in `const` context; `Name::summary()`; `set_trainable` and `is_trainable`.
/// - `NameInput`, one sample's inputs: a field per input, `[f32; N]` for floats (row-major for
///   `[L, N]`), `u32` for `Id<V>` and `[u32; L]` for `[Id<V>; L]`.
/// - `NameOutput`, one sample's outputs or targets: a field `[f32; N]` per output.
/// - An implementation of [`network::Network`], through which [`prelude::NetworkExt`] compiles,
///   trains and predicts.
///
/// A cross-entropy loss on an output made by `Dense` with a sigmoid or softmax works from the
/// logits, as Keras does; on any other output it clips probabilities to `[1e-7, 1 − 1e-7]`.
///
/// # Limitations
///
/// - Inputs have rank 1 or 2 and outputs are vectors; there are no convolution or recurrent
///   layers yet.
/// - A model used as a layer must have exactly one output.
/// - Flatten of a value that is already flat is rejected rather than ignored, because it is
///   always a leftover.
/// - Shape mismatches that involve the output size of another model are reported by the
///   compiler's type check rather than by the macro, because one macro invocation cannot read
///   another model's declaration.
pub use model_macros::model;

/// Everything a model file needs: the macro, losses, optimizers, data and training types.
pub mod prelude {
    pub use crate::model;
    pub use model_core::Error;
    pub use model_core::data::Dataset;
    pub use model_core::data::csv::read_csv;
    pub use model_core::loss::{BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError};
    pub use model_core::network::Network;
    pub use model_core::optim::{Adam, Optimizer, Sgd};
    pub use model_core::train::{Evaluation, Fit, History, NetworkExt};
}
