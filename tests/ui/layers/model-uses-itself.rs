// A model that declares itself as one of its layers is rejected. The caret lands on the
// kind `Recursive` in the `layer` declaration, and the call `inner(x)` adds no second error.
use keramic::prelude::*;

model! {
    struct Recursive {
        input x: [3];
        layer inner = Recursive;
        output score = inner(x);
    }
}

fn main() {
    let _ = Recursive::TOTAL_PARAMS;
}
