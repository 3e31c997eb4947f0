//! Syntax of `model!`: one struct-like block of statements.
//!
//! ```text
//! model      := attribute* visibility "struct" Ident "{" statement* "}"
//! statement  := "input" Ident ":" input_type ";"
//!             | "#[frozen]"? "layer" Ident "=" layer ";"
//!             | "let" Ident "=" expr ";"
//!             | "output" Ident "=" expr ";"
//! input_type := "[" size "]" | "Id" "<" size ">" | "[" "Id" "<" size ">" ";" size "]"
//! layer      := Path ("::" "<" generic_arg,* ">")?
//! expr       := Ident | layer "(" expr,* ")" | Ident "(" expr,* ")"
//! size       := integer literal | constant path
//! ```
//!
//! Expressions and layers are read with syn's Rust expression parser and then narrowed, so
//! every node keeps the span of the user's tokens.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Token, Visibility, bracketed, braced};

/// The deepest nesting of brackets, braces and parentheses that a model may use, counting
/// the braces of the body. syn parses nested expressions recursively, so a much deeper input
/// could overflow the compiler's stack.
pub const MAX_NESTING: usize = 128;

/// Rejects an input nested deeper than [`MAX_NESTING`], before any recursive parsing.
pub fn check_nesting(input: &TokenStream) -> syn::Result<()> {
    let mut open = vec![input.clone().into_iter()];
    while let Some(tokens) = open.last_mut() {
        match tokens.next() {
            Some(TokenTree::Group(group)) => {
                if open.len() > MAX_NESTING {
                    let message = format!("this expression is nested more than {MAX_NESTING} levels deep; bind inner results to names with `let`");
                    return Err(syn::Error::new(group.span_open(), message));
                }
                open.push(group.stream().into_iter());
            }
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    Ok(())
}

mod kw {
    syn::custom_keyword!(input);
    syn::custom_keyword!(layer);
    syn::custom_keyword!(output);
    syn::custom_keyword!(Id);
}

/// A whole `model!` invocation.
pub struct ModelSyntax {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub statements: Vec<Statement>,
}

/// One statement of the model body.
pub enum Statement {
    Input { name: Ident, ty: InputType },
    Layer { frozen: Option<Span>, name: Ident, layer: LayerSyntax },
    Let { name: Ident, expr: ExprSyntax },
    Output { name: Ident, expr: ExprSyntax },
}

/// The declared type of an input.
pub enum InputType {
    /// `[N]` or `[N, M]`: floats.
    Floats { span: Span, dims: Vec<Size> },
    /// `Id<V>`: one integer id below `V`.
    Id { vocabulary: Size },
    /// `[Id<V>; L]`: `L` integer ids below `V`.
    IdSequence { vocabulary: Size, len: Size },
}

/// A size written in the model: an integer literal or a constant's path.
#[derive(Clone)]
pub enum Size {
    Literal { value: u64, span: Span },
    Constant { path: syn::Path },
}

impl Size {
    pub fn span(&self) -> Span {
        match self {
            Size::Literal { span, .. } => *span,
            Size::Constant { path } => path.span(),
        }
    }
}

/// A layer kind with its generic arguments, as in `Dense::<1, Sigmoid>` or `TeamStrength`.
#[derive(Clone)]
pub struct LayerSyntax {
    pub path: syn::Path,
    pub args: Vec<GenericArg>,
}

impl LayerSyntax {
    pub fn span(&self) -> Span {
        self.path.span()
    }

    /// Returns the kind's name: the path's last segment.
    pub fn kind_name(&self) -> String {
        self.path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
    }
}

/// A generic argument of a layer: a size, a rate such as `0.5`, an option such as `Relu` or
/// `NoBias`, or an option with factors such as `L2<0.01>`.
#[derive(Clone)]
pub enum GenericArg {
    Size(Size),
    Rate(Factor),
    Option(Ident),
    OptionWith { name: Ident, factors: Vec<Factor> },
}

/// A float literal, possibly negative, with its span.
#[derive(Clone, Copy)]
pub struct Factor {
    pub value: f64,
    pub span: Span,
}

impl GenericArg {
    pub fn span(&self) -> Span {
        match self {
            GenericArg::Size(size) => size.span(),
            GenericArg::Rate(factor) => factor.span,
            GenericArg::Option(ident) | GenericArg::OptionWith { name: ident, .. } => ident.span(),
        }
    }
}

/// An expression of the model body.
pub enum ExprSyntax {
    /// A value's name.
    Value(Ident),
    /// A call of a layer kind (a fresh instance) or of a declared instance.
    Call { callee: Callee, args: Vec<ExprSyntax>, span: Span },
}

/// What a call expression calls.
pub enum Callee {
    /// A declared `layer` instance, by name.
    Instance(Ident),
    /// A layer kind or submodel type, instantiated fresh for this call.
    Layer(LayerSyntax),
}

impl Parse for ModelSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let body;
        braced!(body in input);
        let mut statements = Vec::new();
        while !body.is_empty() {
            statements.push(body.parse()?);
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the model's body; declare one model per `model!`"));
        }
        Ok(ModelSyntax { attrs, vis, name, statements })
    }
}

