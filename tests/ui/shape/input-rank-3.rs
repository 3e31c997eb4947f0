// An input of rank 3 is rejected. The caret lands on the brackets of `[2, 3, 4]`, and the
// later use of `x` adds no second error.
use keramic::prelude::*;

model! {
    struct Volume {
        input x: [2, 3, 4];
        output score = Dense::<1>(Flatten(x));
    }
}

fn main() {
    let _ = Volume::TOTAL_PARAMS;
}
