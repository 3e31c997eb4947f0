// Add of a [3] and a [4] value is rejected. The error names Add and both shapes, and the
// caret lands on `Add`.
use keramic::prelude::*;

model! {
    struct Sum {
        input a: [3];
        input b: [4];
        output total = Add(a, b);
    }
}

fn main() {
    let _ = Sum::TOTAL_PARAMS;
}