impl Parse for Statement {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let frozen = parse_frozen(&attrs)?;
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::layer) {
            input.parse::<kw::layer>()?;
            let name = parse_name(input, "layer", "layer hidden = Dense::<4>;")?;
            input.parse::<Token![=]>()?;
            let layer = parse_layer_path(input)?;
            input.parse::<Token![;]>()?;
            return Ok(Statement::Layer { frozen, name, layer });
        }
        if let Some(span) = frozen {
            return Err(syn::Error::new(span, "`#[frozen]` applies to `layer` declarations only; declare the layer with `layer NAME = ...;` and freeze that"));
        }
        if lookahead.peek(kw::input) {
            input.parse::<kw::input>()?;
            let name = parse_name(input, "input", "input x: [3];")?;
            input.parse::<Token![:]>()?;
            let ty = input.parse()?;
            input.parse::<Token![;]>()?;
            Ok(Statement::Input { name, ty })
        } else if lookahead.peek(Token![let]) {
            input.parse::<Token![let]>()?;
            let name = parse_name(input, "let", "let hidden = Dense::<4>(x);")?;
            input.parse::<Token![=]>()?;
            let expr = parse_expr(input)?;
            input.parse::<Token![;]>()?;
            Ok(Statement::Let { name, expr })
        } else if lookahead.peek(kw::output) {
            input.parse::<kw::output>()?;
            let name = parse_name(input, "output", "output score = Dense::<1>(x);")?;
            input.parse::<Token![=]>()?;
            let expr = parse_expr(input)?;
            input.parse::<Token![;]>()?;
            Ok(Statement::Output { name, expr })
        } else {
            Err(lookahead.error())
        }
    }
}

/// Reads the name that follows the keyword of a statement; `example` shows the statement.
fn parse_name(input: ParseStream, keyword: &str, example: &str) -> syn::Result<Ident> {
    if input.peek(Ident) {
        return input.parse();
    }
    Err(input.error(format!("expected a name after `{keyword}`, as in `{example}`")))
}

/// Reads `#[frozen]`. Doc comments are accepted and ignored, as on any Rust item; any other
/// attribute on a statement is an error.
fn parse_frozen(attrs: &[Attribute]) -> syn::Result<Option<Span>> {
    let mut frozen = None;
    for attr in attrs {
        if attr.path().is_ident("doc") {
            continue;
        }
        if attr.path().is_ident("frozen") && matches!(attr.meta, syn::Meta::Path(_)) {
            if frozen.replace(attr.span()).is_some() {
                return Err(syn::Error::new(attr.path().span(), "`#[frozen]` is given twice; remove one"));
            }
        } else {
            return Err(syn::Error::new(attr.span(), "unknown attribute; a `layer` declaration accepts only `#[frozen]`"));
        }
    }
    Ok(frozen)
}

