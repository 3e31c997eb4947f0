//! Stacking: the prediction of one model becomes an input of a second model.
//!
//! The first model learns team strengths from many regular-season games. Its prediction for
//! each tournament game is then stacked with the tournament seed difference, which it never
//! saw, and a second, small model learns how to combine the two. The data is synthetic; the
//! `stacking` and `basketball` examples do the same on real NCAA games.
//!
//! Run with `cargo run --release --example 06_stacking`.

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The number of teams; ids run from 0 to `TEAMS - 1`.
const TEAMS: usize = 64;

model! {
    /// The first stage: predicts a regular-season score difference from the two team ids.
    pub struct Season {
        input team_1: Id<TEAMS>;
        input team_2: Id<TEAMS>;
        layer strength = Embedding::<TEAMS, 1>;
        let diff = Flatten(Subtract(strength(team_1), strength(team_2)));
        output score_diff = Dense::<1>(diff);
    }
}

model! {
    /// The second stage: combines the first stage's prediction with the seed difference.
    pub struct Tournament {
        input pred: [1];
        input seed_diff: [1];
        output score_diff = Dense::<1>(Concatenate(pred, seed_diff));
    }
}

/// The number of synthetic regular-season and tournament games.
const SEASON_GAMES: usize = 20_000;
const TOURNAMENT_GAMES: usize = 4_000;

/// The share of tournament games held out for the test set.
const TEST_FRACTION: f64 = 0.25;

/// The seed of the data, the split, the initial weights and the shuffling.
const SEED: u64 = 6;

/// A synthetic world: the true strength of each team, and its form at tournament time, which
/// the regular season does not show but the tournament seed partly does.
struct World {
    strength: Vec<f32>,
    form: Vec<f32>,
}

impl World {
    fn new(rng: &mut StdRng) -> Self {
        World {
            strength: (0..TEAMS).map(|_| rng.random_range(-10.0..10.0)).collect(),
            form: (0..TEAMS).map(|_| rng.random_range(-4.0..4.0)).collect(),
        }
    }

    /// Returns two different random teams.
    fn pair(rng: &mut StdRng) -> (usize, usize) {
        let team_1 = rng.random_range(0..TEAMS);
        (team_1, (team_1 + rng.random_range(1..TEAMS)) % TEAMS)
    }
}

fn main() -> Result<(), Error> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let world = World::new(&mut rng);

    let season: Dataset<SeasonInput, SeasonOutput> = (0..SEASON_GAMES)
        .map(|_| {
            let (team_1, team_2) = World::pair(&mut rng);
            let score_diff = world.strength[team_1] - world.strength[team_2] + rng.random_range(-8.0..8.0);
            (SeasonInput { team_1: team_1 as u32, team_2: team_2 as u32 }, SeasonOutput { score_diff: [score_diff] })
        })
        .collect();
    let mut season_model = Season::new(&mut rng);
    println!("Stage 1: {} regular-season games", season.len());
    season_model.compile(MeanAbsoluteError, Adam::new(0.05)).fit(&season, &Fit::epochs(10).seed(SEED))?;

    // The tournament games, each with the first stage's prediction as an input.
    let mut games = Vec::with_capacity(TOURNAMENT_GAMES);
    for _ in 0..TOURNAMENT_GAMES {
        let (team_1, team_2) = World::pair(&mut rng);
        let current = |team: usize| world.strength[team] + world.form[team];
        // The seed difference is a noisy view of the current strengths, in seed units.
        let seed_diff = (current(team_1) - current(team_2)) / 4.0 + rng.random_range(-0.5..0.5);
        let score_diff = current(team_1) - current(team_2) + rng.random_range(-8.0..8.0);
        let season_input = SeasonInput { team_1: team_1 as u32, team_2: team_2 as u32 };
        let pred = season_model.predict_one(&season_input)?.score_diff;
        games.push((TournamentInput { pred, seed_diff: [seed_diff] }, TournamentOutput { score_diff: [score_diff] }));
    }
    let tournament: Dataset<TournamentInput, TournamentOutput> = games.into_iter().collect();
    let (train, test) = tournament.split_shuffled(TEST_FRACTION, SEED)?;

    println!();
    println!("Stage 2: {} tournament games", train.len());
    let mut stacked = Tournament::new(&mut rng);
    let mut training = stacked.compile(MeanAbsoluteError, Adam::new(0.05));
    training.fit(&train, &Fit::epochs(20).validation_split(0.1).seed(SEED))?;
    let scores = training.evaluate(&test)?;

    let first_stage_alone = test
        .inputs()
        .iter()
        .zip(test.targets())
        .map(|(input, target)| f64::from((input.pred[0] - target.score_diff[0]).abs()))
        .sum::<f64>()
        / test.len() as f64;
    println!();
    println!("Test MAE of the stacked model: {:.2} points (the first stage alone: {first_stage_alone:.2})", scores.loss);
    Ok(())
}
