// Embedding called on a float input is rejected, because it looks up integer ids. The
// error names Embedding and the shape [3], and the caret lands on the argument `x`. The
// later uses of `embedded` add no second error.
use keramic::prelude::*;

model! {
    struct Lookup {
        input x: [3];
        let embedded = Embedding::<10, 4>(x);
        output score = Dense::<1>(Flatten(embedded));
    }
}

fn main() {
    let _ = Lookup::TOTAL_PARAMS;
}