impl Parse for InputType {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(kw::Id) {
            let vocabulary = parse_id_vocabulary(input)?;
            return Ok(InputType::Id { vocabulary });
        }
        if !input.peek(syn::token::Bracket) {
            return Err(input.error("expected an input type: `[N]` for N floats, `Id<V>` for one id below V, or `[Id<V>; L]` for L ids"));
        }
        let content;
        let bracket = bracketed!(content in input);
        let span = bracket.span.join();
        if content.peek(kw::Id) {
            let vocabulary = parse_id_vocabulary(&content)?;
            content.parse::<Token![;]>()?;
            let len = parse_size(&content)?;
            if !content.is_empty() {
                return Err(content.error("expected `]` after the sequence length"));
            }
            return Ok(InputType::IdSequence { vocabulary, len });
        }
        // `[f32; 3]` is how Rust writes an array; `model!` writes only the shape.
        if content.peek(Ident) && content.peek2(Token![;]) {
            let element: Ident = content.fork().parse()?;
            return Err(syn::Error::new(span, format!("an input is written by its shape, as in `[3]` for 3 floats, not as a Rust array `[{element}; N]`; for ids write `[Id<V>; L]`")));
        }
        let dims: Punctuated<Size, Token![,]> = content.parse_terminated(parse_size, Token![,])?;
        if dims.is_empty() {
            return Err(syn::Error::new(span, "an input needs a size, as in `[3]`"));
        }
        Ok(InputType::Floats { span, dims: dims.into_iter().collect() })
    }
}

fn parse_id_vocabulary(input: ParseStream) -> syn::Result<Size> {
    input.parse::<kw::Id>()?;
    input.parse::<Token![<]>()?;
    let vocabulary = parse_size(input)?;
    input.parse::<Token![>]>()?;
    Ok(vocabulary)
}

fn parse_size(input: ParseStream) -> syn::Result<Size> {
    let size = if input.peek(syn::LitInt) {
        let literal: syn::LitInt = input.parse()?;
        size_from_literal(&literal)?
    } else if input.peek(Ident) || input.peek(Token![::]) || input.peek(Token![crate]) || input.peek(Token![self]) || input.peek(Token![super]) {
        Size::Constant { path: syn::Path::parse_mod_style(input)? }
    } else {
        return Err(input.error("expected a size: an integer literal such as `3`, or the path of a `usize` constant"));
    };
    if !(input.is_empty() || input.peek(Token![,]) || input.peek(Token![;]) || input.peek(Token![>])) {
        return Err(input.error("a size must be an integer literal or a constant's path, not an expression; define a constant for the computed size"));
    }
    Ok(size)
}

fn size_from_literal(literal: &syn::LitInt) -> syn::Result<Size> {
    let value = literal
        .base10_parse::<u64>()
        .map_err(|_| syn::Error::new(literal.span(), "this size is not a valid size; write a non-negative integer that fits in usize"))?;
    if !matches!(literal.suffix(), "" | "usize") {
        return Err(syn::Error::new(literal.span(), "sizes are `usize`; drop the suffix"));
    }
    if value > u64::from(u32::MAX) {
        return Err(syn::Error::new(literal.span(), format!("size {value} is too large; sizes are limited to {}", u32::MAX)));
    }
    Ok(Size::Literal { value, span: literal.span() })
}

/// Reads a layer kind, such as `Dense::<4, Relu>`, in a `layer` declaration.
fn parse_layer_path(input: ParseStream) -> syn::Result<LayerSyntax> {
    reject_missing_turbofish(input)?;
    let expr: Expr = input.parse()?;
    match expr {
        Expr::Path(path) if path.qself.is_none() => layer_from_path(path.path),
        Expr::Call(call) => Err(syn::Error::new(
            call.span(),
            "a `layer` declaration names a layer without calling it; declare `layer NAME = Dense::<4>;` and call `NAME(x)` in a `let` or `output`",
        )),
        other => Err(syn::Error::new(other.span(), "expected a layer kind such as `Dense::<4, Relu>` or a model type")),
    }
}

fn layer_from_path(mut path: syn::Path) -> syn::Result<LayerSyntax> {
    let mut args = Vec::new();
    let segment_count = path.segments.len();
    for (i, segment) in path.segments.iter_mut().enumerate() {
        let arguments = std::mem::replace(&mut segment.arguments, syn::PathArguments::None);
        match arguments {
            syn::PathArguments::None => {}
            syn::PathArguments::AngleBracketed(generics) if i + 1 == segment_count => {
                for arg in generics.args {
                    args.push(generic_arg(arg)?);
                }
            }
            other => return Err(syn::Error::new(other.span(), "generic arguments go on the layer kind only, as in `Dense::<4, Relu>`")),
        }
    }
    Ok(LayerSyntax { path, args })
}

