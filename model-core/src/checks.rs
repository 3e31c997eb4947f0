//! Compile-time checks that generated code runs where the macro cannot see a size: the input
//! and output sizes of a model used inside another one.
//!
//! Each check is a trait implemented only when two sizes are equal. A mismatch is a compile
//! error whose message names the model or layer and both shapes, at the span that generated
//! code gives the check.

use crate::layers::{Batch, IdBatch};
use crate::loss::{AnyOutput, ClassLogits, ClassProbabilities, Logits, Probabilities};
use crate::train::Head;

/// The two sizes of an argument are equal, so it can be passed on unchanged.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects an input of shape [{EXPECTED}] here, but the argument has shape [{GOT}]",
    label = "this argument has shape [{GOT}]"
)]
pub trait InputSize<const EXPECTED: usize, const GOT: usize> {
    /// Returns `batch` with the expected size in its type.
    fn coerce<T: crate::Real>(batch: &Batch<T, GOT>) -> &Batch<T, EXPECTED>;
    /// Returns the argument's gradient buffer with the expected size in its type.
    fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, GOT>) -> &mut Batch<T, EXPECTED>;
}

impl<M: ?Sized, const N: usize> InputSize<N, N> for M {
    fn coerce<T: crate::Real>(batch: &Batch<T, N>) -> &Batch<T, N> {
        batch
    }
    fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, N>) -> &mut Batch<T, N> {
        batch
    }
}

/// The calls of a model used as a layer, with its arguments as one tuple. `model!` implements
/// it for each model with `EXPECTED` and `GOT` both equal to the model's input count, so that a
/// call with another number of arguments fails this bound alone. A call of the model's own
/// methods with the wrong number of arguments would add an error for each of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` takes {EXPECTED} input(s), but it is called with {GOT} argument(s)",
    label = "called with {GOT} argument(s)"
)]
pub trait SubmodelCall<T: crate::Real, const EXPECTED: usize, const GOT: usize> {
    /// The model in the scalar `T`.
    type Model;
    /// The model's workspace.
    type Workspace;
    /// One reference to a batch per input, in declaration order.
    type Arguments<'a>
    where
        T: 'a;
    /// One optional gradient buffer per float input, in declaration order.
    type Gradients<'a>
    where
        T: 'a;
    /// The gradient of the model's output.
    type OutputGradient;

