// A submodel whose input is `Id<10>` is called on the float input `a`. The error names the
// submodel and the argument's shape, and the caret lands on the argument `a`.
use keramic::prelude::*;

model! {
    pub struct Strength {
        input team: Id<10>;
        output rating = Flatten(Embedding::<10, 1>(team));
    }
}

model! {
    pub struct Outer {
        input a: [1];
        layer strength = Strength;
        output z = Dense::<1>(strength(a));
    }
}

fn main() {}
