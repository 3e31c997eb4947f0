//! The model as a graph: inputs, layer instances, their calls, and the values between them,
//! each with its inferred shape. Lowering reports every mistake it finds to [`Errors`].

use proc_macro2::Span;
use syn::Ident;
use syn::ext::IdentExt;

use crate::check;
use crate::errors::Errors;
use crate::parse::{Callee, ExprSyntax, InputType, LayerSyntax, ModelSyntax, Statement};
use crate::shape::{Dim, Shape};

/// A model whose every value has a shape. Built by [`lower`].
pub struct Model {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub name: Ident,
    pub inputs: Vec<Input>,
    pub instances: Vec<Instance>,
    pub calls: Vec<Call>,
    pub values: Vec<Value>,
    pub outputs: Vec<Output>,
    /// Checks on named constants, which the expansion leaves to the compiler.
    pub deferred: Vec<crate::check::Deferred>,
}

pub struct Input {
    pub name: Ident,
    pub shape: Shape,
    pub value: usize,
}

pub struct Output {
    pub name: Ident,
    pub value: usize,
}

/// A value between layers. A value made by Flatten, or by naming another value, shares the
/// buffer of its operand: `storage` is the value that owns the buffer.
pub struct Value {
    pub label: String,
    pub named: bool,
    pub shape: Shape,
    pub storage: usize,
    pub producer: Producer,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    Input(usize),
    Call(usize),
}

