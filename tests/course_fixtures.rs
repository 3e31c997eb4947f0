//! Parity with the fitted models of the DataCamp course "Advanced Deep Learning with Keras".
//!
//! Each test declares one of the course's models with `model!`, loads the course's fitted
//! weights and evaluates the model on the NCAA tournament games of
//! `games_season_enriched.csv`, split by season as the course does (training up to 2010,
//! testing after 2010). The metrics and the predictions for the first test rows must match
//! what float64 numpy computed from the same weights.
//!
//! The weights and the reference metrics are read from `../shared/fixtures/keras`, the games
//! from `../shared/data/basketball`, both relative to the repository. Where either is
//! missing, every test prints why it is skipped and passes.

use std::path::PathBuf;

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;
use serde_json::Value;

/// Tolerance of the metrics and predictions, relative to the reference value: keramic
/// computes in f32, the reference in float64, and f32 rounding of the inputs and weights
/// alone is about 1e-7 relative.
const RTOL: f64 = 1e-4;

/// The last season of the training split. Later seasons are the test split.
const LAST_TRAINING_SEASON: u32 = 2010;

/// Returns the folder beside the repository that contains the fixtures and the data.
fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Reads a course fixture, or prints why the test is skipped and returns `None`.
fn load_fixture(name: &str) -> Option<Value> {
    let path = shared_dir().join("fixtures/keras").join(name);
    if !path.exists() {
        println!(
            "skipped: course fixture {} not found; the fixtures are only in a checkout with the shared folder beside the repository",
            path.display()
        );
        return None;
    }
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", path.display())))
}

/// One row of `games_season_enriched.csv`: one tournament game seen from `team_1`.
#[derive(Clone, Debug, Deserialize)]
struct Game {
    season: u32,
    team_1: u32,
    team_2: u32,
    home: f64,
    seed_diff: f64,
    score_diff: f64,
    score_1: f64,
    score_2: f64,
    won: f64,
    /// The course's regular-season prediction of the score difference, kept in f64 so that
    /// it compares exactly with the decimal in the fixture.
    pred: f64,
}

/// Reads every game in file order, or prints why the test is skipped and returns `None`.
fn load_games() -> Option<Vec<Game>> {
    let path = shared_dir().join("data/basketball/games_season_enriched.csv");
    if !path.exists() {
        println!(
            "skipped: {} not found; the basketball data is only in a checkout with the shared folder beside the repository",
            path.display()
        );
        return None;
    }
    Some(read_csv(&path).unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display())))
}

/// The games of the training seasons and of the test seasons, each in file order.
struct Split {
    train: Vec<Game>,
    test: Vec<Game>,
}

/// Splits the games by season and checks the row counts against the fixture's `split`.
fn split_by_season(games: &[Game], fixture: &Value) -> Split {
    let (train, test): (Vec<Game>, Vec<Game>) =
        games.iter().cloned().partition(|game| game.season <= LAST_TRAINING_SEASON);
    let split = &fixture["split"];
    assert_eq!(split["train"], "season <= 2010", "training split of the fixture");
    assert_eq!(split["train_rows"], train.len(), "rows in the training seasons");
    assert_eq!(split["test_rows"], test.len(), "rows in the test seasons");
    Split { train, test }
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("expected a number, found {value}"))
}

/// Copies the fixture's `weights` into the model. Keramic's path `score_diff.kernel` is Keras's
/// `score_diff/kernel`. Every fixture weight must be used once, with the same shape.
fn load_weights<M: Network<f32>>(model: &mut M, fixture: &Value) {
    let weights = fixture["weights"].as_array().expect("weights is a list");
    let mut loaded = Vec::new();
    model.visit_named_params("", &mut |path, param| {
        let keras_name = path.replace('.', "/");
        let keras = weights
            .iter()
            .find(|weight| weight["name"] == keras_name.as_str())
            .unwrap_or_else(|| panic!("the fixture has no weight {keras_name} for keramic's {path}"));
        let keras_shape: Vec<usize> = keras["shape"]
            .as_array()
            .expect("shape is a list")
            .iter()
            .map(|dimension| dimension.as_u64().expect("a dimension is an integer") as usize)
            .collect();
        assert_eq!(param.shape.dims(), keras_shape.as_slice(), "shape of {keras_name}");
        let values = keras["values"].as_array().expect("values is a list");
        assert_eq!(values.len(), param.value.len(), "number of values of {keras_name}");
        for (weight, value) in param.value.iter_mut().zip(values) {
            *weight = number(value) as f32;
        }
        loaded.push(keras_name);
    });
    assert_eq!(loaded.len(), weights.len(), "keramic loaded {loaded:?}, but the fixture has {} weights", weights.len());
}

