//! Predicts the score differences of NCAA tournament games with three small models: a stacked
//! linear model, a model with a regression head and a classification head, and a model that
//! learns one strength per team through a shared embedding.
//!
//! Run it with `cargo run --release --example basketball -- --data DIR [--json]`, where `DIR`
//! contains `games_season_enriched.csv` from the DataCamp course "Advanced Deep Learning with
//! Keras". Every seed is fixed, so the output repeats from run to run.

#[path = "ncaa/cli.rs"]
mod cli;
#[path = "basketball/report.rs"]
mod report;

use std::collections::{BTreeSet, HashSet};
use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use keramic::prelude::*;
use keramic::train::OutputScores;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Deserialize;

use cli::{Options, Spec};
use report::{StackedReport, TeamStrengthReport, TwoHeadsReport, emit};

/// The CSV file read from the `--data` folder.
const DATA_FILE: &str = "games_season_enriched.csv";

/// The stacked and two-head models train on the seasons up to this one and are tested on the
/// later seasons, as the course does.
const LAST_TRAINING_SEASON: u32 = 2010;

/// The share of games that the team-strength model holds out for testing.
const TEAM_STRENGTH_TEST_FRACTION: f64 = 0.2;

/// The seed of the team-strength split into training and test games.
const TEAM_STRENGTH_SPLIT_SEED: u64 = 7;

const STACKED_SCHEDULE: Schedule = Schedule {
    learning_rate: 0.01,
    epochs: 50,
    batch_size: 32,
    seed: 1,
};
const TWO_HEADS_SCHEDULE: Schedule = Schedule {
    learning_rate: 0.01,
    epochs: 50,
    batch_size: 32,
    seed: 2,
};
const TEAM_STRENGTH_SCHEDULE: Schedule = Schedule {
    learning_rate: 0.01,
    epochs: 50,
    batch_size: 32,
    seed: 3,
};

model! {
    /// Stacks the regular-season prediction `pred` with the seed difference and home court.
    pub struct Stacked {
        input home: [1];
        input seed_diff: [1];
        input pred: [1];
        output score_diff = Dense::<1>(Concatenate(home, seed_diff, pred));
    }
}

model! {
    /// Predicts the score difference from `[seed_diff, pred]`, then the win probability from
    /// the predicted score difference.
    pub struct TwoHeads {
        input x: [2];
        output score_diff = Dense::<1, NoBias>(x);
        output win = Dense::<1, Sigmoid, NoBias>(score_diff);
    }
}

