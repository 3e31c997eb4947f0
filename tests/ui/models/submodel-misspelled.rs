// A `layer` declaration names the submodel `Iner`, which does not exist. The error is
// reported once, suggests `Inner`, and the caret lands on `Iner`.
use keramic::prelude::*;

model! {
    pub struct Inner {
        input x: [3];
        output y = Dense::<2>(x);
    }
}

model! {
    pub struct Outer {
        input a: [3];
        layer inner = Iner;
        output z = Dense::<1>(inner(a));
    }
}

fn main() {}
