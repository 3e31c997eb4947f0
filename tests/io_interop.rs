//! Writes a trained two-output model, a batch of inputs and keramic's predictions for them, so
//! that `tests/interop/predict.py` can check that numpy computes the same predictions from the
//! saved weights.
//!
//! With `KERAMIC_INTEROP_DIR` set, the files go to that folder for the Python script, as the
//! CI script does:
//!
//! ```sh
//! KERAMIC_INTEROP_DIR=/tmp/interop cargo test --test io_interop
//! python3 tests/interop/predict.py /tmp/interop
//! ```
//!
//! Without it they go to a temporary folder and the test checks them in Rust only.

use std::path::Path;

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

/// The folder that receives the files for the Python script.
const FOLDER_VARIABLE: &str = "KERAMIC_INTEROP_DIR";

model! {
    /// A regression head and a softmax head on a shared trunk, fed by a float vector and an
    /// embedded id, so that the Python side covers every kind of weight.
    pub struct Interop {
        input features: [3];
        input team: Id<6>;
        let strength = Flatten(Embedding::<6, 2>(team));
        let hidden = Dense::<8, Relu>(Concatenate(features, strength));
        let trunk = Dense::<4, Tanh>(hidden);
        output score = Dense::<1>(trunk);
        output class = Dense::<3, Softmax>(trunk);
    }
}

fn input(row: u32) -> InteropInput {
    let x = row as f32;
    InteropInput { features: [(x * 0.37).sin(), (x * 0.11).cos() * 2.0, x / 64.0 - 0.5], team: row % 6 }
}

fn training_data() -> Dataset<InteropInput, InteropOutput> {
    (0..256u32)
        .map(|row| {
            let input = input(row);
            let score = input.features[0] - 0.5 * input.features[1] + input.team as f32 / 6.0;
            let mut class = [0.0; 3];
            class[(row % 3) as usize] = 1.0;
            (input, InteropOutput { score: [score], class })
        })
        .collect()
}

/// Writes `model.safetensors` and `predictions.json` into `folder`.
fn write_files(folder: &Path) {
    let mut model = Interop::new(&mut StdRng::seed_from_u64(11));
    model
        .compile((MeanSquaredError, CategoricalCrossentropy), Adam::new(0.01))
        .fit(&training_data(), &Fit::epochs(3).batch_size(32).seed(5).verbose(false))
        .unwrap();
    model.save(folder.join("model.safetensors")).unwrap();

    let inputs: Vec<InteropInput> = (1000..1064).map(input).collect();
    let outputs = model.predict(&inputs).unwrap();
    // f32 to f64 is exact, so the JSON numbers are keramic's values to the last bit.
    let widen = |values: &[f32]| values.iter().map(|&value| f64::from(value)).collect::<Vec<_>>();
    let mut names = Vec::new();
    model.visit_named_weights("", &mut |name, param| names.push((name.to_owned(), param.shape.dims().to_vec())));
    let predictions = json!({
        "weights": names.iter().map(|(name, shape)| json!({ "name": name, "shape": shape })).collect::<Vec<_>>(),
        "inputs": {
            "features": inputs.iter().map(|row| widen(&row.features)).collect::<Vec<_>>(),
            "team": inputs.iter().map(|row| row.team).collect::<Vec<_>>(),
        },
        "outputs": {
            "score": outputs.iter().map(|row| widen(&row.score)).collect::<Vec<_>>(),
            "class": outputs.iter().map(|row| widen(&row.class)).collect::<Vec<_>>(),
        },
    });
    std::fs::write(folder.join("predictions.json"), serde_json::to_string_pretty(&predictions).unwrap()).unwrap();
}

#[test]
fn interop_files_written() {
    let temporary = tempfile::tempdir().unwrap();
    let folder = match std::env::var_os(FOLDER_VARIABLE) {
        Some(folder) => {
            std::fs::create_dir_all(&folder).unwrap();
            folder.into()
        }
        None => temporary.path().to_path_buf(),
    };
    write_files(&folder);

    // The Rust side of the check: the saved file reproduces the saved predictions.
    let mut loaded = Interop::new(&mut StdRng::seed_from_u64(12));
    loaded.load(folder.join("model.safetensors")).unwrap();
    let inputs: Vec<InteropInput> = (1000..1064).map(input).collect();
    let predictions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("predictions.json")).unwrap()).unwrap();
    // serde_json's default number parser can be one unit in the last place off in f64, which
    // rounding to f32 removes.
    let saved = |output: &str, row: usize, k: usize| predictions["outputs"][output][row][k].as_f64().map(|value| value as f32);
    for (row, output) in loaded.predict(&inputs).unwrap().iter().enumerate() {
        assert_eq!(saved("score", row, 0), Some(output.score[0]), "row {row}");
        for (k, &probability) in output.class.iter().enumerate() {
            assert_eq!(saved("class", row, k), Some(probability), "row {row}, class {k}");
        }
    }
    println!("wrote the interoperability files to {}", folder.display());
}
