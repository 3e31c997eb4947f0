//! The scores of the regularization example, printed as tables or as one JSON object.

use serde::Serialize;

use crate::{Game, Run, errors_per_game, mean};

/// Everything the example measured.
#[derive(Serialize)]
pub struct Report {
    pub data_file: &'static str,
    pub rows: usize,
    pub games: usize,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub validation_games: usize,
    /// The rows that the candidates train on while the factor and the rate are chosen.
    pub fit_rows: usize,
    /// The rows, taken from the training games, that choose the factor and the rate.
    pub selection_rows: usize,
    /// The validation MAE of always predicting a score difference of 0.
    pub zero_prediction_mae: f64,
    pub schedule: String,
    pub candidates: Vec<CandidateScore>,
    pub variants: Vec<VariantReport>,
}

/// The selection score of one L2 factor or Dropout rate.
#[derive(Serialize)]
pub struct CandidateScore {
    pub label: &'static str,
    /// The MAE on the selection rows after the last epoch.
    pub selection_mae: f64,
    /// Whether this candidate has the lowest selection MAE of its kind.
    pub chosen: bool,
}

/// The scores of one variant trained on all training games.
#[derive(Serialize)]
pub struct VariantReport {
    pub label: &'static str,
    /// The validation MAE after the last epoch, with the first seed.
    pub validation_mae: f64,
    /// The change of the validation MAE against the variant without regularization, or
    /// `None` for that variant itself.
    pub change: Option<Change>,
    /// The Dense layer's weight on the strength difference after the last epoch.
    pub difference_weight: f64,
    /// The weight penalty after the last epoch (0 without a penalty).
    pub penalty: f64,
    pub epochs: Vec<EpochScores>,
    pub seeds: SeedScores,
}

/// The validation MAE of a variant minus that of the variant without regularization, on the
/// same games, with the first seed.
#[derive(Serialize)]
pub struct Change {
    pub mean: f64,
    /// The standard error of `mean`, from the spread of the per-game differences.
    pub standard_error: f64,
}

impl Change {
    /// Compares per-row errors game by game. `errors` and `reference_errors` have one entry
    /// per row of `validation`.
    fn new(errors: &[f64], reference_errors: &[f64], validation: &[Game]) -> Self {
        let own = errors_per_game(validation, errors);
        let reference = errors_per_game(validation, reference_errors);
        let differences: Vec<f64> = own.iter().zip(&reference).map(|(a, b)| a - b).collect();
        let games = differences.len() as f64;
        let mean = mean(&differences);
        let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (games - 1.0).max(1.0);
        Change { mean, standard_error: (variance / games).sqrt() }
    }
}

/// The scores of one epoch.
#[derive(Serialize)]
pub struct EpochScores {
    pub epoch: usize,
    /// The MAE on the training rows, averaged over the epoch's batches, with Dropout on.
    pub train_mae: f64,
    pub validation_mae: f64,
}

/// The final validation MAE of one variant for each seed.
#[derive(Serialize)]
pub struct SeedScores {
    pub seeds: Vec<u64>,
    pub validation_mae: Vec<f64>,
}

impl SeedScores {
    pub fn new(seeds: &[u64], validation_mae: Vec<f64>) -> Self {
        SeedScores { seeds: seeds.to_vec(), validation_mae }
    }