    /// Runs the forward pass on `arguments`.
    fn call(model: &Self::Model, workspace: &mut Self::Workspace, arguments: Self::Arguments<'_>);

    /// Back-propagates `grad`, adding the weight gradients and, into each given buffer, the
    /// gradient of a float input.
    fn backward_call(
        model: &mut Self::Model,
        workspace: &mut Self::Workspace,
        grad: &Self::OutputGradient,
        logit_seed: Option<&[T]>,
        gradients: Self::Gradients<'_>,
    );
}

/// Defines a check that two sizes are equal, with a `coerce` that changes the size in a
/// batch's type from `OTHER` to `FIRST`. Without a label, the label gives both shapes.
macro_rules! merge_check {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        merge_check!($(#[$doc])* $name, $message, "inputs of shapes [{FIRST}] and [{OTHER}]");
    };
    ($(#[$doc:meta])* $name:ident, $message:literal, $label:literal) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(message = $message, label = $label)]
        pub trait $name<const FIRST: usize, const OTHER: usize> {
            /// Returns `batch` with the first operand's size in its type.
            fn coerce<T: crate::Real>(batch: &Batch<T, OTHER>) -> &Batch<T, FIRST>;
            /// Returns an operand gradient with the first operand's size in its type.
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, OTHER>) -> &mut Batch<T, FIRST>;
        }

        impl<M: ?Sized, const N: usize> $name<N, N> for M {
            fn coerce<T: crate::Real>(batch: &Batch<T, N>) -> &Batch<T, N> {
                batch
            }
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, N>) -> &mut Batch<T, N> {
                batch
            }
        }
    };
}

merge_check!(
    /// The operands of an Add have equal sizes.
    AddSizes, "Add needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);
merge_check!(
    /// The operands of a Subtract have equal sizes.
    SubtractSizes, "Subtract needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);
merge_check!(
    /// The operands of a Multiply have equal sizes.
    MultiplySizes, "Multiply needs inputs of equal shape, but got [{FIRST}] and [{OTHER}]"
);

macro_rules! matrix_merge_check {
    ($(#[$doc:meta])* $name:ident, $message:literal) => {
        $(#[$doc])*
        ///
        /// `FIRST_SIZE` and `OTHER_SIZE` are the products of the two shapes' dimensions.
        #[diagnostic::on_unimplemented(message = $message, label = "inputs of shapes [{FIRST_ROWS}, {FIRST_COLS}] and [{OTHER_ROWS}, {OTHER_COLS}]")]
        pub trait $name<
            const FIRST_ROWS: usize,
            const FIRST_COLS: usize,
            const OTHER_ROWS: usize,
            const OTHER_COLS: usize,
            const FIRST_SIZE: usize,
            const OTHER_SIZE: usize,
        >
        {
            /// Returns `batch` with the first operand's size in its type.
            fn coerce<T: crate::Real>(batch: &Batch<T, OTHER_SIZE>) -> &Batch<T, FIRST_SIZE>;
            /// Returns an operand gradient with the first operand's size in its type.
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, OTHER_SIZE>) -> &mut Batch<T, FIRST_SIZE>;
        }

        impl<M: ?Sized, const ROWS: usize, const COLS: usize, const SIZE: usize> $name<ROWS, COLS, ROWS, COLS, SIZE, SIZE> for M {
            fn coerce<T: crate::Real>(batch: &Batch<T, SIZE>) -> &Batch<T, SIZE> {
                batch
            }
            fn coerce_mut<T: crate::Real>(batch: &mut Batch<T, SIZE>) -> &mut Batch<T, SIZE> {
                batch
            }
        }
    };
}

matrix_merge_check!(
    /// The matrix operands of an Add have equal shapes.
    AddShapes, "Add needs inputs of equal shape, but got [{FIRST_ROWS}, {FIRST_COLS}] and [{OTHER_ROWS}, {OTHER_COLS}]"
);
matrix_merge_check!(
    /// The matrix operands of a Subtract have equal shapes.
    SubtractShapes, "Subtract needs inputs of equal shape, but got [{FIRST_ROWS}, {FIRST_COLS}] and [{OTHER_ROWS}, {OTHER_COLS}]"
);
matrix_merge_check!(
    /// The matrix operands of a Multiply have equal shapes.
    MultiplyShapes, "Multiply needs inputs of equal shape, but got [{FIRST_ROWS}, {FIRST_COLS}] and [{OTHER_ROWS}, {OTHER_COLS}]"
);

merge_check!(
    /// A shared layer gets the same input size at every call, because its weights keep their
    /// shapes. Checked here when a size is a constant that only the compiler can compare.
    SharedInputSize,
    "a shared layer needs the same input shape at every call, but it was first called on [{FIRST}] and here on [{OTHER}]",
    "this argument has shape [{OTHER}]"
);

/// An Embedding gets ids below its own vocabulary size. Checked here when a vocabulary size is
/// a constant that only the compiler can compare.
#[diagnostic::on_unimplemented(
    message = "Embedding has a vocabulary of {VOCABULARY}, but the ids are below {GOT}; make the two vocabulary sizes equal",
    label = "these ids are below {GOT}"
)]
pub trait EmbeddingVocabulary<const VOCABULARY: usize, const GOT: usize> {
    /// Returns `ids` with the Embedding's vocabulary in its type.
    fn coerce<const LEN: usize>(ids: &IdBatch<GOT, LEN>) -> &IdBatch<VOCABULARY, LEN>;
}

impl<M: ?Sized, const N: usize> EmbeddingVocabulary<N, N> for M {
    fn coerce<const LEN: usize>(ids: &IdBatch<N, LEN>) -> &IdBatch<N, LEN> {
        ids
    }
}

/// An id argument of a model used as a layer has the vocabulary of the model's input.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects ids below {EXPECTED} here, but the argument has ids below {GOT}",
    label = "these ids are below {GOT}"
)]
pub trait IdVocabulary<const EXPECTED: usize, const GOT: usize> {
    /// Returns `ids` with the expected vocabulary in its type.
    fn coerce<const LEN: usize>(ids: &IdBatch<GOT, LEN>) -> &IdBatch<EXPECTED, LEN>;
}

impl<M: ?Sized, const N: usize> IdVocabulary<N, N> for M {
    fn coerce<const LEN: usize>(ids: &IdBatch<N, LEN>) -> &IdBatch<N, LEN> {
        ids
    }
}

