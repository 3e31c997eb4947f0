// A model with one output is compiled with a tuple of two losses. The error gives both
// counts, and the caret lands on the tuple.
use keramic::prelude::*;

model! {
    pub struct Score {
        input x: [3];
        output score = Dense::<1>(x);
    }
}

fn main() {
    let mut model = Score::new(&mut rand::rng());
    let _training = model.compile((MeanSquaredError, MeanAbsoluteError), Adam::new(0.01));
}
