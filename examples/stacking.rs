//! Stacking on the NCAA tournament games: the predictions of a first model become an input of
//! a second model that trains on later seasons.
//!
//! The first model learns the score difference from the seed difference and `pred`, the
//! course's regular-season prediction, on the seasons up to 2000. The second model learns from
//! the seed difference and the first model's prediction on the seasons 2001 to 2010. Both are
//! tested on the seasons after 2010. The second model comes in two versions:
//!
//! - column: the first model predicts once, and its predictions are stored as an input column;
//! - frozen submodel: the trained first model sits frozen inside the second model, which
//!   computes the column itself in every forward pass.
//!
//! Both versions start from the same weights and see the rows in the same order, so they should
//! reach the same test error, and the example prints whether they do. The frozen version is one
//! model that takes the raw columns, which is what prediction on new games needs.
//!
//! Run it with `cargo run --release --example stacking -- --data DIR`, where `DIR` contains
//! `games_season_enriched.csv` from the DataCamp course "Advanced Deep Learning with Keras".
//! Every seed is fixed, so the output repeats from run to run.

#[path = "ncaa/cli.rs"]
mod cli;

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;

use cli::{Options, Spec};

/// The CSV file read from the `--data` folder.
const DATA_FILE: &str = "games_season_enriched.csv";

/// The first model trains on the seasons up to this one.
const LAST_FIRST_MODEL_SEASON: u32 = 2000;

/// The second model trains on the seasons after `LAST_FIRST_MODEL_SEASON` up to this one, and
/// both models are tested on the later seasons, as the course tests its models.
const LAST_SECOND_MODEL_SEASON: u32 = 2010;

const FIRST_SCHEDULE: Schedule = Schedule {
    learning_rate: 0.01,
    epochs: 50,
    batch_size: 32,
    seed: 1,
};
const SECOND_SCHEDULE: Schedule = Schedule {
    learning_rate: 0.01,
    epochs: 50,
    batch_size: 32,
    seed: 2,
};

model! {
    /// Predicts the score difference from the seed difference and the regular-season
    /// prediction `pred`.
    pub struct FirstModel {
        input seed_diff: [1];
        input pred: [1];
        let hidden = Dense::<8, Relu>(Concatenate(seed_diff, pred));
        output score_diff = Dense::<1>(hidden);
    }
}

model! {
    /// Predicts the score difference from the seed difference and the first model's
    /// prediction, read from a stored column.
    pub struct SecondOnColumn {
        input seed_diff: [1];
        input first_pred: [1];
        output score_diff = Dense::<1>(Concatenate(seed_diff, first_pred));
    }
}

model! {
    /// Predicts the score difference from the seed difference and the prediction of a frozen
    /// `FirstModel` inside, so that it takes the same raw columns as the first model.
    pub struct SecondWithFirst {
        input seed_diff: [1];
        input pred: [1];
        #[frozen] layer first = FirstModel;
        output score_diff = Dense::<1>(Concatenate(seed_diff, first(seed_diff, pred)));
    }
}

// `hidden` has 2 × 8 + 8 weights and the output layer 8 + 1.
const _: () = assert!(FirstModel::TOTAL_PARAMS == 33);
const _: () = assert!(SecondOnColumn::TRAINABLE_PARAMS == 3);
const _: () = assert!(SecondWithFirst::TRAINABLE_PARAMS == 3);
const _: () = assert!(SecondWithFirst::NON_TRAINABLE_PARAMS == FirstModel::TOTAL_PARAMS);

/// The columns of one row of `games_season_enriched.csv` that this example reads. Every game
/// appears twice, once from each side, with the differences negated.
#[derive(Clone, Debug, Deserialize)]
struct Game {
    /// The year the season ends.
    season: u32,
    /// The difference of the two tournament seeds, positive when `team_1` has the better seed.
    seed_diff: f32,
    /// Points of `team_1` minus points of `team_2`.
    score_diff: f32,
    /// The score difference predicted by a team-strength model fitted on regular-season games.
    pred: f32,
}

