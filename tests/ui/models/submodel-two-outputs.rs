// A model with two outputs is used as a layer. The error names the model and its output
// count, and the caret lands on the call `heads`.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input x: [2];
        output first = Dense::<1>(x);
        output second = Dense::<1, Sigmoid>(x);
    }
}

model! {
    pub struct Outer {
        input a: [2];
        layer heads = TwoHeads;
        output z = Dense::<1>(heads(a));
    }
}

fn main() {}