/// An id argument of a model used as a layer has as many ids per sample as the model's input:
/// 1 for `Id<V>`, L for `[Id<V>; L]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects {EXPECTED} id(s) per sample here, but the argument has {GOT}",
    label = "this argument has {GOT} id(s) per sample"
)]
pub trait IdLength<const EXPECTED: usize, const GOT: usize> {
    /// Returns `ids` with the expected length in its type.
    fn coerce<const VOCABULARY: usize>(ids: &IdBatch<VOCABULARY, GOT>) -> &IdBatch<VOCABULARY, EXPECTED>;
}

impl<M: ?Sized, const N: usize> IdLength<N, N> for M {
    fn coerce<const VOCABULARY: usize>(ids: &IdBatch<VOCABULARY, N>) -> &IdBatch<VOCABULARY, N> {
        ids
    }
}

/// Returns the vocabulary that id argument `index` of a call with `count` arguments must have,
/// or `got` when the count differs or the input takes floats, which other checks report.
pub const fn id_vocabulary_at(vocabularies: &[usize], count: usize, index: usize, got: usize) -> usize {
    if vocabularies.len() == count && index < count && vocabularies[index] != 0 { vocabularies[index] } else { got }
}

/// Returns the number of ids per sample that id argument `index` of a call with `count`
/// arguments must have, or `got` as [`id_vocabulary_at`] does.
pub const fn id_length_at(lengths: &[usize], count: usize, index: usize, got: usize) -> usize {
    if lengths.len() == count && index < count && lengths[index] != 0 { lengths[index] } else { got }
}

/// A model used as a layer has exactly one output.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has {COUNT} outputs, but a model used as a layer must have exactly one",
    label = "used as a layer here"
)]
pub trait SingleOutput<const COUNT: usize> {
    /// Present only for a count of 1.
    const MATCHES: () = ();
}

impl<M: ?Sized> SingleOutput<1> for M {}

/// A float argument is passed where the model expects floats.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects integer ids here, but the argument has shape [{SIZE}], which holds floats",
    label = "this argument holds floats"
)]
pub trait FloatArgument<const EXPECTS_IDS: bool, const SIZE: usize> {
    /// The argument's type.
    type Value<T: crate::Real>;
    /// The argument's gradient buffer, if the caller needs it.
    type Gradient<'a, T: crate::Real + 'a>;
    /// Returns the argument unchanged.
    fn value<T: crate::Real>(batch: &Batch<T, SIZE>) -> &Self::Value<T>;
    /// Returns the gradient buffer unchanged.
    fn gradient<T: crate::Real>(grad: Option<&mut Batch<T, SIZE>>) -> Self::Gradient<'_, T>;
}

impl<M: ?Sized, const SIZE: usize> FloatArgument<false, SIZE> for M {
    type Value<T: crate::Real> = Batch<T, SIZE>;
    type Gradient<'a, T: crate::Real + 'a> = Option<&'a mut Batch<T, SIZE>>;
    fn value<T: crate::Real>(batch: &Batch<T, SIZE>) -> &Batch<T, SIZE> {
        batch
    }
    fn gradient<T: crate::Real>(grad: Option<&mut Batch<T, SIZE>>) -> Option<&mut Batch<T, SIZE>> {
        grad
    }
}

/// An id argument is passed where the model expects ids.
#[diagnostic::on_unimplemented(
    message = "`{Self}` expects floats here, but the argument holds integer ids below {VOCABULARY}",
    label = "this argument holds ids; pass them through an Embedding first"
)]
pub trait IdArgument<const EXPECTS_IDS: bool, const VOCABULARY: usize, const LEN: usize> {
    /// The argument's type.
    type Value;
    /// The argument's gradient: none, because ids have no gradient.
    type Gradient;
    /// Returns the argument unchanged.
    fn value(ids: &IdBatch<VOCABULARY, LEN>) -> &Self::Value;
    /// Returns the empty gradient.
    fn gradient() -> Self::Gradient;
}

impl<M: ?Sized, const VOCABULARY: usize, const LEN: usize> IdArgument<true, VOCABULARY, LEN> for M {
    type Value = IdBatch<VOCABULARY, LEN>;
    type Gradient = ();
    fn value(ids: &IdBatch<VOCABULARY, LEN>) -> &IdBatch<VOCABULARY, LEN> {
        ids
    }
    fn gradient() {}
}

