// A model with seven outputs is rejected at the seventh, because `compile` takes a tuple of at
// most six losses and such a model could never be trained.
use keramic::prelude::*;

model! {
    struct Many {
        input x: [3];
        output a = Dense::<1>(x);
        output b = Dense::<1>(x);
        output c = Dense::<1>(x);
        output d = Dense::<1>(x);
        output e = Dense::<1>(x);
        output f = Dense::<1>(x);
        output g = Dense::<1>(x);
    }
}

fn main() {
    let _ = Many::TOTAL_PARAMS;
}
