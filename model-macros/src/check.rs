//! One function per rule the macro checks. Each returns the error to report, spanned on the
//! user's token that is wrong, naming the layer and the shapes in the notation of `model!`.

use std::cell::RefCell;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::Ident;

use crate::model::{Activation, Kind, Model, Penalty};
use crate::parse::{Factor, GenericArg, LayerSyntax, Size};
use crate::shape::{Dim, Shape};

/// Where a call sits in the source, for spans.
pub struct CallSite<'a> {
    /// The layer kind or instance name before the parentheses.
    pub callee: Span,
    /// Each argument.
    pub args: &'a [Span],
    /// The whole call.
    pub call: Span,
}

/// Reads a layer kind with its generic arguments.
/// `model` is the model being declared, whose expansion defines the alias of a submodel.
pub fn layer_kind(layer: &LayerSyntax, model: &Ident) -> syn::Result<Kind> {
    let name = layer.kind_name();
    let simple = layer.path.segments.len() == 1;
    let stateless = match name.as_str() {
        "Flatten" => Some(Kind::Flatten),
        "Add" => Some(Kind::Add),
        "Subtract" => Some(Kind::Subtract),
        "Multiply" => Some(Kind::Multiply),
        "Concatenate" => Some(Kind::Concatenate),
        _ => None,
    };
    if let (Some(kind), true) = (stateless, simple) {
        if let Some(arg) = layer.args.first() {
            return Err(syn::Error::new(arg.span(), format!("{name} takes no generic arguments")));
        }
        return Ok(kind);
    }
    match (name.as_str(), simple) {
        ("Dense", true) => dense_kind(layer),
        ("Embedding", true) => embedding_kind(layer),
        ("Dropout", true) => dropout_kind(layer),
        _ => submodel_kind(layer, &name, model),
    }
}