/// Returns `|actual − expected| / |expected|`, asserting that it is at most [`RTOL`].
fn relative_error(description: &str, actual: f64, expected: f64) -> f64 {
    assert_ne!(expected, 0.0, "{description}: a relative error needs a nonzero reference");
    let error = (actual - expected).abs() / expected.abs();
    assert!(error <= RTOL, "{description}: keramic {actual}, reference {expected} (relative error {error:.2e})");
    error
}

/// Returns `|actual − expected| / max(|expected|, 1)`, asserting that it is at most [`RTOL`].
/// The floor of 1 keeps a prediction close to 0 from failing on f32 rounding alone.
fn prediction_error(description: &str, actual: f64, expected: f64) -> f64 {
    let error = (actual - expected).abs() / expected.abs().max(1.0);
    assert!(error <= RTOL, "{description}: keramic {actual}, reference {expected} (relative error {error:.2e})");
    error
}

/// Returns the fixture's `first_test_rows` with the CSV row each one names, after checking
/// that the row is the first of the test split at that position and has the same columns.
fn first_test_rows<'a>(fixture: &'a Value, games: &'a [Game], split: &Split) -> Vec<(&'a Value, &'a Game)> {
    let rows = fixture["first_test_rows"].as_array().expect("first_test_rows is a list");
    assert!(!rows.is_empty(), "the fixture lists no test rows");
    rows.iter()
        .enumerate()
        .map(|(position, row)| {
            let index = row["row_index"].as_u64().expect("row_index is an integer") as usize;
            let game = games.get(index).unwrap_or_else(|| panic!("row {index} is past the end of the CSV"));
            let expected = &row["values"];
            assert_eq!(expected["season"], game.season, "season of row {index}");
            assert_eq!(expected["team_1"], game.team_1, "team_1 of row {index}");
            assert_eq!(expected["team_2"], game.team_2, "team_2 of row {index}");
            let columns = [
                ("home", game.home),
                ("seed_diff", game.seed_diff),
                ("score_diff", game.score_diff),
                ("score_1", game.score_1),
                ("score_2", game.score_2),
                ("won", game.won),
                ("pred", game.pred),
            ];
            for (column, value) in columns {
                assert_eq!(number(&expected[column]), value, "{column} of row {index}");
            }
            let test_game = &split.test[position];
            assert_eq!(
                (test_game.season, test_game.team_1, test_game.team_2),
                (game.season, game.team_1, game.team_2),
                "row {index} is test row {position}"
            );
            (row, game)
        })
        .collect()
}

model! {
    /// The course's two-output model: the score difference from `[seed_diff, pred]`, then the
    /// win probability from the predicted score difference.
    struct CourseTwoHeads {
        input x: [2];
        output score_diff = Dense::<1, NoBias>(x);
        output win = Dense::<1, Sigmoid, NoBias>(score_diff);
    }
}

model! {
    /// The course's stacked model: the score difference from `[home, seed_diff, pred]`.
    struct CourseStacked {
        input x: [3];
        output score_diff = Dense::<1>(x);
    }
}

const _: () = assert!(CourseTwoHeads::TOTAL_PARAMS == 3);
const _: () = assert!(CourseStacked::TOTAL_PARAMS == 4);

fn two_heads_pair(game: &Game) -> (CourseTwoHeadsInput, CourseTwoHeadsOutput) {
    let input = CourseTwoHeadsInput { x: [game.seed_diff as f32, game.pred as f32] };
    let target = CourseTwoHeadsOutput { score_diff: [game.score_diff as f32], win: [game.won as f32] };
    (input, target)
}

fn stacked_pair(game: &Game) -> (CourseStackedInput, CourseStackedOutput) {
    let input = CourseStackedInput { x: [game.home as f32, game.seed_diff as f32, game.pred as f32] };
    let target = CourseStackedOutput { score_diff: [game.score_diff as f32] };
    (input, target)
}

/// Builds the two-output model with the course's weights, or returns `None` when skipped.
fn two_heads_case() -> Option<(Value, Vec<Game>, CourseTwoHeads)> {
    let fixture = load_fixture("course_two_heads.json")?;
    let games = load_games()?;
    let mut model = CourseTwoHeads::new(&mut StdRng::seed_from_u64(0));
    load_weights(&mut model, &fixture);
    Some((fixture, games, model))
}

/// Builds the stacked model with the course's weights, or returns `None` when skipped.
fn stacked_case() -> Option<(Value, Vec<Game>, CourseStacked)> {
    let fixture = load_fixture("course_stacked.json")?;
    let games = load_games()?;
    let mut model = CourseStacked::new(&mut StdRng::seed_from_u64(0));
    load_weights(&mut model, &fixture);
    Some((fixture, games, model))
}

