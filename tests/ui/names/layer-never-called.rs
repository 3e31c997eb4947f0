// A declared layer that is never called is rejected. The caret lands on the layer's name
// `spare`.
use keramic::prelude::*;

model! {
    struct Spare {
        input x: [3];
        layer spare = Dense::<4>;
        output score = Dense::<1>(x);
    }
}

fn main() {
    let _ = Spare::TOTAL_PARAMS;
}
