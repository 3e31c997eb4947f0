// A Dense layer called without an argument is one error, at the call. The input `x`, which
// the call was probably meant to take, is not also reported as unused.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [3];
        output y = Dense::<1>();
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
