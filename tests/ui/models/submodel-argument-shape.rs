// A submodel that takes [3] is called on a [4] value. The shapes live in two invocations, so
// the compiler checks them; the error names the submodel and both shapes, and the caret lands
// on the argument `a`.
use keramic::prelude::*;

model! {
    pub struct Inner {
        input x: [3];
        output y = Dense::<2>(x);
    }
}

model! {
    pub struct Outer {
        input a: [4];
        layer inner = Inner;
        output z = Dense::<1>(inner(a));
    }
}

fn main() {}
