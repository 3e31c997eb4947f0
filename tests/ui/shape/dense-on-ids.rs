// Dense called on an id input is rejected, because it takes floats. The error names the
// Dense layer `score` and the shape `Id<10>`, suggests an Embedding, and the caret lands on
// the argument `team`.
use keramic::prelude::*;

model! {
    struct Raw {
        input team: Id<10>;
        output score = Dense::<1>(team);
    }
}

fn main() {
    let _ = Raw::TOTAL_PARAMS;
}
