// Dense called on the [3, 2] output of an Embedding over `[Id<5>; 3]` is rejected, because
// Dense takes vectors. The error names Dense and the shape [3, 2], suggests Flatten, and
// the caret lands on the argument `embedded`.
use keramic::prelude::*;

model! {
    struct Reader {
        input words: [Id<5>; 3];
        let embedded = Embedding::<5, 2>(words);
        output score = Dense::<1>(embedded);
    }
}

fn main() {
    let _ = Reader::TOTAL_PARAMS;
}
