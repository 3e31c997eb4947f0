// A statement that starts with neither `input`, `layer`, `let` nor `output` is rejected,
// and the message lists the four keywords. The caret lands on `inptu`.
use keramic::prelude::*;

model! {
    struct Model {
        inptu x: [3];
        output score = Dense::<1>(x);
    }
}

fn main() {}
