// A value used by a statement above the one that defines it is rejected. The error
// suggests moving the statement, and the caret lands on the early use of `hidden`.
use keramic::prelude::*;

model! {
    struct OutOfOrder {
        input x: [3];
        output score = Dense::<1>(hidden);
        let hidden = Dense::<4, Relu>(x);
    }
}

fn main() {
    let _ = OutOfOrder::TOTAL_PARAMS;
}
