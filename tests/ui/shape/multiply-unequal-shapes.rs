// A declared Multiply layer called on [4], [4] and [2] values is rejected. The error names
// the layer `gate`, the first and the third operand with their shapes, and the caret lands
// on `gate` in the call.
use keramic::prelude::*;

model! {
    struct Gated {
        input a: [4];
        input b: [4];
        input c: [2];
        layer gate = Multiply;
        output product = gate(a, b, c);
    }
}

fn main() {
    let _ = Gated::TOTAL_PARAMS;
}
