// A layer written `Dense<1>(x)`, as a Rust type would be, is rejected with the `Dense::<1>`
// spelling that an expression needs. The caret lands on the `<`.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [3];
        layer hidden = Dense::<4, Relu, KernelL2<0.01>>;
        output y = Dense<1>(hidden(x));
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
