// Binary cross-entropy is given for an output that passes a sigmoid through Dropout. During
// training Dropout scales the kept probabilities above 1, so neither cross-entropy form can
// read the output. The error shows where to put Dropout instead: before the sigmoid.
use keramic::prelude::*;

model! {
    pub struct Win {
        input x: [2];
        output win = Dropout::<0.5>(Dense::<1, Sigmoid>(x));
    }
}

fn main() {
    let mut model = Win::new(&mut rand::rng());
    let _training = model.compile(BinaryCrossentropy, Adam::new(0.01));
}
