// `#[frozen]` on a Flatten layer is rejected, because Flatten has no weights to freeze. The
// caret lands on the `#` that starts the attribute.
use keramic::prelude::*;

model! {
    struct Words {
        input words: [Id<50>; 4];
        #[frozen]
        layer flat = Flatten;
        output score = Dense::<1>(flat(Embedding::<50, 2>(words)));
    }
}

fn main() {
    let _ = Words::TOTAL_PARAMS;
}
