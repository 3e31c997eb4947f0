// A shared Dense layer is called on a [N] value, where the constant N is 3, and then on a [4]
// value. Only the compiler can compare N with 4; the error gives both shapes, at `b`.
use keramic::prelude::*;

const N: usize = 3;

model! {
    struct Shared {
        input a: [N];
        input b: [4];
        layer d = Dense::<2>;
        output y = Add(d(a), d(b));
    }
}

fn main() {
    let _ = Shared::TOTAL_PARAMS;
}