model! {
    /// Maps a team id to one learned strength.
    pub struct TeamStrength {
        input team: Id<10888>;
        let strength = Embedding::<10888, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// Predicts the score difference from the difference of the two teams' strengths and home
    /// court. Both teams go through the same `TeamStrength` weights.
    pub struct StrengthDifference {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        layer strength = TeamStrength;
        let diff = Subtract(strength(team_1), strength(team_2));
        output score_diff = Dense::<1>(Concatenate(home, diff));
    }
}

model! {
    /// A variant of `StrengthDifference` whose Dense layer gets both strengths and home court
    /// instead of the strength difference. The example prints its summary but does not train it.
    pub struct StrengthPair {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        layer strength = TeamStrength;
        output score_diff = Dense::<1>(Concatenate(strength(team_1), strength(team_2), home));
    }
}

// The parameter counts are constants, so a model with other layer sizes fails to build here.
const _: () = assert!(Stacked::TRAINABLE_PARAMS == 4);
const _: () = assert!(TwoHeads::TRAINABLE_PARAMS == 3);
const _: () = assert!(TeamStrength::TOTAL_PARAMS == 10_888);
const _: () = assert!(StrengthDifference::TOTAL_PARAMS == 10_891);
const _: () = assert!(StrengthPair::TOTAL_PARAMS == 10_892);

/// One row of `games_season_enriched.csv`: one tournament game seen from `team_1`.
///
/// Every game appears twice, once from each side: the mirrored row swaps `team_1` and `team_2`
/// and negates `seed_diff`, `score_diff` and `pred`.
#[derive(Clone, Debug, Deserialize)]
struct Game {
    /// The year the season ends.
    season: u32,
    /// The id of `team_1`, valid for this season only, because a school gets a new id every
    /// season.
    team_1: u32,
    /// The id of the opponent in this season.
    team_2: u32,
    /// 1 when `team_1` played at home, else 0.
    home: f32,
    /// The difference of the two tournament seeds, positive when `team_1` has the better
    /// (numerically lower) seed.
    seed_diff: f32,
    /// Points of `team_1` minus points of `team_2`.
    score_diff: f32,
    /// 1 when `team_1` won, else 0.
    won: f32,
    /// The score difference predicted by a team-strength model fitted on regular-season games.
    pred: f32,
}

/// The season and the two team ids in increasing order, so that a row and its mirror have the
/// same key.
type GameKey = (u32, u32, u32);

impl Game {
    fn key(&self) -> GameKey {
        (
            self.season,
            self.team_1.min(self.team_2),
            self.team_1.max(self.team_2),
        )
    }
}

/// Training settings of one model.
struct Schedule {
    learning_rate: f64,
    epochs: usize,
    batch_size: usize,
    seed: u64,
}

impl Schedule {
    fn fit_options(&self) -> Fit {
        Fit::epochs(self.epochs)
            .batch_size(self.batch_size)
            .seed(self.seed)
            .verbose(false)
    }

    fn describe(&self) -> String {
        format!(
            "Adam with learning rate {}, {} epochs of batch size {}, seed {}",
            self.learning_rate, self.epochs, self.batch_size, self.seed
        )
    }
}

/// The command line of this example.
const SPEC: Spec = Spec { example: "basketball", data_file: DATA_FILE, json_help: Some("print one JSON object per model instead of summaries and text"), plot_help: None };

fn main() -> ExitCode {
    cli::main_with(&SPEC, run)
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    let games = load_games(&options.data_dir)?;
    let show_details = !options.json;

    let (train, test) = split_by_season(&games)?;
    if show_details {
        println!(
            "Read {} rows: {} from the seasons up to {LAST_TRAINING_SEASON} for training, \
             {} from later seasons for testing.\n",
            games.len(),
            train.len(),
            test.len()
        );
    }

    let stacked = train_stacked(&train, &test, show_details)?;
    emit(&stacked, options.json)?;

    let two_heads = train_two_heads(&train, &test, show_details)?;
    emit(&two_heads, options.json)?;

    let team_strength = train_team_strength(&games, show_details)?;
    emit(&team_strength, options.json)?;
    Ok(())
}

fn load_games(data_dir: &Path) -> Result<Vec<Game>, keramic::Error> {
    read_csv(data_dir.join(DATA_FILE))
}

/// Splits the rows into the seasons up to `LAST_TRAINING_SEASON` and the later seasons.
fn split_by_season(games: &[Game]) -> Result<(Vec<Game>, Vec<Game>), String> {
    let (train, test): (Vec<Game>, Vec<Game>) = games
        .iter()
        .cloned()
        .partition(|game| game.season <= LAST_TRAINING_SEASON);
    if train.is_empty() || test.is_empty() {
        return Err(format!(
            "{DATA_FILE} has {} rows from the seasons up to {LAST_TRAINING_SEASON} and {} from \
             later seasons, but both parts need rows",
            train.len(),
            test.len()
        ));
    }
    Ok((train, test))
}

fn train_stacked(
    train: &[Game],
    test: &[Game],
    show_details: bool,
) -> Result<StackedReport, keramic::Error> {
    let schedule = &STACKED_SCHEDULE;
    if show_details {
        println!("== stacked: [home, seed_diff, pred] -> Dense(1), mean absolute error ==");
        println!("{}", Stacked::summary());
    }
    let train_data: Dataset<StackedInput, StackedOutput> = train.iter().map(stacked_pair).collect();
    let test_data: Dataset<StackedInput, StackedOutput> = test.iter().map(stacked_pair).collect();

    let mut model = Stacked::new(&mut StdRng::seed_from_u64(schedule.seed));
    let mut training = model.compile(MeanAbsoluteError, Adam::new(schedule.learning_rate));
    let history = training.fit(&train_data, &schedule.fit_options())?;
    if show_details {
        print_training(&history, schedule);
    }

    // With a single output, the total loss is that output's mean absolute error.
    let evaluation = training.evaluate(&test_data)?;
    Ok(StackedReport {
        model: "stacked",
        test_mae: evaluation.loss,
        trainable_params: Stacked::TRAINABLE_PARAMS,
    })
}

fn stacked_pair(game: &Game) -> (StackedInput, StackedOutput) {
    let input = StackedInput {
        home: [game.home],
        seed_diff: [game.seed_diff],
        pred: [game.pred],
    };
    let target = StackedOutput {
        score_diff: [game.score_diff],
    };
    (input, target)
}

fn train_two_heads(
    train: &[Game],
    test: &[Game],
    show_details: bool,
) -> Result<TwoHeadsReport, Box<dyn Error>> {
    let schedule = &TWO_HEADS_SCHEDULE;
    if show_details {
        println!(
            "== two_heads: [seed_diff, pred] -> score_diff (mean absolute error) \
             -> win (binary cross-entropy) =="
        );
        println!("{}", TwoHeads::summary());
    }
    let train_data: Dataset<TwoHeadsInput, TwoHeadsOutput> =
        train.iter().map(two_heads_pair).collect();
    let test_data: Dataset<TwoHeadsInput, TwoHeadsOutput> =
        test.iter().map(two_heads_pair).collect();

    // One optimizer minimizes the sum of both losses, each with weight 1.
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(schedule.seed));
    let mut training = model.compile(
        (MeanAbsoluteError, BinaryCrossentropy),
        Adam::new(schedule.learning_rate),
    );
    let history = training.fit(&train_data, &schedule.fit_options())?;
    if show_details {
        print_training(&history, schedule);
    }

    let evaluation = training.evaluate(&test_data)?;
    let score = output_scores(&evaluation, "score_diff")?;
    let win = output_scores(&evaluation, "win")?;
    Ok(TwoHeadsReport {
        model: "two_heads",
        test_mae: score.loss,
        test_bce: win.loss,
        test_accuracy: win
            .accuracy
            .ok_or("the evaluation reports no accuracy for the output `win`")?,
        trainable_params: TwoHeads::TRAINABLE_PARAMS,
    })
}

