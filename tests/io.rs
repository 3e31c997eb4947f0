//! Saving and loading weights and checkpoints: round trips, the file contents, the checks that
//! reject a file that does not fit the model, and resuming training from a checkpoint.

use keramic::prelude::*;
use keramic::train::{load_checkpoint, save_checkpoint, checkpoint_from_bytes, checkpoint_to_bytes};
use keramic::{Real, error::TensorMismatch};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

model! {
    /// The two-output model of the smoke test.
    pub struct TwoHeads {
        input x: [2];
        output score_diff = Dense::<1, NoBias>(x);
        output win = Dense::<1, Sigmoid, NoBias>(score_diff);
    }
}

model! {
    /// Maps a team id to one learned strength.
    pub struct TeamStrength {
        input team: Id<10888>;
        let strength = Embedding::<10888, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// Both teams go through the same `TeamStrength` weights.
    pub struct GameModel {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        layer strength = TeamStrength;
        let diff = Subtract(strength(team_1), strength(team_2));
        output score_diff = Dense::<1>(Concatenate(home, diff));
    }
}

model! {
    /// The variant of `GameModel` in the basketball example that concatenates both strengths.
    pub struct StrengthPair {
        input team_1: Id<10888>;
        input team_2: Id<10888>;
        input home: [1];
        layer strength = TeamStrength;
        output score_diff = Dense::<1>(Concatenate(strength(team_1), strength(team_2), home));
    }
}

model! {
    /// The wine example's model: a shared trunk and two heads.
    pub struct WineQuality {
        input features: [11];
        let hidden = Dense::<32, Relu>(features);
        let trunk = Dense::<16, Relu>(hidden);
        output quality = Dense::<1>(trunk);
        output good = Dense::<1, Sigmoid>(trunk);
    }
}

model! {
    /// One Dense layer without bias, to check the kernel's layout.
    pub struct Probe {
        input x: [3];
        output y = Dense::<2, NoBias>(x);
    }
}

model! {
    /// A model with a softmax head and an id sequence, to cover the other layer kinds.
    pub struct Tagger {
        input words: [Id<50>; 4];
        input extra: [3];
        let embedded = Flatten(Embedding::<50, 2>(words));
        let hidden = Dense::<5, Tanh>(Concatenate(embedded, extra));
        output class = Dense::<3, Softmax>(hidden);
    }
}

/// Returns every weight's path with the bits of its values, to compare models exactly.
fn weight_bits<T: Real, M: Network<T>>(model: &M) -> Vec<(String, Vec<u64>)> {
    let mut weights = Vec::new();
    model.visit_named_weights("", &mut |name, param| {
        weights.push((name.to_owned(), param.value.iter().map(|value| value.to_f64().to_bits()).collect()));
    });
    weights
}

/// Adds `offset` to every weight, so that a test can tell two models apart.
fn shift_weights<T: Real, M: Network<T>>(model: &mut M, offset: f64) {
    model.visit_params(&mut |param| {
        for value in param.value.iter_mut() {
            *value += <T as Real>::from_f64(offset);
        }
    });
}

/// Splits a safetensors file into its JSON header and its tensor data.
fn split_file(bytes: &[u8]) -> (Value, &[u8]) {
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    (header, &bytes[8 + header_len..])
}

/// Reads the f32 values of tensor `name` from a safetensors file.
fn tensor_f32(bytes: &[u8], name: &str) -> Vec<f32> {
    let (header, data) = split_file(bytes);
    let offsets = &header[name]["data_offsets"];
    let (start, end) = (offsets[0].as_u64().unwrap() as usize, offsets[1].as_u64().unwrap() as usize);
    data[start..end].chunks_exact(4).map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap())).collect()
}

/// Writes a safetensors file from `(name, dtype, shape, bytes)` tuples, as another tool might.
fn write_safetensors(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let info = serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [data.len(), data.len() + bytes.len()]});
        header.insert((*name).to_owned(), info);
        data.extend_from_slice(bytes);
    }
    let header = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&header);
    file.extend_from_slice(&data);
    file
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn two_heads_data() -> Dataset<TwoHeadsInput, TwoHeadsOutput> {
    (0..200)
        .map(|i| {
            let a = (i % 17) as f32 / 17.0 - 0.5;
            let b = (i % 7) as f32 / 7.0 - 0.5;
            let win = if a - b > 0.0 { 1.0 } else { 0.0 };
            (TwoHeadsInput { x: [a, b] }, TwoHeadsOutput { score_diff: [a - b], win: [win] })
        })
        .collect()
}

