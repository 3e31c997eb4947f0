// A submodel's [2] output is subtracted from a [1] value. The error names Subtract and both
// shapes, and the caret lands on `Subtract`.
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
        input b: [1];
        layer inner = Inner;
        output gap = Subtract(inner(a), b);
    }
}

fn main() {}
