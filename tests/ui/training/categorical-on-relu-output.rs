// Categorical cross-entropy is given for an output that ends in a ReLU instead of a softmax.
// The error names the output and the model, and points to the from-logits form.
use keramic::prelude::*;

model! {
    pub struct Species {
        input measurements: [4];
        output species = Dense::<3, Relu>(measurements);
    }
}

fn main() {
    let mut model = Species::new(&mut rand::rng());
    let _training = model.compile(CategoricalCrossentropy, Adam::new(0.01));
}