fn game_data() -> Dataset<GameModelInput, GameModelOutput> {
    (0..300u32)
        .map(|i| {
            let (team_1, team_2) = (i % 50, (i * 7 + 3) % 50);
            let input = GameModelInput { team_1, team_2, home: [(i % 2) as f32] };
            (input, GameModelOutput { score_diff: [(team_1 as f32 - team_2 as f32) / 10.0] })
        })
        .collect()
}

#[test]
fn two_heads_round_trip() {
    let data = two_heads_data();
    let mut trained = TwoHeads::new(&mut StdRng::seed_from_u64(1));
    trained
        .compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01))
        .fit(&data, &Fit::epochs(2).verbose(false))
        .unwrap();

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("two_heads.safetensors");
    trained.save(&path).unwrap();
    let mut loaded = TwoHeads::new(&mut StdRng::seed_from_u64(2));
    assert_ne!(weight_bits(&loaded), weight_bits(&trained), "the two models start out equal");
    loaded.load(&path).unwrap();

    assert_eq!(weight_bits(&loaded), weight_bits(&trained));
    assert_eq!(loaded.predict(data.inputs()).unwrap(), trained.predict(data.inputs()).unwrap());
}

#[test]
fn shared_embedding_round_trip() {
    let data = game_data();
    let mut trained = GameModel::new(&mut StdRng::seed_from_u64(3));
    trained.compile(MeanAbsoluteError, Adam::new(0.01)).fit(&data, &Fit::epochs(2).verbose(false)).unwrap();

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("game.safetensors");
    trained.save(&path).unwrap();
    let mut loaded = GameModel::new(&mut StdRng::seed_from_u64(4));
    loaded.load(&path).unwrap();

    assert_eq!(weight_bits(&loaded), weight_bits(&trained));
    assert_eq!(loaded.predict(data.inputs()).unwrap(), trained.predict(data.inputs()).unwrap());
}

#[test]
fn example_models_round_trip_in_memory() {
    let mut rng = StdRng::seed_from_u64(5);

    let pair = StrengthPair::new(&mut rng);
    let mut pair_copy = StrengthPair::new(&mut rng);
    pair_copy.from_bytes(&pair.to_bytes().unwrap()).unwrap();
    assert_eq!(weight_bits(&pair_copy), weight_bits(&pair));
    let inputs: Vec<StrengthPairInput> =
        (0..20).map(|i| StrengthPairInput { team_1: i * 500, team_2: i * 3, home: [1.0] }).collect();
    assert_eq!(pair_copy.predict(&inputs).unwrap(), pair.predict(&inputs).unwrap());

    let wine = WineQuality::new(&mut rng);
    let mut wine_copy = WineQuality::new(&mut rng);
    wine_copy.from_bytes(&wine.to_bytes().unwrap()).unwrap();
    assert_eq!(weight_bits(&wine_copy), weight_bits(&wine));
    let inputs: Vec<WineQualityInput> =
        (0..20).map(|i| WineQualityInput { features: core::array::from_fn(|j| ((i * 11 + j) % 7) as f32 - 3.0) }).collect();
    assert_eq!(wine_copy.predict(&inputs).unwrap(), wine.predict(&inputs).unwrap());

    let tagger = Tagger::new(&mut rng);
    let mut tagger_copy = Tagger::new(&mut rng);
    tagger_copy.from_bytes(&tagger.to_bytes().unwrap()).unwrap();
    assert_eq!(weight_bits(&tagger_copy), weight_bits(&tagger));
    let inputs: Vec<TaggerInput> =
        (0..20u32).map(|i| TaggerInput { words: [i, i + 1, 49 - i, 7], extra: [0.5, -1.0, i as f32 / 20.0] }).collect();
    assert_eq!(tagger_copy.predict(&inputs).unwrap(), tagger.predict(&inputs).unwrap());
}

