// Two independent mistakes in one model are both reported in one run: the Add of [3] and
// [4] (caret on `Add`), and the Dense on the [3, 2] Embedding output (caret on `embedded`).
use keramic::prelude::*;

model! {
    struct TwoMistakes {
        input a: [3];
        input b: [4];
        input words: [Id<5>; 3];
        let sum = Add(a, b);
        let embedded = Embedding::<5, 2>(words);
        let score = Dense::<1>(embedded);
        output joined = Concatenate(sum, score);
    }
}

fn main() {
    let _ = TwoMistakes::TOTAL_PARAMS;
}
