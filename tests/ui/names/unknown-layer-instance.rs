// A call of a misspelled declared layer is rejected with a suggestion of the declared name.
// The caret lands on `sharde`, and neither `shared` nor `x` is also reported as unused.
use keramic::prelude::*;

model! {
    struct Misspelled {
        input x: [3];
        layer shared = Dense::<4>;
        output score = sharde(x);
    }
}

fn main() {
    let _ = Misspelled::TOTAL_PARAMS;
}
