//! Code generation from a checked model. Nothing here reports user errors: every rule was
//! checked before, and what only the compiler can check carries the user's spans.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;
use syn::ext::IdentExt;

use crate::model::{Activation, Call, Instance, Kind, Model, Producer};
use crate::shape::{Dim, Shape};

/// Generates the model struct, its input and output structs, its workspace and every impl.
pub fn expand(model: &Model) -> TokenStream {
    let generator = Generator::new(model);
    let structs = generator.structs();
    let workspace = generator.workspace();
    let inherent = generator.inherent_impls();
    let network = generator.network_impl();
    let aliases = generator.submodel_aliases();
    let submodel_call = generator.submodel_call_impl();
    let deferred = generator.deferred_checks();
    quote! {
        #aliases
        #deferred
        #structs
        #workspace
        #inherent
        #submodel_call
        #network
    }
}

/// What the gradient of a value depends on, to skip work that cannot reach a weight.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum GradNeed {
    /// The value contains ids, or depends on nothing with weights.
    Never,
    /// Only needed when the model is called as a layer on values that need gradients.
    InputGrads,
    /// A weight comes before it.
    Always,
}

struct Generator<'m> {
    model: &'m Model,
    name: &'m Ident,
    input_struct: Ident,
    output_struct: Ident,
    workspace_struct: Ident,
    need: Vec<GradNeed>,
}

fn value_field(value: usize) -> Ident {
    format_ident!("__v{}", value)
}

fn grad_field(value: usize) -> Ident {
    format_ident!("__g{}", value)
}

fn pre_field(call: usize) -> Ident {
    format_ident!("__pre{}", call)
}

fn sub_field(call: usize) -> Ident {
    format_ident!("__sub{}", call)
}

fn mask_field(call: usize) -> Ident {
    format_ident!("__mask{}", call)
}

fn instance_field(instance: &Instance) -> Ident {
    // A label that is a Rust keyword, such as `type` from `layer r#type = ...`, needs the raw form.
    syn::parse_str::<Ident>(&instance.label).unwrap_or_else(|_| Ident::new_raw(&instance.label, Span::call_site()))
}

fn activation_tokens(activation: Activation) -> TokenStream {
    match activation {
        Activation::Linear => quote!(::keramic::__model_core::layers::Activation::Linear),
        Activation::Relu => quote!(::keramic::__model_core::layers::Activation::Relu),
        Activation::Sigmoid => quote!(::keramic::__model_core::layers::Activation::Sigmoid),
        Activation::Tanh => quote!(::keramic::__model_core::layers::Activation::Tanh),
        Activation::Softmax => quote!(::keramic::__model_core::layers::Activation::Softmax),
    }
}

/// The kind of values of an output, for the check of the losses: `VALUES` (logits or any
/// other numbers), `PROBABILITIES`, or `MIXED` (probabilities together with other values, or
/// probabilities that Dropout scales during training). Known to the macro, or computed by the
/// compiler from another model's output.
enum OutputKind {
    Known(u8),
    Expr(TokenStream),
}

const VALUES: u8 = 0;
const PROBABILITIES: u8 = 1;
const MIXED: u8 = 2;