/// Returns the size that argument `index` of a call with `count` arguments must have: the
/// size of input `index` among `sizes`. When the count or the argument's kind differs, it
/// returns `got`, so that such a call reports only the count or kind mismatch.
pub const fn float_size_at(sizes: &[usize], ids: &[bool], count: usize, index: usize, got: usize) -> usize {
    if sizes.len() == count && index < count && !ids[index] { sizes[index] } else { got }
}

/// Returns whether a float argument with dimensions `got` has the dimensions of input `index`
/// of a model called with `count` arguments. It also returns true when the count differs,
/// when the input takes ids, or when the sizes differ, because other checks report those.
pub const fn same_dims_at(dims: &[&[usize]], count: usize, index: usize, got: &[usize]) -> bool {
    if dims.len() != count || index >= count || dims[index].is_empty() {
        return true;
    }
    let expected = dims[index];
    if product(expected) != product(got) {
        return true;
    }
    if expected.len() != got.len() {
        return false;
    }
    let mut i = 0;
    while i < got.len() {
        if expected[i] != got[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Returns `texts[index]`, or an empty text when `index` is out of range, so that a constant
/// that reads it evaluates for a call with the wrong argument count too.
pub const fn text_at(texts: &'static [&'static str], index: usize) -> &'static str {
    if index < texts.len() { texts[index] } else { "" }
}

/// Returns the total length in bytes of `parts`.
pub const fn joined_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// Returns the bytes of `parts` one after the other, for a message built at compile time. `N`
/// is [`joined_len`] of `parts`.
pub const fn join<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut k = 0;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p].as_bytes();
        let mut i = 0;
        while i < bytes.len() && k < N {
            out[k] = bytes[i];
            k += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

const fn product(dims: &[usize]) -> usize {
    let mut product: usize = 1;
    let mut i = 0;
    while i < dims.len() {
        product = product.saturating_mul(dims[i]);
        i += 1;
    }
    product
}

/// Returns whether input `index` of a model called with `count` arguments takes ids, or `got`
/// when the count differs, so that such a call reports only the count mismatch.
pub const fn expects_ids_at(ids: &[bool], count: usize, index: usize, got: bool) -> bool {
    if ids.len() == count && index < count { ids[index] } else { got }
}

/// The type that implements the merge checks.
#[allow(missing_debug_implementations)]
pub struct Layer;

/// The losses given to `compile`: a single [`Loss`](crate::loss::Loss) or a tuple of up to
/// six. [`LossSet`](crate::train::LossSet) is implemented for each of them whose
/// [`LossTuple::Arity`] matches the model's heads.
pub trait LossTuple {
    /// A tuple with one element per loss, whose length [`LossCountMatches`] compares with the
    /// model's output count.
    type Arity;
    /// Computes the loss of output `k`; see [`Loss::compute`](crate::loss::Loss::compute).
    fn compute<T: crate::Real>(
        &self,
        k: usize,
        head: &crate::loss::HeadOutput<'_, T>,
        targets: &[T],
        grad: Option<&mut [T]>,
    ) -> (f64, crate::loss::GradientOf);
    /// The weight of output `k`'s loss in the total.
    fn weight(&self, k: usize) -> f64;
    /// The name of output `k`'s loss.
    fn name(&self, k: usize) -> &'static str;
    /// Whether output `k`'s loss reports accuracy.
    fn reports_accuracy(&self, k: usize) -> bool;
}

/// A tuple of losses (a [`LossTuple::Arity`]) has one element per element of `Heads`, the
/// outputs of the model `M`, and each loss fits its output. Implemented for every pair of
/// lengths from 1 to 6. For unequal lengths the impl has a where-clause on `M` that never
/// holds, and whose message gives both counts.
#[diagnostic::on_unimplemented(
    message = "the losses do not fit the outputs of `{M}`",
    label = "give one loss per output: a single loss for one output, a tuple for several",
    note = "`compile` takes one loss per output, in declaration order, and at most six losses"
)]
pub trait LossCountMatches<Heads, M: ?Sized> {}

