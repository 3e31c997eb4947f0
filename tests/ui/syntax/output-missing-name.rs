// An `output` statement without a name is rejected, and the message shows the statement's
// form. The caret lands on `=`, where the name was expected.
use keramic::prelude::*;

model! {
    struct Nameless {
        input x: [3];
        output = Dense::<1>(x);
    }
}

fn main() {}
