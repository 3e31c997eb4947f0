//! The `model!` macro of keramic. Use it through the `keramic` crate, which documents it.

mod check;
mod errors;
mod expand;
mod model;
mod parse;
mod shape;

use proc_macro::TokenStream;

/// Declares a model; see the `keramic` crate for the grammar and examples.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    expand_model(input.into()).into()
}

fn expand_model(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match check_model(input) {
        Ok(model) => expand::expand(&model),
        // No stub of the model is emitted beside the errors: rustc already leaves out the
        // follow-on errors of code that names an item a failed macro would have defined, and a
        // partial stub would add errors of its own for every method it lacks.
        Err(error) => error.to_compile_error(),
    }
}

/// Parses and checks one invocation, returning the model or every error found in it.
fn check_model(input: proc_macro2::TokenStream) -> syn::Result<model::Model> {
    parse::check_nesting(&input)?;
    let syntax: parse::ModelSyntax = syn::parse2(input)?;
    let mut errors = errors::Errors::default();
    check::take_deferred();
    let mut model = model::lower(syntax, &mut errors);
    model.deferred = check::take_deferred();
    match errors.combine() {
        None => Ok(model),
        Some(error) => Err(error),
    }
}

/// Robustness of the parser, the checker and the code generator against malformed input. Each
/// case starts from a valid model and mutates its tokens. The macro must return without a
/// panic, and with an error for every input that is known to be invalid.
#[cfg(test)]
mod robustness {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
    use proptest::prelude::*;

