// An `input` statement without a name is rejected, and the message shows the statement's
// form. The caret lands on `:`, where the name was expected.
use keramic::prelude::*;

model! {
    struct Nameless {
        input : [3];
        output score = Dense::<1>(x);
    }
}

fn main() {}