/// The games of each stage, split by season.
struct Seasons {
    /// The seasons up to `LAST_FIRST_MODEL_SEASON`.
    first: Vec<Game>,
    /// The seasons after `LAST_FIRST_MODEL_SEASON` up to `LAST_SECOND_MODEL_SEASON`.
    second: Vec<Game>,
    /// The seasons after `LAST_SECOND_MODEL_SEASON`.
    test: Vec<Game>,
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

/// The test mean absolute error of each model.
struct TestScores {
    first_alone: f64,
    on_column: f64,
    with_first: f64,
}

/// The command line of this example.
const SPEC: Spec = Spec { example: "stacking", data_file: DATA_FILE, json_help: None, plot_help: None };

fn main() -> ExitCode {
    cli::main_with(&SPEC, run)
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    let games = load_games(&options.data_dir)?;
    let seasons = split_by_season(&games)?;
    println!(
        "Read {} rows: {} from the seasons up to {LAST_FIRST_MODEL_SEASON} train the first \
         model, {} from {} to {LAST_SECOND_MODEL_SEASON} train the second model, and {} from \
         later seasons test both.\n",
        games.len(),
        seasons.first.len(),
        seasons.second.len(),
        LAST_FIRST_MODEL_SEASON + 1,
        seasons.test.len()
    );

    let (first, first_alone) = train_first(&seasons)?;
    let (initial_dense, on_column) = train_on_column(&first, &seasons)?;
    let with_first = train_with_first(&first, initial_dense, &seasons)?;

    print_scores(&TestScores {
        first_alone,
        on_column,
        with_first,
    });
    Ok(())
}

fn load_games(data_dir: &Path) -> Result<Vec<Game>, keramic::Error> {
    read_csv(data_dir.join(DATA_FILE))
}

/// Splits the rows into the seasons of the first model, of the second model, and of the test.
fn split_by_season(games: &[Game]) -> Result<Seasons, String> {
    let mut seasons = Seasons {
        first: Vec::new(),
        second: Vec::new(),
        test: Vec::new(),
    };
    for game in games {
        let part = if game.season <= LAST_FIRST_MODEL_SEASON {
            &mut seasons.first
        } else if game.season <= LAST_SECOND_MODEL_SEASON {
            &mut seasons.second
        } else {
            &mut seasons.test
        };
        part.push(game.clone());
    }
    if seasons.first.is_empty() || seasons.second.is_empty() || seasons.test.is_empty() {
        return Err(format!(
            "{DATA_FILE} has {} rows from the seasons up to {LAST_FIRST_MODEL_SEASON}, {} from \
             {} to {LAST_SECOND_MODEL_SEASON} and {} from later seasons, but every part needs rows",
            seasons.first.len(),
            seasons.second.len(),
            LAST_FIRST_MODEL_SEASON + 1,
            seasons.test.len()
        ));
    }
    Ok(seasons)
}

/// Trains the first model on the first seasons. Returns it with its test mean absolute error.
fn train_first(seasons: &Seasons) -> Result<(FirstModel, f64), keramic::Error> {
    let schedule = &FIRST_SCHEDULE;
    println!(
        "== first model: [seed_diff, pred] -> Dense(8, relu) -> Dense(1), mean absolute error, \
         seasons up to {LAST_FIRST_MODEL_SEASON} =="
    );
    println!("{}", FirstModel::summary());

    let train_data: Dataset<FirstModelInput, FirstModelOutput> =
        seasons.first.iter().map(first_pair).collect();
    let test_data: Dataset<FirstModelInput, FirstModelOutput> =
        seasons.test.iter().map(first_pair).collect();
    let mut first = FirstModel::new(&mut StdRng::seed_from_u64(schedule.seed));
    let mut training = first.compile(MeanAbsoluteError, Adam::new(schedule.learning_rate));
    let history = training.fit(&train_data, &schedule.fit_options())?;
    print_training(&history, schedule);
    // With a single output, the total loss is that output's mean absolute error.
    let test_mae = training.evaluate(&test_data)?.loss;
    println!();
    Ok((first, test_mae))
}

fn first_pair(game: &Game) -> (FirstModelInput, FirstModelOutput) {
    let input = FirstModelInput {
        seed_diff: [game.seed_diff],
        pred: [game.pred],
    };
    let target = FirstModelOutput {
        score_diff: [game.score_diff],
    };
    (input, target)
}

/// Trains the second model on the first model's stored predictions for the second seasons.
/// Returns the second model's initial Dense layer, so that the frozen version can start from
/// the same weights, and the test mean absolute error.
fn train_on_column(
    first: &FirstModel,
    seasons: &Seasons,
) -> Result<(SecondOnColumnDense, f64), keramic::Error> {
    let schedule = &SECOND_SCHEDULE;
    println!(
        "== second model on a stored column: [seed_diff, first model's prediction] -> Dense(1), \
         seasons {} to {LAST_SECOND_MODEL_SEASON} ==",
        LAST_FIRST_MODEL_SEASON + 1
    );
    println!("{}", SecondOnColumn::summary());

    let train_data = column_data(first, &seasons.second)?;
    let test_data = column_data(first, &seasons.test)?;
    let mut second = SecondOnColumn::new(&mut StdRng::seed_from_u64(schedule.seed));
    let initial_dense = second.score_diff.clone();
    let mut training = second.compile(MeanAbsoluteError, Adam::new(schedule.learning_rate));
    let history = training.fit(&train_data, &schedule.fit_options())?;
    print_training(&history, schedule);
    let test_mae = training.evaluate(&test_data)?.loss;
    println!();
    Ok((initial_dense, test_mae))
}

/// The type of the Dense layer that both versions of the second model end with.
type SecondOnColumnDense = keramic::layers::Dense<f32, 2, 1>;

/// Pairs each game with the first model's prediction for it, as the input column `first_pred`.
fn column_data(
    first: &FirstModel,
    games: &[Game],
) -> Result<Dataset<SecondOnColumnInput, SecondOnColumnOutput>, keramic::Error> {
    let first_inputs: Vec<FirstModelInput> = games.iter().map(|game| first_pair(game).0).collect();
    let predictions = first.predict(&first_inputs)?;
    let pairs = games.iter().zip(predictions).map(|(game, prediction)| {
        let input = SecondOnColumnInput {
            seed_diff: [game.seed_diff],
            first_pred: prediction.score_diff,
        };
        let target = SecondOnColumnOutput {
            score_diff: [game.score_diff],
        };
        (input, target)
    });
    Ok(pairs.collect())
}

/// Trains the second model with a frozen copy of the trained first model inside, starting from
/// `initial_dense`. Returns the test mean absolute error.
fn train_with_first(
    first: &FirstModel,
    initial_dense: SecondOnColumnDense,
    seasons: &Seasons,
) -> Result<f64, Box<dyn Error>> {
    let schedule = &SECOND_SCHEDULE;
    println!(
        "== second model with the first model frozen inside: [seed_diff, first(seed_diff, pred)] \
         -> Dense(1), seasons {} to {LAST_SECOND_MODEL_SEASON} ==",
        LAST_FIRST_MODEL_SEASON + 1
    );
    println!("{}", SecondWithFirst::summary());

    let mut second = SecondWithFirst::new(&mut StdRng::seed_from_u64(schedule.seed));
    // The copy brings the trained model's trainable flags along, so it is frozen again after
    // the assignment.
    second.first = first.clone();
    second.first.set_trainable(false);
    second.score_diff = initial_dense;

    let train_data: Dataset<SecondWithFirstInput, SecondWithFirstOutput> =
        seasons.second.iter().map(with_first_pair).collect();
    let test_data: Dataset<SecondWithFirstInput, SecondWithFirstOutput> =
        seasons.test.iter().map(with_first_pair).collect();
    let mut training = second.compile(MeanAbsoluteError, Adam::new(schedule.learning_rate));
    let history = training.fit(&train_data, &schedule.fit_options())?;
    print_training(&history, schedule);
    let test_mae = training.evaluate(&test_data)?.loss;

    if weights(&training.model().first) != weights(first) {
        return Err("the frozen first model changed during training".into());
    }
    println!("The frozen first model's weights are bit for bit those of the trained first model.");
    println!();
    Ok(test_mae)
}

fn with_first_pair(game: &Game) -> (SecondWithFirstInput, SecondWithFirstOutput) {
    let input = SecondWithFirstInput {
        seed_diff: [game.seed_diff],
        pred: [game.pred],
    };
    let target = SecondWithFirstOutput {
        score_diff: [game.score_diff],
    };
    (input, target)
}

/// Returns the bits of every weight of the model, in `visit_params` order.
fn weights<M: Network<f32>>(model: &M) -> Vec<u32> {
    let mut bits = Vec::new();
    model.visit_named_weights("", &mut |_, param| {
        bits.extend(param.value.iter().map(|value| value.to_bits()));
    });
    bits
}

fn print_training(history: &History, schedule: &Schedule) {
    println!("Trained with {}.", schedule.describe());
    if let Some(last) = history.epochs.last() {
        println!(
            "Mean absolute error on the training rows in the last epoch: {:.4}",
            last.train.loss
        );
    }
}

fn print_scores(scores: &TestScores) {
    println!("Test mean absolute error on the seasons after {LAST_SECOND_MODEL_SEASON}:");
    println!(
        "  first model alone:                     {:.4}",
        scores.first_alone
    );
    println!(
        "  second model on the stored column:     {:.4}",
        scores.on_column
    );
    println!(
        "  second model with the first frozen in: {:.4}",
        scores.with_first
    );
    if scores.on_column == scores.with_first {
        println!("The two versions of the second model reach the same test error, bit for bit.");
    } else {
        println!(
            "The two versions of the second model differ by {:.2e}.",
            (scores.on_column - scores.with_first).abs()
        );
    }
}
