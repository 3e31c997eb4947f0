// Categorical cross-entropy is given for an output of width 1, whose softmax is always 1, so
// nothing would train. The error names the output and the model, and the caret lands on the
// loss tuple.
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
    let _training = model.compile((MeanAbsoluteError, CategoricalCrossentropy), Adam::new(0.01));
}
