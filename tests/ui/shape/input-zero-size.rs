// An input of size 0 is rejected. The caret lands on the `0`, and the Add of `x` and the
// [3] input `y` adds no second error.
use keramic::prelude::*;

model! {
    struct Nothing {
        input x: [0];
        input y: [3];
        output sum = Add(x, y);
    }
}

fn main() {
    let _ = Nothing::TOTAL_PARAMS;
}
