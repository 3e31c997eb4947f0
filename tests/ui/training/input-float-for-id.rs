// An input row gives a float for the id input `team`, which is `Id<10>` and so a `u32` field
// of `GameInput`. The compiler names both types, and the caret lands on the float.
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
    let _row = GameInput { team: 3.0, home: [1.0] };
}