#[test]
fn f64_model_round_trip() {
    let mut rng = StdRng::seed_from_u64(6);
    let model = WineQuality::<f64>::from_rng(&mut rng);
    let mut copy = WineQuality::<f64>::from_rng(&mut rng);
    let bytes = model.to_bytes().unwrap();
    let (header, _) = split_file(&bytes);
    assert_eq!(header["hidden.kernel"]["dtype"], "F64");

    copy.from_bytes(&bytes).unwrap();
    assert_eq!(weight_bits(&copy), weight_bits(&model));
}

#[test]
fn file_has_keras_names_shapes_and_layout() {
    let model = GameModel::new(&mut StdRng::seed_from_u64(7));
    let bytes = model.to_bytes().unwrap();
    let (header, _) = split_file(&bytes);

    let mut names: Vec<&str> = header.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["__metadata__", "score_diff.bias", "score_diff.kernel", "strength.strength.embeddings"]);
    assert_eq!(header["strength.strength.embeddings"]["shape"], serde_json::json!([10888, 1]));
    assert_eq!(header["score_diff.kernel"]["shape"], serde_json::json!([2, 1]));
    assert_eq!(header["score_diff.bias"]["shape"], serde_json::json!([1]));
    assert_eq!(header["score_diff.kernel"]["dtype"], "F32");
    assert_eq!(header["__metadata__"]["format"], "keramic");
    assert_eq!(header["__metadata__"]["model"], "GameModel");

    assert_eq!(tensor_f32(&bytes, "score_diff.kernel"), model.score_diff.kernel());
    assert_eq!(tensor_f32(&bytes, "strength.strength.embeddings"), model.strength.strength.table());
}

#[test]
fn kernel_is_row_major_inputs_by_units() {
    // Keras computes x @ kernel, so row i of a [3, 2] kernel contains the weights of input i.
    let bytes = write_safetensors(&[("y.kernel", "F32", vec![3, 2], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))]);
    let mut model = Probe::new(&mut StdRng::seed_from_u64(8));
    model.from_bytes(&bytes).unwrap();

    assert_eq!(model.predict_one(&ProbeInput { x: [1.0, 0.0, 0.0] }).unwrap().y, [1.0, 2.0]);
    assert_eq!(model.predict_one(&ProbeInput { x: [0.0, 1.0, 0.0] }).unwrap().y, [3.0, 4.0]);
    assert_eq!(model.predict_one(&ProbeInput { x: [0.0, 0.0, 1.0] }).unwrap().y, [5.0, 6.0]);
    assert_eq!(tensor_f32(&model.to_bytes().unwrap(), "y.kernel"), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn python_written_file_loads() {
    // Tensors in another order than keramic writes them, with no metadata, as numpy writes them.
    let kernel = [0.5f32, -1.5];
    let bytes = write_safetensors(&[
        ("win.kernel", "F32", vec![1, 1], f32_bytes(&[2.0])),
        ("score_diff.kernel", "F32", vec![2, 1], f32_bytes(&kernel)),
    ]);
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(9));
    model.from_bytes(&bytes).unwrap();

    let output = model.predict_one(&TwoHeadsInput { x: [2.0, 1.0] }).unwrap();
    assert_eq!(output.score_diff, [0.5 * 2.0 - 1.5]);
    assert!((output.win[0] - 1.0 / (1.0 + 1.0f32.exp())).abs() < 1e-7, "win is {}", output.win[0]);
}

/// Loads `bytes` into a copy of `model` and returns the error, checking that the copy is
/// unchanged.
fn load_error<M: Network<f32> + Clone>(model: &M, bytes: &[u8]) -> Error {
    let mut target = model.clone();
    let before = weight_bits(&target);
    let error = target.from_bytes(bytes).expect_err("the file does not fit the model, so loading fails");
    assert_eq!(weight_bits(&target), before, "a failed load changed the weights");
    error
}