fn dense_kind(layer: &LayerSyntax) -> syn::Result<Kind> {
    let Some(GenericArg::Size(units)) = layer.args.first() else {
        let span = layer.args.first().map_or(layer.span(), GenericArg::span);
        return Err(syn::Error::new(span, "Dense takes its number of units first, as in `Dense::<4>` or `Dense::<4, Relu>`"));
    };
    let units = positive_size(units, "Dense's number of units")?;
    let mut activation = None;
    let mut bias = true;
    let (mut kernel_penalty, mut bias_penalty) = (None, None);
    for arg in &layer.args[1..] {
        match arg {
            GenericArg::Size(size) => {
                return Err(syn::Error::new(size.span(), "Dense takes one size, its units; the input size comes from the value it is called on"));
            }
            GenericArg::Rate(_) => {
                return Err(syn::Error::new(arg.span(), "Dense takes its units, then options such as `Relu`, `NoBias` or `KernelL2<0.01>`"));
            }
            GenericArg::OptionWith { name, factors } => {
                let text = name.to_string();
                let (target, kind) = if let Some(kind) = text.strip_prefix("Kernel") {
                    (&mut kernel_penalty, kind)
                } else if let Some(kind) = text.strip_prefix("Bias") {
                    (&mut bias_penalty, kind)
                } else {
                    let options = ["KernelL1", "KernelL2", "KernelL1L2", "BiasL1", "BiasL2", "BiasL1L2"];
                    let hint = suggestion(&text, &options).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
                    return Err(syn::Error::new(name.span(), format!("unknown Dense penalty `{text}`; {hint}Dense accepts {}", options.join(", "))));
                };
                if target.replace(penalty(name, kind, factors)?).is_some() {
                    return Err(syn::Error::new(name.span(), format!("Dense takes at most one {} penalty", if text.starts_with("Kernel") { "kernel" } else { "bias" })));
                }
            }
            GenericArg::Option(ident) => {
                let text = ident.to_string();
                if let Some((_, found)) = Activation::ALL.iter().find(|(name, _)| *name == text) {
                    if activation.replace(*found).is_some() {
                        return Err(syn::Error::new(ident.span(), "Dense takes at most one activation"));
                    }
                } else if text == "NoBias" {
                    if !bias {
                        return Err(syn::Error::new(ident.span(), "Dense takes `NoBias` once; remove the second one"));
                    }
                    bias = false;
                } else {
                    let options: Vec<&str> = Activation::ALL.iter().map(|(name, _)| *name).chain(["NoBias"]).collect();
                    let hint = suggestion(&text, &options).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
                    return Err(syn::Error::new(
                        ident.span(),
                        format!("unknown Dense option `{text}`; {hint}Dense accepts {}", options.join(", ")),
                    ));
                }
            }
        }
    }
    if let (Some(_), false) = (bias_penalty, bias) {
        return Err(syn::Error::new(layer.span(), "Dense has a bias penalty but `NoBias`; remove one of them"));
    }
    // The softmax of a single value is always 1, so such a layer cannot learn anything.
    if activation == Some(Activation::Softmax) {
        let message = "a softmax over 1 unit is always 1, so this layer cannot learn; use `Sigmoid` for one probability, or give it one unit per class";
        let span = layer.args.iter().find(|arg| matches!(arg, GenericArg::Option(ident) if ident == "Softmax")).map_or(layer.span(), GenericArg::span);
        match &units {
            Dim::Known(1) => return Err(syn::Error::new(span, message)),
            Dim::Known(_) => {}
            Dim::Expr { .. } => {
                let message = format!("`{units}` is 1, and {message}");
                let units = units.expr_tokens();
                defer(span, quote!(#units > 1), message);
            }
        }
    }
    Ok(Kind::Dense { units, activation: activation.unwrap_or(Activation::Linear), bias, kernel_penalty, bias_penalty })
}

/// Reads a penalty `L1<a>`, `L2<b>` or `L1L2<a, b>`; `name` is the full option for messages.
fn penalty(name: &syn::Ident, kind: &str, factors: &[Factor]) -> syn::Result<Penalty> {
    for factor in factors {
        // A negative factor would reward large weights instead of penalizing them.
        if factor.value < 0.0 || !factor.value.is_finite() {
            return Err(syn::Error::new(factor.span, format!("penalty factor {} must be a finite number of at least 0", factor.value)));
        }
    }
    match (kind, factors) {
        ("L1", [l1]) => Ok(Penalty { l1: l1.value, l2: 0.0 }),
        ("L2", [l2]) => Ok(Penalty { l1: 0.0, l2: l2.value }),
        ("L1L2", [l1, l2]) => Ok(Penalty { l1: l1.value, l2: l2.value }),
        ("L1" | "L2", _) => Err(syn::Error::new(name.span(), format!("`{name}` takes one factor, as in `{name}<0.01>`"))),
        ("L1L2", _) => Err(syn::Error::new(name.span(), format!("`{name}` takes two factors, L1 then L2, as in `{name}<0.01, 0.01>`"))),
        _ => Err(syn::Error::new(name.span(), format!("unknown penalty `{name}`; use L1, L2 or L1L2"))),
    }
}

/// Reads `Dropout::<RATE>`, with the rate in [0, 1).
fn dropout_kind(layer: &LayerSyntax) -> syn::Result<Kind> {
    match layer.args.as_slice() {
        [GenericArg::Rate(rate)] if (0.0..1.0).contains(&rate.value) => Ok(Kind::Dropout { rate: rate.value }),
        [GenericArg::Rate(rate)] => Err(syn::Error::new(
            rate.span,
            format!("Dropout's rate must be in [0, 1), but it is {:?}; it is the share of values set to 0", rate.value),
        )),
        [GenericArg::Size(Size::Literal { value: 0, .. })] => Ok(Kind::Dropout { rate: 0.0 }),
        [GenericArg::Size(size)] => Err(syn::Error::new(size.span(), "Dropout's rate must be in [0, 1), as in `Dropout::<0.5>`")),
        [] => Err(syn::Error::new(layer.span(), "Dropout takes its rate, as in `Dropout::<0.5>`")),
        [.., last] => Err(syn::Error::new(last.span(), "Dropout takes one rate, as in `Dropout::<0.5>`")),
    }
}

fn embedding_kind(layer: &LayerSyntax) -> syn::Result<Kind> {
    let usage = "Embedding takes a vocabulary size and a dimension, as in `Embedding::<10888, 1>`, then optionally a penalty such as `L2<0.001>`";
    let (vocabulary, dim, rest) = match layer.args.as_slice() {
        [GenericArg::Size(vocabulary), GenericArg::Size(dim), rest @ ..] => (vocabulary, dim, rest),
        [] => return Err(syn::Error::new(layer.span(), usage)),
        [.., last] => return Err(syn::Error::new(last.span(), usage)),
    };
    let penalty = match rest {
        [] => None,
        [GenericArg::OptionWith { name, factors }] => Some(self::penalty(name, &name.to_string(), factors)?),
        [other, ..] => return Err(syn::Error::new(other.span(), usage)),
    };
    Ok(Kind::Embedding { vocabulary: positive_size(vocabulary, "Embedding's vocabulary")?, dim: positive_size(dim, "Embedding's dimension")?, penalty })
}

fn submodel_kind(layer: &LayerSyntax, name: &str, model: &Ident) -> syn::Result<Kind> {
    if matches!(name, "self" | "super" | "crate") {
        return Err(syn::Error::new(layer.span(), format!("expected a layer kind or a model type, but `{name}` is a module")));
    }
    if layer.path.segments.len() == 1 {
        if let Some(known) = suggestion(name, &Kind::LAYER_NAMES) {
            return Err(syn::Error::new(layer.span(), format!("unknown layer kind `{name}`; did you mean `{known}`?")));
        }
    }
    if let Some(arg) = layer.args.first() {
        return Err(syn::Error::new(
            arg.span(),
            format!("`{name}` is not a layer kind of keramic, so it is used as a model, and a model takes no generic arguments; the layer kinds are {}", Kind::LAYER_NAMES.join(", ")),
        ));
    }
    Ok(Kind::Submodel { path: layer.path.clone(), alias: crate::model::submodel_alias(model, &layer.path) })
}

/// Rejects a model that uses itself as a layer, because its struct would have infinite size.
pub fn not_the_model_itself(layer: &LayerSyntax, kind: &Kind, model: &Ident) -> syn::Result<()> {
    match kind {
        Kind::Submodel { path, .. } if path.is_ident(model) || path.is_ident("Self") => {
            Err(syn::Error::new(layer.span(), format!("model `{model}` cannot use itself as a layer")))
        }
        _ => Ok(()),
    }
}

/// A check on sizes that only the compiler can evaluate, because they involve named
/// constants. The expansion turns it into a `const` assertion at `span`, whose failure is a
/// compile error with `message`.
pub struct Deferred {
    pub span: Span,
    pub condition: TokenStream,
    pub message: String,
}

thread_local! {
    /// The checks deferred while the current invocation is lowered. A proc macro expands one
    /// invocation at a time on a thread, and [`take_deferred`] empties this before and after.
    static DEFERRED: RefCell<Vec<Deferred>> = const { RefCell::new(Vec::new()) };
}

/// Defers a check to the compiler: `condition` must hold, or compilation fails at `span` with
/// `message`.
pub fn defer(span: Span, condition: TokenStream, message: String) {
    DEFERRED.with(|deferred| deferred.borrow_mut().push(Deferred { span, condition, message }));
}

/// Returns the checks deferred since the last call, and clears the list.
pub fn take_deferred() -> Vec<Deferred> {
    DEFERRED.with(|deferred| std::mem::take(&mut *deferred.borrow_mut()))
}

/// A size that must be at least 1. A literal is checked here, a constant by the compiler.
pub fn positive_size(size: &Size, what: &str) -> syn::Result<Dim> {
    match size {
        Size::Literal { value: 0, span } => Err(syn::Error::new(*span, format!("{what} must be at least 1"))),
        Size::Constant { path } => {
            let dim = Dim::from_size(size);
            defer(size.span(), quote!((#path) >= 1), format!("{what} must be at least 1, but `{dim}` is 0"));
            Ok(dim)
        }
        Size::Literal { .. } => Ok(Dim::from_size(size)),
    }
}

/// Checks the dimensions of the float input `name`: rank 1 or 2, each at least 1.
pub fn float_input_dims(name: &Ident, span: Span, dims: &[Size]) -> syn::Result<Vec<Dim>> {
    if dims.len() > 2 {
        let message = format!("input `{name}` has rank {}, but inputs have rank 1 or 2; declare it as a vector `[N]` or a matrix `[L, D]`", dims.len());
        return Err(syn::Error::new(span, message));
    }
    dims.iter().map(|dim| positive_size(dim, &format!("each dimension of input `{name}`"))).collect()
}

/// An output must be a vector, so that targets and predictions are arrays.
pub fn output_is_vector(name: &Ident, shape: &Shape) -> syn::Result<()> {
    match shape {
        Shape::Floats(dims) if dims.len() == 1 => Ok(()),
        Shape::Floats(_) => Err(syn::Error::new(name.span(), format!("output `{name}` is {shape}, but outputs must be vectors; apply Flatten to it"))),
        Shape::Ids { .. } => Err(syn::Error::new(name.span(), format!("output `{name}` is {shape}, but outputs must be float vectors"))),
    }
}

/// Infers the output shape of a call, or explains why the call does not fit its operands.
/// `layer` names the layer in messages, as [`Instance::title`](crate::model::Instance::title) does.
pub fn infer_call(layer: &str, kind: &Kind, first_input: Option<&Shape>, operands: &[(String, Shape)], site: &CallSite<'_>) -> syn::Result<Shape> {
    let arg_span = |i: usize| site.args.get(i).copied().unwrap_or(site.call);
    match kind {
        Kind::Dense { units, .. } => {
            let (value, shape) = single_operand(layer, operands, site)?;
            floats(layer, value, shape, arg_span(0))?;
            if shape.rank() != 1 {
                return Err(syn::Error::new(arg_span(0), format!("{layer} expects a vector [N], but {value} is {shape}; insert Flatten before Dense")));
            }
            same_as_first_call(layer, first_input, value, shape, arg_span(0))?;
            Ok(Shape::Floats(vec![units.clone()]))
        }
        Kind::Embedding { vocabulary, dim, .. } => {
            let (value, shape) = single_operand(layer, operands, site)?;
            let Shape::Ids { vocabulary: input_vocabulary, len } = shape else {
                return Err(syn::Error::new(
                    arg_span(0),
                    format!("{layer} expects integer ids, but {value} is {shape}, which holds floats; declare the input as `Id<V>` or `[Id<V>; L]`"),
                ));
            };
            if input_vocabulary.equals(vocabulary) == Some(false) {
                return Err(syn::Error::new(
                    arg_span(0),
                    format!("{layer} has a vocabulary of {vocabulary}, but {value} is {shape}; make the two vocabulary sizes equal"),
                ));
            }
            Ok(Shape::Floats(vec![len.clone().unwrap_or(Dim::Known(1)), dim.clone()]))
        }
        Kind::Dropout { .. } => {
            let (value, shape) = single_operand(layer, operands, site)?;
            floats(layer, value, shape, arg_span(0))?;
            Ok(shape.clone())
        }
        Kind::Flatten => {
            let (value, shape) = single_operand(layer, operands, site)?;
            floats(layer, value, shape, arg_span(0))?;
            if shape.rank() == 1 {
                return Err(syn::Error::new(site.callee, format!("{layer} expects a value of rank 2, but {value} is {shape}, which is already a vector; remove Flatten")));
            }
            let flat = Shape::Floats(vec![shape.size()]);
            size_within_limit(layer, &flat, site.callee)?;
            Ok(flat)
        }
        Kind::Add | Kind::Multiply | Kind::Subtract => {
            if matches!(kind, Kind::Subtract) && operands.len() != 2 {
                return Err(syn::Error::new(site.callee, format!("{layer} takes exactly 2 inputs, but {} {} given", operands.len(), were(operands.len()))));
            }
            if operands.len() < 2 {
                return Err(syn::Error::new(site.callee, format!("{layer} takes at least 2 inputs, but {} {} given", operands.len(), were(operands.len()))));
            }
            for (i, (value, shape)) in operands.iter().enumerate() {
                floats(layer, value, shape, arg_span(i))?;
            }
            let (first_value, first_shape) = &operands[0];
            for (value, shape) in &operands[1..] {
                if first_shape.equals(shape) == Some(false) {
                    return Err(syn::Error::new(
                        site.callee,
                        format!("{layer} expects inputs of equal shape, but {first_value} is {first_shape} and {value} is {shape}"),
                    ));
                }
            }
            Ok(first_shape.clone())
        }
        Kind::Concatenate => concatenate_shape(layer, operands, site),
        Kind::Submodel { path, alias } => {
            let widths = quote!(<#alias as ::keramic::__model_core::network::Network<f32>>::OUTPUT_WIDTHS[0]);
            let text = format!("{}'s output size", path.to_token_stream().to_string().replace(' ', ""));
            Ok(Shape::Floats(vec![Dim::expr(widths, text)]))
        }
    }
}

fn were(count: usize) -> &'static str {
    if count == 1 { "was" } else { "were" }
}

fn single_operand<'a>(layer: &str, operands: &'a [(String, Shape)], site: &CallSite<'_>) -> syn::Result<(&'a str, &'a Shape)> {
    match operands {
        [(value, shape)] => Ok((value, shape)),
        _ => Err(syn::Error::new(site.callee, format!("{layer} takes 1 input, but {} {} given", operands.len(), were(operands.len())))),
    }
}

fn floats(layer: &str, value: &str, shape: &Shape, span: Span) -> syn::Result<()> {
    match shape {
        Shape::Floats(_) => Ok(()),
        Shape::Ids { .. } => Err(syn::Error::new(span, format!("{layer} expects float values, but {value} is {shape}; pass the ids through an Embedding first"))),
    }
}

/// Checks that a shared instance gets the first call's shape, because its weights keep their
/// shapes.
fn same_as_first_call(layer: &str, first: Option<&Shape>, value: &str, shape: &Shape, span: Span) -> syn::Result<()> {
    match first {
        Some(first) if first.equals(shape) == Some(false) => Err(syn::Error::new(
            span,
            format!("{layer} was first called on {first}, so it cannot take {value}, which is {shape}; a shared layer needs the same input shape at every call"),
        )),
        _ => Ok(()),
    }
}

fn concatenate_shape(layer: &str, operands: &[(String, Shape)], site: &CallSite<'_>) -> syn::Result<Shape> {
    if operands.len() < 2 {
        return Err(syn::Error::new(site.callee, format!("{layer} takes at least 2 inputs, but {} {} given", operands.len(), were(operands.len()))));
    }
    for (i, (value, shape)) in operands.iter().enumerate() {
        floats(layer, value, shape, site.args.get(i).copied().unwrap_or(site.call))?;
    }
    let (first_value, first_shape) = &operands[0];
    let Shape::Floats(first_dims) = first_shape else { return Ok(first_shape.clone()) };
    let mut last = first_dims[first_dims.len() - 1].clone();
    for (value, shape) in &operands[1..] {
        let Shape::Floats(dims) = shape else { continue };
        if dims.len() != first_dims.len() {
            return Err(syn::Error::new(
                site.callee,
                format!("{layer} expects inputs of equal rank, but {first_value} is {first_shape} and {value} is {shape}"),
            ));
        }
        let leading = first_dims[..dims.len() - 1].iter().zip(&dims[..dims.len() - 1]);
        let message = format!("{layer} joins along the last axis, so the other dimensions must be equal, but {first_value} is {first_shape} and {value} is {shape}");
        if leading.clone().any(|(a, b)| a.equals(b) == Some(false)) {
            return Err(syn::Error::new(site.callee, message));
        }
        // Dimensions that only the compiler can compare, such as a constant and a literal.
        for (a, b) in leading.filter(|(a, b)| a.equals(b).is_none()) {
            let (a, b) = (a.expr_tokens(), b.expr_tokens());
            defer(site.callee, quote!(#a == #b), message.clone());
        }
        last = last.add(&dims[dims.len() - 1]);
        let mut joined = first_dims.clone();
        let end = joined.len() - 1;
        joined[end] = last.clone();
        size_within_limit(layer, &Shape::Floats(joined), site.callee)?;
    }
    let mut dims = first_dims.clone();
    let end = dims.len() - 1;
    dims[end] = last;
    Ok(Shape::Floats(dims))
}

/// The largest dimension, equal to the largest size literal that parsing accepts. Keeping
/// inferred dimensions below it too means that adding or multiplying two of them cannot
/// overflow `u64` while the macro computes shapes.
const MAX_DIM: u64 = u32::MAX as u64;

/// Rejects a Flatten or Concatenate output with a dimension above [`MAX_DIM`].
fn size_within_limit(layer: &str, shape: &Shape, span: Span) -> syn::Result<()> {
    let Shape::Floats(dims) = shape else { return Ok(()) };
    if dims.iter().any(|dim| matches!(dim, Dim::Known(value) if *value > MAX_DIM)) {
        return Err(syn::Error::new(span, format!("{layer} would produce {shape}, but sizes are limited to {MAX_DIM}; use smaller layers")));
    }
    Ok(())
}

/// Builds the error for a value name that is not defined, or not yet.
pub fn unknown_value(ident: &Ident, in_scope: &[&str], later: &[String]) -> syn::Error {
    let name = ident.to_string();
    if later.contains(&name) {
        return syn::Error::new(ident.span(), format!("`{name}` is used before it is defined; move this statement after the one that defines `{name}`"));
    }
    let hint = suggestion(&name, in_scope).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
    syn::Error::new(ident.span(), format!("no value named `{name}` in this model{hint}"))
}

/// Builds the error for a called name that is not a declared layer.
pub fn unknown_instance(ident: &Ident, declared: &[String], is_value: bool) -> syn::Error {
    let name = ident.to_string();
    if is_value {
        return syn::Error::new(ident.span(), format!("`{name}` is a value, not a layer, so it cannot be called"));
    }
    let names: Vec<&str> = declared.iter().map(String::as_str).collect();
    let hint = suggestion(&name, &names).map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| {
        format!("; declare it with `layer {name} = ...;`, or call a layer kind such as `Dense::<1>(...)`")
    });
    syn::Error::new(ident.span(), format!("no layer named `{name}` in this model{hint}"))
}

/// Every input must feed some layer, as Keras requires of a model's inputs. `operands` are the
/// operands of every call, including calls that failed.
pub fn unused_inputs(model: &Model, operands: &[usize]) -> Vec<syn::Error> {
    model
        .inputs
        .iter()
        .filter(|input| {
            let used_by_call = operands.iter().any(|&v| model.values[v].storage == input.value);
            let is_output = model.outputs.iter().any(|output| model.values[output.value].storage == input.value);
            !used_by_call && !is_output
        })
        .map(|input| syn::Error::new(input.name.span(), format!("input `{}` is never used; use it in a layer call or remove it", input.name)))
        .collect()
}

/// Returns the closest candidate within a small edit distance, for "did you mean" hints.
pub fn suggestion<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|candidate| (edit_distance(&name.to_lowercase(), &candidate.to_lowercase()), *candidate))
        .filter(|(distance, candidate)| *distance <= limit && *candidate != name)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_finds_close_names() {
        assert_eq!(suggestion("team1", &["team_1", "team_2", "home"]), Some("team_1"));
        assert_eq!(suggestion("Sigmod", &["Linear", "Relu", "Sigmoid"]), Some("Sigmoid"));
        assert_eq!(suggestion("xyz", &["team_1", "home"]), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("dense", "dense"), 0);
        assert_eq!(edit_distance("dens", "dense"), 1);
        assert_eq!(edit_distance("flaten", "flatten"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }
}
