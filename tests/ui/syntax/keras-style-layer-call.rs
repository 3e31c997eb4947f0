// `Dense(1)(x)`, as Keras writes a layer, is rejected with the spelling keramic expects,
// `Dense::<1>(x)`. The caret lands on `Dense(1)`.
use keramic::prelude::*;

model! {
    struct KerasStyle {
        input x: [3];
        output y = Dense(1)(x);
    }
}

fn main() {}
