// A submodel with two inputs is called on one value. The call is reported once, with both
// counts, and the caret lands on the call `inner`.
use keramic::prelude::*;

model! {
    pub struct Inner {
        input x: [3];
        input y: [2];
        output z = Dense::<2>(Concatenate(x, y));
    }
}

model! {
    pub struct Outer {
        input a: [3];
        layer inner = Inner;
        output z = Dense::<1>(inner(a));
    }
}

fn main() {}
