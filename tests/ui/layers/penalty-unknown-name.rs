// A misspelled Dense penalty is rejected with a suggestion and the list of penalties. The
// caret lands on `KernalL2`.
use keramic::prelude::*;

model! {
    struct Misspelled {
        input x: [3];
        output y = Dense::<4, Relu, KernalL2<0.01>>(x);
    }
}

fn main() {
    let _ = Misspelled::TOTAL_PARAMS;
}
