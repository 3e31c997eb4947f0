// Compiles categorical cross-entropy for outputs of width 2 or more whose widths the macro
// cannot see: a constant, and the output of another model. The check of the loss against
// the output width must accept them, because the compiler evaluates both to 3.

use keramic::prelude::*;

const CLASSES: usize = 3;

model! {
    pub struct Scorer {
        input features: [4];
        output scores = Dense::<CLASSES, Softmax>(features);
    }
}

model! {
    pub struct Wrapper {
        input features: [4];
        layer scorer = Scorer;
        output class = scorer(features);
    }
}

fn main() {
    let mut rng = rand::rng();
    let mut scorer = Scorer::new(&mut rng);
    let _training = scorer.compile(CategoricalCrossentropy, Adam::new(0.01));
    let mut wrapper = Wrapper::new(&mut rng);
    let _training = wrapper.compile(CategoricalCrossentropy.weighted(0.5), Adam::new(0.01));
}