#[test]
fn missing_tensor_rejected_unchanged() {
    let model = GameModel::new(&mut StdRng::seed_from_u64(10));
    let bytes = write_safetensors(&[
        ("strength.strength.embeddings", "F32", vec![10888, 1], f32_bytes(&vec![1.0; 10888])),
        ("score_diff.kernel", "F32", vec![2, 1], f32_bytes(&[1.0, 2.0])),
    ]);
    let error = load_error(&model, &bytes);
    let Error::TensorMismatch { mismatch: TensorMismatch::Missing { name, expected }, path: None } = &error else {
        panic!("expected a missing tensor, got {error:?}");
    };
    assert_eq!(name, "score_diff.bias");
    assert_eq!(expected, &[1]);
    assert_eq!(
        error.to_string(),
        "the in-memory data does not match the model: tensor `score_diff.bias` is missing; the model \
         expects shape [1]; the model is unchanged"
    );
}

#[test]
fn extra_tensor_rejected_unchanged() {
    let model = TwoHeads::new(&mut StdRng::seed_from_u64(11));
    let bytes = write_safetensors(&[
        ("score_diff.kernel", "F32", vec![2, 1], f32_bytes(&[1.0, 2.0])),
        ("win.kernel", "F32", vec![1, 1], f32_bytes(&[3.0])),
        ("win.bias", "F32", vec![1], f32_bytes(&[4.0])),
    ]);
    let error = load_error(&model, &bytes);
    assert!(
        matches!(&error, Error::TensorMismatch { mismatch: TensorMismatch::Unexpected { name, found }, .. }
            if name == "win.bias" && found == &[1]),
        "got {error:?}"
    );
    assert!(error.to_string().contains("tensor `win.bias` of shape [1] is not a weight of the model"), "{error}");
}

#[test]
fn misshaped_tensor_names_both_shapes() {
    let model = TwoHeads::new(&mut StdRng::seed_from_u64(12));
    let bytes = write_safetensors(&[
        ("score_diff.kernel", "F32", vec![1, 2], f32_bytes(&[1.0, 2.0])),
        ("win.kernel", "F32", vec![1, 1], f32_bytes(&[3.0])),
    ]);
    let error = load_error(&model, &bytes);
    assert!(error.to_string().contains("tensor `score_diff.kernel` has shape [1, 2] but the model expects [2, 1]"), "{error}");

    // The same number of values in a flat vector is still the wrong shape.
    let bytes = write_safetensors(&[
        ("score_diff.kernel", "F32", vec![2], f32_bytes(&[1.0, 2.0])),
        ("win.kernel", "F32", vec![1, 1], f32_bytes(&[3.0])),
    ]);
    let error = load_error(&model, &bytes);
    assert!(error.to_string().contains("has shape [2] but the model expects [2, 1]"), "{error}");
}

#[test]
fn wrong_dtype_rejected_unchanged() {
    let model = TwoHeads::new(&mut StdRng::seed_from_u64(13));
    let f64_model = TwoHeads::<f64>::from_rng(&mut StdRng::seed_from_u64(13));
    let error = load_error(&model, &f64_model.to_bytes().unwrap());
    assert!(error.to_string().contains("has dtype F64 but the model expects F32"), "{error}");

    let bytes = write_safetensors(&[
        ("score_diff.kernel", "F16", vec![2, 1], vec![0; 4]),
        ("win.kernel", "F32", vec![1, 1], f32_bytes(&[3.0])),
    ]);
    let error = load_error(&model, &bytes);
    assert!(error.to_string().contains("tensor `score_diff.kernel` has dtype F16 but the model expects F32"), "{error}");
}

#[test]
fn other_model_file_rejected_unchanged() {
    let wine = WineQuality::new(&mut StdRng::seed_from_u64(14));
    let model = TwoHeads::new(&mut StdRng::seed_from_u64(14));
    let error = load_error(&model, &wine.to_bytes().unwrap());
    assert!(matches!(error, Error::TensorMismatch { .. }), "got {error:?}");
}

#[test]
fn load_errors_name_the_file() {
    let folder = tempfile::tempdir().unwrap();
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(15));

    let missing = folder.path().join("missing.safetensors");
    let error = model.load(&missing).unwrap_err();
    assert!(matches!(&error, Error::Io { path, .. } if path == &missing), "got {error:?}");

    let wine_path = folder.path().join("wine.safetensors");
    WineQuality::new(&mut StdRng::seed_from_u64(16)).save(&wine_path).unwrap();
    let before = weight_bits(&model);
    let error = model.load(&wine_path).unwrap_err();
    assert_eq!(weight_bits(&model), before);
    assert!(error.to_string().starts_with(&format!("`{}` does not match the model", wine_path.display())), "{error}");

    let short_path = folder.path().join("short.safetensors");
    std::fs::write(&short_path, [1, 2, 3]).unwrap();
    let error = model.load(&short_path).unwrap_err();
    assert!(matches!(error, Error::InvalidSafetensors { .. }), "got {error:?}");
}

