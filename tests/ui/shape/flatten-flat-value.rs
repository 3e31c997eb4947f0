// Flatten of the [3] input is rejected, because the value is already a vector. The error
// names Flatten and the shape [3], and the caret lands on `Flatten`.
use keramic::prelude::*;

model! {
    struct Flat {
        input x: [3];
        output score = Dense::<1>(Flatten(x));
    }
}

fn main() {
    let _ = Flat::TOTAL_PARAMS;
}