    /// Valid models that together use every statement form, input form, layer kind and option.
    const SEEDS: [&str; 6] = [
        "pub struct Game {
            input team_1: Id<10888>;
            input team_2: Id<10888>;
            input home: [1];
            layer strength = Embedding::<10888, 1, L2<0.001>>;
            let diff = Subtract(Flatten(strength(team_1)), Flatten(strength(team_2)));
            output score = Dense::<1>(Concatenate(diff, home));
        }",
        "struct Words {
            input words: [Id<50>; 8];
            let embedded = Embedding::<50, 4>(words);
            let flat = Flatten(embedded);
            let hidden = Dense::<16, Relu, KernelL1L2<0.01, 0.02>, BiasL2<0.5>>(flat);
            output kind = Dense::<3, Softmax>(Dropout::<0.5>(hidden));
        }",
        "pub(crate) struct Heads {
            input x: [4];
            input y: [4];
            #[frozen]
            layer shared = Dense::<4, Tanh, NoBias>;
            let a = shared(x);
            let b = shared(y);
            let gated = Multiply(a, b, Add(a, b));
            output first = Dense::<1>(gated);
            output second = Dense::<1, Sigmoid>(first);
        }",
        "/// A model with constant sizes and a submodel.
        struct Stacked {
            input features: [FEATURES];
            input grid: [3, 2];
            layer inner = crate::models::Inner;
            let joined = Concatenate(Flatten(grid), inner(features));
            output out = Dense::<UNITS, Linear>(joined);
        }",
        "struct Small {
            input x: [1];
            output y = x;
        }",
        "struct Chain {
            input x: [2];
            let h = Dense::<{ HIDDEN }, Relu>(Dense::<8>(Dense::<8>(x)));
            output y = Dense::<1>(h);
            output z = h;
        }",
    ];

    /// Identifiers that mutations write into a model: keywords of the grammar, layer kinds,
    /// options, Rust keywords, raw identifiers and plain names.
    const IDENTS: [&str; 33] = [
        "input", "layer", "let", "output", "struct", "pub", "Dense", "Embedding", "Flatten", "Add", "Subtract",
        "Concatenate", "Dropout", "Id", "Relu", "NoBias", "L2", "KernelL1L2", "x", "team_1", "Unknown", "UNITS",
        "r#type", "r#Dense", "r#input", "self", "Self", "super", "crate", "_", "frozen", "Game", "ü",
    ];

    const PUNCTS: [char; 12] = [';', ',', ':', '=', '<', '>', '#', '-', '.', '&', '!', '+'];

    const LITERALS: [&str; 14] = [
        "0", "1", "4294967295", "4294967296", "99999999999999999999999", "1e400", "-1", "0.5", "1usize", "3u8",
        "\"text\"", "'c'", "1.0e-400", "0x10",
    ];

    /// One token of a flattened stream: a group's opening or closing, or a token that is not a
    /// group.
    #[derive(Clone)]
    enum Piece {
        Open(Delimiter),
        Close,
        Token(TokenTree),
    }

    fn flatten(stream: TokenStream, pieces: &mut Vec<Piece>) {
        for tree in stream {
            match tree {
                TokenTree::Group(group) => {
                    pieces.push(Piece::Open(group.delimiter()));
                    flatten(group.stream(), pieces);
                    pieces.push(Piece::Close);
                }
                other => pieces.push(Piece::Token(other)),
            }
        }
    }

    /// Rebuilds a stream without recursion, so that deeply nested inputs can be built. An
    /// unmatched `Close` is dropped and groups still open at the end are closed.
    fn rebuild(pieces: &[Piece]) -> TokenStream {
        let mut open: Vec<(Delimiter, Vec<TokenTree>)> = vec![(Delimiter::None, Vec::new())];
        for piece in pieces {
            match piece {
                Piece::Open(delimiter) => open.push((*delimiter, Vec::new())),
                Piece::Close if open.len() > 1 => close_group(&mut open),
                Piece::Close => {}
                Piece::Token(token) => open.last_mut().expect("the outermost level is never closed").1.push(token.clone()),
            }
        }
        while open.len() > 1 {
            close_group(&mut open);
        }
        open.pop().expect("the outermost level is never closed").1.into_iter().collect()
    }

    fn close_group(open: &mut Vec<(Delimiter, Vec<TokenTree>)>) {
        let (delimiter, trees) = open.pop().expect("a group is open");
        let group = Group::new(delimiter, trees.into_iter().collect());
        open.last_mut().expect("the outermost level is never closed").1.push(TokenTree::Group(group));
    }

    fn seed_pieces(seed: usize) -> Vec<Piece> {
        let stream: TokenStream = SEEDS[seed].parse().expect("every seed is valid Rust tokens");
        let mut pieces = Vec::new();
        flatten(stream, &mut pieces);
        pieces
    }

    fn ident(text: &str) -> TokenTree {
        match text.strip_prefix("r#") {
            Some(raw) => TokenTree::Ident(Ident::new_raw(raw, Span::call_site())),
            None => TokenTree::Ident(Ident::new(text, Span::call_site())),
        }
    }

    fn literal(text: &str) -> Vec<Piece> {
        // `-1` is two tokens; every other entry is one literal.
        let stream: TokenStream = text.parse().expect("every literal entry is valid Rust tokens");
        let mut pieces = Vec::new();
        flatten(stream, &mut pieces);
        pieces
    }

    /// Returns the positions of the statement terminators, the `;` tokens directly inside the
    /// body.
    fn statement_ends(pieces: &[Piece]) -> Vec<usize> {
        let mut depth = 0usize;
        let mut ends = Vec::new();
        for (index, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Open(_) => depth += 1,
                Piece::Close => depth = depth.saturating_sub(1),
                Piece::Token(TokenTree::Punct(punct)) if depth == 1 && punct.as_char() == ';' => ends.push(index),
                Piece::Token(_) => {}
            }
        }
        ends
    }

    /// Returns the statements of the body as ranges of pieces, each ending with its `;`.
    fn statements(pieces: &[Piece]) -> Vec<std::ops::Range<usize>> {
        let body_start = pieces.iter().position(|piece| matches!(piece, Piece::Open(Delimiter::Brace))).map_or(0, |i| i + 1);
        let mut start = body_start;
        statement_ends(pieces)
            .into_iter()
            .filter(|&end| end >= body_start)
            .map(|end| {
                let range = start..end + 1;
                start = end + 1;
                range
            })
            .collect()
    }

    /// A mutation whose result may or may not be a valid model. Indices are taken modulo the
    /// length of what they index.
    #[derive(Clone, Debug)]
    enum Mutation {
        Truncate(usize),
        Delete(usize),
        SwapTokens(usize, usize),
        InsertIdent(usize, usize),
        InsertPunct(usize, usize),
        ReplaceIdent(usize, usize),
        ReplacePunct(usize, usize),
        ReplaceLiteral(usize, usize),
        DuplicateStatement(usize),
        SwapStatements(usize, usize),
        Nest { at: usize, depth: usize, paren: bool },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let index = 0..10_000usize;
        prop_oneof![
            index.clone().prop_map(Mutation::Truncate),
            index.clone().prop_map(Mutation::Delete),
            (index.clone(), index.clone()).prop_map(|(a, b)| Mutation::SwapTokens(a, b)),
            (index.clone(), 0..IDENTS.len()).prop_map(|(a, b)| Mutation::InsertIdent(a, b)),
            (index.clone(), 0..PUNCTS.len()).prop_map(|(a, b)| Mutation::InsertPunct(a, b)),
            (index.clone(), 0..IDENTS.len()).prop_map(|(a, b)| Mutation::ReplaceIdent(a, b)),
            (index.clone(), 0..PUNCTS.len()).prop_map(|(a, b)| Mutation::ReplacePunct(a, b)),
            (index.clone(), 0..LITERALS.len()).prop_map(|(a, b)| Mutation::ReplaceLiteral(a, b)),
            index.clone().prop_map(Mutation::DuplicateStatement),
            (index.clone(), index.clone()).prop_map(|(a, b)| Mutation::SwapStatements(a, b)),
            (index, 1..400usize, any::<bool>()).prop_map(|(at, depth, paren)| Mutation::Nest { at, depth, paren }),
        ]
    }

    /// Returns the positions of the pieces that `matches` accepts.
    fn positions(pieces: &[Piece], matches: impl Fn(&Piece) -> bool) -> Vec<usize> {
        pieces.iter().enumerate().filter(|(_, piece)| matches(piece)).map(|(index, _)| index).collect()
    }

    fn pick(candidates: &[usize], index: usize) -> Option<usize> {
        (!candidates.is_empty()).then(|| candidates[index % candidates.len()])
    }

    fn apply(pieces: &mut Vec<Piece>, mutation: &Mutation) {
        let len = pieces.len().max(1);
        match *mutation {
            Mutation::Truncate(at) => pieces.truncate(at % len),
            Mutation::Delete(at) => {
                if !pieces.is_empty() {
                    pieces.remove(at % len);
                }
            }
            Mutation::SwapTokens(a, b) => {
                if !pieces.is_empty() {
                    pieces.swap(a % len, b % len);
                }
            }
            Mutation::InsertIdent(at, which) => pieces.insert(at % (pieces.len() + 1), Piece::Token(ident(IDENTS[which]))),
            Mutation::InsertPunct(at, which) => {
                pieces.insert(at % (pieces.len() + 1), Piece::Token(TokenTree::Punct(Punct::new(PUNCTS[which], Spacing::Alone))));
            }
            Mutation::ReplaceIdent(at, which) => {
                if let Some(at) = pick(&positions(pieces, |p| matches!(p, Piece::Token(TokenTree::Ident(_)))), at) {
                    pieces[at] = Piece::Token(ident(IDENTS[which]));
                }
            }
            Mutation::ReplacePunct(at, which) => {
                if let Some(at) = pick(&positions(pieces, |p| matches!(p, Piece::Token(TokenTree::Punct(_)))), at) {
                    pieces[at] = Piece::Token(TokenTree::Punct(Punct::new(PUNCTS[which], Spacing::Alone)));
                }
            }
            Mutation::ReplaceLiteral(at, which) => {
                if let Some(at) = pick(&positions(pieces, |p| matches!(p, Piece::Token(TokenTree::Literal(_)))), at) {
                    pieces.splice(at..at + 1, literal(LITERALS[which]));
                }
            }
            Mutation::DuplicateStatement(which) => {
                let statements = statements(pieces);
                if let Some(range) = statements.get(which % statements.len().max(1)).cloned() {
                    let copy: Vec<Piece> = pieces[range.clone()].to_vec();
                    pieces.splice(range.end..range.end, copy);
                }
            }
            Mutation::SwapStatements(a, b) => {
                let statements = statements(pieces);
                if statements.len() >= 2 {
                    let (mut first, mut second) = (statements[a % statements.len()].clone(), statements[b % statements.len()].clone());
                    if first.start > second.start {
                        std::mem::swap(&mut first, &mut second);
                    }
                    if first != second {
                        let moved: Vec<Piece> = pieces[second.clone()].to_vec();
                        let kept: Vec<Piece> = pieces[first.clone()].to_vec();
                        pieces.splice(second, kept);
                        pieces.splice(first, moved);
                    }
                }
            }
            Mutation::Nest { at, depth, paren } => {
                if let Some(at) = pick(&positions(pieces, |p| matches!(p, Piece::Token(TokenTree::Ident(_)))), at) {
                    let mut opening = Vec::new();
                    for _ in 0..depth {
                        if paren {
                            opening.push(Piece::Token(ident("Flatten")));
                            opening.push(Piece::Open(Delimiter::Parenthesis));
                        } else {
                            opening.push(Piece::Open(Delimiter::Bracket));
                        }
                    }
                    pieces.splice(at + 1..at + 1, std::iter::repeat_n(Piece::Close, depth));
                    pieces.splice(at..at, opening);
                }
            }
        }
    }

    /// The outcome of one run of the macro on `input`.
    enum Outcome {
        Valid,
        Invalid,
    }

    /// Runs the checker and, when it accepts the input, the code generator, failing the test
    /// on a panic or on generated code that is not valid Rust.
    fn run(input: &TokenStream) -> Result<Outcome, TestCaseError> {
        let result = catch_unwind(AssertUnwindSafe(|| {
            crate::check_model(input.clone()).map(|model| crate::expand::expand(&model))
        }));
        match result {
            Err(_) => Err(TestCaseError::fail(format!("the macro panicked on: {input}"))),
            Ok(Err(_)) => Ok(Outcome::Invalid),
            Ok(Ok(generated)) => match syn::parse2::<syn::File>(generated) {
                Ok(_) => Ok(Outcome::Valid),
                Err(error) => Err(TestCaseError::fail(format!("the generated code does not parse ({error}) for: {input}"))),
            },
        }
    }

    #[test]
    fn seeds_are_valid() {
        for (seed, source) in SEEDS.iter().enumerate() {
            let stream = rebuild(&seed_pieces(seed));
            let error = crate::check_model(stream).err().map(|error| error.to_string());
            assert_eq!(error, None, "seed {seed} is rejected:\n{source}");
        }
    }

    #[test]
    fn nesting_at_the_limit_is_accepted() {
        let depth = crate::parse::MAX_NESTING - 2;
        let inner = format!("{}x{}", "Dense::<2>(".repeat(depth), ")".repeat(depth));
        let source = format!("struct Deep {{ input x: [2]; output y = {inner}; }}");
        let error = crate::check_model(source.parse().expect("valid tokens")).err().map(|error| error.to_string());
        assert_eq!(error, None);
    }

    #[test]
    fn nesting_above_the_limit_is_rejected() {
        let depth = crate::parse::MAX_NESTING;
        let inner = format!("{}x{}", "Dense::<2>(".repeat(depth), ")".repeat(depth));
        let source = format!("struct Deep {{ input x: [2]; output y = {inner}; }}");
        let error = crate::check_model(source.parse().expect("valid tokens")).err().map(|error| error.to_string());
        assert!(error.is_some_and(|message| message.contains("nested more than")));
    }

    #[test]
    fn keyword_names_do_not_panic() {
        let sources = [
            "struct M { input x: [2]; layer r#type = Dense::<1>; output y = r#type(x); }",
            "struct M { input x: [2]; output r#match = Dense::<1>(x); }",
            "struct M { input x: [2]; layer inner = Self; output y = inner(x); }",
            "struct M { input x: [2]; output y = Self(x); }",
            "struct M { input x: [2]; output y = super(x); }",
            "struct M { input x: [2]; layer inner = crate; output y = inner(x); }",
            "struct M { input x: [2]; output y = r#Type(x); }",
        ];
        for source in sources {
            let input: TokenStream = source.parse().expect("valid tokens");
            if let Err(error) = run(&input) {
                panic!("{source}: {error}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Chains of mutations of every kind: the result may be valid or not, and the macro
        /// must not panic either way.
        #[test]
        fn mutated_models_do_not_panic(seed in 0..SEEDS.len(), mutations in prop::collection::vec(mutation(), 1..8)) {
            let mut pieces = seed_pieces(seed);
            for mutation in &mutations {
                apply(&mut pieces, mutation);
            }
            run(&rebuild(&pieces))?;
        }
    }

    /// A mutation of a valid model whose result is always invalid.
    #[derive(Clone, Debug)]
    enum Breakage {
        /// Replaces the `;` that ends a statement with another punctuation mark.
        Terminator { statement: usize, punct: usize },
        /// Replaces a size with 0, a size above the limit or one that does not fit in 64 bits.
        Size { literal: usize, replacement: usize },
        /// Repeats a statement, so that a name is defined twice.
        Duplicate { statement: usize },
        /// Cuts the body inside a statement, before its `;`.
        Cut { statement: usize, keep: usize },
        /// Renames an input at its declaration, so that its uses name nothing.
        RenameInput { input: usize },
        /// Moves the last statement, an output, to the front, before the values it uses.
        OutputFirst,
        /// Nests a value in more groups than the limit.
        DeepNesting { at: usize },
    }

    fn breakage() -> impl Strategy<Value = Breakage> {
        let index = 0..10_000usize;
        prop_oneof![
            (index.clone(), 0..5usize).prop_map(|(statement, punct)| Breakage::Terminator { statement, punct }),
            (index.clone(), 0..3usize).prop_map(|(literal, replacement)| Breakage::Size { literal, replacement }),
            index.clone().prop_map(|statement| Breakage::Duplicate { statement }),
            (index.clone(), index.clone()).prop_map(|(statement, keep)| Breakage::Cut { statement, keep }),
            index.clone().prop_map(|input| Breakage::RenameInput { input }),
            Just(Breakage::OutputFirst),
            index.prop_map(|at| Breakage::DeepNesting { at }),
        ]
    }

    /// Applies `breakage`, or returns `false` when the seed has nothing it applies to.
    fn break_model(pieces: &mut Vec<Piece>, breakage: &Breakage) -> bool {
        let statements = statements(pieces);
        let is_size_literal = |piece: &Piece| match piece {
            Piece::Token(TokenTree::Literal(literal)) => {
                let text = literal.to_string();
                !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
            }
            _ => false,
        };
        match *breakage {
            Breakage::Terminator { statement, punct } => {
                let end = statements[statement % statements.len()].end - 1;
                let replacement = [',', ':', '.', '=', '#'][punct];
                pieces[end] = Piece::Token(TokenTree::Punct(Punct::new(replacement, Spacing::Alone)));
            }
            Breakage::Size { literal, replacement } => {
                let Some(at) = pick(&positions(pieces, is_size_literal), literal) else { return false };
                let text = ["0", "4294967296", "99999999999999999999999"][replacement];
                pieces[at] = Piece::Token(TokenTree::Literal(text.parse::<Literal>().expect("a valid literal")));
            }
            Breakage::Duplicate { statement } => {
                let range = statements[statement % statements.len()].clone();
                let copy: Vec<Piece> = pieces[range.clone()].to_vec();
                pieces.splice(range.end..range.end, copy);
            }
            Breakage::Cut { statement, keep } => {
                let range = statements[statement % statements.len()].clone();
                // Keep at least the statement's first token and drop at least its `;`.
                let cut = range.start + 1 + keep % (range.len() - 1);
                pieces.truncate(cut);
            }
            Breakage::RenameInput { input } => {
                let declarations = positions(pieces, |piece| matches!(piece, Piece::Token(TokenTree::Ident(word)) if word == "input"));
                let Some(at) = pick(&declarations, input) else { return false };
                pieces[at + 1] = Piece::Token(ident("renamed_input"));
            }
            Breakage::OutputFirst => {
                let last = statements[statements.len() - 1].clone();
                let moved: Vec<Piece> = pieces[last.clone()].to_vec();
                pieces.splice(last, std::iter::empty());
                pieces.splice(statements[0].start..statements[0].start, moved);
            }
            Breakage::DeepNesting { at } => {
                apply(pieces, &Mutation::Nest { at, depth: crate::parse::MAX_NESTING, paren: at % 2 == 0 });
            }
        }
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Mutations that always make a model invalid: each must give an error, not a panic
        /// and not generated code.
        #[test]
        fn broken_models_are_rejected(seed in 0..SEEDS.len(), breakage in breakage()) {
            let mut pieces = seed_pieces(seed);
            if break_model(&mut pieces, &breakage) {
                let input = rebuild(&pieces);
                let outcome = run(&input)?;
                prop_assert!(matches!(outcome, Outcome::Invalid), "accepted after {:?}: {}", breakage, input);
            }
        }
    }
}
