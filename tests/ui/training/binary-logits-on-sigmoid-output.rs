// Binary cross-entropy from logits is given for an output that already ends in a sigmoid, so
// the loss would apply a second sigmoid. The error names the second output of the model.
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
    let _training = model.compile((MeanAbsoluteError, BinaryCrossentropy::from_logits()), Adam::new(0.01));
}