#[test]
fn two_heads_course_metrics() {
    let Some((fixture, games, mut model)) = two_heads_case() else { return };
    let split = split_by_season(&games, &fixture);
    // The optimizer is never used: evaluate only runs the forward pass and the losses.
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.001));

    let mut largest: f64 = 0.0;
    for (part, rows) in [("test", &split.test), ("train", &split.train)] {
        let data: Dataset<CourseTwoHeadsInput, CourseTwoHeadsOutput> = rows.iter().map(two_heads_pair).collect();
        let evaluation = training.evaluate(&data).expect("the course data is valid");
        let expected = &fixture[part];
        assert_eq!(expected["rows"], data.len(), "{part} rows");

        let score = evaluation.output("score_diff").expect("an output named score_diff");
        let win = evaluation.output("win").expect("an output named win");
        let accuracy = win.accuracy.expect("binary cross-entropy reports accuracy");
        let errors = [
            relative_error(&format!("{part} score_diff MAE"), score.loss, number(&expected["score_diff_mae"])),
            relative_error(
                &format!("{part} win binary cross-entropy"),
                win.loss,
                number(&expected["win_binary_crossentropy"]),
            ),
            relative_error(&format!("{part} win accuracy"), accuracy, number(&expected["win_accuracy"])),
            relative_error(&format!("{part} total loss"), evaluation.loss, number(&expected["total_loss"])),
        ];

        // An accuracy is a count of rows, so the counts must agree exactly.
        let rows = data.len() as f64;
        assert_eq!(
            (accuracy * rows).round(),
            (number(&expected["win_accuracy"]) * rows).round(),
            "{part} rows where the win prediction is right"
        );

        let part_largest = errors.into_iter().fold(0.0, f64::max);
        println!("course_two_heads {part}: largest relative error of the metrics {part_largest:.2e}");
        largest = largest.max(part_largest);
    }
    println!("course_two_heads: largest relative error of all metrics {largest:.2e}");
}

#[test]
fn two_heads_course_predictions() {
    let Some((fixture, games, model)) = two_heads_case() else { return };
    let split = split_by_season(&games, &fixture);

    let mut largest: f64 = 0.0;
    for (row, game) in first_test_rows(&fixture, &games, &split) {
        let index = &row["row_index"];
        let (input, _) = two_heads_pair(game);
        let prediction = model.predict_one(&input).expect("the course data is valid");
        largest = largest.max(prediction_error(
            &format!("score_diff prediction of row {index}"),
            f64::from(prediction.score_diff[0]),
            number(&row["score_diff_prediction"]),
        ));
        largest = largest.max(prediction_error(
            &format!("win probability of row {index}"),
            f64::from(prediction.win[0]),
            number(&row["win_probability"]),
        ));
    }
    println!("course_two_heads: largest relative error of the first test rows' predictions {largest:.2e}");
}

#[test]
fn stacked_course_metrics() {
    let Some((fixture, games, mut model)) = stacked_case() else { return };
    let split = split_by_season(&games, &fixture);
    // The optimizer is never used: evaluate only runs the forward pass and the loss.
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.001));

    let mut largest: f64 = 0.0;
    for (part, rows) in [("test", &split.test), ("train", &split.train)] {
        let data: Dataset<CourseStackedInput, CourseStackedOutput> = rows.iter().map(stacked_pair).collect();
        let evaluation = training.evaluate(&data).expect("the course data is valid");
        let expected = &fixture[part];
        assert_eq!(expected["rows"], data.len(), "{part} rows");

        let error =
            relative_error(&format!("{part} score_diff MAE"), evaluation.loss, number(&expected["score_diff_mae"]));
        println!("course_stacked {part}: relative error of the MAE {error:.2e}");
        largest = largest.max(error);
    }
    println!("course_stacked: largest relative error of all metrics {largest:.2e}");
}

#[test]
fn stacked_course_predictions() {
    let Some((fixture, games, model)) = stacked_case() else { return };
    let split = split_by_season(&games, &fixture);

    let mut largest: f64 = 0.0;
    for (row, game) in first_test_rows(&fixture, &games, &split) {
        let (input, _) = stacked_pair(game);
        let prediction = model.predict_one(&input).expect("the course data is valid");
        largest = largest.max(prediction_error(
            &format!("score_diff prediction of row {}", row["row_index"]),
            f64::from(prediction.score_diff[0]),
            number(&row["score_diff_prediction"]),
        ));
    }
    println!("course_stacked: largest relative error of the first test rows' predictions {largest:.2e}");
}
