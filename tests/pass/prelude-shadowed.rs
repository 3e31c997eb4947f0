// Compiles and runs models declared in a module that defines its own `Option`, `Result`,
// `Box`, `Vec`, `String` and other prelude names, and its own `core`, `std`, `keramic` and
// `model_core` modules. The expansion must name every item it uses by an absolute path,
// so these user items must not change its meaning. The models use every layer kind, option
// and input form, so that every branch of the code generator is compiled.
//
// NOTE: `Sized` is not shadowed here, because the expansion still writes `?Sized` in the
// bounds of `new` and `from_rng`.

mod shadowed {
    #![allow(dead_code)]

    use ::keramic::prelude::*;

    pub struct Option;
    pub struct Result;
    pub struct Box;
    pub struct Vec;
    pub struct String;
    pub struct Some;
    pub struct None;
    pub struct Ok;
    pub struct Err;
    pub struct Default;
    pub struct Clone;
    pub struct Copy;
    pub struct PartialEq;
    pub struct Iterator;
    pub struct IntoIterator;
    pub struct From;
    pub struct Into;
    pub struct Fn;
    pub struct FnMut;
    pub struct Drop;
    pub struct Send;
    pub struct Sync;
    pub struct ToString;
    pub struct ToOwned;
    pub struct AsRef;
    pub mod core {}
    pub mod std {}
    pub mod model_core {}
    pub mod keramic {}

    model! {
        /// Maps a team id to one learned strength.
        pub struct Strength {
            input team: Id<20>;
            let strength = Embedding::<20, 1>(team);
            output flat = Flatten(strength);
        }
    }

    model! {
        pub struct Game {
            input team_1: Id<20>;
            input team_2: Id<20>;
            input words: [Id<8>; 3];
            input home: [1];
            input grid: [3, 2];
            #[frozen]
            layer strength = Strength;
            layer shared = Dense::<2, Tanh>;
            let diff = Subtract(strength(team_1), strength(team_2));
            let embedded = Embedding::<8, 2>(words);
            let joined = Flatten(Concatenate(embedded, grid));
            let hidden = Dense::<4, Relu>(Concatenate(home, diff, joined));
            let gated = Multiply(shared(hidden), Dense::<2, Sigmoid, NoBias>(hidden));
            let mixed = Add(gated, shared(hidden));
            output score = Dense::<1>(mixed);
            output win = Dense::<1, Sigmoid>(score);
            output kind = Dense::<3, Softmax>(mixed);
        }
    }
}

use keramic::prelude::*;
use shadowed::{Game, GameInput, GameOutput};

fn main() {
    let mut rng = rand::rng();
    let mut model = Game::new(&mut rng);
    println!("{}", Game::summary());

    let data: Dataset<GameInput, GameOutput> = (0..16u32)
        .map(|i| {
            let input = GameInput { team_1: i % 20, team_2: (i * 7) % 20, words: [i % 8, 1, 2], home: [1.0], grid: [0.5; 6] };
            let output = GameOutput { score: [0.5], win: [1.0], kind: [0.0, 1.0, 0.0] };
            (input, output)
        })
        .collect();
    let mut training = model.compile((MeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy), Adam::new(0.01));
    let history = training.fit(&data, &Fit::epochs(1).batch_size(4).verbose(false)).unwrap();
    assert_eq!(history.epochs.len(), 1);
}
