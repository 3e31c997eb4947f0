// A misspelled Dense activation is rejected with a suggestion and the list of options. The
// caret lands on `Sigmod`.
use keramic::prelude::*;

model! {
    struct Classifier {
        input x: [3];
        output probability = Dense::<1, Sigmod>(x);
    }
}

fn main() {
    let _ = Classifier::TOTAL_PARAMS;
}
