// An Embedding with a vocabulary of 20 is called on ids below the constant V, which is 10.
// Only the compiler can compare V with 20; the error gives both sizes, at `team`.
use keramic::prelude::*;

const V: usize = 10;

model! {
    struct Strength {
        input team: Id<V>;
        output rating = Flatten(Embedding::<20, 1>(team));
    }
}

fn main() {
    let _ = Strength::TOTAL_PARAMS;
}
