// Concatenate of a [L, 2] and a [4, 2] value, where the constant L is 3. Only the compiler
// can compare L with 4, so the macro leaves an assertion that fails at `Concatenate` with the
// shapes as they are written.
use keramic::prelude::*;

const L: usize = 3;

model! {
    struct Joined {
        input a: [L, 2];
        input b: [4, 2];
        output y = Flatten(Concatenate(a, b));
    }
}

fn main() {
    let _ = Joined::TOTAL_PARAMS;
}