/// A single loss was given to a model with several outputs. Never implemented: the
/// [`LossSet`](crate::train::LossSet) impl that requires it exists only to report the counts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has {OUTPUTS} outputs, but 1 loss was given",
    label = "give a tuple of {OUTPUTS} losses, one per output in declaration order",
    note = "`compile` takes one loss per output: a single loss for one output, a tuple for several"
)]
pub trait OneLossForOutputs<const OUTPUTS: usize> {}

/// A tuple of losses was given to a model with one output. Never implemented, as
/// [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` has 1 output, but {LOSSES} losses were given",
    label = "give a single loss, not a tuple",
    note = "`compile` takes one loss per output: a single loss for one output, a tuple for several"
)]
pub trait LossesForOneOutput<const LOSSES: usize> {}

/// A tuple of losses whose length differs from the model's output count. Never implemented,
/// as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` has {OUTPUTS} outputs, but {LOSSES} losses were given",
    label = "give one loss per output, in declaration order",
    note = "`compile` takes one loss per output: a single loss for one output, a tuple for several"
)]
pub trait LossCount<const OUTPUTS: usize, const LOSSES: usize> {}

/// An array of losses has one element per output of the model `Self`. Implemented only when
/// the two counts are equal.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has {OUTPUTS} output(s), but an array of {LOSSES} losses was given",
    label = "give one loss per output, in declaration order",
    note = "`compile` takes one loss per output: a single loss, an array of one loss kind, or a tuple"
)]
pub trait ArrayLength<const OUTPUTS: usize, const LOSSES: usize> {}

impl<M: ?Sized, const N: usize> ArrayLength<N, N> for M {}

/// The kinds of [`Loss::Outputs`](crate::loss::Loss::Outputs), from
/// [`AnyOutput`](crate::loss::AnyOutput) to [`ClassLogits`](crate::loss::ClassLogits).
pub trait OutputRule {}

impl OutputRule for AnyOutput {}
impl OutputRule for Probabilities {}
impl OutputRule for ClassProbabilities {}
impl OutputRule for Logits {}
impl OutputRule for ClassLogits {}

/// A loss whose [`Loss::Outputs`](crate::loss::Loss::Outputs) is `Self` can train output
/// number `OUTPUT` (counted from 1) of the model `M`, whose type is `H`.
///
/// Each impl for an output the rule rejects has a where-clause on `M` that is never met, as
/// for the loss counts, so that rustc shows that clause's message.
#[diagnostic::on_unimplemented(
    message = "the loss for output {OUTPUT} of `{M}` does not fit that output `{H}`",
    label = "give a loss that fits this output"
)]
pub trait Admits<H, M: ?Sized, const OUTPUT: usize> {}

impl<H, M: ?Sized, const OUTPUT: usize> Admits<H, M, OUTPUT> for AnyOutput {}


impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 1>, M, OUTPUT> for Probabilities {}
impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 0>, M, OUTPUT> for Probabilities where M: BinaryOnValues<OUTPUT> {}
impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 2>, M, OUTPUT> for Probabilities where M: MixedOutput<OUTPUT> {}