/// One layer instance: declared with `layer`, or written inline in a call.
pub struct Instance {
    /// The struct field and summary name.
    pub label: String,
    /// Whether the user named the layer, with `layer NAME = ...` or with the `let` or
    /// `output` that binds its call.
    pub named: bool,
    pub kind: Kind,
    pub frozen: bool,
    pub calls: Vec<usize>,
    /// The shape of the first call's operand, which later calls must match.
    pub input_shape: Option<Shape>,
    /// For a layer written inline without a name, the `let` or `output` it is written in.
    pub statement: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activation {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
}

impl Activation {
    pub const ALL: [(&'static str, Activation); 5] = [
        ("Linear", Activation::Linear),
        ("Relu", Activation::Relu),
        ("Sigmoid", Activation::Sigmoid),
        ("Tanh", Activation::Tanh),
        ("Softmax", Activation::Softmax),
    ];
}

/// A weight penalty `l1 · Σ|w| + l2 · Σw²`, as Keras's regularizers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Penalty {
    pub l1: f64,
    pub l2: f64,
}

pub enum Kind {
    Dense { units: Dim, activation: Activation, bias: bool, kernel_penalty: Option<Penalty>, bias_penalty: Option<Penalty> },
    Embedding { vocabulary: Dim, dim: Dim, penalty: Option<Penalty> },
    Dropout { rate: f64 },
    Flatten,
    Add,
    Subtract,
    Multiply,
    Concatenate,
    /// A model used as a layer. Generated code names it by `alias`, a type alias of `path`
    /// that the expansion defines, so that a path that does not resolve gives one error, at
    /// the declaration, instead of one at every use.
    Submodel { path: syn::Path, alias: Ident },
}

impl Instance {
    /// Returns the layer's name for messages: "Dense layer `hidden`", or, for a layer written
    /// inline without a name, its kind and the statement it is in: "Dense in `score`".
    pub fn title(&self) -> String {
        match (&self.statement, self.named) {
            (_, true) => format!("{} layer `{}`", self.kind.name(), self.label),
            (Some(statement), false) => format!("{} in `{statement}`", self.kind.name()),
            (None, false) => self.kind.name(),
        }
    }
}

impl Kind {
    pub const LAYER_NAMES: [&'static str; 8] = ["Dense", "Embedding", "Dropout", "Flatten", "Add", "Subtract", "Multiply", "Concatenate"];

    pub fn name(&self) -> String {
        match self {
            Kind::Dense { .. } => "Dense".into(),
            Kind::Embedding { .. } => "Embedding".into(),
            Kind::Dropout { .. } => "Dropout".into(),
            Kind::Flatten => "Flatten".into(),
            Kind::Add => "Add".into(),
            Kind::Subtract => "Subtract".into(),
            Kind::Multiply => "Multiply".into(),
            Kind::Concatenate => "Concatenate".into(),
            Kind::Submodel { path, .. } => path.segments.last().map(|s| s.ident.unraw().to_string()).unwrap_or_default(),
        }
    }

    /// Returns whether the kind owns weights, and so a field of the model struct.
    pub fn has_weights(&self) -> bool {
        matches!(self, Kind::Dense { .. } | Kind::Embedding { .. } | Kind::Submodel { .. })
    }
}

/// One call of an instance on its operands.
pub struct Call {
    pub instance: usize,
    pub operands: Vec<usize>,
    pub output: usize,
    pub span: Span,
    /// The span of each argument, where a check of that argument points.
    pub arg_spans: Vec<Span>,
}

/// The maximum number of outputs: `compile` takes a tuple of at most this many losses.
const MAX_OUTPUTS: usize = 6;

/// Lowers the syntax to a model, reporting every mistake to `errors`.
pub fn lower(syntax: ModelSyntax, errors: &mut Errors) -> Model {
    let mut lowering = Lowering {
        model: Model {
            attrs: syntax.attrs,
            vis: syntax.vis,
            name: syntax.name,
            inputs: Vec::new(),
            instances: Vec::new(),
            calls: Vec::new(),
            values: Vec::new(),
            outputs: Vec::new(),
            deferred: Vec::new(),
        },
        scope: Vec::new(),
        declared: Vec::new(),
        operands: Vec::new(),
        called: Vec::new(),
        unresolved_value: false,
        call_rejected: false,
        unresolved_instance: false,
        statement: None,
        defined_names: syntax.statements.iter().filter_map(defined_name).collect(),
        input_names: syntax
            .statements
            .iter()
            .filter_map(|statement| match statement {
                Statement::Input { name, .. } => Some(name.unraw().to_string()),
                _ => None,
            })
            .collect(),
        errors,
    };
    lowering.declare_layers(&syntax.statements);
    for statement in &syntax.statements {
        lowering.lower_statement(statement);
    }
    lowering.check_whole_model();
    lowering.model
}

struct Lowering<'e> {
    model: Model,
    /// Value names in scope, in definition order.
    scope: Vec<(String, usize, Span)>,
    /// Declared instance names with their instance index (`None` when the declaration failed).
    declared: Vec<(Ident, Option<usize>)>,
    /// Every value name that some statement defines.
    defined_names: Vec<String>,
    /// The names of the inputs, which share the summary's names with the layers.
    input_names: Vec<String>,
    /// Every operand of a call, including calls that failed, so that a rejected call does not
    /// also report its inputs as unused.
    operands: Vec<usize>,
    /// Every declared instance that some call names, including calls that failed.
    called: Vec<usize>,
    /// Whether a value name did not resolve. That name may be a misspelled input, so unused
    /// inputs are not reported.
    unresolved_value: bool,
    /// Whether the checks rejected a call.
    call_rejected: bool,
    /// Whether a called layer name did not resolve. That name may be a misspelled declared
    /// layer, so layers that are never called are not reported.
    unresolved_instance: bool,
    /// The name that the `let` or `output` being lowered defines.
    statement: Option<String>,
    errors: &'e mut Errors,
}

impl Lowering<'_> {
    fn declare_layers(&mut self, statements: &[Statement]) {
        for statement in statements {
            let Statement::Layer { frozen, name, layer, .. } = statement else { continue };
            if let Some((previous, _)) = self.declared.iter().find(|(declared, _)| declared == name) {
                let message = format!("layer `{previous}` is declared twice; give the second one another name");
                self.errors.push(syn::Error::new(name.span(), message));
                continue;
            }
            if self.input_names.contains(&name.unraw().to_string()) {
                let message = format!("layer `{name}` has the name of input `{name}`, and the summary names layers and inputs alike; give the layer another name");
                self.errors.push(syn::Error::new(name.span(), message));
            }
            let kind = self.parse_kind(layer);
            if let (Some(span), Some(kind)) = (frozen, &kind)
                && !kind.has_weights()
            {
                let message = format!("layer `{name}` is a {}, which has no weights to freeze; remove `#[frozen]`", kind.name());
                self.errors.push(syn::Error::new(*span, message));
            }
            let instance = kind.map(|kind| {
                self.model.instances.push(Instance {
                    label: name.unraw().to_string(),
                    named: true,
                    kind,
                    frozen: frozen.is_some(),
                    calls: Vec::new(),
                    input_shape: None,
                    statement: None,
                });
                self.model.instances.len() - 1
            });
            self.declared.push((name.clone(), instance));
        }
    }

