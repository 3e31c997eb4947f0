//! Keeps the team-strength model of the basketball example from overfitting, with an L2
//! penalty on its embedding or with Dropout on the strength difference, and prints the
//! evidence on NCAA tournament games held out by game.
//!
//! The model gives each of 10,888 team ids one learned strength, shared by both teams of a
//! game, and predicts the score difference from the strength difference and home court, with
//! mean absolute error (MAE). Each season's tournament is a tree of games, so once a game is
//! held out, no chain of training games links its two teams. The training games then fix
//! each team's strength only relative to the teams it is linked to. Without regularization,
//! the difference between the two teams of a held-out game is left to the initial weights
//! and the path of the optimizer.
//!
//! The example chooses the L2 factor and the Dropout rate on a split inside the training
//! games. It then trains three variants (none, L2, Dropout) on all training games and prints
//! their training and validation MAE per epoch. Last come the final validation MAE of each
//! variant and the MAE of always predicting 0.
//!
//! Run it with `cargo run --release --example regularization -- --data DIR [--json]
//! [--plot DIR]`, where the data folder contains `games_tourney.csv` from the DataCamp course
//! "Advanced Deep Learning with Keras". `--plot DIR` draws each variant's learning curves to
//! a PNG file and needs the `plot` feature. Every seed is fixed, so the output repeats from
//! run to run.

#[path = "ncaa/cli.rs"]
mod cli;
#[path = "regularization/report.rs"]
mod report;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use keramic::prelude::*;
use keramic::train::{Head, History};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Deserialize;

use cli::{Options, Spec};
use report::{CandidateScore, Report, SeedScores, VariantReport};

/// The CSV file read from the `--data` folder.
const DATA_FILE: &str = "games_tourney.csv";

/// The share of games held out for validation, and the seed of that split.
const VALIDATION_FRACTION: f64 = 0.2;
const VALIDATION_SPLIT_SEED: u64 = 7;

/// The share of the training games held out to choose the L2 factor and the Dropout rate,
/// and the seed of that split. The validation games play no part in the choice.
const SELECTION_FRACTION: f64 = 0.2;
const SELECTION_SPLIT_SEED: u64 = 8;

/// Adam's learning rate, the epochs and the batch size of every run, as in the
/// team-strength model of the basketball example.
const LEARNING_RATE: f64 = 0.01;
const EPOCHS: usize = 50;
const BATCH_SIZE: usize = 32;

/// The seeds of the initial weights and of `fit` (shuffling and Dropout masks). The tables
/// show the runs with the first seed, and the last table the final validation MAE with each.
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// Declares a model that maps a team id to one learned strength. `$option` is empty or a
/// penalty on the embedding, such as `, L2<0.01>`.
macro_rules! strength_model {
    ($strength:ident, [$($option:tt)*]) => {
        model! {
            /// Maps a team id to one learned strength.
            pub struct $strength {
                input team: Id<10888>;
                let strength = Embedding::<10888, 1 $($option)*>(team);
                output flat = Flatten(strength);
            }
        }
    };
}

/// Declares a game model that predicts the score difference from the difference of the two
/// teams' strengths, computed by the shared `$strength` model, and home court. With
/// `dropout RATE`, Dropout with that rate acts on the strength difference.
macro_rules! game_model {
    ($game:ident, $input:ident, $output:ident, $strength:ident) => {
        model! {
            /// Predicts the score difference from the strength difference and home court.
            pub struct $game {
                input team_1: Id<10888>;
                input team_2: Id<10888>;
                input home: [1];
                layer strength = $strength;
                let diff = Subtract(strength(team_1), strength(team_2));
                output score_diff = Dense::<1>(Concatenate(home, diff));
            }
        }
        game_rows!($game, $input, $output);
    };
    ($game:ident, $input:ident, $output:ident, $strength:ident, dropout $rate:tt) => {
        model! {
            /// Predicts the score difference from the strength difference, with Dropout, and
            /// home court.
            pub struct $game {
                input team_1: Id<10888>;
                input team_2: Id<10888>;
                input home: [1];
                layer strength = $strength;
                let diff = Dropout::<$rate>(Subtract(strength(team_1), strength(team_2)));
                output score_diff = Dense::<1>(Concatenate(home, diff));
            }
        }
        game_rows!($game, $input, $output);
    };
}

/// Implements [`GameModel`] for a model declared by `game_model!`.
macro_rules! game_rows {
    ($game:ident, $input:ident, $output:ident) => {
        impl GameModel for $game {
            fn from_seed(seed: u64) -> Self {
                $game::new(&mut StdRng::seed_from_u64(seed))
            }

            fn row(game: &Game) -> ($input, $output) {
                let input = $input { team_1: game.team_1, team_2: game.team_2, home: [game.home] };
                (input, $output { score_diff: [game.score_diff] })
            }

            fn score_diff(output: &$output) -> f32 {
                output.score_diff[0]
            }
        }
    };
}

