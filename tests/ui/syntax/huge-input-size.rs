// An input size that does not fit in 64 bits is rejected while parsing. The caret lands on
// the literal.
use keramic::prelude::*;

model! {
    struct Model {
        input x: [99999999999999999999999];
        output score = Dense::<1>(x);
    }
}

fn main() {}
