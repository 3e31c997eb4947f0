// An output bound to the [3, 2] output of an Embedding is rejected, because outputs are
// vectors. The error names the output `embedded` and its shape, suggests Flatten, and the
// caret lands on the output's name.
use keramic::prelude::*;

model! {
    struct Matrix {
        input words: [Id<5>; 3];
        output embedded = Embedding::<5, 2>(words);
    }
}

fn main() {
    let _ = Matrix::TOTAL_PARAMS;
}
