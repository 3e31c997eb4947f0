// A submodel whose input is [1] is called on the id input `team`. The error names the
// submodel and the vocabulary of the ids, suggests an Embedding, and the caret lands on the
// argument `team`.
use keramic::prelude::*;

model! {
    pub struct Scale {
        input x: [1];
        output y = Dense::<1>(x);
    }
}

model! {
    pub struct Outer {
        input team: Id<10>;
        layer scale = Scale;
        output z = scale(team);
    }
}

fn main() {}