    fn lower_statement(&mut self, statement: &Statement) {
        match statement {
            Statement::Input { name, ty, .. } => {
                let shape = self.input_shape(name, ty);
                self.check_new_name(name);
                let Some(shape) = shape else {
                    // Keep the name in scope without a shape, so that its uses add no second error.
                    self.scope.push((name.to_string(), usize::MAX, name.span()));
                    return;
                };
                let value = self.push_value(name.unraw().to_string(), true, shape, None, Producer::Input(self.model.inputs.len()));
                self.model.inputs.push(Input { name: name.clone(), shape: self.model.values[value].shape.clone(), value });
                self.scope.push((name.to_string(), value, name.span()));
            }
            Statement::Layer { .. } => {}
            Statement::Let { name, expr } | Statement::Output { name, expr, .. } => {
                self.statement = Some(name.unraw().to_string());
                let value = self.lower_expr(expr, Some(name));
                self.check_new_name(name);
                if let Some(value) = value {
                    self.scope.push((name.to_string(), value, name.span()));
                    if let Statement::Output { .. } = statement {
                        if self.model.outputs.len() == MAX_OUTPUTS {
                            let message = format!("a model has at most {MAX_OUTPUTS} outputs, because `compile` takes at most {MAX_OUTPUTS} losses, but `{name}` is output {}", MAX_OUTPUTS + 1);
                            self.errors.push(syn::Error::new(name.span(), message));
                        }
                        self.check_output_shape(name, value);
                        self.model.outputs.push(Output { name: name.clone(), value });
                    }
                } else {
                    // Keep the name in scope so that its uses add no second error.
                    self.scope.push((name.to_string(), usize::MAX, name.span()));
                }
            }
        }
    }

    fn check_new_name(&mut self, name: &Ident) {
        // `r#y` and `y` are the same name in the generated structs.
        let unraw = name.unraw().to_string();
        if self.scope.iter().any(|(existing, _, _)| existing.trim_start_matches("r#") == unraw) {
            self.errors.push(syn::Error::new(name.span(), format!("the name `{name}` is defined twice; give this value another name")));
        }
    }

    fn check_output_shape(&mut self, name: &Ident, value: usize) {
        let shape = &self.model.values[value].shape;
        if let Err(error) = check::output_is_vector(name, shape) {
            self.errors.push(error);
        }
    }

    /// The declared shape of an input, or `None` when the declaration is invalid.
    fn input_shape(&mut self, name: &Ident, ty: &InputType) -> Option<Shape> {
        let vocabulary_of = format!("the vocabulary of input `{name}`");
        let result = match ty {
            InputType::Floats { span, dims } => check::float_input_dims(name, *span, dims).map(Shape::Floats),
            InputType::Id { vocabulary, .. } => check::positive_size(vocabulary, &vocabulary_of)
                .map(|vocabulary| Shape::Ids { vocabulary, len: None }),
            InputType::IdSequence { vocabulary, len, .. } => check::positive_size(vocabulary, &vocabulary_of).and_then(|vocabulary| {
                check::positive_size(len, &format!("the length of input `{name}`")).map(|len| Shape::Ids { vocabulary, len: Some(len) })
            }),
        };
        result.map_err(|error| self.errors.push(error)).ok()
    }

    fn push_value(&mut self, label: String, named: bool, shape: Shape, storage: Option<usize>, producer: Producer) -> usize {
        let index = self.model.values.len();
        self.model.values.push(Value { label, named, shape, storage: storage.unwrap_or(index), producer });
        index
    }

