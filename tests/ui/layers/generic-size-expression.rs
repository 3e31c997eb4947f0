// A Dense size written as an expression is rejected, because sizes must be literals or
// constants. The caret lands on the braced expression.
use keramic::prelude::*;

model! {
    struct Computed {
        input x: [3];
        output score = Dense::<{ 2 + 2 }>(x);
    }
}

fn main() {
    let _ = Computed::TOTAL_PARAMS;
}