fn generic_arg(arg: syn::GenericArgument) -> syn::Result<GenericArg> {
    match arg {
        syn::GenericArgument::Const(Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(literal), .. })) => {
            Ok(GenericArg::Size(size_from_literal(&literal)?))
        }
        syn::GenericArgument::Const(expr @ (Expr::Lit(_) | Expr::Unary(_))) => Ok(GenericArg::Rate(factor(&expr)?)),
        syn::GenericArgument::Const(Expr::Block(block)) if block.block.stmts.len() == 1 => match &block.block.stmts[0] {
            syn::Stmt::Expr(Expr::Path(path), None) if path.qself.is_none() => Ok(GenericArg::Size(Size::Constant { path: path.path.clone() })),
            syn::Stmt::Expr(expr @ (Expr::Lit(_) | Expr::Unary(_)), None) => Ok(GenericArg::Rate(factor(expr)?)),
            _ => Err(syn::Error::new(
                block.span(),
                "a size must be an integer literal or a constant's path, not an expression; define a constant for the computed size",
            )),
        },
        syn::GenericArgument::Type(syn::Type::Path(ty)) if ty.qself.is_none() => option_or_constant(ty.path),
        other => Err(syn::Error::new(
            other.span(),
            "expected a size (an integer literal or a constant) or an option such as `Relu` or `NoBias`",
        )),
    }
}

fn option_or_constant(mut path: syn::Path) -> syn::Result<GenericArg> {
    if let Some(ident) = path.get_ident() {
        return Ok(if is_constant_name(ident) { GenericArg::Size(Size::Constant { path }) } else { GenericArg::Option(ident.clone()) });
    }
    let with_factors = path.segments.len() == 1 && matches!(path.segments[0].arguments, syn::PathArguments::AngleBracketed(_));
    if !with_factors {
        return Ok(GenericArg::Size(Size::Constant { path }));
    }
    let segment = path.segments.pop().map(syn::punctuated::Pair::into_value);
    let Some(syn::PathSegment { ident, arguments: syn::PathArguments::AngleBracketed(arguments) }) = segment else {
        return Err(syn::Error::new(path.span(), "expected an option such as `L2<0.01>`"));
    };
    let factors = arguments
        .args
        .iter()
        .map(|arg| match arg {
            syn::GenericArgument::Const(expr) => factor(expr),
            _ => {
                Err(syn::Error::new(arg.span(), format!("`{ident}` takes numbers, as in `{ident}<0.01>`")))
            }
        })
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(GenericArg::OptionWith { name: ident, factors })
}

/// Reads a number such as `0.5`, `1e-4`, `2` or `-0.1` (the sign is kept so that the check
/// can reject it with a clear message).
fn factor(expr: &Expr) -> syn::Result<Factor> {
    let span = expr.span();
    let invalid = || syn::Error::new(span, "expected a number such as `0.5` or `1e-4`");
    match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Float(literal), .. }) => {
            Ok(Factor { value: literal.base10_parse::<f64>().map_err(|_| invalid())?, span })
        }
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(literal), .. }) => {
            Ok(Factor { value: literal.base10_parse::<f64>().map_err(|_| invalid())?, span })
        }
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => {
            let inner = factor(expr)?;
            Ok(Factor { value: -inner.value, span })
        }
        Expr::Block(block) if block.block.stmts.len() == 1 => match &block.block.stmts[0] {
            syn::Stmt::Expr(inner, None) => factor(inner),
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

/// Whether an identifier is written as a constant (`UNITS`, `HIDDEN_2`) rather than as an
/// option (`Relu`, `NoBias`).
fn is_constant_name(ident: &Ident) -> bool {
    let text = ident.to_string();
    text.chars().any(|c| c.is_ascii_uppercase()) && !text.chars().any(|c| c.is_ascii_lowercase())
}

fn parse_expr(input: ParseStream) -> syn::Result<ExprSyntax> {
    reject_missing_turbofish(input)?;
    let expr: Expr = input.parse()?;
    expr_from_syn(expr)
}

/// Rejects `Dense<1>` in the statement ahead, which Rust reads as two comparisons. In an
/// expression, generic arguments follow `::`, as in `Dense::<1>`.
fn reject_missing_turbofish(input: ParseStream) -> syn::Result<()> {
    let rest: TokenStream = input.fork().parse()?;
    match find_missing_turbofish(rest) {
        Some((kind, span)) => Err(syn::Error::new(
            span,
            format!("a layer's sizes and options follow `::` here: write `{kind}::<...>` instead of `{kind}<...>`"),
        )),
        None => Ok(()),
    }
}

/// Returns the identifier and the `<` span of the first `Name<` outside generic arguments, up
/// to the first `;` at the top level of `tokens`. Inside `::<...>`, a penalty such as
/// `L2<0.01>` is a valid `Name<`.
fn find_missing_turbofish(tokens: TokenStream) -> Option<(Ident, Span)> {
    let mut previous: Option<TokenTree> = None;
    let mut angle_depth = 0usize;
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ';' && angle_depth == 0 => return None,
            TokenTree::Punct(punct) if punct.as_char() == '<' => {
                if let (0, Some(TokenTree::Ident(ident))) = (angle_depth, &previous) {
                    return Some((ident.clone(), punct.span()));
                }
                angle_depth += 1;
            }
            TokenTree::Punct(punct) if punct.as_char() == '>' => angle_depth = angle_depth.saturating_sub(1),
            TokenTree::Group(group) => {
                if let Some(found) = find_missing_turbofish(group.stream()) {
                    return Some(found);
                }
            }
            _ => {}
        }
        previous = Some(token);
    }
    None
}

