// A `let` value that feeds no layer and no output is rejected, as an unused input is, because
// its layer would still count in the parameter totals. The caret lands on `side`.
use keramic::prelude::*;

model! {
    struct Branch {
        input x: [3];
        let side = Dense::<4>(x);
        output y = Dense::<1>(x);
    }
}

fn main() {}