#[test]
fn save_replaces_and_leaves_no_temporary_file() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.safetensors");
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(17));
    model.save(&path).unwrap();
    shift_weights(&mut model, 1.0);
    model.save(&path).unwrap();

    assert_eq!(std::fs::read(&path).unwrap(), model.to_bytes().unwrap());
    let names: Vec<_> = std::fs::read_dir(folder.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(names, ["model.safetensors"]);
}

#[test]
fn save_into_missing_folder_fails() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("no such folder").join("model.safetensors");
    let error = TwoHeads::new(&mut StdRng::seed_from_u64(18)).save(&path).unwrap_err();
    assert!(matches!(&error, Error::Write { path: failed, .. } if failed == &path), "got {error:?}");
}

/// Returns the process's umask from `/proc/self/status`, where Linux reports it.
#[cfg(unix)]
fn umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

#[cfg(unix)]
#[test]
fn saved_file_mode_follows_umask() {
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.safetensors");
    TwoHeads::new(&mut StdRng::seed_from_u64(19)).save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;

    // As `File::create` would make it: 0666 less the umask, not the 0600 of a temporary file.
    assert_eq!(mode & 0o111, 0, "mode {mode:o}");
    match umask() {
        Some(umask) => assert_eq!(mode, 0o666 & !umask, "mode {mode:o}, umask {umask:o}"),
        None => assert_eq!(mode & 0o600, 0o600, "mode {mode:o}"),
    }
}

// Checkpoints.

/// Trains a `GameModel` with `options` without interruption and returns its weights.
fn train_uninterrupted<O: Optimizer<f32>>(optimizer: O, options: &Fit) -> Vec<(String, Vec<u64>)> {
    let mut model = GameModel::new(&mut StdRng::seed_from_u64(20));
    model.compile(MeanAbsoluteError, optimizer).fit(&game_data(), options).unwrap();
    weight_bits(&model)
}

/// Trains a `GameModel` for `stop_after` epochs saving checkpoints, then restores the last
/// checkpoint into a freshly initialized model and optimizer and trains to epoch 6.
fn train_resumed<O: Optimizer<f32>>(make_optimizer: impl Fn() -> O, stop_after: usize) -> Vec<(String, Vec<u64>)> {
    let folder = tempfile::tempdir().unwrap();
    let mut checkpoints = ModelCheckpoint::new(folder.path(), 2);
    {
        let mut model = GameModel::new(&mut StdRng::seed_from_u64(20));
        let mut training = model.compile(MeanAbsoluteError, make_optimizer());
        training.fit_with_callbacks(&game_data(), &resume_options(stop_after), &mut [&mut checkpoints]).unwrap();
    }
    let epochs: Vec<usize> = checkpoints.list().unwrap().into_iter().map(|(epoch, _)| epoch).collect();
    assert_eq!(epochs, [stop_after - 1, stop_after], "the callback keeps the newest two");

    let mut model = GameModel::new(&mut StdRng::seed_from_u64(99));
    let mut training = model.compile(MeanAbsoluteError, make_optimizer());
    let done = training.load_checkpoint(checkpoints.latest().unwrap().unwrap()).unwrap();
    assert_eq!(done, stop_after);
    let history = training.fit(&game_data(), &resume_options(6).initial_epoch(done)).unwrap();
    let epochs: Vec<usize> = history.epochs.iter().map(|log| log.epoch).collect();
    assert_eq!(epochs, (stop_after + 1..=6).collect::<Vec<_>>());
    weight_bits(&model)
}

/// Returns the options of the resume tests: shuffling with a seed and a validation split.
fn resume_options(epochs: usize) -> Fit {
    Fit::epochs(epochs).batch_size(16).validation_split(0.2).seed(42).verbose(false)
}

