//! The expansion of `model!` compiles warning-free under strict lints.

#![deny(warnings, missing_docs, missing_debug_implementations, unused_qualifications, rust_2018_idioms, unreachable_pub)]

/// Models declared under the strict lints.
pub mod models {
    use keramic::model;

    model! {
        /// A two-output model with a shared layer, an embedding and a submodel.
        pub struct Shared {
            input ids: [Id<6>; 2];
            input x: [3];
            layer trunk = Dense::<4, Tanh>;
            let embedded = Flatten(Embedding::<6, 2>(ids));
            let joined = Add(trunk(x), embedded);
            output first = Dense::<1>(joined);
            output second = Dense::<2, Softmax>(trunk(x));
        }
    }

    model! {
        /// Uses `Shared`'s sibling as a layer.
        pub struct Inner {
            input x: [3];
            output y = Dense::<2, Relu>(x);
        }
    }

    model! {
        /// Calls `Inner` twice with shared weights.
        pub struct Outer {
            input a: [3];
            input b: [3];
            layer inner = Inner;
            output z = Dense::<1, Sigmoid>(Multiply(inner(a), inner(b)));
        }
    }
}

#[test]
fn strict_lints_accept_expansion() {
    assert_eq!(models::Shared::TOTAL_PARAMS, 3 * 4 + 4 + 6 * 2 + 4 + 1 + 4 * 2 + 2);
    assert_eq!(models::Outer::TOTAL_PARAMS, 3 * 2 + 2 + 2 + 1);
}
