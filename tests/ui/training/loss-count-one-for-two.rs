// A model with two outputs is compiled with a single loss. The error gives both counts, and
// the caret lands on the loss.
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
    let _training = model.compile(MeanAbsoluteError, Adam::new(0.01));
}
