// An Embedding over 10888 ids called on an `Id<100>` input is rejected. The error names the
// Embedding layer `strength` and both vocabularies, and the caret lands on the argument
// `team`.
use keramic::prelude::*;

model! {
    struct TeamStrength {
        input team: Id<100>;
        let strength = Embedding::<10888, 1>(team);
        output flat = Flatten(strength);
    }
}

fn main() {
    let _ = TeamStrength::TOTAL_PARAMS;
}
