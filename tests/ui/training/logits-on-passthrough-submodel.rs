// Binary cross-entropy from logits is given for the output of a model that passes its input
// on, called on a sigmoid. The kind of that model's output follows its argument, so the
// output counts as probabilities and the from-logits form is rejected.
use keramic::prelude::*;

model! {
    pub struct Square {
        input v: [1];
        output squared = Multiply(v, v);
    }
}

model! {
    pub struct Outer {
        input x: [2];
        layer square = Square;
        output win = square(Dense::<1, Sigmoid>(x));
    }
}

fn main() {
    let mut model = Outer::new(&mut rand::rng());
    let _training = model.compile(BinaryCrossentropy::from_logits(), Adam::new(0.01));
}
