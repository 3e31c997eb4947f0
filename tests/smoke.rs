use keramic::prelude::*;
use rand::SeedableRng;

model! {
    /// Maps a team id to one learned strength.
    pub struct TeamStrength {
        input team: Id<10888>;
        let strength = Embedding::<10888, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    pub struct GameModel {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        layer strength = TeamStrength;
        let diff = Subtract(strength(team_1), strength(team_2));
        output score_diff = Dense::<1>(Concatenate(home, diff));
    }
}

model! {
    pub struct TwoHeads {
        input x: [2];
        output score_diff = Dense::<1, NoBias>(x);
        output win = Dense::<1, Sigmoid, NoBias>(score_diff);
    }
}

#[test]
fn smoke() {
    const _: () = assert!(TwoHeads::TRAINABLE_PARAMS == 3);
    assert_eq!(TeamStrength::TOTAL_PARAMS, 10888);
    assert_eq!(GameModel::TOTAL_PARAMS, 10891);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut model = TwoHeads::new(&mut rng);
    println!("{}", TwoHeads::summary());
    println!("{}", GameModel::summary());
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = (0..1000).map(|i| {
        let a = (i % 17) as f32 / 17.0 - 0.5;
        let b = (i % 7) as f32 / 7.0 - 0.5;
        (TwoHeadsInput { x: [a, b] }, TwoHeadsOutput { score_diff: [a - b], win: [if a - b > 0.0 { 1.0 } else { 0.0 }] })
    }).collect();
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy.weighted(0.5)), Adam::new(0.01));
    let history = training.fit(&data, &Fit::epochs(5).batch_size(32).validation_split(0.1)).unwrap();
    assert_eq!(history.epochs.len(), 5);
    let eval = training.evaluate(&data).unwrap();
    println!("{eval:?}");
    let mut game = GameModel::new(&mut rng);
    let gdata: Dataset<GameModelInput, GameModelOutput> = (0..500u32).map(|i| {
        (GameModelInput { team_1: i % 50, team_2: (i * 7) % 50, home: [0.0] }, GameModelOutput { score_diff: [((i % 50) as f32 - ((i * 7) % 50) as f32) / 10.0] })
    }).collect();
    let mut training = game.compile(MeanAbsoluteError, Adam::new(0.01));
    training.fit(&gdata, &Fit::epochs(5)).unwrap();
}

#[test]
fn named_params_follow_instance_paths() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut game = GameModel::new(&mut rng);
    let mut names = Vec::new();
    game.visit_named_params("", &mut |name, param| names.push((name.to_owned(), param.shape.dims().to_vec())));
    assert_eq!(
        names,
        [
            ("strength.strength.embeddings".to_owned(), vec![10888, 1]),
            ("score_diff.kernel".to_owned(), vec![2, 1]),
            ("score_diff.bias".to_owned(), vec![1]),
        ]
    );
}

struct StopAfter {
    epochs: usize,
    batches_seen: usize,
}

impl keramic::train::Callback<f32, TwoHeads> for StopAfter {
    fn on_batch_end(&mut self, _progress: &keramic::train::BatchEnd) {
        self.batches_seen += 1;
    }

    fn on_epoch_end(&mut self, end: &mut keramic::train::EpochEnd<'_, f32, TwoHeads>) -> Result<(), Error> {
        if end.log.epoch == self.epochs {
            end.stop_training();
        }
        Ok(())
    }
}

#[test]
fn callback_stops_fit_early() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let mut model = TwoHeads::new(&mut rng);
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> =
        (0..100).map(|i| (TwoHeadsInput { x: [i as f32 / 100.0, 0.5] }, TwoHeadsOutput { score_diff: [0.1], win: [1.0] })).collect();
    let mut stop = StopAfter { epochs: 2, batches_seen: 0 };
    let history = model
        .compile((MeanAbsoluteError, BinaryCrossentropy), Sgd::new(0.1))
        .fit_with_callbacks(&data, &Fit::epochs(10).batch_size(25).verbose(false), &mut [&mut stop])
        .unwrap();
    assert_eq!(history.epochs.len(), 2);
    assert_eq!(stop.batches_seen, 8);
}

model! {
    /// Dropout and weight penalties in one model.
    pub struct Regularized {
        input team: Id<20>;
        input x: [3];
        let strength = Flatten(Embedding::<20, 2, L2<0.01>>(team));
        let hidden = Dropout::<0.25>(Dense::<4, Relu, KernelL1L2<0.001, 0.01>, BiasL2<0.1>>(x));
        output y = Dense::<1>(Concatenate(strength, hidden));
    }
}

#[test]
fn dropout_and_penalties_train() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let data: Dataset<RegularizedInput, RegularizedOutput> =
        (0..200u32).map(|i| (RegularizedInput { team: i % 20, x: [i as f32 / 200.0, 0.5, -0.5] }, RegularizedOutput { y: [(i % 20) as f32 / 10.0] })).collect();
    let train = |rng: &mut rand::rngs::StdRng| {
        let mut model = Regularized::new(rng);
        let history = model.compile(MeanSquaredError, Adam::new(0.01)).fit(&data, &Fit::epochs(3).batch_size(16).seed(3).verbose(false)).unwrap();
        (model.predict(&data.inputs()[..4]).unwrap(), history)
    };
    let (first, history) = train(&mut rand::rngs::StdRng::seed_from_u64(5));
    let (second, _) = train(&mut rng);
    assert_eq!(first, second, "a seeded run with dropout repeats exactly");
    assert!(history.epochs.iter().all(|epoch| epoch.train.penalty > 0.0));
}
