// Compiles and runs a model whose input and output are Rust keywords written as raw
// identifiers. The summary, the saved weight names and the scores of `evaluate` must all use
// the plain names `type` and `match`, without `r#`.

use keramic::prelude::*;

model! {
    pub struct Keywords {
        input r#type: [2];
        output r#match = Dense::<1>(r#type);
    }
}

fn main() {
    let summary = Keywords::summary().to_string();
    assert!(!summary.contains("r#"), "{summary}");
    assert!(summary.contains("type"), "{summary}");
    assert!(summary.contains("match"), "{summary}");

    let data: Dataset<KeywordsInput, KeywordsOutput> =
        (0..8).map(|i| (KeywordsInput { r#type: [i as f32, 1.0] }, KeywordsOutput { r#match: [i as f32] })).collect();
    let mut model = Keywords::new(&mut rand::rng());
    let scores = model.compile(MeanSquaredError, Adam::new(0.01)).evaluate(&data).unwrap();
    assert!(scores.output("match").is_some(), "{scores:?}");
}
