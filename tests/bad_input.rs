//! Bad input gives an error that names the value and where it is, and never a panic.

use keramic::prelude::*;
use rand::SeedableRng;

model! {
    pub struct Ratings {
        input user: Id<4>;
        input extra: [2];
        let vector = Flatten(Embedding::<4, 2>(user));
        output rating = Dense::<1>(Concatenate(vector, extra));
    }
}

fn row(user: u32, extra: [f32; 2], rating: f32) -> (RatingsInput, RatingsOutput) {
    (RatingsInput { user, extra }, RatingsOutput { rating: [rating] })
}

fn good_rows() -> Dataset<RatingsInput, RatingsOutput> {
    (0..20).map(|i| row(i % 4, [i as f32 / 20.0, 1.0], (i % 4) as f32)).collect()
}

fn model() -> Ratings {
    Ratings::new(&mut rand::rngs::StdRng::seed_from_u64(3))
}

#[test]
fn fit_rejects_id_outside_vocabulary() {
    let mut data: Vec<_> = good_rows().inputs().iter().cloned().zip(good_rows().targets().iter().cloned()).collect();
    data[13].0.user = 9;
    let data: Dataset<_, _> = data.into_iter().collect();
    let mut model = model();
    let before = model.predict(&good_rows().inputs()[..1]).unwrap();

    let error = model.compile(MeanSquaredError, Adam::default()).fit(&data, &Fit::epochs(1).verbose(false)).unwrap_err();

    assert!(matches!(error, Error::IdOutOfRange { input: "user", row: 13, id: 9, vocabulary: 4 }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "input `user`, row 13: id 9 is outside the vocabulary 0..4; map ids to 0..4 or declare a larger vocabulary"
    );
    assert_eq!(model.predict(&good_rows().inputs()[..1]).unwrap(), before, "a rejected fit must not change the weights");
}

#[test]
fn predict_rejects_id_outside_vocabulary() {
    let error = model().predict(&[RatingsInput { user: 4, extra: [0.0, 0.0] }]).unwrap_err();
    assert!(matches!(error, Error::IdOutOfRange { input: "user", row: 0, id: 4, vocabulary: 4 }), "{error:?}");
}

#[test]
fn fit_rejects_nan_input() {
    let data: Dataset<_, _> = (0..5).map(|i| row(1, [if i == 3 { f32::NAN } else { 0.0 }, 1.0], 1.0)).collect();
    let error = model().compile(MeanSquaredError, Adam::default()).fit(&data, &Fit::epochs(1).verbose(false)).unwrap_err();
    assert_eq!(error.to_string(), "input `extra`, row 3: value NaN is not finite; clean or drop this row");
}

#[test]
fn fit_rejects_infinite_target() {
    let data: Dataset<_, _> = (0..5).map(|i| row(1, [0.0, 1.0], if i == 2 { f32::INFINITY } else { 1.0 })).collect();
    let error = model().compile(MeanSquaredError, Adam::default()).fit(&data, &Fit::epochs(1).verbose(false)).unwrap_err();
    assert_eq!(error.to_string(), "target `rating`, row 2: value inf is not finite; clean or drop this row");
}

#[test]
fn fit_rejects_validation_split_outside_range() {
    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    for split in [1.0, 1.5, -0.1, f64::NAN] {
        let error = training.fit(&good_rows(), &Fit::epochs(1).validation_split(split).verbose(false)).unwrap_err();
        assert!(matches!(error, Error::InvalidOption { option: "validation_split", .. }), "split {split}: {error:?}");
        assert!(error.to_string().contains("is outside [0, 1)"), "{error}");
    }
}

#[test]
fn fit_rejects_zero_batch_size() {
    let error = model().compile(MeanSquaredError, Adam::default()).fit(&good_rows(), &Fit::epochs(1).batch_size(0).verbose(false)).unwrap_err();
    assert_eq!(error.to_string(), "invalid batch_size: 0 rows per batch; use a batch size of at least 1");
}

#[test]
fn fit_rejects_empty_data() {
    let empty: Dataset<RatingsInput, RatingsOutput> = Dataset::default();
    let error = model().compile(MeanSquaredError, Adam::default()).fit(&empty, &Fit::epochs(1).verbose(false)).unwrap_err();
    assert_eq!(error.to_string(), "the training set (after the validation split) has no rows");
}

#[test]
fn fit_rejects_invalid_learning_rate() {
    let error = model().compile(MeanSquaredError, Adam::new(-0.1)).fit(&good_rows(), &Fit::epochs(1).verbose(false)).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "learning_rate", .. }), "{error:?}");
}

