// A negative kernel penalty factor is rejected, because it would reward large weights. The
// caret lands on the minus sign of `-0.01`, the first token of the factor.
use keramic::prelude::*;

model! {
    struct RewardLargeKernel {
        input x: [3];
        output y = Dense::<4, Relu, KernelL2<{ -0.01 }>>(x);
    }
}

fn main() {
    let _ = RewardLargeKernel::TOTAL_PARAMS;
}
