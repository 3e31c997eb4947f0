// A Dense layer with 0 units is rejected. The caret lands on the `0`.
use keramic::prelude::*;

model! {
    struct Empty {
        input x: [3];
        output score = Dense::<0>(x);
    }
}

fn main() {
    let _ = Empty::TOTAL_PARAMS;
}