fn two_heads_pair(game: &Game) -> (TwoHeadsInput, TwoHeadsOutput) {
    let input = TwoHeadsInput {
        x: [game.seed_diff, game.pred],
    };
    let target = TwoHeadsOutput {
        score_diff: [game.score_diff],
        win: [game.won],
    };
    (input, target)
}

fn output_scores<'a>(evaluation: &'a Evaluation, name: &str) -> Result<&'a OutputScores, String> {
    evaluation
        .output(name)
        .ok_or_else(|| format!("the evaluation has no output named `{name}`"))
}

fn train_team_strength(
    games: &[Game],
    show_details: bool,
) -> Result<TeamStrengthReport, Box<dyn Error>> {
    let schedule = &TEAM_STRENGTH_SCHEDULE;
    if show_details {
        println!(
            "== team_strength: TeamStrength shared by team_1 and team_2 -> Subtract \
             -> Concatenate with home -> Dense(1), mean absolute error =="
        );
        println!("{}", TeamStrength::summary());
        println!("{}", StrengthDifference::summary());
        println!("The variant that concatenates both strengths and home instead of subtracting:");
        println!("{}", StrengthPair::summary());
    }

    // A team id covers one season only, so a split by season would test on teams that no
    // training row contains. The split holds out whole games inside the seasons instead.
    let (train, test) = split_by_game(games, TEAM_STRENGTH_TEST_FRACTION, TEAM_STRENGTH_SPLIT_SEED);
    if test.is_empty() {
        return Err(format!(
            "the split by game of {} rows left no test games, because {DATA_FILE} has fewer \
             than 3 games",
            games.len()
        )
        .into());
    }
    let train_data: Dataset<StrengthDifferenceInput, StrengthDifferenceOutput> =
        train.iter().map(strength_pair).collect();
    let test_data: Dataset<StrengthDifferenceInput, StrengthDifferenceOutput> =
        test.iter().map(strength_pair).collect();

    let mut model = StrengthDifference::new(&mut StdRng::seed_from_u64(schedule.seed));
    let mut training = model.compile(MeanAbsoluteError, Adam::new(schedule.learning_rate));
    let history = training.fit(&train_data, &schedule.fit_options())?;
    if show_details {
        print_training(&history, schedule);
        // NOTE: each season's tournament is a tree of games, because it is a single-elimination
        // bracket, so holding out one game leaves its two teams without any chain of training
        // games between them. The training loss then does not depend on the difference of
        // their strengths, and the test prediction comes from the initial weights and the path
        // of the optimizer rather than from the data.
        println!(
            "Each season's tournament is a tree of games, so no chain of training games links \
             the two teams of a test game."
        );
    }

    let evaluation = training.evaluate(&test_data)?;
    let baseline_mae = mean_absolute_score_diff(&test);
    Ok(TeamStrengthReport {
        model: "team_strength",
        test_mae: evaluation.loss,
        baseline_mae,
        beats_baseline: evaluation.loss < baseline_mae,
        trainable_params: StrengthDifference::TRAINABLE_PARAMS,
        concatenated_variant_params: StrengthPair::TOTAL_PARAMS,
        train_rows: train.len(),
        test_rows: test.len(),
    })
}

fn strength_pair(game: &Game) -> (StrengthDifferenceInput, StrengthDifferenceOutput) {
    let input = StrengthDifferenceInput {
        team_1: game.team_1,
        team_2: game.team_2,
        home: [game.home],
    };
    let target = StrengthDifferenceOutput {
        score_diff: [game.score_diff],
    };
    (input, target)
}

/// Splits the rows by game: a shuffled `test_fraction` of the games, rounded to the nearest
/// whole game, goes to the test side with both of its rows.
fn split_by_game(games: &[Game], test_fraction: f64, seed: u64) -> (Vec<Game>, Vec<Game>) {
    // Sorting the keys before the shuffle makes the split independent of the row order.
    let mut keys: Vec<GameKey> = games
        .iter()
        .map(Game::key)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.shuffle(&mut StdRng::seed_from_u64(seed));
    let test_games = (keys.len() as f64 * test_fraction).round() as usize;
    let test_keys: HashSet<GameKey> = keys[..test_games].iter().copied().collect();
    games
        .iter()
        .cloned()
        .partition(|game| !test_keys.contains(&game.key()))
}

/// Returns the mean absolute error of always predicting a score difference of 0.
fn mean_absolute_score_diff(games: &[Game]) -> f64 {
    let total: f64 = games
        .iter()
        .map(|game| f64::from(game.score_diff.abs()))
        .sum();
    total / games.len() as f64
}

fn print_training(history: &History, schedule: &Schedule) {
    println!("Trained with {}.", schedule.describe());
    if let Some(last) = history.epochs.last() {
        println!(
            "Total loss on the training rows in the last epoch: {:.4}",
            last.train.loss
        );
    }
}
