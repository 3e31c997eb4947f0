// Flatten of a [4294967295, 4294967295] value is rejected, because the flat size exceeds
// the size limit of 4294967295. The caret lands on `Flatten`, and the macro does not panic.
use keramic::prelude::*;

model! {
    struct Huge {
        input words: [Id<5>; 4294967295];
        let embedded = Embedding::<5, 4294967295>(words);
        output flat = Flatten(embedded);
    }
}

fn main() {
    let _ = Huge::TOTAL_PARAMS;
}
