// Weighted categorical cross-entropy from logits is given for an output whose width is a
// constant equal to 1. The compiler evaluates the constant, and the error is the same as for
// a literal width.
use keramic::prelude::*;

const CLASSES: usize = 1;

model! {
    pub struct Classifier {
        input features: [4];
        output class = Dense::<CLASSES>(features);
    }
}

fn main() {
    let mut model = Classifier::new(&mut rand::rng());
    let _training = model.compile(CategoricalCrossentropy::from_logits().weighted(2.0), Adam::new(0.01));
}
