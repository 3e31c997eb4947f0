// A training target that leaves out the output `win` is rejected. The compiler names the
// missing field and the generated `TwoHeadsOutput` struct, and the caret lands on the struct
// name.
use keramic::prelude::*;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output win = Dense::<1, Sigmoid>(score_diff);
    }
}

fn main() {
    let _target = TwoHeadsOutput { score_diff: [0.5] };
}
