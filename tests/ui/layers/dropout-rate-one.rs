// A Dropout rate of 1.0 is rejected, because it would drop every value and the kept values
// would be scaled by 1 / (1 − 1). The caret lands on `1.0`.
use keramic::prelude::*;

model! {
    struct DropAll {
        input x: [3];
        let hidden = Dense::<4, Relu>(x);
        output y = Dense::<1>(Dropout::<1.0>(hidden));
    }
}

fn main() {
    let _ = DropAll::TOTAL_PARAMS;
}
