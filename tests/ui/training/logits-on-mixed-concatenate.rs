// Binary cross-entropy from logits is given for a Concatenate of a sigmoid output and a linear
// output. The sigmoid half would get a second sigmoid, so the output is rejected as mixed.
use keramic::prelude::*;

model! {
    pub struct Tags {
        input x: [2];
        output tags = Concatenate(Dense::<2, Sigmoid>(x), Dense::<2>(x));
    }
}

fn main() {
    let mut model = Tags::new(&mut rand::rng());
    let _training = model.compile(BinaryCrossentropy::from_logits(), Adam::new(0.01));
}
