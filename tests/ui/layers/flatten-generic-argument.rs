// Flatten with a generic argument is rejected, because it has no settings. The caret lands
// on the `2`.
use keramic::prelude::*;

model! {
    struct Flat {
        input words: [Id<5>; 3];
        let embedded = Embedding::<5, 2>(words);
        output flat = Flatten::<2>(embedded);
    }
}

fn main() {
    let _ = Flat::TOTAL_PARAMS;
}