strength_model!(TeamStrength, []);
strength_model!(StrengthL2TenThousandth, [, L2<0.0001>]);
strength_model!(StrengthL2Thousandth, [, L2<0.001>]);
strength_model!(StrengthL2Hundredth, [, L2<0.01>]);
strength_model!(StrengthL2Tenth, [, L2<0.1>]);

game_model!(Plain, PlainInput, PlainOutput, TeamStrength);
game_model!(L2TenThousandth, L2TenThousandthInput, L2TenThousandthOutput, StrengthL2TenThousandth);
game_model!(L2Thousandth, L2ThousandthInput, L2ThousandthOutput, StrengthL2Thousandth);
game_model!(L2Hundredth, L2HundredthInput, L2HundredthOutput, StrengthL2Hundredth);
game_model!(L2Tenth, L2TenthInput, L2TenthOutput, StrengthL2Tenth);
game_model!(DropoutFifth, DropoutFifthInput, DropoutFifthOutput, TeamStrength, dropout 0.2);
game_model!(DropoutHalf, DropoutHalfInput, DropoutHalfOutput, TeamStrength, dropout 0.5);

// The embedding has 10,888 weights, and the Dense layer one per input (home and the
// difference) and a bias. Dropout and the penalties add none.
const _: () = assert!(Plain::TOTAL_PARAMS == 10_891);
const _: () = assert!(L2Hundredth::TOTAL_PARAMS == 10_891);
const _: () = assert!(DropoutHalf::TOTAL_PARAMS == 10_891);

/// One row of `games_tourney.csv`: one tournament game seen from `team_1`. Every game appears
/// twice, once from each side.
#[derive(Clone, Debug, Deserialize)]
struct Game {
    /// The year the season ends.
    season: u32,
    /// The id of `team_1`, valid for this season only.
    team_1: u32,
    /// The id of the opponent in this season.
    team_2: u32,
    /// 1 when `team_1` played at home, else 0 (always 0 in the tournament).
    home: f32,
    /// Points of `team_1` minus points of `team_2`.
    score_diff: f32,
}

/// The season and the two team ids in increasing order, so that a row and its mirror have the
/// same key.
type GameKey = (u32, u32, u32);

impl Game {
    fn key(&self) -> GameKey {
        (self.season, self.team_1.min(self.team_2), self.team_1.max(self.team_2))
    }
}

/// A game model declared by `game_model!`, with its row conversion.
trait GameModel: Network<f32, Heads = (Head<1, false, 0>,)> {
    /// Creates the model with initial weights drawn from `seed`.
    fn from_seed(seed: u64) -> Self;
    /// Converts one game row into the model's input and target.
    fn row(game: &Game) -> (Self::Input, Self::Output);
    /// Reads the score difference of a prediction or a target.
    fn score_diff(output: &Self::Output) -> f32;
}

/// Training rows and the rows that each epoch validates on, both whole games.
struct Split<'a> {
    train: &'a [Game],
    validation: &'a [Game],
}

/// The measurements of one training run.
struct Run {
    history: History,
    /// The absolute error of each validation row after the last epoch.
    validation_errors: Vec<f64>,
    /// The Dense layer's weight on the strength difference after the last epoch.
    difference_weight: f64,
}

impl Run {
    fn validation_mae(&self) -> f64 {
        mean(&self.validation_errors)
    }
}

