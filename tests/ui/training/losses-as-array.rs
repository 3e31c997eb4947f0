// A model with two outputs is compiled with an array of three losses. The error gives both
// counts, as for a tuple, and the caret lands on the array.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output margin = Dense::<1>(score_diff);
    }
}

fn main() {
    let mut model = TwoHeads::new(&mut rand::rng());
    let _training = model.compile([MeanAbsoluteError; 3], Adam::new(0.01));
}