impl OutputKind {
    /// Returns the kind of a Concatenate or Multiply of values of the kinds `self` and `other`.
    fn join(self, other: OutputKind) -> OutputKind {
        match (self, other) {
            (OutputKind::Known(a), OutputKind::Known(b)) => OutputKind::Known(if a == b { a } else { MIXED }),
            (a, b) => {
                let (a, b) = (a.into_expr(), b.into_expr());
                OutputKind::Expr(quote!(::keramic::__model_core::__private::checks::join_kinds(#a, #b)))
            }
        }
    }

    /// Returns the kind of a Dropout of values of the kind `self`.
    fn after_dropout(self) -> OutputKind {
        match self {
            OutputKind::Known(PROBABILITIES) => OutputKind::Known(MIXED),
            OutputKind::Known(kind) => OutputKind::Known(kind),
            OutputKind::Expr(expr) => OutputKind::Expr(quote!(::keramic::__model_core::__private::checks::kind_after_dropout(#expr))),
        }
    }

    /// Returns the kind as a `u8` expression.
    fn into_expr(self) -> TokenStream {
        match self {
            OutputKind::Known(kind) => {
                let kind = proc_macro2::Literal::u8_suffixed(kind);
                quote!(#kind)
            }
            OutputKind::Expr(expr) => quote!((#expr)),
        }
    }

    /// Returns the kind as a const generic argument.
    fn into_const_arg(self) -> TokenStream {
        match self {
            OutputKind::Known(_) => self.into_expr(),
            OutputKind::Expr(expr) => quote!({ #expr }),
        }
    }
}

/// Appends `tuple` as the last argument of the call `call`, whose argument list is its last
/// token, a parenthesized group. The comma gets `span`; the tuple keeps its own spans.
fn with_tuple_argument(call: TokenStream, tuple: TokenStream, span: Span) -> TokenStream {
    let mut tokens: Vec<proc_macro2::TokenTree> = call.into_iter().collect();
    if let Some(proc_macro2::TokenTree::Group(group)) = tokens.pop() {
        let mut comma = proc_macro2::TokenTree::Punct(proc_macro2::Punct::new(',', proc_macro2::Spacing::Alone));
        comma.set_span(span);
        let mut stream = group.stream();
        stream.extend([comma]);
        stream.extend(tuple);
        let mut arguments = proc_macro2::Group::new(group.delimiter(), stream);
        arguments.set_span(group.span());
        tokens.push(proc_macro2::TokenTree::Group(arguments));
    }
    tokens.into_iter().collect()
}

/// Replaces every `self` in `tokens` with `__model`, the model parameter of the closures in
/// `__passes`.
fn self_to_model(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            proc_macro2::TokenTree::Group(group) => {
                let mut inner = proc_macro2::Group::new(group.delimiter(), self_to_model(group.stream()));
                inner.set_span(group.span());
                proc_macro2::TokenTree::Group(inner)
            }
            proc_macro2::TokenTree::Ident(ident) if ident == "self" => proc_macro2::TokenTree::Ident(Ident::new("__model", ident.span())),
            other => other,
        })
        .collect()
}

/// Gives every token of `tokens` the span `span`, so that a compiler error about generated
/// code points at the user's call rather than at a declaration elsewhere.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                return proc_macro2::TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}

/// A shape as a `String` expression, evaluated at run time so that sizes known only to the
/// compiler print as numbers.
fn shape_string(shape: &Shape) -> TokenStream {
    match shape {
        Shape::Floats(dims) => {
            let args: Vec<TokenStream> = dims.iter().map(Dim::to_const_arg).collect();
            let pattern = format!("[{}]", vec!["{}"; dims.len()].join(", "));
            quote!(::std::format!(#pattern, #(#args),*))
        }
        Shape::Ids { vocabulary, len: None } => {
            let vocabulary = vocabulary.to_const_arg();
            quote!(::std::format!("Id<{}>", #vocabulary))
        }
        Shape::Ids { vocabulary, len: Some(len) } => {
            let vocabulary = vocabulary.to_const_arg();
            let len = len.to_const_arg();
            quote!(::std::format!("[Id<{}>; {}]", #vocabulary, #len))
        }
    }
}

impl<'m> Generator<'m> {
    fn new(model: &'m Model) -> Self {
        let name = &model.name;
        let mut need = vec![GradNeed::Never; model.values.len()];
        for (index, value) in model.values.iter().enumerate() {
            need[index] = match (value.producer, &value.shape) {
                (_, Shape::Ids { .. }) => GradNeed::Never,
                (Producer::Input(_), _) => GradNeed::InputGrads,
                (Producer::Call(call), _) => {
                    let call = &model.calls[call];
                    let operands = call.operands.iter().map(|&v| need[v]).max().unwrap_or(GradNeed::Never);
                    if model.instances[call.instance].kind.has_weights() { GradNeed::Always } else { operands }
                }
            };
        }
        Generator {
            model,
            name,
            input_struct: format_ident!("{}Input", name),
            output_struct: format_ident!("{}Output", name),
            workspace_struct: format_ident!("__{}Workspace", name),
            need,
        }
    }

    fn need_tokens(&self, value: usize) -> TokenStream {
        match self.need[self.model.values[value].storage] {
            GradNeed::Never => quote!(false),
            GradNeed::InputGrads => quote!(__input_grads),
            GradNeed::Always => quote!(true),
        }
    }

    /// Values that own a buffer, in creation order.
    fn storages(&self) -> impl Iterator<Item = usize> + '_ {
        self.model.values.iter().enumerate().filter(|(index, value)| value.storage == *index).map(|(index, _)| index)
    }

    fn value_type(&self, value: usize) -> TokenStream {
        match &self.model.values[value].shape {
            shape @ Shape::Floats(_) => {
                let width = shape.size().to_const_arg();
                quote!(::keramic::__model_core::layers::Batch<T, #width>)
            }
            Shape::Ids { vocabulary, len } => {
                let vocabulary = vocabulary.to_const_arg();
                let len = len.as_ref().map_or(quote!(1usize), Dim::to_const_arg);
                quote!(::keramic::__model_core::layers::IdBatch<#vocabulary, #len>)
            }
        }
    }

    fn instance_type(&self, instance: &Instance) -> Option<TokenStream> {
        match &instance.kind {
            Kind::Dense { units, .. } => {
                let input = instance.input_shape.as_ref().map_or(Dim::Known(1), Shape::size).to_const_arg();
                let units = units.to_const_arg();
                Some(quote!(::keramic::__model_core::layers::Dense<T, #input, #units>))
            }
            Kind::Embedding { vocabulary, dim, .. } => {
                let vocabulary = vocabulary.to_const_arg();
                let dim = dim.to_const_arg();
                Some(quote!(::keramic::__model_core::layers::Embedding<T, #vocabulary, #dim>))
            }
            Kind::Submodel { path, .. } => Some(quote!(#path<T>)),
            _ => None,
        }
    }

    fn weighted_instances(&self) -> impl Iterator<Item = &Instance> + '_ {
        self.model.instances.iter().filter(|instance| instance.kind.has_weights() && !instance.calls.is_empty())
    }

    fn param_count(&self, instance: &Instance) -> TokenStream {
        match &instance.kind {
            Kind::Dense { units, bias, .. } => {
                let input = instance.input_shape.as_ref().map_or(Dim::Known(1), Shape::size).to_const_arg();
                let units = units.to_const_arg();
                if *bias { quote!((#input * #units + #units)) } else { quote!((#input * #units)) }
            }
            Kind::Embedding { vocabulary, dim, .. } => {
                let vocabulary = vocabulary.to_const_arg();
                let dim = dim.to_const_arg();
                quote!((#vocabulary * #dim))
            }
            Kind::Submodel { alias: path, .. } => quote!(<#path>::TOTAL_PARAMS),
            _ => quote!(0usize),
        }
    }

    fn trainable_count(&self, instance: &Instance) -> TokenStream {
        match (&instance.kind, instance.frozen) {
            (_, true) => quote!(0usize),
            (Kind::Submodel { alias: path, .. }, false) => quote!(<#path>::TRAINABLE_PARAMS),
            (_, false) => self.param_count(instance),
        }
    }

    fn structs(&self) -> TokenStream {
        let Model { attrs, vis, .. } = self.model;
        let name = self.name;
        let fields = self.weighted_instances().map(|instance| {
            let field = instance_field(instance);
            let ty = self.instance_type(instance);
            let doc = format!("The `{}` layer ({}).", instance.label, instance.kind.name());
            quote!(#[doc = #doc] pub #field: #ty,)
        });
        let input_fields = self.model.inputs.iter().map(|input| {
            let field = &input.name;
            let ty = match &input.shape {
                Shape::Floats(dims) => {
                    let size = dims.iter().fold(Dim::Known(1), |size, dim| size.mul(dim)).to_const_arg();
                    quote!([f32; #size])
                }
                Shape::Ids { len: None, .. } => quote!(u32),
                Shape::Ids { len: Some(len), .. } => {
                    let len = len.to_const_arg();
                    quote!([u32; #len])
                }
            };
            let doc = format!("Input `{}`, {}.", input.name, input.shape);
            quote!(#[doc = #doc] pub #field: #ty,)
        });
        let output_fields = self.model.outputs.iter().map(|output| {
            let field = &output.name;
            let width = self.model.values[output.value].shape.size().to_const_arg();
            let doc = format!("Output `{}`, {}.", output.name, self.model.values[output.value].shape);
            quote!(#[doc = #doc] pub #field: [f32; #width],)
        });
        let input_doc = format!("One sample's inputs of [`{name}`].");
        let output_doc = format!("One sample's outputs of [`{name}`], as predicted or as training targets.");
        let input_struct = &self.input_struct;
        let output_struct = &self.output_struct;
        quote! {
            #(#attrs)*
            #[derive(Clone, Debug)]
            #vis struct #name<T: ::keramic::__model_core::Real = f32> {
                #(#fields)*
                __scalar: ::core::marker::PhantomData<T>,
            }

            #[doc = #input_doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #input_struct {
                #(#input_fields)*
            }

            #[doc = #output_doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #output_struct {
                #(#output_fields)*
            }
        }
    }

    fn workspace(&self) -> TokenStream {
        let vis = &self.model.vis;
        let workspace = &self.workspace_struct;
        let mut fields = Vec::new();
        let mut defaults = Vec::new();
        for value in self.storages() {
            let field = value_field(value);
            let ty = self.value_type(value);
            fields.push(quote!(#field: #ty,));
            defaults.push(quote!(#field: ::core::default::Default::default(),));
            if let Shape::Floats(_) = self.model.values[value].shape {
                let grad = grad_field(value);
                fields.push(quote!(#grad: #ty,));
                defaults.push(quote!(#grad: ::core::default::Default::default(),));
            }
        }
        for (index, call) in self.model.calls.iter().enumerate() {
            let instance = &self.model.instances[call.instance];
            match &instance.kind {
                Kind::Dense { .. } => {
                    let field = pre_field(index);
                    let ty = self.value_type(call.output);
                    fields.push(quote!(#field: #ty,));
                    defaults.push(quote!(#field: ::core::default::Default::default(),));
                }
                Kind::Submodel { alias: path, .. } => {
                    let field = sub_field(index);
                    fields.push(quote!(#field: <#path<T> as ::keramic::__model_core::network::Network<T>>::Workspace,));
                    defaults.push(quote!(#field: ::core::default::Default::default(),));
                }
                Kind::Dropout { .. } => {
                    let field = mask_field(index);
                    let ty = self.value_type(call.output);
                    fields.push(quote!(#field: #ty,));
                    defaults.push(quote!(#field: ::core::default::Default::default(),));
                }
                _ => {}
            }
        }
        let doc = format!("Buffers of [`{}`] reused from batch to batch.", self.name);
        quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #vis struct #workspace<T: ::keramic::__model_core::Real> {
                #(#fields)*
                __samples: usize,
                __dropout: ::keramic::__model_core::layers::DropoutState,
            }

            #[automatically_derived]
            impl<T: ::keramic::__model_core::Real> ::core::default::Default for #workspace<T> {
                fn default() -> Self {
                    Self { #(#defaults)* __samples: 0, __dropout: ::core::default::Default::default() }
                }
            }
        }
    }

    /// Returns the checks on named constants that lowering left to the compiler, and the
    /// check that each float argument of a model used as a layer has the shape of its input,
    /// not only its size. Each is a `const` assertion at the user's token.
    fn deferred_checks(&self) -> TokenStream {
        let deferred = self.model.deferred.iter().map(|check| {
            let condition = &check.condition;
            let message = check.message.replace('{', "{{").replace('}', "}}");
            quote_spanned!(check.span=> const _: () = ::core::assert!(#condition, #message);)
        });
        let checks = &quote!(::keramic::__model_core::__private::checks);
        let shapes = self.model.calls.iter().filter_map(|call| {
            let Kind::Submodel { alias, .. } = &self.model.instances[call.instance].kind else { return None };
            let count = call.operands.len();
            let arguments = call.operands.iter().enumerate().filter_map(move |(i, &v)| {
                let value = &self.model.values[v];
                let Shape::Floats(dims) = &value.shape else { return None };
                let dims = dims.iter().map(Dim::expr_tokens);
                let span = call.arg_spans.get(i).copied().unwrap_or(call.span);
                let argument = if value.named { format!("`{}`", value.label) } else { "the argument".to_owned() };
                let tail = format!(", but {argument} is {}, which has the same size", value.shape);
                // The message joins the submodel's text, which names its input shape, with this
                // call's text, which names the argument's shape.
                Some(quote_spanned! {span=>
                    const _: () = {
                        const PARTS: &[&str] = &[#checks::text_at(<#alias>::__INPUT_SHAPE_EXPECTED, #i), #tail];
                        const MESSAGE: [u8; #checks::joined_len(PARTS)] = #checks::join(PARTS);
                        if !#checks::same_dims_at(<#alias>::__INPUT_DIMS, #count, #i, &[#(#dims),*]) {
                            match ::core::str::from_utf8(&MESSAGE) {
                                ::core::result::Result::Ok(message) => ::core::panic!("{}", message),
                                ::core::result::Result::Err(_) => ::core::panic!("the argument's shape differs from the submodel's input shape"),
                            }
                        }
                    };
                })
            });
            Some(quote!(#(#arguments)*))
        });
        quote!(#(#deferred)* #(#shapes)*)
    }

    fn inherent_impls(&self) -> TokenStream {
        let name = self.name;
        let workspace = &self.workspace_struct;
        let weighted: Vec<&Instance> = self.weighted_instances().collect();
        let total = weighted.iter().map(|instance| self.param_count(instance));
        let trainable = weighted.iter().map(|instance| self.trainable_count(instance));
        let inits = weighted.iter().map(|instance| {
            let field = instance_field(instance);
            let init = match &instance.kind {
                Kind::Dense { activation, bias, .. } => {
                    let activation = activation_tokens(*activation);
                    quote!(::keramic::__model_core::layers::Dense::new(rng, #activation, #bias))
                }
                Kind::Embedding { .. } => quote!(::keramic::__model_core::layers::Embedding::new(rng)),
                Kind::Submodel { alias: path, .. } => quote!(#path::<T>::from_rng(rng)),
                _ => quote!(),
            };
            let frozen = instance.frozen.then(|| quote!(#field.set_trainable(false);));
            quote!(let mut #field = #init; #frozen)
        });
        let field_names: Vec<Ident> = weighted.iter().map(|instance| instance_field(instance)).collect();
        let forward = self_to_model(self.forward_body());
        let backward = self_to_model(self.backward_graph_body());
        let sub_interface = self.submodel_interface();
        let input_count = self.model.inputs.len();
        let output_count = self.model.outputs.len();
        let checks = quote!(::keramic::__model_core::__private::checks);
        let first_kind = self.model.outputs.first().map_or(quote!(0u8), |output| {
            self.output_kind(output.value, &|i| OutputKind::Expr(quote!(#checks::kind_at(inputs, #i)))).into_expr()
        });
        let input_sizes = self.model.inputs.iter().map(|input| input.shape.size().to_const_arg());
        let input_ids = self.model.inputs.iter().map(|input| matches!(input.shape, Shape::Ids { .. }));
        let input_dims = self.model.inputs.iter().map(|input| match &input.shape {
            Shape::Floats(dims) => {
                let dims = dims.iter().map(Dim::expr_tokens);
                quote!(&[#(#dims),*])
            }
            Shape::Ids { .. } => quote!(&[]),
        });
        let input_vocabularies = self.model.inputs.iter().map(|input| match &input.shape {
            Shape::Ids { vocabulary, .. } => vocabulary.to_const_arg(),
            Shape::Floats(_) => quote!(0usize),
        });
        let input_lengths = self.model.inputs.iter().map(|input| match &input.shape {
            Shape::Ids { len, .. } => len.as_ref().map_or(quote!(1usize), Dim::to_const_arg),
            Shape::Floats(_) => quote!(0usize),
        });
        let shape_expected = self.model.inputs.iter().map(|input| format!("`{}` expects an input of shape {} here", self.model.name, input.shape));
        let doc_new = format!("Creates a [`{name}`] in `f32` with Keras's default initializers, drawing from `rng`.");
        quote! {
            #[automatically_derived]
            impl #name<f32> {
                /// All weights, counting a shared layer once.
                pub const TOTAL_PARAMS: usize = 0usize #(+ #total)*;
                /// Weights the optimizer updates.
                pub const TRAINABLE_PARAMS: usize = 0usize #(+ #trainable)*;
                /// Weights of frozen layers.
                pub const NON_TRAINABLE_PARAMS: usize = Self::TOTAL_PARAMS - Self::TRAINABLE_PARAMS;

                #[doc(hidden)]
                pub const __INPUT_COUNT: usize = #input_count;

                #[doc(hidden)]
                pub const __OUTPUT_COUNT: usize = #output_count;

                /// Returns what the values of the first output are, given what the values of
                /// each input are, for a model that uses this one as a layer.
                #[doc(hidden)]
                pub const fn __output_kind(inputs: &[u8]) -> u8 {
                    let _ = inputs;
                    #first_kind
                }

                #[doc(hidden)]
                pub const __INPUT_SIZES: &'static [usize] = &[#(#input_sizes),*];

                #[doc(hidden)]
                pub const __INPUT_IDS: &'static [bool] = &[#(#input_ids),*];

                /// The dimensions of each float input; empty for an id input.
                #[doc(hidden)]
                pub const __INPUT_DIMS: &'static [&'static [usize]] = &[#(#input_dims),*];

                /// The vocabulary size of each id input; 0 for a float input.
                #[doc(hidden)]
                pub const __INPUT_VOCABULARIES: &'static [usize] = &[#(#input_vocabularies),*];

                /// The number of ids per sample of each id input; 0 for a float input.
                #[doc(hidden)]
                pub const __INPUT_LENGTHS: &'static [usize] = &[#(#input_lengths),*];

                /// The start of the message for an argument whose size fits input `i` but whose
                /// shape does not.
                #[doc(hidden)]
                pub const __INPUT_SHAPE_EXPECTED: &'static [&'static str] = &[#(#shape_expected),*];

                #[doc = #doc_new]
                pub fn new<R: ::keramic::__model_core::__private::rand::Rng + ?::core::marker::Sized>(rng: &mut R) -> Self {
                    Self::from_rng(rng)
                }

                /// Returns the summary table, printed like Keras's `model.summary()`.
                pub fn summary() -> ::keramic::__model_core::summary::Summary {
                    <Self as ::keramic::__model_core::network::Network<f32>>::summary()
                }
            }

            #[automatically_derived]
            impl<T: ::keramic::__model_core::Real> #name<T> {
                /// Creates the model in the scalar `T` with Keras's default initializers:
                /// Glorot uniform kernels, zero biases and embeddings uniform in ±0.05.
                pub fn from_rng<R: ::keramic::__model_core::__private::rand::Rng + ?::core::marker::Sized>(rng: &mut R) -> Self {
                    #(#inits)*
                    Self { #(#field_names,)* __scalar: ::core::marker::PhantomData }
                }

                /// Freezes (`false`) or unfreezes (`true`) every layer of the model.
                pub fn set_trainable(&mut self, trainable: bool) {
                    #(self.#field_names.set_trainable(trainable);)*
                }

                /// Returns whether any layer of the model is trainable.
                pub fn is_trainable(&self) -> bool {
                    false #(|| self.#field_names.is_trainable())*
                }

                /// Returns the forward and backward passes as two closures of one body. A
                /// check that the compiler evaluates appears in both passes, and in one body a
                /// failed check is reported and counted once.
                #[inline(always)]
                fn __passes() -> (
                    fn(&Self, &mut #workspace<T>),
                    fn(&mut Self, &mut #workspace<T>, &[::core::option::Option<&[T]>], bool),
                ) {
                    (
                        |__model, ws| {
                            #forward
                        },
                        |__model, ws, __logit_seeds, __input_grads| {
                            #backward
                        },
                    )
                }

                fn __forward(&self, ws: &mut #workspace<T>) {
                    (Self::__passes().0)(self, ws)
                }

                fn __backward_graph(&mut self, ws: &mut #workspace<T>, __logit_seeds: &[::core::option::Option<&[T]>], __input_grads: bool) {
                    (Self::__passes().1)(self, ws, __logit_seeds, __input_grads)
                }

                #sub_interface
            }
        }
    }

    fn forward_body(&self) -> TokenStream {
        let steps = self.model.calls.iter().enumerate().map(|(index, call)| self.forward_call(index, call));
        quote! {
            let __samples = ws.__samples;
            #(#steps)*
        }
    }

    fn forward_call(&self, index: usize, call: &Call) -> TokenStream {
        let instance = &self.model.instances[call.instance];
        let out = value_field(call.output);
        let operands: Vec<Ident> = call.operands.iter().map(|&v| value_field(self.model.values[v].storage)).collect();
        match &instance.kind {
            Kind::Dense { .. } => {
                let field = instance_field(instance);
                let pre = pre_field(index);
                let x = &operands[0];
                let x = self.shared_input(call, quote!(ws.#x), false);
                quote!(self.#field.forward(#x, &mut ws.#pre, &mut ws.#out);)
            }
            Kind::Embedding { .. } => {
                let field = instance_field(instance);
                let x = self.embedding_ids(call, &operands[0]);
                quote!(self.#field.forward(#x, &mut ws.#out);)
            }
            Kind::Flatten => quote!(),
            Kind::Dropout { rate } => {
                let mask = mask_field(index);
                let x = &operands[0];
                quote!(::keramic::__model_core::layers::dropout(#rate, &mut ws.__dropout, &ws.#x, &mut ws.#mask, &mut ws.#out);)
            }
            Kind::Add => {
                let operands = self.merge_operands(call, "Add", false);
                quote!(::keramic::__model_core::layers::add(&[#(#operands),*], &mut ws.#out);)
            }
            Kind::Multiply => {
                let operands = self.merge_operands(call, "Multiply", false);
                quote!(::keramic::__model_core::layers::multiply(&[#(#operands),*], &mut ws.#out);)
            }
            Kind::Subtract => {
                let operands = self.merge_operands(call, "Subtract", false);
                let (a, b) = (&operands[0], &operands[1]);
                quote!(::keramic::__model_core::layers::subtract(#a, #b, &mut ws.#out);)
            }
            Kind::Concatenate => {
                let (widths, positions) = self.concatenate_layout(call);
                quote! {
                    ::keramic::__model_core::layers::resize_batch(&mut ws.#out, __samples);
                    ::keramic::__model_core::layers::concatenate(&[#(ws.#operands.as_slice()),*], &[#(#widths),*], #positions, ws.#out.as_mut_slice());
                }
            }
            Kind::Submodel { alias: path, .. } => {
                let field = instance_field(instance);
                let sub = sub_field(index);
                let span = call.span;
                let count = call.operands.len();
                let arguments = self.submodel_arguments(call, path, false);
                let call_trait = self.submodel_call_trait(path, count, span);
                // Every token of the call but the arguments gets the call's span, because a
                // wrong argument count makes each projection of the trait's types fail, and
                // rustc reports each failure once per distinct span. The arguments keep their
                // own spans, so that a check of one argument points at it.
                let call_head = respan(quote!(#call_trait::call(&self.#field, &mut ws.#sub)), span);
                let call_tokens = with_tuple_argument(call_head, quote!((#(#arguments,)*)), span);
                let spanned_path = respan(path.to_token_stream(), span);
                let output_check = quote_spanned!(span=> let () = <#spanned_path as ::keramic::__model_core::__private::checks::SingleOutput<{ <#path>::__OUTPUT_COUNT }>>::MATCHES;);
                quote! {
                    #output_check
                    *<#path<T> as ::keramic::__model_core::network::Network<T>>::dropout_state(&mut ws.#sub) = ws.__dropout.fork();
                    #call_tokens;
                    ::keramic::__model_core::layers::resize_batch(&mut ws.#out, __samples);
                    ws.#out.copy_from(#path::<T>::__output(&ws.#sub));
                }
            }
        }
    }

    /// References to a merge's operands (or, with `grads`, to their gradients). An operand
    /// whose size the macro cannot compare with the first one's goes through a check that the
    /// compiler evaluates, so a mismatch names the layer and both shapes.
    fn merge_operands(&self, call: &Call, kind: &str, grads: bool) -> Vec<TokenStream> {
        let check_trait = format_ident!("{}Sizes", kind);
        let first = &self.model.values[call.operands[0]].shape;
        call.operands
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let storage = self.model.values[v].storage;
                let field = if grads { grad_field(storage) } else { value_field(storage) };
                let shape = &self.model.values[v].shape;
                if i == 0 || first.equals(shape).is_some() {
                    return if grads { quote!(&mut ws.#field) } else { quote!(&ws.#field) };
                }
                let (first_size, size) = (first.size().to_const_arg(), shape.size().to_const_arg());
                let span = call.span;
                // Two matrices go through a check that prints both dimensions of each.
                let check = match (first, shape) {
                    (Shape::Floats(a), Shape::Floats(b)) if a.len() == 2 && b.len() == 2 => {
                        let check_trait = format_ident!("{}Shapes", kind);
                        let (a0, a1, b0, b1) = (a[0].to_const_arg(), a[1].to_const_arg(), b[0].to_const_arg(), b[1].to_const_arg());
                        quote_spanned!(span=> <::keramic::__model_core::__private::checks::Layer as ::keramic::__model_core::__private::checks::#check_trait<#a0, #a1, #b0, #b1, #first_size, #size>>)
                    }
                    _ => quote_spanned!(span=> <::keramic::__model_core::__private::checks::Layer as ::keramic::__model_core::__private::checks::#check_trait<#first_size, #size>>),
                };
                if grads { quote_spanned!(span=> #check::coerce_mut(&mut ws.#field)) } else { quote_spanned!(span=> #check::coerce(&ws.#field)) }
            })
            .collect()
    }

    /// The arguments of a submodel call, or with `grads` their gradient buffers, one per
    /// argument. Each goes through checks that the compiler evaluates: its kind, floats or
    /// ids, and the size of a float argument, against the submodel's input.
    fn submodel_arguments(&self, call: &Call, path: &Ident, grads: bool) -> Vec<TokenStream> {
        let span = call.span;
        let count = call.operands.len();
        let checks = quote!(::keramic::__model_core::__private::checks);
        call.operands
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let storage = self.model.values[v].storage;
                let shape = &self.model.values[v].shape;
                let span = call.arg_spans.get(i).copied().unwrap_or(span);
                let spanned_path = respan(path.to_token_stream(), span);
                match shape {
                    Shape::Floats(_) => {
                        let size = shape.size().to_const_arg();
                        let expected = quote!({ #checks::float_size_at(<#path>::__INPUT_SIZES, <#path>::__INPUT_IDS, #count, #i, #size) });
                        let expects_ids = quote!({ #checks::expects_ids_at(<#path>::__INPUT_IDS, #count, #i, false) });
                        let size_check = quote_spanned!(span=> <#spanned_path as #checks::InputSize<#expected, #size>>);
                        let kind_check = quote_spanned!(span=> <#spanned_path as #checks::FloatArgument<#expects_ids, #expected>>);
                        if grads {
                            let grad = grad_field(storage);
                            let need = self.need_tokens(v);
                            quote_spanned!(span=> #kind_check::gradient(if #need { ::core::option::Option::Some(#size_check::coerce_mut(&mut ws.#grad)) } else { ::core::option::Option::None }))
                        } else {
                            let field = value_field(storage);
                            quote_spanned!(span=> #kind_check::value(#size_check::coerce(&ws.#field)))
                        }
                    }
                    Shape::Ids { vocabulary, len } => {
                        let vocabulary = vocabulary.to_const_arg();
                        let len = len.as_ref().map_or(quote!(1usize), Dim::to_const_arg);
                        let expects_ids = quote!({ #checks::expects_ids_at(<#path>::__INPUT_IDS, #count, #i, true) });
                        // The vocabulary and length checks come first and fall back to the
                        // argument's own sizes for a float input, so that a kind mismatch is
                        // the only error then.
                        let expected_vocabulary = quote!({ #checks::id_vocabulary_at(<#path>::__INPUT_VOCABULARIES, #count, #i, #vocabulary) });
                        let expected_len = quote!({ #checks::id_length_at(<#path>::__INPUT_LENGTHS, #count, #i, #len) });
                        let kind_check = quote_spanned!(span=> <#spanned_path as #checks::IdArgument<#expects_ids, #expected_vocabulary, #expected_len>>);
                        if grads {
                            quote_spanned!(span=> #kind_check::gradient())
                        } else {
                            let field = value_field(storage);
                            let vocabulary_check = quote_spanned!(span=> <#spanned_path as #checks::IdVocabulary<#expected_vocabulary, #vocabulary>>);
                            let len_check = quote_spanned!(span=> <#spanned_path as #checks::IdLength<#expected_len, #len>>);
                            quote_spanned!(span=> #kind_check::value(#len_check::coerce(#vocabulary_check::coerce(&ws.#field))))
                        }
                    }
                }
            })
            .collect()
    }

    /// Returns a reference to the operand `place` of a Dense call, or with `grads` a mutable
    /// reference to its gradient. When the macro cannot compare the operand's size with the
    /// first call's, because one is a constant, the reference goes through a check that the
    /// compiler evaluates.
    fn shared_input(&self, call: &Call, place: TokenStream, grads: bool) -> TokenStream {
        let instance = &self.model.instances[call.instance];
        let shape = &self.model.values[call.operands[0]].shape;
        let first = match &instance.input_shape {
            Some(first) if first.equals(shape).is_none() => first,
            _ => return if grads { quote!(&mut #place) } else { quote!(&#place) },
        };
        let (first, size) = (first.size().to_const_arg(), shape.size().to_const_arg());
        let span = call.arg_spans.first().copied().unwrap_or(call.span);
        let check = quote_spanned!(span=> <::keramic::__model_core::__private::checks::Layer as ::keramic::__model_core::__private::checks::SharedInputSize<#first, #size>>);
        if grads { quote_spanned!(span=> #check::coerce_mut(&mut #place)) } else { quote_spanned!(span=> #check::coerce(&#place)) }
    }

    /// Returns a reference to the ids of an Embedding call, through a check that the compiler
    /// evaluates when the macro cannot compare the two vocabulary sizes.
    fn embedding_ids(&self, call: &Call, field: &Ident) -> TokenStream {
        let Kind::Embedding { vocabulary, .. } = &self.model.instances[call.instance].kind else { return quote!(&ws.#field) };
        let Shape::Ids { vocabulary: got, .. } = &self.model.values[call.operands[0]].shape else { return quote!(&ws.#field) };
        if vocabulary.equals(got).is_some() {
            return quote!(&ws.#field);
        }
        let (vocabulary, got) = (vocabulary.to_const_arg(), got.to_const_arg());
        let span = call.arg_spans.first().copied().unwrap_or(call.span);
        quote_spanned!(span=> <::keramic::__model_core::__private::checks::Layer as ::keramic::__model_core::__private::checks::EmbeddingVocabulary<#vocabulary, #got>>::coerce(&ws.#field))
    }

    /// The `SubmodelCall` impl through which a call with `count` arguments reaches the
    /// submodel `path`, spanned on the call so that a wrong count is reported there.
    fn submodel_call_trait(&self, path: &Ident, count: usize, span: Span) -> TokenStream {
        let spanned_path = respan(path.to_token_stream(), span);
        quote_spanned!(span=> <#spanned_path as ::keramic::__model_core::__private::checks::SubmodelCall<T, { <#path>::__INPUT_COUNT }, #count>>)
    }

    /// Returns the last-axis widths of a Concatenate's operands and the number of positions.
    fn concatenate_layout(&self, call: &Call) -> (Vec<TokenStream>, TokenStream) {
        let widths = call
            .operands
            .iter()
            .map(|&v| match &self.model.values[v].shape {
                Shape::Floats(dims) => dims[dims.len() - 1].to_const_arg(),
                Shape::Ids { .. } => quote!(0usize),
            })
            .collect();
        let positions = match &self.model.values[call.operands[0]].shape {
            Shape::Floats(dims) if dims.len() == 2 => dims[0].to_const_arg(),
            _ => quote!(1usize),
        };
        (widths, positions)
    }

    fn backward_graph_body(&self) -> TokenStream {
        let steps = self.model.calls.iter().enumerate().rev().map(|(index, call)| self.backward_call(index, call));
        quote! {
            let _ = (&__logit_seeds, __input_grads);
            #(#steps)*
        }
    }

    fn backward_call(&self, index: usize, call: &Call) -> TokenStream {
        let instance = &self.model.instances[call.instance];
        let out_grad = grad_field(self.model.values[call.output].storage);
        let storages: Vec<usize> = call.operands.iter().map(|&v| self.model.values[v].storage).collect();
        let operands: Vec<Ident> = storages.iter().map(|&v| value_field(v)).collect();
        let grads: Vec<Ident> = storages.iter().map(|&v| grad_field(v)).collect();
        let needs: Vec<TokenStream> = call.operands.iter().map(|&v| self.need_tokens(v)).collect();
        match &instance.kind {
            Kind::Dense { .. } => {
                let field = instance_field(instance);
                let pre = pre_field(index);
                let out = value_field(call.output);
                let (x_grad, need) = (&grads[0], &needs[0]);
                let x = &operands[0];
                let x = self.shared_input(call, quote!(ws.#x), false);
                let x_grad = self.shared_input(call, quote!(ws.#x_grad), true);
                let seed = self.logit_seed(call.output);
                quote! {
                    self.#field.backward(#x, &ws.#pre, &ws.#out, &mut ws.#out_grad, #seed, if #need { ::core::option::Option::Some(#x_grad) } else { ::core::option::Option::None });
                }
            }
            Kind::Embedding { .. } => {
                let field = instance_field(instance);
                let x = self.embedding_ids(call, &operands[0]);
                quote!(self.#field.backward(#x, &ws.#out_grad);)
            }
            Kind::Flatten => quote!(),
            Kind::Dropout { .. } => {
                let mask = mask_field(index);
                let (x_grad, need) = (&grads[0], &needs[0]);
                quote!(if #need { ::keramic::__model_core::layers::dropout_backward(&ws.#out_grad, &ws.#mask, &mut ws.#x_grad); })
            }
            Kind::Add => {
                let operand_grads = self.merge_operands(call, "Add", true);
                let steps = operand_grads.iter().zip(&needs).map(|(grad, need)| quote!(if #need { *(#grad) += &ws.#out_grad; }));
                quote!(#(#steps)*)
            }
            Kind::Subtract => {
                let operand_grads = self.merge_operands(call, "Subtract", true);
                let (a, b) = (&operand_grads[0], &operand_grads[1]);
                let (need_a, need_b) = (&needs[0], &needs[1]);
                quote! {
                    if #need_a { *(#a) += &ws.#out_grad; }
                    if #need_b { *(#b) -= &ws.#out_grad; }
                }
            }
            Kind::Multiply => {
                let operand_values = self.merge_operands(call, "Multiply", false);
                let operand_grads = self.merge_operands(call, "Multiply", true);
                let steps = operand_grads.iter().zip(&needs).enumerate().map(|(i, (grad, need))| {
                    let others = operand_values.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, operand)| operand);
                    quote!(if #need { ::keramic::__model_core::layers::multiply_backward(&ws.#out_grad, &[#(#others),*], #grad); })
                });
                quote!(#(#steps)*)
            }
            Kind::Concatenate => {
                let (widths, positions) = self.concatenate_layout(call);
                let steps = grads.iter().zip(&needs).enumerate().map(|(i, (grad, need))| {
                    quote!(if #need { ::keramic::__model_core::layers::concatenate_backward(ws.#out_grad.as_slice(), &[#(#widths),*], #positions, #i, ws.#grad.as_mut_slice()); })
                });
                quote!(#(#steps)*)
            }
            Kind::Submodel { alias: path, .. } => {
                let field = instance_field(instance);
                let sub = sub_field(index);
                let span = call.span;
                let gradients = self.submodel_arguments(call, path, true);
                let seed = match self.submodel_head_output(call.output) {
                    Some(k) => quote!(__logit_seeds[#k]),
                    None => quote!(::core::option::Option::None),
                };
                let call_trait = self.submodel_call_trait(path, call.operands.len(), span);
                let backward_head = respan(quote!(#call_trait::backward_call(&mut self.#field, &mut ws.#sub, &ws.#out_grad, #seed)), span);
                let backward = with_tuple_argument(backward_head, quote!((#(#gradients,)*)), span);
                quote!(#backward;)
            }
        }
    }

    /// The logits seeds for a Dense call whose output is one or more model outputs with a
    /// sigmoid or softmax, so that a cross-entropy can start from the logits.
    fn logit_seed(&self, value: usize) -> TokenStream {
        if self.squash(value).is_none() {
            return quote!(&[]);
        }
        let outputs = self.model.outputs.iter().enumerate().filter(|(_, output)| self.model.values[output.value].storage == value).map(|(k, _)| k);
        quote!(&[#(__logit_seeds[#outputs]),*])
    }

    /// Returns what the values of `value` are (see [`OutputKind`]). `inputs` gives the kind of
    /// each model input: values for the model's own outputs, the caller's argument kinds for
    /// the function that a model using this one as a layer calls.
    fn output_kind(&self, value: usize, inputs: &dyn Fn(usize) -> OutputKind) -> OutputKind {
        let call = match self.model.values[value].producer {
            Producer::Input(input) => return inputs(input),
            Producer::Call(call) => &self.model.calls[call],
        };
        let operand = |i: usize| self.output_kind(call.operands[i], inputs);
        match &self.model.instances[call.instance].kind {
            Kind::Dense { activation, .. } => {
                OutputKind::Known(if matches!(activation, Activation::Sigmoid | Activation::Softmax) { PROBABILITIES } else { VALUES })
            }
            Kind::Flatten => operand(0),
            Kind::Dropout { .. } => operand(0).after_dropout(),
            Kind::Concatenate | Kind::Multiply => (1..call.operands.len()).fold(operand(0), |kind, i| kind.join(operand(i))),
            Kind::Embedding { .. } | Kind::Add | Kind::Subtract => OutputKind::Known(VALUES),
            Kind::Submodel { alias, .. } => {
                let arguments = (0..call.operands.len()).map(|i| operand(i).into_expr());
                OutputKind::Expr(quote!(<#alias>::__output_kind(&[#(#arguments),*])))
            }
        }
    }

    /// Returns the squashing activation of the Dense call that produced `value`, if any.
    fn squash(&self, value: usize) -> Option<(usize, TokenStream)> {
        let Producer::Call(call) = self.model.values[value].producer else { return None };
        match self.model.instances[self.model.calls[call].instance].kind {
            Kind::Dense { activation: Activation::Sigmoid, .. } => Some((call, quote!(::keramic::__model_core::loss::Squash::Sigmoid))),
            Kind::Dense { activation: Activation::Softmax, .. } => Some((call, quote!(::keramic::__model_core::loss::Squash::Softmax))),
            _ => None,
        }
    }

    /// The output index whose head passes through to a submodel call's own head: the one
    /// output stored in `value` when a submodel call made it. With several such outputs, the
    /// heads use their values only, so that no logits gradient is dropped.
    fn submodel_head_output(&self, value: usize) -> Option<usize> {
        let Producer::Call(call) = self.model.values[value].producer else { return None };
        if !matches!(self.model.instances[self.model.calls[call].instance].kind, Kind::Submodel { .. }) {
            return None;
        }
        let mut sharing = self.model.outputs.iter().enumerate().filter(|(_, output)| self.model.values[output.value].storage == value);
        match (sharing.next(), sharing.next()) {
            (Some((k, _)), None) => Some(k),
            _ => None,
        }
    }

    /// Hidden methods through which another model calls this one as a layer.
    fn submodel_interface(&self) -> TokenStream {
        let workspace = &self.workspace_struct;
        let params: Vec<Ident> = (0..self.model.inputs.len()).map(|i| format_ident!("__input{}", i)).collect();
        let param_types: Vec<TokenStream> = self.model.inputs.iter().map(|input| self.value_type(input.value)).collect();
        let copies = self.model.inputs.iter().zip(&params).map(|(input, param)| {
            let field = value_field(input.value);
            match input.shape {
                Shape::Floats(_) => quote! {
                    ::keramic::__model_core::layers::resize_batch(&mut ws.#field, #param.ncols());
                    ws.#field.copy_from(#param);
                    ws.__samples = #param.ncols();
                },
                Shape::Ids { .. } => quote! {
                    ws.#field.copy_from(#param);
                    ws.__samples = #param.samples();
                },
            }
        });
        let first = &self.model.outputs[0];
        let first_storage = self.model.values[first.value].storage;
        let first_field = value_field(first_storage);
        let first_grad = grad_field(first_storage);
        let first_type = self.value_type(first.value);
        let float_inputs: Vec<_> = self.model.inputs.iter().filter(|input| matches!(input.shape, Shape::Floats(_))).collect();
        let grad_params: Vec<Ident> = float_inputs.iter().map(|input| format_ident!("__grad_{}", input.name)).collect();
        let grad_types: Vec<TokenStream> = float_inputs.iter().map(|input| self.value_type(input.value)).collect();
        let grad_fields: Vec<Ident> = float_inputs.iter().map(|input| grad_field(input.value)).collect();
        let grad_zeroing = self.storages().filter(|&v| matches!(self.model.values[v].shape, Shape::Floats(_))).map(|v| {
            let grad = grad_field(v);
            quote! {
                ::keramic::__model_core::layers::resize_batch(&mut ws.#grad, __samples);
                ws.#grad.fill(<T as ::keramic::__model_core::Real>::from_f32(0.0));
            }
        });
        quote! {
            #[doc(hidden)]
            pub fn __call(&self, ws: &mut #workspace<T>, #(#params: &#param_types),*) {
                #(#copies)*
                self.__forward(ws);
            }

            #[doc(hidden)]
            pub fn __output(ws: &#workspace<T>) -> &#first_type {
                &ws.#first_field
            }

            #[doc(hidden)]
            pub fn __head(ws: &#workspace<T>) -> ::keramic::__model_core::loss::HeadOutput<'_, T> {
                <Self as ::keramic::__model_core::network::Network<T>>::head(ws, 0)
            }

            #[doc(hidden)]
            pub fn __backward_call(&mut self, ws: &mut #workspace<T>, __grad: &#first_type, __logit_seed: ::core::option::Option<&[T]>, #(#grad_params: ::core::option::Option<&mut #grad_types>),*) {
                let __input_grads = false #(|| #grad_params.is_some())*;
                Self::__zero_value_grads(ws);
                ws.#first_grad += __grad;
                self.__backward_graph(ws, &[__logit_seed], __input_grads);
                #(if let ::core::option::Option::Some(__target) = #grad_params { *__target += &ws.#grad_fields; })*
            }

            fn __zero_value_grads(ws: &mut #workspace<T>) {
                let __samples = ws.__samples;
                #(#grad_zeroing)*
            }
        }
    }

    /// The type aliases through which the generated code names each submodel. Only the alias
    /// and the struct field name the user's path, both with the declaration's span, so a path
    /// that does not resolve is reported once.
    fn submodel_aliases(&self) -> TokenStream {
        let mut defined: Vec<&Ident> = Vec::new();
        let mut aliases = TokenStream::new();
        for instance in &self.model.instances {
            let Kind::Submodel { path, alias } = &instance.kind else { continue };
            if defined.contains(&alias) {
                continue;
            }
            defined.push(alias);
            aliases.extend(quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types, dead_code)]
                type #alias<T = f32> = #path<T>;
            });
        }
        aliases
    }

    /// The `SubmodelCall` impl through which another model calls this one as a layer.
    fn submodel_call_impl(&self) -> TokenStream {
        let name = self.name;
        let workspace = &self.workspace_struct;
        let input_count = self.model.inputs.len();
        let argument_types = self.model.inputs.iter().map(|input| self.value_type(input.value));
        let arguments = (0..input_count).map(syn::Index::from);
        // Id inputs have `()` in place of a gradient buffer.
        let gradient_types = self.model.inputs.iter().map(|input| match input.shape {
            Shape::Floats(_) => {
                let ty = self.value_type(input.value);
                quote!(::core::option::Option<&'a mut #ty>)
            }
            Shape::Ids { .. } => quote!(()),
        });
        let gradients = self.model.inputs.iter().enumerate().filter(|(_, input)| matches!(input.shape, Shape::Floats(_))).map(|(i, _)| syn::Index::from(i));
        let output_type = self.value_type(self.model.outputs[0].value);
        quote! {
            #[automatically_derived]
            impl<T: ::keramic::__model_core::Real> ::keramic::__model_core::__private::checks::SubmodelCall<T, #input_count, #input_count> for #name {
                type Model = #name<T>;
                type Workspace = #workspace<T>;
                type Arguments<'a> = (#(&'a #argument_types,)*) where T: 'a;
                type Gradients<'a> = (#(#gradient_types,)*) where T: 'a;
                type OutputGradient = #output_type;

                fn call(model: &#name<T>, ws: &mut #workspace<T>, arguments: Self::Arguments<'_>) {
                    let _ = &arguments;
                    model.__call(ws, #(arguments.#arguments),*);
                }

                fn backward_call(
                    model: &mut #name<T>,
                    ws: &mut #workspace<T>,
                    grad: &#output_type,
                    logit_seed: ::core::option::Option<&[T]>,
                    gradients: Self::Gradients<'_>,
                ) {
                    let _ = &gradients;
                    model.__backward_call(ws, grad, logit_seed, #(gradients.#gradients),*);
                }
            }
        }
    }

    fn network_impl(&self) -> TokenStream {
        let name = self.name;
        let name_text = name.to_string();
        let input_struct = &self.input_struct;
        let output_struct = &self.output_struct;
        let workspace = &self.workspace_struct;
        let outputs = &self.model.outputs;
        let output_names: Vec<String> = outputs.iter().map(|output| output.name.unraw().to_string()).collect();
        let output_widths: Vec<TokenStream> = outputs.iter().map(|output| self.model.values[output.value].shape.size().to_const_arg()).collect();
        let load_inputs = self.model.inputs.iter().map(|input| self.load_input(input));
        let heads = outputs.iter().enumerate().map(|(k, output)| {
            let storage = self.model.values[output.value].storage;
            let values = value_field(storage);
            let width = &output_widths[k];
            if let (Some(_), Producer::Call(call)) = (self.submodel_head_output(storage), self.model.values[storage].producer) {
                let Kind::Submodel { alias: path, .. } = &self.model.instances[self.model.calls[call].instance].kind else { return quote!() };
                let sub = sub_field(call);
                return quote! {
                    #k => {
                        let __head = #path::<T>::__head(&ws.#sub);
                        ::keramic::__model_core::loss::HeadOutput { values: ws.#values.as_slice(), logits: __head.logits, squash: __head.squash, width: #width }
                    }
                };
            }
            let (logits, squash) = match self.squash(storage) {
                Some((call, squash)) => {
                    let pre = pre_field(call);
                    (quote!(::core::option::Option::Some(ws.#pre.as_slice())), squash)
                }
                None => (quote!(::core::option::Option::None), quote!(::keramic::__model_core::loss::Squash::None)),
            };
            quote!(#k => ::keramic::__model_core::loss::HeadOutput { values: ws.#values.as_slice(), logits: #logits, squash: #squash, width: #width },)
        });
        let value_seeds = outputs.iter().enumerate().map(|(k, output)| {
            let grad = grad_field(self.model.values[output.value].storage);
            quote! {
                if kinds[#k] == ::keramic::__model_core::loss::GradientOf::Values {
                    for (__g, __s) in ws.#grad.as_mut_slice().iter_mut().zip(seeds[#k].iter()) {
                        *__g += *__s;
                    }
                }
            }
        });
        let logit_seeds = (0..outputs.len()).map(|k| {
            quote!(if kinds[#k] == ::keramic::__model_core::loss::GradientOf::Logits { ::core::option::Option::Some(seeds[#k].as_slice()) } else { ::core::option::Option::None })
        });
        let weighted: Vec<&Instance> = self.weighted_instances().collect();
        let zero_grads = weighted.iter().map(|instance| {
            let field = instance_field(instance);
            match &instance.kind {
                Kind::Submodel { alias: path, .. } => quote!(<#path<T> as ::keramic::__model_core::network::Network<T>>::zero_grads(&mut self.#field);),
                _ => quote!(self.#field.zero_grad();),
            }
        });
        let visits = weighted.iter().map(|instance| {
            let field = instance_field(instance);
            match &instance.kind {
                Kind::Submodel { alias: path, .. } => quote!(<#path<T> as ::keramic::__model_core::network::Network<T>>::visit_params(&mut self.#field, visit);),
                _ => quote!(self.#field.visit_params(visit);),
            }
        });
        let named_visits = weighted.iter().map(|instance| {
            let field = instance_field(instance);
            let label = &instance.label;
            match &instance.kind {
                Kind::Submodel { alias: path, .. } => quote! {
                    <#path<T> as ::keramic::__model_core::network::Network<T>>::visit_named_params(&mut self.#field, &::std::format!("{}{}.", prefix, #label), visit);
                },
                _ => quote! {
                    self.#field.visit_params(&mut |__param| {
                        let __name = ::std::format!("{}{}.{}", prefix, #label, __param.name);
                        visit(&__name, __param);
                    });
                },
            }
        });
        let penalties = weighted.iter().filter_map(|instance| self.penalty_tokens(instance));
        let named_weights = weighted.iter().map(|instance| {
            let field = instance_field(instance);
            let label = &instance.label;
            match &instance.kind {
                Kind::Submodel { alias: path, .. } => quote! {
                    <#path<T> as ::keramic::__model_core::network::Network<T>>::visit_named_weights(&self.#field, &::std::format!("{}{}.", prefix, #label), visit);
                },
                _ => quote! {
                    self.#field.visit_weights(&mut |__param| {
                        let __name = ::std::format!("{}{}.{}", prefix, #label, __param.name);
                        visit(&__name, __param);
                    });
                },
            }
        });
        let targets = outputs.iter().enumerate().map(|(k, output)| {
            let field = &output.name;
            quote! {
                #k => {
                    for (__o, __v) in out.iter_mut().zip(target.#field.iter()) {
                        *__o = <T as ::keramic::__model_core::Real>::from_f32(*__v);
                    }
                }
            }
        });
        let reads = outputs.iter().map(|output| {
            let field = &output.name;
            let values = value_field(self.model.values[output.value].storage);
            quote! {
                #field: {
                    let __column = ws.#values.column(sample);
                    ::core::array::from_fn(|__i| <T as ::keramic::__model_core::Real>::to_f64(__column[__i]) as f32)
                },
            }
        });
        let summary = self.summary_body();
        let unknown_output = format!("{name_text} has {} outputs; output index out of range", outputs.len());
        let head_types: Vec<TokenStream> = outputs.iter().map(|output| {
            let size = self.model.values[output.value].shape.size();
            let width = size.to_const_arg();
            let multi = match size {
                Dim::Known(value) => {
                    let multi = value > 1;
                    quote!(#multi)
                }
                Dim::Expr { .. } => {
                    let expr = size.expr_tokens();
                    quote!({ #expr > 1 })
                }
            };
            let kind = self.output_kind(output.value, &|_| OutputKind::Known(VALUES)).into_const_arg();
            quote!(::keramic::__model_core::train::Head<#width, #multi, #kind>)
        }).collect();
        quote! {
            #[automatically_derived]
            impl<T: ::keramic::__model_core::Real> ::keramic::__model_core::network::Outputs for #name<T> {
                type Heads = (#(#head_types,)*);
            }

            #[automatically_derived]
            impl<T: ::keramic::__model_core::Real> ::keramic::__model_core::network::Network<T> for #name<T> {
                type Input = #input_struct;
                type Output = #output_struct;
                type Workspace = #workspace<T>;

                const NAME: &'static str = #name_text;
                const OUTPUT_NAMES: &'static [&'static str] = &[#(#output_names),*];
                const OUTPUT_WIDTHS: &'static [usize] = &[#(#output_widths),*];

                fn load_inputs(ws: &mut Self::Workspace, rows: &[Self::Input], indices: &[usize]) -> ::keramic::__model_core::error::Result<()> {
                    ws.__samples = indices.len();
                    #(#load_inputs)*
                    ::core::result::Result::Ok(())
                }

                fn forward(&self, ws: &mut Self::Workspace) {
                    self.__forward(ws);
                }

                fn head(ws: &Self::Workspace, k: usize) -> ::keramic::__model_core::loss::HeadOutput<'_, T> {
                    match k {
                        #(#heads)*
                        _ => ::core::panic!(#unknown_output),
                    }
                }

                fn backward(&mut self, ws: &mut Self::Workspace, seeds: &[::std::vec::Vec<T>], kinds: &[::keramic::__model_core::loss::GradientOf]) {
                    Self::__zero_value_grads(ws);
                    #(#value_seeds)*
                    let __logit_seeds = [#(#logit_seeds),*];
                    self.__backward_graph(ws, &__logit_seeds, false);
                }

                fn zero_grads(&mut self) {
                    #(#zero_grads)*
                }

                fn visit_params(&mut self, visit: &mut dyn ::core::ops::FnMut(::keramic::__model_core::param::ParamMut<'_, T>)) {
                    let _ = &visit;
                    #(#visits)*
                }

                fn visit_named_params(&mut self, prefix: &str, visit: &mut dyn ::core::ops::FnMut(&str, ::keramic::__model_core::param::ParamMut<'_, T>)) {
                    let _ = (&prefix, &visit);
                    #(#named_visits)*
                }

                fn dropout_state(ws: &mut Self::Workspace) -> &mut ::keramic::__model_core::layers::DropoutState {
                    &mut ws.__dropout
                }

                fn penalty(&mut self, add_gradient: bool) -> f64 {
                    let mut __total = 0.0;
                    #(#penalties)*
                    let _ = add_gradient;
                    __total
                }

                fn visit_named_weights(&self, prefix: &str, visit: &mut dyn ::core::ops::FnMut(&str, ::keramic::__model_core::param::ParamRef<'_, T>)) {
                    let _ = (&prefix, &visit);
                    #(#named_weights)*
                }

                fn write_target(target: &Self::Output, k: usize, out: &mut [T]) {
                    match k {
                        #(#targets)*
                        _ => ::core::panic!(#unknown_output),
                    }
                }

                fn read_output(ws: &Self::Workspace, sample: usize) -> Self::Output {
                    #output_struct { #(#reads)* }
                }

                fn summary() -> ::keramic::__model_core::summary::Summary {
                    #summary
                }
            }
        }
    }

    /// Adds the weight penalties of one instance to `__total`, and their gradients when
    /// `add_gradient` is set. Frozen weights get none, as in Keras.
    fn penalty_tokens(&self, instance: &Instance) -> Option<TokenStream> {
        let field = instance_field(instance);
        let regularizer = |penalty: &crate::model::Penalty| {
            let (l1, l2) = (penalty.l1, penalty.l2);
            quote!(::core::option::Option::Some(::keramic::__model_core::layers::Regularizer { l1: #l1, l2: #l2 }))
        };
        let none = quote!(::core::option::Option::None);
        let (kernel, bias) = match &instance.kind {
            Kind::Submodel { alias: path, .. } => {
                return Some(quote!(__total += <#path<T> as ::keramic::__model_core::network::Network<T>>::penalty(&mut self.#field, add_gradient);));
            }
            Kind::Dense { kernel_penalty, bias_penalty, .. } if kernel_penalty.is_some() || bias_penalty.is_some() => {
                (kernel_penalty.as_ref().map_or(none.clone(), regularizer), bias_penalty.as_ref().map_or(none.clone(), regularizer))
            }
            Kind::Embedding { penalty: Some(penalty), .. } => (regularizer(penalty), none.clone()),
            _ => return None,
        };
        Some(quote! {
            self.#field.visit_params(&mut |__param| {
                let __regularizer: ::core::option::Option<::keramic::__model_core::layers::Regularizer> = match __param.name {
                    "bias" => #bias,
                    _ => #kernel,
                };
                if let (::core::option::Option::Some(__regularizer), true) = (__regularizer, __param.trainable) {
                    let __grad = if add_gradient { ::core::option::Option::Some(&mut *__param.grad) } else { ::core::option::Option::None };
                    __total += __regularizer.apply(__param.value, __grad);
                }
            });
        })
    }

    fn load_input(&self, input: &crate::model::Input) -> TokenStream {
        let field = value_field(input.value);
        let name = &input.name;
        let name_text = name.to_string();
        match &input.shape {
            Shape::Floats(_) => quote! {
                ::keramic::__model_core::layers::resize_batch(&mut ws.#field, indices.len());
                for (__column, &__row) in indices.iter().enumerate() {
                    for (__i, &__x) in rows[__row].#name.iter().enumerate() {
                        if !__x.is_finite() {
                            return ::core::result::Result::Err(::keramic::__model_core::Error::NonFiniteValue { field: "input", name: #name_text, row: __row, value: f64::from(__x) });
                        }
                        ws.#field[(__i, __column)] = <T as ::keramic::__model_core::Real>::from_f32(__x);
                    }
                }
            },
            Shape::Ids { vocabulary, len } => {
                let vocabulary = vocabulary.to_const_arg();
                let sample = if len.is_some() { quote!(&rows[__row].#name) } else { quote!(&[rows[__row].#name]) };
                quote! {
                    ws.#field.clear();
                    for &__row in indices {
                        ws.#field.push(#sample).map_err(|__id| ::keramic::__model_core::Error::IdOutOfRange {
                            input: #name_text, row: __row, id: u64::from(__id), vocabulary: #vocabulary,
                        })?;
                    }
                }
            }
        }
    }

    fn summary_body(&self) -> TokenStream {
        let name_text = self.name.to_string();
        let name = self.name;
        let input_rows = self.model.inputs.iter().map(|input| {
            let label = input.name.unraw().to_string();
            let shape = shape_string(&input.shape);
            quote! {
                ::keramic::__model_core::summary::SummaryRow {
                    name: ::std::string::String::from(#label),
                    kind: ::std::string::String::from("InputLayer"),
                    output_shape: #shape,
                    params: 0,
                    connected_to: ::std::vec::Vec::new(),
                    frozen: false,
                }
            }
        });
        let mut used: Vec<&Instance> = self.model.instances.iter().filter(|instance| !instance.calls.is_empty()).collect();
        used.sort_by_key(|instance| instance.calls[0]);
        let layer_rows = used.iter().map(|instance| {
            let label = &instance.label;
            let kind = instance.kind.name();
            let first_output = self.model.calls[instance.calls[0]].output;
            let shape = shape_string(&self.model.values[first_output].shape);
            let params = self.param_count(instance);
            let connected: Vec<String> = instance
                .calls
                .iter()
                .flat_map(|&call| self.model.calls[call].operands.iter().map(|&v| self.producer_label(v)))
                .collect();
            let frozen = instance.frozen;
            quote! {
                ::keramic::__model_core::summary::SummaryRow {
                    name: ::std::string::String::from(#label),
                    kind: ::std::string::String::from(#kind),
                    output_shape: #shape,
                    params: #params,
                    connected_to: ::std::vec![#(::std::string::String::from(#connected)),*],
                    frozen: #frozen,
                }
            }
        });
        quote! {
            ::keramic::__model_core::summary::Summary {
                model: ::std::string::String::from(#name_text),
                rows: ::std::vec![#(#input_rows,)* #(#layer_rows,)*],
                trainable_params: <#name>::TRAINABLE_PARAMS,
                non_trainable_params: <#name>::NON_TRAINABLE_PARAMS,
            }
        }
    }

    /// The name of the input or layer that produced `value`.
    fn producer_label(&self, value: usize) -> String {
        match self.model.values[value].producer {
            Producer::Input(input) => self.model.inputs[input].name.unraw().to_string(),
            Producer::Call(call) => self.model.instances[self.model.calls[call].instance].label.clone(),
        }
    }
}

