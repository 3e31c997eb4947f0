//! The summary table of a model, like Keras's `model.summary()`.

use core::fmt;

/// One row of a summary: a model input, a layer instance or a submodel instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The instance's name, as declared in `model!`.
    pub name: String,
    /// The layer kind, for example `Dense` or `InputLayer`, or the submodel's type name.
    pub kind: String,
    /// The output shape in the notation of `model!`, for example `[1]` or `[3, 2]`.
    pub output_shape: String,
    /// The number of weights, counted once for a shared instance.
    pub params: usize,
    /// The values the instance is called on, one entry per operand of every call.
    pub connected_to: Vec<String>,
    /// Whether the instance's weights are frozen.
    pub frozen: bool,
}

/// The summary table of a model: its rows and its parameter counts.
///
/// `Display` prints it as a table in the style of Keras.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The model's type name.
    pub model: String,
    /// One row per input, layer instance and submodel instance, in declaration order.
    pub rows: Vec<SummaryRow>,
    /// Weights the optimizer updates.
    pub trainable_params: usize,
    /// Weights of frozen instances.
    pub non_trainable_params: usize,
}

impl Summary {
    /// All weights, counting a shared instance once.
    pub fn total_params(&self) -> usize {
        self.trainable_params + self.non_trainable_params
    }

    /// Formats the model's graph in Graphviz's DOT language, like Keras's `plot_model`.
    ///
    /// Every row is one node that shows the instance's name, kind and output shape, so a shared
    /// layer or submodel is one node with an edge from each value it is called on. Inputs are
    /// rounded and blue; frozen instances are grey, dashed and marked `frozen`. When an instance
    /// takes the same value more than once, as `Subtract(s(a), s(b))` takes the output of `s`,
    /// one edge carries the count, such as `x2`.
    ///
    /// Render it with Graphviz, for example `dot -Tpng model.dot -o model.png`. A model made
    /// with `model!` gives its summary through `Name::summary()`; here one is built by hand for
    /// `output sum = Add(shared(a), shared(b))` with a shared layer `shared`:
    ///
    /// ```
    /// use model_core::summary::{Summary, SummaryRow};
    ///
    /// let row = |name: &str, kind: &str, shape: &str, connected_to: &[&str]| SummaryRow {
    ///     name: name.into(),
    ///     kind: kind.into(),
    ///     output_shape: shape.into(),
    ///     params: 0,
    ///     connected_to: connected_to.iter().map(|&operand| operand.to_owned()).collect(),
    ///     frozen: false,
    /// };
    /// let summary = Summary {
    ///     model: "Pair".into(),
    ///     rows: vec![
    ///         row("a", "InputLayer", "[2]", &[]),
    ///         row("b", "InputLayer", "[2]", &[]),
    ///         row("shared", "Dense", "[3]", &["a", "b"]),
    ///         row("sum", "Add", "[3]", &["shared", "shared"]),
    ///     ],
    ///     trainable_params: 9,
    ///     non_trainable_params: 0,
    /// };
    ///
    /// let dot = summary.to_dot();
    /// assert!(dot.starts_with("digraph \"Pair\" {"));
    /// assert!(dot.contains("\"a\" -> \"shared\";"));
    /// assert!(dot.contains("\"b\" -> \"shared\";"));
    /// assert!(dot.contains("\"shared\" -> \"sum\" [label=\"x2\"];"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut dot = format!("digraph {} {{\n", quote_dot(&self.model));
        dot.push_str("    graph [rankdir=TB, fontname=\"Helvetica\"];\n");
        dot.push_str("    node [shape=record, fontname=\"Helvetica\", fontsize=11];\n");
        dot.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
        for row in &self.rows {
            dot.push_str(&format!("    {} [{}];\n", quote_dot(&row.name), node_attributes(row)));
        }
        for row in &self.rows {
            for (source, count) in count_operands(&row.connected_to) {
                let label = if count > 1 { format!(" [label=\"x{count}\"]") } else { String::new() };
                dot.push_str(&format!("    {} -> {}{label};\n", quote_dot(source), quote_dot(&row.name)));
            }
        }
        dot.push_str("}\n");
        dot
    }
}

/// Returns the DOT attributes of one row's node: a record label with the name and kind above
/// the output shape, and the style of an input or a frozen instance.
fn node_attributes(row: &SummaryRow) -> String {
    let frozen = if row.frozen { ", frozen" } else { "" };
    let title = format!("{} ({}{frozen})", row.name, row.kind);
    let label = format!("{{{}|output: {}}}", escape_record(&title), escape_record(&row.output_shape));
    let style = if row.kind == "InputLayer" {
        ", style=\"rounded,filled\", fillcolor=\"#dbe9f6\""
    } else if row.frozen {
        ", style=\"filled,dashed\", fillcolor=\"#e6e6e6\""
    } else {
        ""
    };
    format!("label={}{style}", quote_dot(&label))
}

/// Returns each distinct operand once, in order of first appearance, with how often it occurs.
fn count_operands(operands: &[String]) -> Vec<(&str, usize)> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for operand in operands {
        match counts.iter_mut().find(|(name, _)| name == operand) {
            Some((_, count)) => *count += 1,
            None => counts.push((operand, 1)),
        }
    }
    counts
}

/// Quotes `text` as a DOT string. DOT escapes only the double quote inside quoted strings and
/// passes backslashes through, which keeps the escapes of [`escape_record`] intact.
fn quote_dot(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\\\""))
}

