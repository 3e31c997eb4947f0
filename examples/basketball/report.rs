//! The test scores of each model of the basketball example, printed as text or as JSON lines.

use serde::Serialize;

/// The test scores of one model.
pub trait Report: Serialize {
    fn print_text(&self);
}

/// Prints `report` as one JSON line when `json` is set, else as text followed by a blank line.
pub fn emit(report: &impl Report, json: bool) -> Result<(), serde_json::Error> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        report.print_text();
        println!();
    }
    Ok(())
}

/// Test scores of the `stacked` model.
#[derive(Serialize)]
pub struct StackedReport {
    pub model: &'static str,
    pub test_mae: f64,
    pub trainable_params: usize,
}

/// Test scores of the `two_heads` model.
#[derive(Serialize)]
pub struct TwoHeadsReport {
    pub model: &'static str,
    pub test_mae: f64,
    pub test_bce: f64,
    pub test_accuracy: f64,
    pub trainable_params: usize,
}

/// Test scores of the `team_strength` model, beside the score of always predicting 0.
#[derive(Serialize)]
pub struct TeamStrengthReport {
    pub model: &'static str,
    pub test_mae: f64,
    pub baseline_mae: f64,
    pub beats_baseline: bool,
    pub trainable_params: usize,
    /// The parameter count of the untrained variant that concatenates both strengths and home.
    pub concatenated_variant_params: usize,
    pub train_rows: usize,
    pub test_rows: usize,
}

impl Report for StackedReport {
    fn print_text(&self) {
        println!(
            "stacked: test MAE {:.4}, {} trainable params",
            self.test_mae, self.trainable_params
        );
    }
}

impl Report for TwoHeadsReport {
    fn print_text(&self) {
        println!(
            "two_heads: test score MAE {:.4}, win binary cross-entropy {:.4}, win accuracy {:.4}, \
             {} trainable params",
            self.test_mae, self.test_bce, self.test_accuracy, self.trainable_params
        );
    }
}

impl Report for TeamStrengthReport {
    fn print_text(&self) {
        let verdict = if self.beats_baseline {
            "beats"
        } else {
            "does not beat"
        };
        println!(
            "team_strength: {} training rows and {} test rows, split by game; test MAE {:.4} \
             against {:.4} for always predicting 0, so it {verdict} the baseline",
            self.train_rows, self.test_rows, self.test_mae, self.baseline_mae
        );
        println!(
            "team_strength: {} trainable params; the variant that concatenates both strengths \
             and home has {} params",
            self.trainable_params, self.concatenated_variant_params
        );
    }
}
