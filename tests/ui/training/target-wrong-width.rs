// A training target of width 2 is given for the output `win`, which is [1]. The generated
// `TwoHeadsOutput` struct has one array field per output, so the compiler names both widths,
// and the caret lands on the array.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output win = Dense::<1, Sigmoid>(score_diff);
    }
}

fn main() {
    let _target = TwoHeadsOutput { score_diff: [0.5], win: [0.0, 1.0] };
}
