// A model with a shape error is used afterwards: by its type, its input and output structs,
// its constants and its methods. The macro's error is the only one; the uses add none.
use keramic::prelude::*;

model! {
    struct Sum {
        input a: [3];
        input b: [4];
        output total = Add(a, b);
    }
}

fn train(model: &mut Sum) -> SumOutput {
    let _ = model.compile(MeanAbsoluteError, Adam::new(0.01));
    model.predict_one(&SumInput { a: [1.0; 3], b: [0.0; 4] })
}

fn main() {
    let mut model = Sum::new(&mut rand::rng());
    let _ = Sum::TOTAL_PARAMS;
    let _ = train(&mut model);
}
