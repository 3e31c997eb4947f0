// A negative Dropout rate is rejected. Rust needs braces around a negative generic argument.
// The caret lands on the minus sign of `-0.1`, the first token of the rate.
use keramic::prelude::*;

model! {
    struct DropNegative {
        input x: [3];
        let hidden = Dense::<4, Relu>(x);
        output y = Dense::<1>(Dropout::<{ -0.1 }>(hidden));
    }
}

fn main() {
    let _ = DropNegative::TOTAL_PARAMS;
}
