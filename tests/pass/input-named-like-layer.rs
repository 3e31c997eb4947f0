// Compiles and runs a model whose input is named `dense`, the name an unnamed Dense layer
// would get. The layer must take another name, so that the summary and the graph keep the
// input and the layer apart.

use keramic::prelude::*;

model! {
    pub struct Named {
        input dense: [3];
        output y = Dense::<1>(Dense::<2>(dense));
    }
}

fn main() {
    let summary = Named::summary().to_string();
    assert!(summary.contains("dense_1"), "{summary}");
    assert_eq!(summary.lines().filter(|line| line.trim_start().starts_with("dense ")).count(), 1, "{summary}");
}