/// Trains one variant on `split.train` with seed `seed`, validating after each epoch on
/// `split.validation`.
type Trainer = fn(&Split<'_>, u64) -> Result<Run, Box<dyn Error>>;

/// One variant of the model, with the label that the tables print.
struct Candidate {
    label: &'static str,
    train: Trainer,
}

const NO_REGULARIZATION: Candidate = Candidate { label: "none", train: train::<Plain> };

/// The L2 factors on the embedding that the selection split compares.
const L2_CANDIDATES: [Candidate; 4] = [
    Candidate { label: "L2 0.0001", train: train::<L2TenThousandth> },
    Candidate { label: "L2 0.001", train: train::<L2Thousandth> },
    Candidate { label: "L2 0.01", train: train::<L2Hundredth> },
    Candidate { label: "L2 0.1", train: train::<L2Tenth> },
];

/// The Dropout rates on the strength difference that the selection split compares.
const DROPOUT_CANDIDATES: [Candidate; 2] = [
    Candidate { label: "Dropout 0.2", train: train::<DropoutFifth> },
    Candidate { label: "Dropout 0.5", train: train::<DropoutHalf> },
];

/// The command line of this example.
const SPEC: Spec = Spec { example: "regularization", data_file: DATA_FILE, json_help: Some("print one JSON object with every score instead of tables"), plot_help: Some("draw the learning curves of each variant to a PNG file in DIR; needs the `plot` feature (cargo run --release --features plot ...)") };

fn main() -> ExitCode {
    cli::main_with(&SPEC, run)
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    if let Some(folder) = &options.plot_dir {
        if !cfg!(feature = "plot") {
            return Err(PLOT_FEATURE_MISSING.into());
        }
        std::fs::create_dir_all(folder).map_err(|error| format!("cannot create the folder {}: {error}", folder.display()))?;
    }

    let games: Vec<Game> = read_csv(options.data_dir.join(DATA_FILE))?;
    let (train, validation) = split_by_game(&games, VALIDATION_FRACTION, VALIDATION_SPLIT_SEED);
    let (fit_part, selection_part) = split_by_game(&train, SELECTION_FRACTION, SELECTION_SPLIT_SEED);
    if [&validation, &fit_part, &selection_part].iter().any(|part| part.is_empty()) {
        return Err(format!(
            "the splits by game of the {} rows of {DATA_FILE} left a part without games; the file needs at least 4 games",
            games.len()
        )
        .into());
    }

    // The factor and the rate are chosen on games inside the training set, so that the
    // validation MAE below is not tuned on the validation games.
    let selection = Split { train: &fit_part, validation: &selection_part };
    let seed = SEEDS[0];
    let l2_scores = score_candidates(&L2_CANDIDATES, &selection, seed)?;
    let dropout_scores = score_candidates(&DROPOUT_CANDIDATES, &selection, seed)?;
    let l2 = &L2_CANDIDATES[best_index(&l2_scores)];
    let dropout = &DROPOUT_CANDIDATES[best_index(&dropout_scores)];

    let split = Split { train: &train, validation: &validation };
    let mut variants = Vec::new();
    let mut reference_errors: Option<Vec<f64>> = None;
    for candidate in [&NO_REGULARIZATION, l2, dropout] {
        let run = (candidate.train)(&split, seed)?;
        let mut final_maes = vec![run.validation_mae()];
        for &other_seed in &SEEDS[1..] {
            final_maes.push((candidate.train)(&split, other_seed)?.validation_mae());
        }
        let seeds = SeedScores::new(&SEEDS, final_maes);
        variants.push(VariantReport::new(candidate.label, &run, reference_errors.as_deref(), &validation, seeds));
        // The first variant has no regularization, and the others are compared with it.
        if reference_errors.is_none() {
            reference_errors = Some(run.validation_errors.clone());
        }
        if let Some(folder) = &options.plot_dir {
            plot(&run.history, &folder.join(format!("regularization_{}.png", file_stem(candidate.label))))?;
        }
    }

    let report = Report {
        data_file: DATA_FILE,
        rows: games.len(),
        games: count_games(&games),
        train_rows: train.len(),
        validation_rows: validation.len(),
        validation_games: count_games(&validation),
        fit_rows: fit_part.len(),
        selection_rows: selection_part.len(),
        zero_prediction_mae: mean(&validation.iter().map(|game| f64::from(game.score_diff.abs())).collect::<Vec<_>>()),
        schedule: format!("Adam with learning rate {LEARNING_RATE}, {EPOCHS} epochs of batch size {BATCH_SIZE}"),
        candidates: l2_scores.into_iter().chain(dropout_scores).collect(),
        variants,
    };
    report.emit(options.json)?;
    if let (Some(folder), false) = (&options.plot_dir, options.json) {
        println!("\nDrew the learning curves of each variant to {}", folder.join("regularization_*.png").display());
    }
    Ok(())
}

/// Trains each candidate on `selection.train` and returns its validation MAE on
/// `selection.validation` after the last epoch.
fn score_candidates(candidates: &[Candidate], selection: &Split<'_>, seed: u64) -> Result<Vec<CandidateScore>, Box<dyn Error>> {
    candidates
        .iter()
        .map(|candidate| {
            let run = (candidate.train)(selection, seed)?;
            Ok(CandidateScore { label: candidate.label, selection_mae: run.validation_mae(), chosen: false })
        })
        .collect::<Result<Vec<_>, Box<dyn Error>>>()
        .map(|mut scores| {
            let best = best_index(&scores);
            scores[best].chosen = true;
            scores
        })
}

/// Returns the index of the candidate with the lowest selection MAE.
fn best_index(scores: &[CandidateScore]) -> usize {
    scores
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| a.selection_mae.total_cmp(&b.selection_mae))
        .map_or(0, |(index, _)| index)
}

