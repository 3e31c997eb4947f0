// An input that no layer call or output uses is rejected. The caret lands on the input's
// name `extra`.
use keramic::prelude::*;

model! {
    struct Unused {
        input x: [3];
        input extra: [2];
        output score = Dense::<1>(x);
    }
}

fn main() {
    let _ = Unused::TOTAL_PARAMS;
}
