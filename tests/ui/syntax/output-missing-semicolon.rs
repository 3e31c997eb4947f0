// An `output` statement without its closing `;` is rejected. The caret lands on the
// closing brace of the model, where the `;` was expected.
use keramic::prelude::*;

model! {
    struct Model {
        input x: [3];
        output score = Dense::<1>(x)
    }
}

fn main() {}