/// Escapes the characters that structure a record label, so that `text` shows as written.
fn escape_record(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '{' | '}' | '|' | '<' | '>' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|row| {
                let frozen = if row.frozen { ", frozen" } else { "" };
                let connected = if row.connected_to.is_empty() { "-".to_owned() } else { row.connected_to.join(", ") };
                [format!("{} ({}{frozen})", row.name, row.kind), row.output_shape.clone(), row.params.to_string(), connected]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line_width = widths.iter().sum::<usize>() + 3 * (widths.len() - 1) + 2;

        writeln!(f, "Model: \"{}\"", self.model)?;
        writeln!(f, "{}", "━".repeat(line_width))?;
        write_row(f, &widths, &headers.map(str::to_owned))?;
        writeln!(f, "{}", "━".repeat(line_width))?;
        for (i, row) in cells.iter().enumerate() {
            if i > 0 {
                writeln!(f, "{}", "─".repeat(line_width))?;
            }
            write_row(f, &widths, row)?;
        }
        writeln!(f, "{}", "━".repeat(line_width))?;
        writeln!(f, " Total params: {}", self.total_params())?;
        writeln!(f, " Trainable params: {}", self.trainable_params)?;
        write!(f, " Non-trainable params: {}", self.non_trainable_params)
    }
}

fn write_row(f: &mut fmt::Formatter<'_>, widths: &[usize; 4], cells: &[String; 4]) -> fmt::Result {
    writeln!(
        f,
        " {:<w0$}   {:<w1$}   {:>w2$}   {:<w3$}",
        cells[0],
        cells[1],
        cells[2],
        cells[3],
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_prints_rows_and_totals() {
        let summary = Summary {
            model: "TwoHeads".into(),
            rows: vec![
                SummaryRow {
                    name: "x".into(),
                    kind: "InputLayer".into(),
                    output_shape: "[2]".into(),
                    params: 0,
                    connected_to: vec![],
                    frozen: false,
                },
                SummaryRow {
                    name: "score_diff".into(),
                    kind: "Dense".into(),
                    output_shape: "[1]".into(),
                    params: 2,
                    connected_to: vec!["x".into()],
                    frozen: true,
                },
            ],
            trainable_params: 0,
            non_trainable_params: 2,
        };
        let text = summary.to_string();
        assert!(text.starts_with("Model: \"TwoHeads\"\n"), "{text}");
        assert!(text.contains(" score_diff (Dense, frozen)   [1]                  2   x"), "{text}");
        assert!(text.ends_with(" Total params: 2\n Trainable params: 0\n Non-trainable params: 2"), "{text}");
    }

    fn row(name: &str, kind: &str, shape: &str, connected_to: &[&str], frozen: bool) -> SummaryRow {
        SummaryRow {
            name: name.into(),
            kind: kind.into(),
            output_shape: shape.into(),
            params: 0,
            connected_to: connected_to.iter().map(|&name| name.to_owned()).collect(),
            frozen,
        }
    }

    fn game_model() -> Summary {
        Summary {
            model: "GameModel".into(),
            rows: vec![
                row("team_1", "InputLayer", "[1]", &[], false),
                row("team_2", "InputLayer", "[1]", &[], false),
                row("home", "InputLayer", "[1]", &[], false),
                row("strength", "TeamStrength", "[1]", &["team_1", "team_2"], true),
                row("diff", "Subtract", "[1]", &["strength", "strength"], false),
                row("concatenate", "Concatenate", "[2]", &["home", "diff"], false),
                row("score_diff", "Dense", "[1]", &["concatenate"], false),
            ],
            trainable_params: 3,
            non_trainable_params: 10_888,
        }
    }

    #[test]
    fn dot_draws_shared_instance_once() {
        let dot = game_model().to_dot();
        assert_eq!(dot.matches("\"strength\" [").count(), 1, "{dot}");
        assert!(dot.contains("    \"team_1\" -> \"strength\";\n"), "{dot}");
        assert!(dot.contains("    \"team_2\" -> \"strength\";\n"), "{dot}");
        assert!(dot.contains("    \"strength\" -> \"diff\" [label=\"x2\"];\n"), "{dot}");
        assert_eq!(dot.matches(" -> ").count(), 6, "{dot}");
    }

    #[test]
    fn dot_labels_name_kind_and_shape() {
        let dot = game_model().to_dot();
        assert!(dot.starts_with("digraph \"GameModel\" {\n"), "{dot}");
        assert!(dot.ends_with("}\n"), "{dot}");
        assert!(dot.contains("\"concatenate\" [label=\"{concatenate (Concatenate)|output: [2]}\"];"), "{dot}");
        assert!(dot.contains("\"team_1\" [label=\"{team_1 (InputLayer)|output: [1]}\", style=\"rounded,filled\""), "{dot}");
    }

    #[test]
    fn dot_marks_frozen_instances() {
        let dot = game_model().to_dot();
        assert!(
            dot.contains("\"strength\" [label=\"{strength (TeamStrength, frozen)|output: [1]}\", style=\"filled,dashed\""),
            "{dot}"
        );
    }

    #[test]
    fn dot_escapes_quotes_and_record_characters() {
        let summary = Summary {
            model: "My \"model\"".into(),
            rows: vec![row("x", "Odd{kind}|<a>", "[1]", &[], false)],
            trainable_params: 0,
            non_trainable_params: 0,
        };
        let dot = summary.to_dot();
        assert!(dot.starts_with("digraph \"My \\\"model\\\"\" {"), "{dot}");
        assert!(dot.contains("label=\"{x (Odd\\{kind\\}\\|\\<a\\>)|output: [1]}\""), "{dot}");
    }
}