#[test]
fn adam_resume_matches_uninterrupted() {
    let options = resume_options(6);
    let uninterrupted = train_uninterrupted(Adam::new(0.01), &options);
    let resumed = train_resumed(|| Adam::new(0.01), 3);
    assert_eq!(resumed, uninterrupted);
}

#[test]
fn sgd_momentum_resume_matches_uninterrupted() {
    let options = resume_options(6);
    let uninterrupted = train_uninterrupted(Sgd::new(0.05).momentum(0.9), &options);
    let resumed = train_resumed(|| Sgd::new(0.05).momentum(0.9), 4);
    assert_eq!(resumed, uninterrupted);
}

model! {
    /// A model with dropout, whose masks a resumed run must repeat.
    pub struct Dropped {
        input x: [4];
        let hidden = Dense::<8, Relu>(x);
        output y = Dense::<1>(Dropout::<0.5>(hidden));
    }
}

#[test]
fn dropout_resume_matches_uninterrupted() {
    let data: Dataset<DroppedInput, DroppedOutput> = (0..120)
        .map(|i| {
            let x = [(i % 5) as f32, (i % 7) as f32 / 7.0, (i % 3) as f32 - 1.0, 0.5];
            (DroppedInput { x }, DroppedOutput { y: [x[0] - x[2]] })
        })
        .collect();
    let options = |epochs| Fit::epochs(epochs).batch_size(16).seed(3).verbose(false);

    let mut uninterrupted = Dropped::new(&mut StdRng::seed_from_u64(30));
    uninterrupted.compile(MeanSquaredError, Adam::new(0.01)).fit(&data, &options(4)).unwrap();

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("dropout.safetensors");
    let mut first = Dropped::new(&mut StdRng::seed_from_u64(30));
    let mut training = first.compile(MeanSquaredError, Adam::new(0.01));
    training.fit(&data, &options(2)).unwrap();
    training.save_checkpoint(&path, 2).unwrap();

    let mut resumed = Dropped::new(&mut StdRng::seed_from_u64(31));
    let mut training = resumed.compile(MeanSquaredError, Adam::new(0.01));
    let done = training.load_checkpoint(&path).unwrap();
    training.fit(&data, &options(4).initial_epoch(done)).unwrap();
    assert_eq!(weight_bits(&resumed), weight_bits(&uninterrupted));
}

#[test]
fn resume_restores_changed_learning_rate() {
    // The checkpoint contains the learning rate in force when it was saved, not the
    // constructor's.
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(21));
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01));
    training.fit(&two_heads_data(), &Fit::epochs(1).verbose(false)).unwrap();
    training.optimizer_mut().set_learning_rate(0.003);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("checkpoint.safetensors");
    training.save_checkpoint(&path, 1).unwrap();

    let mut restored = TwoHeads::new(&mut StdRng::seed_from_u64(22));
    let mut optimizer = Adam::new(0.5);
    assert_eq!(load_checkpoint(&path, &mut restored, &mut optimizer).unwrap(), 1);
    assert_eq!(Optimizer::<f32>::learning_rate(&optimizer), 0.003);
    assert_eq!(weight_bits(&restored), weight_bits(&model));
}

#[test]
fn checkpoint_for_other_optimizer_rejected_unchanged() {
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(23));
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01));
    training.fit(&two_heads_data(), &Fit::epochs(1).verbose(false)).unwrap();
    let optimizer = training.optimizer_mut().clone();
    let bytes = checkpoint_to_bytes(training.model(), &optimizer, 1).unwrap();

    let mut target = TwoHeads::new(&mut StdRng::seed_from_u64(24));
    let before = weight_bits(&target);
    let mut sgd = Sgd::new(0.1);
    let error = checkpoint_from_bytes(&bytes, &mut target, &mut sgd).unwrap_err();
    assert!(matches!(error, Error::CheckpointMismatch { .. }), "got {error:?}");
    assert!(error.to_string().contains("the optimizer `adam`, but the training uses `sgd`"), "{error}");
    assert_eq!(weight_bits(&target), before);
    assert_eq!(Optimizer::<f32>::learning_rate(&sgd), 0.1);
}

