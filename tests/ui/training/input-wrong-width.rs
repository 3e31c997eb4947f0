// An input row gives 3 floats for the input `home`, which is [1]. The compiler names both
// widths, and the caret lands on the array.
use keramic::prelude::*;

model! {
    pub struct Game {
        input team: Id<10>;
        input home: [1];
        let strength = Flatten(Embedding::<10, 1>(team));
        output score = Dense::<1>(Concatenate(strength, home));
    }
}

fn main() {
    let _row = GameInput { team: 3, home: [1.0, 0.0, 0.0] };
}
