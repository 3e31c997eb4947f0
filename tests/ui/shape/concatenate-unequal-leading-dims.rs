// Concatenate of [3, 2] and [4, 2] values is rejected, because it joins along the last axis
// and the first dimensions differ. The error names both shapes, and the caret lands on
// `Concatenate`.
use keramic::prelude::*;

model! {
    struct Joined {
        input short: [Id<5>; 3];
        input long: [Id<5>; 4];
        let a = Embedding::<5, 2>(short);
        let b = Embedding::<5, 2>(long);
        output joined = Flatten(Concatenate(a, b));
    }
}

fn main() {
    let _ = Joined::TOTAL_PARAMS;
}
