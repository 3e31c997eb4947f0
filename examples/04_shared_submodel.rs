//! A shared submodel: a whole model used as one layer, called on two inputs.
//!
//! A model declared with `model!` is a layer kind of its own. Declared once with
//! `layer strength = TeamStrength;`, it rates both teams of a game with the same weights, so
//! the model learns one strength per team from synthetic game results. This is the
//! team-strength model of the basketball example, shrunk to 100 teams.
//!
//! Run with `cargo run --release --example 04_shared_submodel`. With `-- --dot FILE`, it also
//! writes the model graph in Graphviz's DOT language to `FILE`; `dot -Tpng FILE -o model.png`
//! renders it.

use std::process::ExitCode;

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The number of teams; ids run from 0 to `TEAMS - 1`.
const TEAMS: usize = 100;

model! {
    /// Maps a team id to one learned strength.
    pub struct TeamStrength {
        input team: Id<TEAMS>;
        let strength = Embedding::<TEAMS, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// Predicts the score difference of a game from the two teams' strengths and home court.
    pub struct GameModel {
        input team_1: Id<TEAMS>;
        input team_2: Id<TEAMS>;
        input home: [1];
        layer strength = TeamStrength;
        let diff = Subtract(strength(team_1), strength(team_2));
        output score_diff = Dense::<1>(Concatenate(home, diff));
    }
}

// The shared submodel's weights count once: one strength per team, then 2 + 1 for Dense.
const _: () = assert!(GameModel::TRAINABLE_PARAMS == TEAMS + 3);

/// The number of synthetic games.
const GAMES: usize = 20_000;

/// The share of games held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The points that playing at home adds, and the spread of the true strengths, in points.
const HOME_ADVANTAGE: f32 = 3.0;
const STRENGTH_SPREAD: f32 = 10.0;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 4;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dot_path = parse_dot_path()?;
    println!("{}", GameModel::summary());
    if let Some(path) = &dot_path {
        std::fs::write(path, GameModel::summary().to_dot()).map_err(|error| format!("cannot write `{path}`: {error}"))?;
        println!("Wrote the model graph to {path}");
    }

    let mut rng = StdRng::seed_from_u64(SEED);
    let strengths: Vec<f32> = (0..TEAMS).map(|_| rng.random_range(-STRENGTH_SPREAD..STRENGTH_SPREAD)).collect();
    let data: Dataset<GameModelInput, GameModelOutput> = (0..GAMES)
        .map(|_| {
            let team_1 = rng.random_range(0..TEAMS);
            let team_2 = (team_1 + rng.random_range(1..TEAMS)) % TEAMS;
            let home = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
            let luck = rng.random_range(-8.0..8.0);
            let score_diff = strengths[team_1] - strengths[team_2] + HOME_ADVANTAGE * home + luck;
            let input = GameModelInput { team_1: team_1 as u32, team_2: team_2 as u32, home: [home] };
            (input, GameModelOutput { score_diff: [score_diff] })
        })
        .collect();
    let (train, test) = data.split_shuffled(TEST_FRACTION, SEED)?;

    let mut model = GameModel::new(&mut rng);
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.05));
    training.fit(&train, &Fit::epochs(20).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    let baseline = test.targets().iter().map(|target| f64::from(target.score_diff[0].abs())).sum::<f64>() / test.len() as f64;
    println!();
    println!("Test MAE: {:.2} points (predicting 0: {baseline:.2}; the luck alone gives about 4.00)", scores.loss);
    Ok(())
}

/// Reads the optional `--dot FILE` argument.
fn parse_dot_path() -> Result<Option<String>, String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None => Ok(None),
        Some("--dot") => match args.next() {
            Some(path) if args.next().is_none() => Ok(Some(path)),
            _ => Err("usage: 04_shared_submodel [--dot FILE]".to_owned()),
        },
        Some(other) => Err(format!("unknown argument `{other}`; usage: 04_shared_submodel [--dot FILE]")),
    }
}
