// A submodel whose input is `Id<10>` is called on ids below 20. The error names the submodel
// and both vocabulary sizes, and the caret lands on the argument `team`.
use keramic::prelude::*;

model! {
    pub struct Strength {
        input team: Id<10>;
        output rating = Flatten(Embedding::<10, 1>(team));
    }
}

model! {
    pub struct Game {
        input team: Id<20>;
        layer strength = Strength;
        output rating = strength(team);
    }
}

fn main() {
    let _ = Game::TOTAL_PARAMS;
}
