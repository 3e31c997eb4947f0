// An Embedding penalty other than L1, L2 or L1L2 is rejected, here Dense's `KernelL2`. The
// caret lands on `KernelL2`.
use keramic::prelude::*;

model! {
    struct WrongOption {
        input team: Id<10>;
        let strength = Embedding::<10, 1, KernelL2<0.01>>(team);
        output y = Flatten(strength);
    }
}

fn main() {
    let _ = WrongOption::TOTAL_PARAMS;
}
