// `#[frozen]` given twice on one layer is rejected at the second one. Doc comments on
// statements are accepted, as on any Rust item.
use keramic::prelude::*;

model! {
    struct Score {
        /// The features of a game.
        input x: [2];
        #[frozen]
        #[frozen]
        layer d = Dense::<1>;
        output y = d(x);
    }
}

fn main() {
    let _ = Score::TOTAL_PARAMS;
}
