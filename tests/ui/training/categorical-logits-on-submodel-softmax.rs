// Categorical cross-entropy from logits is given for an output that ends in the softmax of
// another model. The compiler reads that model's output kind, and the error is the same as
// for a softmax in the model itself.
use keramic::prelude::*;

model! {
    pub struct Scorer {
        input features: [4];
        output scores = Dense::<3, Softmax>(features);
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
    let mut model = Wrapper::new(&mut rand::rng());
    let _training = model.compile(CategoricalCrossentropy::from_logits(), Adam::new(0.01));
}
