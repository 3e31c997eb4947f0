// Two `let` statements that define the same name are rejected. The caret lands on the
// second `hidden`.
use keramic::prelude::*;

model! {
    struct Twice {
        input x: [3];
        let hidden = Dense::<4, Relu>(x);
        let hidden = Dense::<2, Relu>(hidden);
        output score = Dense::<1>(hidden);
    }
}

fn main() {
    let _ = Twice::TOTAL_PARAMS;
}
