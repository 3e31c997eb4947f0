// An attribute other than `#[frozen]` on a statement is rejected. The caret lands on the `#`
// that starts the attribute.
use keramic::prelude::*;

model! {
    struct Attributes {
        input x: [3];
        #[freeze]
        layer hidden = Dense::<4>;
        output score = Dense::<1>(hidden(x));
    }
}

fn main() {}
