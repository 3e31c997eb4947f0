// An input size written as an expression is rejected, because sizes must be literals or
// constants. The caret lands on the `+`.
use keramic::prelude::*;

const FEATURES: usize = 3;

model! {
    struct Computed {
        input x: [FEATURES + 1];
        output score = Dense::<1>(x);
    }
}

fn main() {
    let _ = Computed::TOTAL_PARAMS;
}
