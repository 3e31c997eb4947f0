// A misspelled value name is rejected with a suggestion of the closest name in scope. The
// caret lands on `featurs`, and the input `features` is not also reported as unused.
use keramic::prelude::*;

model! {
    struct Typo {
        input features: [3];
        output score = Dense::<1>(featurs);
    }
}

fn main() {
    let _ = Typo::TOTAL_PARAMS;
}
