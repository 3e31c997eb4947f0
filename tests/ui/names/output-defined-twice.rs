// Two outputs with the same name are rejected, because each output is a field of the
// generated output struct. The caret lands on the second `score`.
use keramic::prelude::*;

model! {
    struct Scores {
        input x: [3];
        output score = Dense::<1>(x);
        output score = Dense::<1, Sigmoid>(x);
    }
}

fn main() {
    let _ = Scores::TOTAL_PARAMS;
}
