// Concatenate of a [3, 2] value and a [3] value is rejected, because it joins along the
// last axis of values of equal rank. The error names both shapes, and the caret lands on
// `Concatenate`.
use keramic::prelude::*;

model! {
    struct Joined {
        input words: [Id<5>; 3];
        input extra: [3];
        let embedded = Embedding::<5, 2>(words);
        output joined = Flatten(Concatenate(embedded, extra));
    }
}

fn main() {
    let _ = Joined::TOTAL_PARAMS;
}
