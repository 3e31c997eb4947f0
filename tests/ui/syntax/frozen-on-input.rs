// `#[frozen]` on an input is rejected, because only layers have weights to freeze. The
// caret lands on the `#` that starts the attribute.
use keramic::prelude::*;

model! {
    struct Model {
        #[frozen]
        input x: [3];
        output score = Dense::<1>(x);
    }
}

fn main() {}
