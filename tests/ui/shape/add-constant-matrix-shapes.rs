// Add of a [L, 2] and a [4, 2] value, where the constant L is 3. Only the compiler can compare
// L with 4, and the error prints both shapes with both of their dimensions.
use keramic::prelude::*;

const L: usize = 3;

model! {
    struct Sum {
        input a: [L, 2];
        input b: [4, 2];
        output total = Flatten(Add(a, b));
    }
}

fn main() {
    let _ = Sum::TOTAL_PARAMS;
}
