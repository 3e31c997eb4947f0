// Compiles every output kind that the cross-entropies accept. The probability forms take a
// sigmoid or softmax output, also through Flatten, Dropout, Concatenate, Multiply or another
// model. The from-logits forms take a linear output, also through Add or another model.

use keramic::prelude::*;

model! {
    pub struct Gate {
        input x: [2];
        output open = Dense::<1, Sigmoid>(x);
    }
}

model! {
    pub struct Logit {
        input x: [2];
        output score = Dense::<1>(x);
    }
}

model! {
    pub struct Heads {
        input x: [2];
        layer gate = Gate;
        layer logit = Logit;
        output direct = Dense::<1, Sigmoid>(x);
        output joined = Concatenate(Dense::<1, Sigmoid>(x), gate(x));
        output product = Multiply(gate(x), Dropout::<0.2>(Dense::<1, Sigmoid>(x)));
        output classes = Dense::<3, Softmax>(x);
        output linear = Add(logit(x), Dense::<1>(x));
        output class_logits = Dense::<3>(x);
    }
}

fn main() {
    let mut model = Heads::new(&mut rand::rng());
    let losses = (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        BinaryCrossentropy.weighted(0.5),
        CategoricalCrossentropy,
        BinaryCrossentropy::from_logits(),
        CategoricalCrossentropy::from_logits(),
    );
    let _training = model.compile(losses, Adam::new(0.01));
}
