// Subtract of a [2] value and a Dense output of [5] is rejected. The error names Subtract,
// the input `x` and the output of the Dense layer with both shapes, and the caret lands on
// `Subtract`.
use keramic::prelude::*;

model! {
    struct Difference {
        input x: [2];
        input y: [3];
        output gap = Subtract(x, Dense::<5>(y));
    }
}

fn main() {
    let _ = Difference::TOTAL_PARAMS;
}
