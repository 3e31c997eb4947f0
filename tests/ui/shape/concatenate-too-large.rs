// Concatenate of a [4294967295] value and a [1] value is rejected, because the joined size
// exceeds the size limit of 4294967295. The caret lands on `Concatenate`.
use keramic::prelude::*;

model! {
    struct Huge {
        input a: [4294967295];
        input b: [1];
        output joined = Concatenate(a, b);
    }
}

fn main() {
    let _ = Huge::TOTAL_PARAMS;
}
