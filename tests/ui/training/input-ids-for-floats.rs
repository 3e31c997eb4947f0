// An input row gives integer ids for the float input `home`, which is [1] and so a
// `[f32; 1]` field of `GameInput`. The compiler names both types, and the caret lands on the
// id.
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
    let home: u32 = 1;
    let _row = GameInput { team: 3, home: [home] };
}
