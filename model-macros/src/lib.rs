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
    let syntax: parse::ModelSyntax = match syn::parse2(input) {
        Ok(syntax) => syntax,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = errors::Errors::default();
    let model = model::lower(syntax, &mut errors);
    match errors.combine() {
        None => expand::expand(&model),
        // No stub of the model is emitted beside the errors: rustc already leaves out the
        // follow-on errors of code that names an item a failed macro would have defined, and a
        // partial stub would add errors of its own for every method it lacks.
        Some(error) => error.to_compile_error(),
    }
}
