// A wrong loss count is followed by `fit` and `evaluate` on the result of `compile`. The
// training methods need no count check of their own, so the mistake gives one error, at the
// loss, and none at the calls after it.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output win = Dense::<1, Sigmoid>(score_diff);
    }
}

fn main() {
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = Dataset::default();
    let mut model = TwoHeads::new(&mut rand::rng());
    let mut training = model.compile(MeanAbsoluteError, Adam::new(0.01));
    let _ = training.fit(&data, &Fit::epochs(1));
    let _ = training.evaluate(&data);
}
