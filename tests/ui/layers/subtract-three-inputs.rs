// Subtract called on three values is rejected, because it takes exactly two. The caret
// lands on `Subtract`.
use keramic::prelude::*;

model! {
    struct Triple {
        input a: [2];
        input b: [2];
        input c: [2];
        output gap = Subtract(a, b, c);
    }
}

fn main() {
    let _ = Triple::TOTAL_PARAMS;
}
