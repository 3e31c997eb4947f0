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
}
