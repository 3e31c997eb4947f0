// A submodel whose input is one id, `Id<10>`, is called on a sequence `[Id<10>; 3]`. The error
// names the submodel and both numbers of ids, and the caret lands on the argument `teams`.
use keramic::prelude::*;

model! {
    pub struct Strength {
        input team: Id<10>;
        output rating = Flatten(Embedding::<10, 1>(team));
    }
}

model! {
    pub struct Lineup {
        input teams: [Id<10>; 3];
        layer strength = Strength;
        output rating = strength(teams);
    }
}

fn main() {
    let _ = Lineup::TOTAL_PARAMS;
}
