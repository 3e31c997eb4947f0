// A `layer` declaration that calls the layer is rejected, because a declaration names an
// instance and calls come later. The caret lands on the call.
use keramic::prelude::*;

model! {
    struct Early {
        input x: [3];
        layer hidden = Dense::<4>(x);
        output score = Dense::<1>(hidden(x));
    }
}

fn main() {}
