// Two `layer` declarations with the same name are rejected. The caret lands on the second
// `shared`.
use keramic::prelude::*;

model! {
    struct TwoLayers {
        input x: [3];
        layer shared = Dense::<4>;
        layer shared = Dense::<2>;
        output score = shared(x);
    }
}

fn main() {
    let _ = TwoLayers::TOTAL_PARAMS;
}
