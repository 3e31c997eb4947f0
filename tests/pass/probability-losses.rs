// Compiles every output kind that the cross-entropies accept. The probability forms take a
// sigmoid or softmax output, also through Flatten, Concatenate, Multiply or another model,
// including a model that passes its input on. The from-logits forms take a linear output,
// also through Add or another model.

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
    /// Passes its input on, so its output is of the kind of its argument.
    pub struct Square {
        input v: [1];
        output squared = Multiply(v, v);
    }
}

model! {
    pub struct Probabilities {
        input x: [2];
        layer gate = Gate;
        output direct = Dense::<1, Sigmoid>(x);
        output joined = Concatenate(Dense::<1, Sigmoid>(x), gate(x));
        output product = Multiply(gate(x), Dense::<1, Sigmoid>(Dropout::<0.2>(x)));
        output squared_gate = Square(gate(x));
        output classes = Dense::<3, Softmax>(x);
    }
}

model! {
    pub struct Logits {
        input x: [2];
        layer logit = Logit;
        output squared_logit = Square(logit(x));
        output linear = Add(logit(x), Dense::<1>(x));
        output class_logits = Dense::<3>(x);
    }
}

fn main() {
    let mut rng = rand::rng();
    let mut probabilities = Probabilities::new(&mut rng);
    let losses = (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        BinaryCrossentropy.weighted(0.5),
        BinaryCrossentropy,
        CategoricalCrossentropy,
    );
    let _training = probabilities.compile(losses, Adam::new(0.01));

    let mut logits = Logits::new(&mut rng);
    let losses = (BinaryCrossentropy::from_logits(), BinaryCrossentropy::from_logits(), CategoricalCrossentropy::from_logits());
    let _training = logits.compile(losses, Adam::new(0.01));
}
