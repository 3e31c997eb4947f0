// A `layer` declaration without `=` is rejected. The caret lands on `Dense`, where the `=`
// was expected.
use keramic::prelude::*;

model! {
    struct Model {
        input x: [3];
        layer hidden Dense::<4>;
        output score = hidden(x);
    }
}

fn main() {}
