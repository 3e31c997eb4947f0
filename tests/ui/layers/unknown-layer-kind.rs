// A misspelled layer kind is rejected with a suggestion of the closest kind. The caret
// lands on `Dens`, and the input `x` is not also reported as unused.
use keramic::prelude::*;

model! {
    struct Misspelled {
        input x: [3];
        output score = Dens::<1>(x);
    }
}

fn main() {
    let _ = Misspelled::TOTAL_PARAMS;
}
