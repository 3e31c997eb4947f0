//! Sizes and shapes as the macro infers them, printed in the notation of `model!`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use crate::parse::Size;

/// One dimension: a number the macro computes, or a constant expression that only the compiler
/// can evaluate (a named constant, or a submodel's output size).
#[derive(Clone, Debug)]
pub enum Dim {
    Known(u64),
    Expr { tokens: String, text: String },
}

impl Dim {
    pub fn from_size(size: &Size) -> Dim {
        match size {
            Size::Literal { value, .. } => Dim::Known(*value),
            Size::Constant { path } => {
                let text = path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::");
                let tokens = path.to_token_stream().to_string();
                Dim::Expr { tokens: format!("({tokens})"), text }
            }
        }
    }

    /// Creates a dimension the compiler computes from `tokens`, printed as `text` in messages.
    pub fn expr(tokens: TokenStream, text: String) -> Dim {
        Dim::Expr { tokens: format!("({tokens})"), text }
    }

    /// Returns whether two dimensions are equal: `Some` when the macro can tell, `None` when only the
    /// compiler can.
    pub fn equals(&self, other: &Dim) -> Option<bool> {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => Some(a == b),
            (Dim::Expr { tokens: a, .. }, Dim::Expr { tokens: b, .. }) if a == b => Some(true),
            _ => None,
        }
    }

    pub fn add(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => Dim::Known(a + b),
            _ => Dim::Expr { tokens: format!("({} + {})", self.tokens(), other.tokens()), text: format!("{self} + {other}") },
        }
    }

    pub fn mul(&self, other: &Dim) -> Dim {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => Dim::Known(a * b),
            (Dim::Known(1), _) => other.clone(),
            (_, Dim::Known(1)) => self.clone(),
            _ => Dim::Expr { tokens: format!("({} * {})", self.tokens(), other.tokens()), text: format!("{self} × {other}") },
        }
    }

    fn tokens(&self) -> String {
        match self {
            Dim::Known(value) => format!("{value}usize"),
            Dim::Expr { tokens, .. } => tokens.clone(),
        }
    }

    /// Returns the dimension as a `usize` expression, usable as a const generic argument.
    /// Returns the dimension as an expression, for a condition that the compiler evaluates.
    pub fn expr_tokens(&self) -> TokenStream {
        // The tokens were printed from a token stream built in this macro, so they parse.
        self.tokens().parse().unwrap_or_default()
    }

    pub fn to_const_arg(&self) -> TokenStream {
        match self {
            Dim::Known(value) => {
                let value = *value as usize;
                quote!(#value)
            }
            Dim::Expr { .. } => {
                let expr = self.expr_tokens();
                quote!({ #expr })
            }
        }
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Known(value) => write!(f, "{value}"),
            Dim::Expr { text, .. } => write!(f, "{text}"),
        }
    }
}

/// The shape of one sample of a value.
#[derive(Clone, Debug)]
pub enum Shape {
    /// Floats of rank 1 (`[N]`) or 2 (`[L, D]`).
    Floats(Vec<Dim>),
    /// Integer ids below `vocabulary`: one (`len` is `None`) or a sequence of `len`.
    Ids { vocabulary: Dim, len: Option<Dim> },
}

impl Shape {
    /// Returns the number of floats or ids per sample.
    pub fn size(&self) -> Dim {
        match self {
            Shape::Floats(dims) => dims.iter().fold(Dim::Known(1), |size, dim| size.mul(dim)),
            Shape::Ids { len, .. } => len.clone().unwrap_or(Dim::Known(1)),
        }
    }

    pub fn rank(&self) -> usize {
        match self {
            Shape::Floats(dims) => dims.len(),
            Shape::Ids { .. } => 1,
        }
    }

    /// Returns whether two shapes are equal, in the sense of [`Dim::equals`].
    pub fn equals(&self, other: &Shape) -> Option<bool> {
        match (self, other) {
            (Shape::Floats(a), Shape::Floats(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut unknown = false;
                for (x, y) in a.iter().zip(b) {
                    match x.equals(y) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            _ => Some(false),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Floats(dims) => {
                let dims: Vec<String> = dims.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", dims.join(", "))
            }
            Shape::Ids { vocabulary, len: None } => write!(f, "Id<{vocabulary}>"),
            Shape::Ids { vocabulary, len: Some(len) } => write!(f, "[Id<{vocabulary}>; {len}]"),
        }
    }
}