    /// Lowers an expression. Returns `None` when it contains a mistake that was already reported.
    fn lower_expr(&mut self, expr: &ExprSyntax, binding: Option<&Ident>) -> Option<usize> {
        match expr {
            ExprSyntax::Value(ident) => {
                let value = self.resolve_value(ident)?;
                match binding {
                    // `let y = x;` names the same buffer.
                    Some(name) => {
                        let source = &self.model.values[value];
                        let (shape, storage, producer) = (source.shape.clone(), source.storage, source.producer);
                        Some(self.push_value(name.unraw().to_string(), true, shape, Some(storage), producer))
                    }
                    None => Some(value),
                }
            }
            ExprSyntax::Call { callee, args, span } => {
                let operands: Vec<Option<usize>> = args.iter().map(|arg| self.lower_expr(arg, None)).collect();
                self.operands.extend(operands.iter().flatten());
                let instance = match callee {
                    Callee::Instance(ident) => self.resolve_instance(ident),
                    Callee::Layer(layer) => self.parse_kind(layer).map(|kind| self.push_inline_instance(kind, binding)),
                };
                let instance = instance?;
                let operands: Vec<usize> = operands.into_iter().collect::<Option<_>>()?;
                let arg_spans: Vec<Span> = args.iter().map(expr_span).collect();
                let callee_span = match callee {
                    Callee::Instance(ident) => ident.span(),
                    Callee::Layer(layer) => layer.span(),
                };
                self.lower_call(instance, operands, &arg_spans, callee_span, *span, binding)
            }
        }
    }

    fn lower_call(&mut self, instance: usize, operands: Vec<usize>, arg_spans: &[Span], callee_span: Span, span: Span, binding: Option<&Ident>) -> Option<usize> {
        let described: Vec<(String, Shape)> =
            operands.iter().map(|&v| (self.describe(v), self.model.values[v].shape.clone())).collect();
        let site = check::CallSite { callee: callee_span, args: arg_spans, call: span };
        let inst = &self.model.instances[instance];
        let result = check::infer_call(&inst.title(), &inst.kind, inst.input_shape.as_ref(), &described, &site);
        let shape = match result {
            Ok(shape) => shape,
            Err(error) => {
                self.errors.push(error);
                self.call_rejected = true;
                return None;
            }
        };
        let instance_ref = &mut self.model.instances[instance];
        if instance_ref.input_shape.is_none() {
            instance_ref.input_shape = described.first().map(|(_, shape)| shape.clone());
        }
        let label = match binding {
            Some(name) => name.unraw().to_string(),
            None => format!("{}'s output", instance_ref.label),
        };
        let call = self.model.calls.len();
        let storage = matches!(instance_ref.kind, Kind::Flatten).then(|| self.model.values[operands[0]].storage);
        instance_ref.calls.push(call);
        let output = self.push_value(label, binding.is_some(), shape, storage, Producer::Call(call));
        self.model.calls.push(Call { instance, operands, output, span, arg_spans: arg_spans.to_vec() });
        Some(output)
    }

    /// Describes a value for messages: by its name, or by the layer that made it.
    fn describe(&self, value: usize) -> String {
        let value = &self.model.values[value];
        if value.named {
            return format!("`{}`", value.label);
        }
        match value.producer {
            Producer::Call(call) if call < self.model.calls.len() => format!("the output of {}", self.model.instances[self.model.calls[call].instance].title()),
            _ => format!("the output of `{}`", value.label.trim_end_matches("'s output")),
        }
    }

    fn resolve_value(&mut self, ident: &Ident) -> Option<usize> {
        let name = ident.to_string();
        if let Some((_, value, _)) = self.scope.iter().rev().find(|(n, _, _)| *n == name) {
            return (*value != usize::MAX).then_some(*value);
        }
        if let Some((_, instance)) = self.declared.iter().find(|(declared, _)| *declared == name) {
            // Counted as called, so that the layer is not also reported as never called.
            self.called.extend(*instance);
            self.errors.push(syn::Error::new(ident.span(), format!("`{name}` is a layer, not a value; call it on its inputs, as in `{name}(x)`")));
            return None;
        }
        self.unresolved_value = true;
        let error = check::unknown_value(ident, &self.scope.iter().map(|(n, _, _)| n.as_str()).collect::<Vec<_>>(), &self.later_names());
        self.errors.push(error);
        None
    }

    /// Names defined by statements not yet lowered, to tell "used before it is defined" from
    /// "unknown".
    fn later_names(&self) -> Vec<String> {
        self.defined_names.iter().filter(|name| !self.scope.iter().any(|(n, _, _)| n == *name)).cloned().collect()
    }

    fn resolve_instance(&mut self, ident: &Ident) -> Option<usize> {
        if let Some((_, instance)) = self.declared.iter().find(|(name, _)| name == ident) {
            self.called.extend(*instance);
            return *instance;
        }
        self.unresolved_instance = true;
        let names: Vec<String> = self.declared.iter().map(|(name, _)| name.to_string()).collect();
        let is_value = self.scope.iter().any(|(n, _, _)| *n == ident.to_string());
        self.errors.push(check::unknown_instance(ident, &names, is_value));
        None
    }

