// Subtract called on one value is rejected, because it takes exactly two. The caret lands
// on `Subtract`.
use keramic::prelude::*;

model! {
    struct Single {
        input a: [2];
        output gap = Subtract(a);
    }
}

fn main() {
    let _ = Single::TOTAL_PARAMS;
}
