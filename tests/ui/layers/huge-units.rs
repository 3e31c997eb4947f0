// A Dense size above the limit of 4294967295 is rejected while parsing. The caret lands on
// the literal `5000000000`.
use keramic::prelude::*;

model! {
    struct Huge {
        input x: [3];
        output score = Dense::<5000000000>(x);
    }
}

fn main() {}
