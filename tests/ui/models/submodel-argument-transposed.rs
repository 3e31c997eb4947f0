// A submodel whose input is [3, 2] is called on a [2, 3] value. The sizes are equal, and only
// the shapes differ. The error names the submodel and both shapes, at the argument `q`.
use keramic::prelude::*;

model! {
    pub struct Inner {
        input m: [3, 2];
        output y = Dense::<1>(Flatten(m));
    }
}

model! {
    pub struct Outer {
        input q: [2, 3];
        layer inner = Inner;
        output y = inner(q);
    }
}

fn main() {
    let _ = Outer::TOTAL_PARAMS;
}
