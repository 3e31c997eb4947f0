// A Dense layer whose number of units is a constant equal to 0. The compiler evaluates the
// constant, and the error names the layer's setting and the constant, at the constant.
use keramic::prelude::*;

const UNITS: usize = 0;

model! {
    struct Empty {
        input x: [3];
        output y = Dense::<UNITS>(x);
    }
}

fn main() {
    let _ = Empty::TOTAL_PARAMS;
}
