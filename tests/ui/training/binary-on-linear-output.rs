// Binary cross-entropy is given for an output without a sigmoid, whose values are logits, not
// probabilities. The error names the output and the model, and points to the from-logits form.
use keramic::prelude::*;

model! {
    pub struct Win {
        input ratings: [2];
        output win = Dense::<1>(ratings);
    }
}

fn main() {
    let mut model = Win::new(&mut rand::rng());
    let _training = model.compile(BinaryCrossentropy, Adam::new(0.01));
}
