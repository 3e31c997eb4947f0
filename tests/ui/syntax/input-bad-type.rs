// An input declared with a Rust type instead of `[N]`, `Id<V>` or `[Id<V>; L]` is rejected,
// and the message lists the three forms. The caret lands on `f32`.
use keramic::prelude::*;

model! {
    struct Model {
        input x: f32;
        output score = Dense::<1>(x);
    }
}

fn main() {}
