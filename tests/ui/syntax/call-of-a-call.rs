// A layer call whose result is called again, as in `Dense::<1>(x)(z)`, is rejected with a
// message about calling each layer once, not with the Keras-style spelling hint.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [2];
        input z: [2];
        output y = Dense::<1>(x)(z);
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