fn expr_from_syn(expr: Expr) -> syn::Result<ExprSyntax> {
    let span = expr.span();
    match expr {
        Expr::Path(path) if path.qself.is_none() => match path.path.get_ident() {
            Some(ident) => Ok(ExprSyntax::Value(ident.clone())),
            None => Err(syn::Error::new(span, "expected a value's name; a layer must be called on its inputs, as in `Dense::<1>(x)`")),
        },
        Expr::Call(call) => {
            let callee = match *call.func {
                Expr::Path(path) if path.qself.is_none() => match path.path.get_ident() {
                    Some(ident) if starts_lowercase(ident) => Callee::Instance(ident.clone()),
                    _ => Callee::Layer(layer_from_path(path.path)?),
                },
                // `Dense(1)(x)` is how Keras writes a layer; here sizes are generic arguments.
                Expr::Call(inner) if !keras_style_layer(&inner) => {
                    return Err(syn::Error::new(
                        call.paren_token.span.join(),
                        "the result of a layer call is a value, which cannot be called; call each layer once, on its inputs, as in `Dense::<1>(x)`",
                    ));
                }
                Expr::Call(inner) => {
                    let kind = inner.func.to_token_stream().to_string().replace(' ', "");
                    let sizes = inner.args.to_token_stream().to_string();
                    return Err(syn::Error::new(
                        inner.span(),
                        format!("a layer's sizes and options go in angle brackets: write `{kind}::<{sizes}>(...)` instead of `{kind}({sizes})(...)`"),
                    ));
                }
                other => return Err(syn::Error::new(other.span(), "expected a layer kind or a declared layer's name before `(`")),
            };
            let args = call.args.into_iter().map(expr_from_syn).collect::<syn::Result<Vec<_>>>()?;
            Ok(ExprSyntax::Call { callee, args, span })
        }
        other => Err(syn::Error::new(
            other.span(),
            "expected a value's name or a layer call such as `Dense::<1>(x)`",
        )),
    }
}

/// Returns whether `inner`, the callee of a call, looks like a Keras layer with its sizes in
/// parentheses: a plain name such as `Dense`, called on literals only.
fn keras_style_layer(inner: &syn::ExprCall) -> bool {
    let plain_name = matches!(&*inner.func, Expr::Path(path) if path.qself.is_none() && path.path.segments.iter().all(|s| s.arguments.is_none()));
    plain_name && !inner.args.is_empty() && inner.args.iter().all(|arg| matches!(arg, Expr::Lit(_)))
}

fn starts_lowercase(ident: &Ident) -> bool {
    ident.to_string().trim_start_matches("r#").chars().next().is_some_and(|c| c.is_lowercase() || c == '_')
}
