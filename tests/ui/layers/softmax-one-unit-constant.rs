// A Dense layer with a softmax over a constant number of units equal to 1 is rejected by the
// compiler, which evaluates the constant. The caret lands on `Softmax`.
use keramic::prelude::*;

const CLASSES: usize = 1;

model! {
    struct Classifier {
        input x: [2];
        output class = Dense::<CLASSES, Softmax>(x);
    }
}

fn main() {
    let _ = Classifier::TOTAL_PARAMS;
}
