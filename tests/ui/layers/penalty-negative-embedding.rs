// A negative factor in an Embedding's penalty is rejected, here the L2 factor of `L1L2`. The
// caret lands on the minus sign of `-0.001`, the first token of the factor.
use keramic::prelude::*;

model! {
    struct RewardLargeEmbedding {
        input team: Id<10>;
        let strength = Embedding::<10, 1, L1L2<0.01, { -0.001 }>>(team);
        output y = Flatten(strength);
    }
}

fn main() {
    let _ = RewardLargeEmbedding::TOTAL_PARAMS;
}
