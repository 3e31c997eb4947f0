// A declared Dense layer called first on [3] and then on [5] is rejected, because its
// kernel has one input size. The error names the layer `shared` and both shapes, and the
// caret lands on the second call's argument `right`.
use keramic::prelude::*;

model! {
    struct Siamese {
        input left: [3];
        input right: [5];
        layer shared = Dense::<4>;
        let a = shared(left);
        let b = shared(right);
        output joined = Concatenate(a, b);
    }
}

fn main() {
    let _ = Siamese::TOTAL_PARAMS;
}
