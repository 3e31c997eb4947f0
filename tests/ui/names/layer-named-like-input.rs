// A layer declared with the name of an input is rejected, because the summary and the graph
// name layers and inputs alike. The caret lands on the layer's name.
use keramic::prelude::*;

model! {
    struct Clash {
        input x: [3];
        layer x = Dense::<1>;
        output y = x(x);
    }
}

fn main() {
    let _ = Clash::TOTAL_PARAMS;
}
