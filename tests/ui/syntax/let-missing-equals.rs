// A `let` statement without `=` is rejected. The caret lands on `Dense`, where the `=` was
// expected.
use keramic::prelude::*;

model! {
    struct Model {
        input x: [3];
        let hidden Dense::<4>(x);
        output score = Dense::<1>(hidden);
    }
}

fn main() {}
