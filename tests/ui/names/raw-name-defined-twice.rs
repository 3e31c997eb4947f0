// An output `r#y` after an output `y` is rejected as a name defined twice, because the raw
// identifier names the same field of the generated structs.
use keramic::prelude::*;

model! {
    struct Two {
        input x: [2];
        output y = Dense::<1>(x);
        output r#y = Dense::<1>(y);
    }
}

fn main() {
    let _ = Two::TOTAL_PARAMS;
}