    fn push_inline_instance(&mut self, kind: Kind, binding: Option<&Ident>) -> usize {
        let base = match (binding, kind.has_weights()) {
            (Some(name), _) => name.unraw().to_string(),
            (None, _) => snake_case(&kind.name()),
        };
        let label = self.unique_label(&base);
        let named = binding.is_some();
        let statement = if named { None } else { self.statement.clone() };
        self.model.instances.push(Instance { label, named, kind, frozen: false, calls: Vec::new(), input_shape: None, statement });
        self.model.instances.len() - 1
    }

    fn unique_label(&self, base: &str) -> String {
        let taken = |label: &str| {
            self.model.instances.iter().any(|i| i.label == label)
                || self.declared.iter().any(|(name, _)| *name == label)
                || self.input_names.iter().any(|name| name == label)
        };
        if !taken(base) {
            return base.to_owned();
        }
        (1..).map(|n| format!("{base}_{n}")).find(|label| !taken(label)).unwrap_or_default()
    }

    fn parse_kind(&mut self, layer: &LayerSyntax) -> Option<Kind> {
        let kind = check::layer_kind(layer, &self.model.name)
            .and_then(|kind| check::not_the_model_itself(layer, &kind, &self.model.name).map(|()| kind));
        match kind {
            Ok(kind) => Some(kind),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// Rejects `let` values that feed no layer and no output. Such a value would still get
    /// weights and count in the parameter totals, though Keras leaves such a branch out.
    fn check_unused_values(&mut self) {
        let output_names: Vec<String> = self.model.outputs.iter().map(|output| output.name.to_string()).collect();
        for (name, value, span) in &self.scope {
            if *value == usize::MAX || output_names.contains(name) || matches!(self.model.values[*value].producer, Producer::Input(_)) {
                continue;
            }
            let storage = self.model.values[*value].storage;
            let used_by_call = self.operands.iter().any(|&v| self.model.values[v].storage == storage);
            let is_output = self.model.outputs.iter().any(|output| self.model.values[output.value].storage == storage);
            if !used_by_call && !is_output {
                self.errors.push(syn::Error::new(*span, format!("value `{name}` is never used; use it in a layer call or an output, or remove it")));
            }
        }
    }

    fn check_whole_model(&mut self) {
        // A rejected call, such as `Dense::<1>()`, may be where the user meant to use an input
        // or value, so unused ones are reported only once every call is accepted. Without any
        // output every input and value is unused; the missing output is the error then.
        if !self.unresolved_value && !self.call_rejected && !self.model.outputs.is_empty() {
            for error in check::unused_inputs(&self.model, &self.operands) {
                self.errors.push(error);
            }
            self.check_unused_values();
        }
        if !self.unresolved_instance {
            for (name, instance) in &self.declared {
                if let Some(instance) = instance
                    && !self.called.contains(instance)
                {
                    self.errors.push(syn::Error::new(name.span(), format!("layer `{name}` is declared but never called; call it on a value or remove it")));
                }
            }
        }
        if self.model.outputs.is_empty() && self.errors.is_empty() {
            self.errors.push(syn::Error::new(self.model.name.span(), format!("model `{}` has no output; declare one with `output NAME = ...;`", self.model.name)));
        }
    }
}

fn defined_name(statement: &Statement) -> Option<String> {
    match statement {
        Statement::Input { name, .. } | Statement::Let { name, .. } | Statement::Output { name, .. } => Some(name.to_string()),
        Statement::Layer { .. } => None,
    }
}

fn expr_span(expr: &ExprSyntax) -> Span {
    match expr {
        ExprSyntax::Value(ident) => ident.span(),
        ExprSyntax::Call { span, .. } => *span,
    }
}

/// `TeamStrength` → `team_strength`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of the type alias through which the expansion of `model` names the submodel
/// `path`: `__Outer__Inner` for `Inner` in `Outer`, `__Outer__crate__models__Inner` for
/// `crate::models::Inner`.
pub fn submodel_alias(model: &Ident, path: &syn::Path) -> Ident {
    let segments: Vec<String> = path.segments.iter().map(|segment| segment.ident.unraw().to_string()).collect();
    Ident::new(&format!("__{}__{}", model.unraw(), segments.join("__")), Span::call_site())
}