    fn min(&self) -> f64 {
        self.validation_mae.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.validation_mae.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

impl VariantReport {
    /// Summarizes `run`. `reference_errors` are the per-row validation errors of the variant
    /// without regularization (`None` for that variant), and `validation` the validation rows
    /// in the same order.
    pub fn new(label: &'static str, run: &Run, reference_errors: Option<&[f64]>, validation: &[Game], seeds: SeedScores) -> Self {
        let epochs = run
            .history
            .epochs
            .iter()
            .map(|log| EpochScores {
                epoch: log.epoch,
                train_mae: log.train.loss,
                validation_mae: log.validation.as_ref().map_or(f64::NAN, |scores| scores.loss),
            })
            .collect();
        let penalty = run.history.epochs.last().and_then(|log| log.validation.as_ref()).map_or(0.0, |scores| scores.penalty);
        VariantReport {
            label,
            validation_mae: run.validation_mae(),
            change: reference_errors.map(|reference| Change::new(&run.validation_errors, reference, validation)),
            difference_weight: run.difference_weight,
            penalty,
            epochs,
            seeds,
        }
    }
}

impl Report {
    /// Prints the report as one JSON line when `json` is set, else as tables.
    pub fn emit(&self, json: bool) -> Result<(), serde_json::Error> {
        if json {
            println!("{}", serde_json::to_string(self)?);
        } else {
            self.print_text();
        }
        Ok(())
    }

    fn print_text(&self) {
        println!(
            "Read {} rows ({} games) from {}. Split by game: {} training rows and {} validation rows ({} games).",
            self.rows, self.games, self.data_file, self.train_rows, self.validation_rows, self.validation_games
        );
        println!("Every run: {}, mean absolute error (MAE).\n", self.schedule);

        println!(
            "Choosing the L2 factor and the Dropout rate: trained on {} rows of the training games, scored on the other {}.",
            self.fit_rows, self.selection_rows
        );
        println!("{:<14}{:>14}", "candidate", "selection MAE");
        for candidate in &self.candidates {
            let mark = if candidate.chosen { "  chosen" } else { "" };
            println!("{:<14}{:>14.3}{mark}", candidate.label, candidate.selection_mae);
        }

        println!();
        println!("MAE per epoch on the training rows (mean over the epoch's batches, with Dropout on, without the");
        println!("penalty) and on the validation rows:");
        print!("{:>5}", "");
        for variant in &self.variants {
            print!("  {:^19}", variant.label);
        }
        println!();
        print!("{:>5}", "epoch");
        for _ in &self.variants {
            print!("  {:>8} {:>10}", "train", "validation");
        }
        println!();
        let epochs = self.variants.iter().map(|variant| variant.epochs.len()).max().unwrap_or(0);
        for row in 0..epochs {
            print!("{:>5}", row + 1);
            for variant in &self.variants {
                match variant.epochs.get(row) {
                    Some(scores) => print!("  {:>8.3} {:>10.3}", scores.train_mae, scores.validation_mae),
                    None => print!("  {:>8} {:>10}", "", ""),
                }
            }
            println!();
        }

        println!();
        println!("Validation MAE after the last epoch:");
        println!("{:<14}{:>9}{:>24}{:>12}{:>10}", "variant", "MAE", "change (std. error)", "weight", "penalty");
        for variant in &self.variants {
            let change = variant
                .change
                .as_ref()
                .map_or_else(|| "-".to_owned(), |change| format!("{:+.3} ({:.3})", change.mean, change.standard_error));
            println!("{:<14}{:>9.3}{change:>24}{:>12.2}{:>10.3}", variant.label, variant.validation_mae, variant.difference_weight, variant.penalty);
        }
        println!("{:<14}{:>9.3}", "predict 0", self.zero_prediction_mae);
        println!("The change is against no regularization, with its standard error over the {} validation games.", self.validation_games);
        println!("The weight is the Dense layer's weight on the strength difference. An L2 penalty on the embedding");
        println!("alone shrinks the strengths, and this weight grows to make up for part of it.");

        println!();
        let seeds = self.variants.first().map(|variant| &variant.seeds.seeds[..]).unwrap_or(&[]);
        println!("Validation MAE after the last epoch for the seeds {seeds:?}:");
        println!("{:<14}{:>9}{:>9}{:>9}", "variant", "mean", "min", "max");
        for variant in &self.variants {
            let seeds = &variant.seeds;
            println!("{:<14}{:>9.3}{:>9.3}{:>9.3}", variant.label, mean(&seeds.validation_mae), seeds.min(), seeds.max());
        }
    }
}