/// Trains a fresh `M` with seed `seed` on `split.train`, validating after each epoch on
/// `split.validation`.
fn train<M: GameModel>(split: &Split<'_>, seed: u64) -> Result<Run, Box<dyn Error>> {
    // `fit` validates on the last rows, so the validation games go after the training games.
    let data: Dataset<M::Input, M::Output> = split.train.iter().chain(split.validation).map(M::row).collect();
    let validation: Dataset<M::Input, M::Output> = split.validation.iter().map(M::row).collect();
    let options = Fit::epochs(EPOCHS)
        .batch_size(BATCH_SIZE)
        .seed(seed)
        .validation_split(exact_validation_split(data.len(), validation.len()))
        .verbose(false);

    let mut model = M::from_seed(seed);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(LEARNING_RATE));
    let history = training.fit(&data, &options)?;
    let scores = training.evaluate(&validation)?;
    let last = history.epochs.last().and_then(|epoch| epoch.validation.as_ref());
    if last != Some(&scores) {
        return Err(format!("fit validated on other rows than the {} validation rows", validation.len()).into());
    }

    let predictions = model.predict(validation.inputs())?;
    let validation_errors = predictions
        .iter()
        .zip(validation.targets())
        .map(|(prediction, target)| f64::from((M::score_diff(prediction) - M::score_diff(target)).abs()))
        .collect();
    Ok(Run { history, validation_errors, difference_weight: difference_weight(&model) })
}

/// Returns the `validation_split` that holds out exactly the last `validation_rows` of `rows`.
///
/// `fit` trains on the first `floor(rows × (1 − fraction))` rows. Half a row of margin keeps
/// that product away from a whole number, where a rounding error could make the floor one
/// row short. `train` checks the result against `evaluate` on the validation rows.
fn exact_validation_split(rows: usize, validation_rows: usize) -> f64 {
    (validation_rows as f64 - 0.5) / rows as f64
}

/// Returns the Dense layer's weight on the strength difference. Its kernel has the shape
/// [2, 1]: the weight on home court, then the weight on the difference.
fn difference_weight<M: GameModel>(model: &M) -> f64 {
    let mut weight = f64::NAN;
    model.visit_named_weights("", &mut |path, param| {
        if path == "score_diff.kernel" {
            weight = f64::from(param.value[1]);
        }
    });
    weight
}

/// Splits the rows by game: a shuffled `fraction` of the games, rounded to the nearest whole
/// game, goes to the second part with both of its rows.
fn split_by_game(games: &[Game], fraction: f64, seed: u64) -> (Vec<Game>, Vec<Game>) {
    // Sorting the keys before the shuffle makes the split independent of the row order.
    let mut keys: Vec<GameKey> = games.iter().map(Game::key).collect::<BTreeSet<_>>().into_iter().collect();
    keys.shuffle(&mut StdRng::seed_from_u64(seed));
    let held_out = (keys.len() as f64 * fraction).round() as usize;
    let held_out_keys: HashSet<GameKey> = keys[..held_out].iter().copied().collect();
    games.iter().cloned().partition(|game| !held_out_keys.contains(&game.key()))
}

/// Returns the mean absolute error of each game, the mean over its rows, in the order in
/// which the games first appear in `games`. `errors` has one entry per row of `games`.
fn errors_per_game(games: &[Game], errors: &[f64]) -> Vec<f64> {
    let mut order: Vec<GameKey> = Vec::new();
    let mut sums: HashMap<GameKey, (f64, usize)> = HashMap::new();
    for (game, &error) in games.iter().zip(errors) {
        let entry = sums.entry(game.key()).or_insert_with(|| {
            order.push(game.key());
            (0.0, 0)
        });
        entry.0 += error;
        entry.1 += 1;
    }
    order.iter().map(|key| sums[key].0 / sums[key].1 as f64).collect()
}

fn count_games(games: &[Game]) -> usize {
    games.iter().map(Game::key).collect::<HashSet<_>>().len()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Turns a label such as `L2 0.01` into `l2_0.01`, for file names.
fn file_stem(label: &str) -> String {
    label.to_lowercase().replace(' ', "_")
}

const PLOT_FEATURE_MISSING: &str =
    "--plot needs the `plot` feature; run with `cargo run --release --features plot --example regularization`";

#[cfg(feature = "plot")]
fn plot(history: &History, path: &Path) -> Result<(), Box<dyn Error>> {
    Ok(history.plot(path)?)
}

#[cfg(not(feature = "plot"))]
fn plot(_history: &History, _path: &Path) -> Result<(), Box<dyn Error>> {
    Err(PLOT_FEATURE_MISSING.into())
}
