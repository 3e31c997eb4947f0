// An input declared as the Rust array `[f32; 3]` is rejected with the shape notation `[3]`
// that `model!` expects.
use keramic::prelude::*;

model! {
    struct Score {
        input x: [f32; 3];
        output y = Dense::<1>(x);
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
