// A declared layer is used as a value instead of being called. The error names it as a layer
// and shows the call, and the layer is not also reported as never called.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [2];
        layer d = Dense::<1>;
        output y = d;
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
