// A Dense layer with a softmax over one unit is rejected, because its output is always 1 and
// it cannot learn. The caret lands on `Softmax`, and the message suggests a sigmoid.
use keramic::prelude::*;

model! {
    struct Win {
        input x: [2];
        output y = Dense::<1, Softmax>(x);
    }
}

fn main() {
    let _ = Win::TOTAL_PARAMS;
}