#[test]
fn checkpoint_with_foreign_state_rejected_unchanged() {
    let model = TwoHeads::new(&mut StdRng::seed_from_u64(25));
    let mut optimizer = Adam::<f32>::new(0.01);
    let mut weights = vec![0.0; 2];
    optimizer.begin_step();
    optimizer.update(0, &mut weights, &[0.5, 0.5]);
    let bytes = checkpoint_to_bytes(&model, &optimizer, 3).unwrap();

    // A state tensor for a weight that this model lacks.
    let mut other = GameModel::new(&mut StdRng::seed_from_u64(26));
    let before = weight_bits(&other);
    let error = checkpoint_from_bytes(&bytes, &mut other, &mut Adam::new(0.01)).unwrap_err();
    assert!(matches!(error, Error::TensorMismatch { .. }), "got {error:?}");
    assert_eq!(weight_bits(&other), before);

    // A weights file is not a checkpoint.
    let mut target = model.clone();
    let error = checkpoint_from_bytes(&model.to_bytes().unwrap(), &mut target, &mut Adam::new(0.01)).unwrap_err();
    assert!(error.to_string().contains("its format is `keramic`, not `keramic-checkpoint`"), "{error}");

    // A checkpoint is not a weights file: its optimizer tensors are extra.
    let error = target.from_bytes(&bytes).unwrap_err();
    assert!(error.to_string().contains("tensor `optimizer/score_diff.kernel/m` of shape [2, 1]"), "{error}");
}

#[test]
fn checkpoint_file_contents() {
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(27));
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01));
    training.fit(&two_heads_data(), &Fit::epochs(2).batch_size(50).verbose(false)).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("checkpoint.safetensors");
    training.save_checkpoint(&path, 2).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let (header, _) = split_file(&bytes);
    let metadata = &header["__metadata__"];
    assert_eq!(metadata["format"], "keramic-checkpoint");
    assert_eq!(metadata["epoch"], "2");
    assert_eq!(metadata["optimizer"], "adam");
    assert_eq!(metadata["optimizer.step"], "8", "two epochs of four batches");
    assert_eq!(metadata["optimizer.learning_rate"], "0.01");
    assert_eq!(metadata["optimizer.beta_2"], "0.999");
    for name in ["score_diff.kernel", "optimizer/score_diff.kernel/m", "optimizer/score_diff.kernel/v", "optimizer/win.kernel/v"] {
        assert_eq!(header[name]["dtype"], "F32", "{name}");
    }
    assert_eq!(header["optimizer/win.kernel/m"]["shape"], serde_json::json!([1, 1]));
    assert_eq!(tensor_f32(&bytes, "score_diff.kernel"), training.model().score_diff.kernel());

    // An optimizer that has not taken a step has no per-tensor state yet.
    save_checkpoint(&path, training.model(), &Adam::<f32>::new(0.01), 0).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (header, _) = split_file(&bytes);
    let names: Vec<&String> = header.as_object().unwrap().keys().filter(|name| name.starts_with("optimizer")).collect();
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(header["__metadata__"]["optimizer.step"], "0");
}

#[test]
fn initial_epoch_after_last_rejected() {
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(28));
    let error = model
        .compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01))
        .fit(&two_heads_data(), &Fit::epochs(3).initial_epoch(4).verbose(false))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "initial_epoch", .. }), "got {error:?}");

    let history = model
        .compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01))
        .fit(&two_heads_data(), &Fit::epochs(3).initial_epoch(3).verbose(false))
        .unwrap();
    assert!(history.epochs.is_empty());
}

#[test]
fn checkpoint_callback_rejects_keep_zero() {
    let folder = tempfile::tempdir().unwrap();
    let mut checkpoints = ModelCheckpoint::new(folder.path().join("checkpoints"), 0);
    let mut model = TwoHeads::new(&mut StdRng::seed_from_u64(29));
    let error = model
        .compile((MeanAbsoluteError, BinaryCrossentropy), Adam::new(0.01))
        .fit_with_callbacks(&two_heads_data(), &Fit::epochs(2).verbose(false), &mut [&mut checkpoints])
        .unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "keep_last", .. }), "got {error:?}");
    assert_eq!(checkpoints.latest().unwrap(), None);
}
