// A model with inputs but no output is one error, that the model has no output. Its inputs
// are not also reported as unused.
use keramic::prelude::*;

model! {
    struct Empty {
        input x: [3];
        input team: Id<4>;
    }
}

fn main() {
    let _ = Empty::TOTAL_PARAMS;
}