#[test]
fn fit_stops_when_gradient_overflows() {
    // Targets near f32::MAX give a finite loss (computed in f64) but an infinite f32 gradient.
    let data: Dataset<_, _> = (0..8).map(|_| row(1, [1.0, 1.0], 3.0e38)).collect();
    let mut model = model();
    let before = model.predict(&data.inputs()[..1]).unwrap();

    let error = model.compile(MeanSquaredError, Adam::default()).fit(&data, &Fit::epochs(2).batch_size(4).verbose(false)).unwrap_err();

    assert!(matches!(error, Error::NonFiniteGradient { epoch: 1, batch: 1, .. }), "{error:?}");
    assert!(error.to_string().starts_with("a gradient became -inf at epoch 1, batch 1;"), "{error}");
    assert_eq!(model.predict(&data.inputs()[..1]).unwrap(), before, "weights must stay as before the bad batch");
}

#[derive(serde::Deserialize)]
struct CsvRow {
    #[allow(dead_code)]
    user: u32,
    #[allow(dead_code)]
    score: f32,
}

#[test]
fn read_csv_names_file_line_and_column() {
    let dir = std::env::temp_dir().join(format!("keramic-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scores.csv");
    std::fs::write(&path, "user,score\n1,2.5\n2,high\n").unwrap();

    let error = read_csv::<CsvRow>(&path).err().unwrap();

    let message = error.to_string();
    assert!(message.contains("scores.csv"), "{message}");
    assert!(message.contains("line 3, column `score`"), "{message}");
    assert!(message.contains("`high`"), "{message}");

    std::fs::write(&path, "user\n1\n").unwrap();
    let message = read_csv::<CsvRow>(&path).err().unwrap().to_string();
    assert!(message.contains("column `score`"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fit_negative_loss_weight() {
    let error = model().compile(MeanAbsoluteError.weighted(-1.0), Adam::default()).fit(&good_rows(), &Fit::epochs(1).verbose(false)).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "loss weight", .. }), "{error:?}");
    assert!(error.to_string().contains("output `rating` has weight -1"), "{error}");

    let error = model().compile(MeanAbsoluteError.weighted(f64::NAN), Adam::default()).train_on_batch(&good_rows(), &[0]).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "loss weight", .. }), "{error:?}");
}

#[test]
fn train_on_batch_row_out_of_range() {
    let rows = good_rows();
    let error = model().compile(MeanAbsoluteError, Adam::default()).train_on_batch(&rows, &[0, rows.len()]).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "batch indices", .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("row {} is outside the data set, which has {} rows", rows.len(), rows.len())), "{error}");
}

#[test]
fn predict_error_names_slice_row() {
    let mut inputs: Vec<RatingsInput> = (0..20_001).map(|i| RatingsInput { user: i % 4, extra: [0.5, 1.0] }).collect();
    inputs[15_000].user = 9;
    let model = model();

    let error = model.predict(&inputs).unwrap_err();
    assert!(matches!(error, Error::IdOutOfRange { row: 15_000, .. }), "{error:?}");

    let mut outputs = Vec::new();
    let error = model.predictor().predict_into(&inputs, &mut outputs).unwrap_err();
    assert!(matches!(error, Error::IdOutOfRange { row: 15_000, .. }), "{error:?}");

    inputs[15_000].user = 1;
    inputs[8_500].extra[0] = f32::NAN;
    let error = model.predict(&inputs).unwrap_err();
    assert!(matches!(error, Error::NonFiniteValue { row: 8_500, .. }), "{error:?}");
}

#[test]
fn evaluate_negative_loss_weight() {
    let error = model().compile(MeanAbsoluteError.weighted(-1.0), Adam::default()).evaluate(&good_rows()).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "loss weight", .. }), "{error:?}");
}
