// A model without any `output` statement is rejected. The caret lands on the model's name
// `Headless`.
use keramic::prelude::*;

model! {
    struct Headless {
        input x: [3];
        let hidden = Dense::<4>(x);
    }
}

fn main() {
    let _ = Headless::TOTAL_PARAMS;
}
