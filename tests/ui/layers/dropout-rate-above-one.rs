// A Dropout rate above 1 is rejected, because a rate is the share of values set to 0. The
// caret lands on `1.5`.
use keramic::prelude::*;

model! {
    struct DropTooMuch {
        input x: [3];
        let hidden = Dense::<4, Relu>(x);
        output y = Dense::<1>(Dropout::<1.5>(hidden));
    }
}

fn main() {
    let _ = DropTooMuch::TOTAL_PARAMS;
}
