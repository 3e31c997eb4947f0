// A model with two outputs is compiled with a tuple of three losses. The error gives both
// counts, and the caret lands on the tuple.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output win = Dense::<1, Sigmoid>(score_diff);
    }
}

fn main() {
    let mut model = TwoHeads::new(&mut rand::rng());
    let losses = (MeanAbsoluteError, BinaryCrossentropy, MeanSquaredError);
    let _training = model.compile(losses, Adam::new(0.01));
}