impl<M: ?Sized, const W: usize, const KIND: u8, const OUTPUT: usize> Admits<Head<W, false, KIND>, M, OUTPUT> for ClassProbabilities where M: ClassesOnOneUnit<OUTPUT, W> {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 1>, M, OUTPUT> for ClassProbabilities {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 0>, M, OUTPUT> for ClassProbabilities where M: CategoricalOnValues<OUTPUT> {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 2>, M, OUTPUT> for ClassProbabilities where M: MixedOutput<OUTPUT> {}

impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 0>, M, OUTPUT> for Logits {}
impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 1>, M, OUTPUT> for Logits where M: BinaryLogitsOnProbabilities<OUTPUT> {}
impl<M: ?Sized, const W: usize, const MULTI: bool, const OUTPUT: usize> Admits<Head<W, MULTI, 2>, M, OUTPUT> for Logits where M: MixedOutput<OUTPUT> {}

impl<M: ?Sized, const W: usize, const KIND: u8, const OUTPUT: usize> Admits<Head<W, false, KIND>, M, OUTPUT> for ClassLogits where M: ClassesOnOneUnit<OUTPUT, W> {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 0>, M, OUTPUT> for ClassLogits {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 1>, M, OUTPUT> for ClassLogits where M: CategoricalLogitsOnProbabilities<OUTPUT> {}
impl<M: ?Sized, const W: usize, const OUTPUT: usize> Admits<Head<W, true, 2>, M, OUTPUT> for ClassLogits where M: MixedOutput<OUTPUT> {}

/// The [`Head`] kind of an output of logits or other values that are not probabilities.
pub const VALUES: u8 = 0;
/// The [`Head`] kind of an output of probabilities.
pub const PROBABILITIES: u8 = 1;
/// The [`Head`] kind of an output that joins probabilities with other values, or of
/// probabilities that Dropout scales during training.
pub const MIXED: u8 = 2;

/// Returns the kind of input `index` among `kinds`, or [`VALUES`] when there is no such input.
pub const fn kind_at(kinds: &[u8], index: usize) -> u8 {
    if index < kinds.len() { kinds[index] } else { VALUES }
}

/// Returns the kind of a Concatenate or Multiply of values of the kinds `a` and `b`.
pub const fn join_kinds(a: u8, b: u8) -> u8 {
    if a == b { a } else { MIXED }
}

/// Returns the kind of a Dropout of values of the kind `kind`: Dropout scales probabilities
/// above 1 during training.
pub const fn kind_after_dropout(kind: u8) -> u8 {
    if kind == PROBABILITIES { MIXED } else { kind }
}

/// A cross-entropy was given for a mixed output. Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "output {OUTPUT} of `{Self}` joins probabilities with other values, or passes probabilities through Dropout, so no cross-entropy can read it",
    label = "the loss for output {OUTPUT} needs all probabilities or all logits",
    note = "put Dropout before the layer with the sigmoid or softmax, and give probabilities and logits their own outputs"
)]
pub trait MixedOutput<const OUTPUT: usize> {}

/// A loss over one unit per class, such as categorical cross-entropy, was given for an output
/// of width 1. Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "categorical cross-entropy needs one unit per class, but output {OUTPUT} of `{Self}` has shape [{WIDTH}]",
    label = "the loss for output {OUTPUT} is over classes, and the softmax of one value is always 1",
    note = "use `BinaryCrossentropy` for one yes-or-no output, or give the output one unit per class"
)]
pub trait ClassesOnOneUnit<const OUTPUT: usize, const WIDTH: usize> {}

/// Binary cross-entropy was given for an output that does not end in a sigmoid or softmax.
/// Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "binary cross-entropy reads output {OUTPUT} of `{Self}` as probabilities, but that output does not end in a sigmoid or softmax",
    label = "use `BinaryCrossentropy::from_logits()` for output {OUTPUT}, or end it in a sigmoid",
    note = "`from_logits()` reads any values as logits and applies the sigmoid inside the loss; a Flatten, Concatenate or Multiply keeps probabilities, other layers do not"
)]
pub trait BinaryOnValues<const OUTPUT: usize> {}

/// Categorical cross-entropy was given for an output that does not end in a softmax or
/// sigmoid. Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "categorical cross-entropy reads output {OUTPUT} of `{Self}` as probabilities, but that output does not end in a softmax or sigmoid",
    label = "use `CategoricalCrossentropy::from_logits()` for output {OUTPUT}, or end it in a softmax",
    note = "`from_logits()` reads any values as logits and applies the softmax inside the loss; a Flatten, Concatenate or Multiply keeps probabilities, other layers do not"
)]
pub trait CategoricalOnValues<const OUTPUT: usize> {}

/// Binary cross-entropy from logits was given for an output that already ends in a sigmoid or
/// softmax. Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "`BinaryCrossentropy::from_logits()` reads output {OUTPUT} of `{Self}` as logits, but that output already ends in a sigmoid or softmax",
    label = "use `BinaryCrossentropy` for output {OUTPUT}, without `from_logits()`",
    note = "the loss would apply a second sigmoid to values that are already probabilities"
)]
pub trait BinaryLogitsOnProbabilities<const OUTPUT: usize> {}

/// Categorical cross-entropy from logits was given for an output that already ends in a
/// softmax or sigmoid. Never implemented, as [`OneLossForOutputs`].
#[diagnostic::on_unimplemented(
    message = "`CategoricalCrossentropy::from_logits()` reads output {OUTPUT} of `{Self}` as logits, but that output already ends in a softmax or sigmoid",
    label = "use `CategoricalCrossentropy` for output {OUTPUT}, without `from_logits()`",
    note = "the loss would apply a second softmax to values that are already probabilities"
)]
pub trait CategoricalLogitsOnProbabilities<const OUTPUT: usize> {}
