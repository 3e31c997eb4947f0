// `NoBias` given twice on one Dense layer is rejected at the second one.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [2];
        output y = Dense::<1, NoBias, NoBias>(x);
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
