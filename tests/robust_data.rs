//! Data checks before training: every bad input is an error that names the row, the column or
//! field, and the value.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

model! {
    pub struct Ratings {
        input user: Id<4>;
        input extra: [2];
        let vector = Flatten(Embedding::<4, 2>(user));
        output rating = Dense::<1>(Concatenate(vector, extra));
    }
}

#[derive(Debug, serde::Deserialize)]
struct RatingRow {
    user: u32,
    a: f32,
    b: f32,
    rating: f32,
}

fn to_pair(row: RatingRow) -> (RatingsInput, RatingsOutput) {
    (RatingsInput { user: row.user, extra: [row.a, row.b] }, RatingsOutput { rating: [row.rating] })
}

fn rows(count: usize) -> Dataset<RatingsInput, RatingsOutput> {
    (0..count)
        .map(|i| (RatingsInput { user: (i % 4) as u32, extra: [i as f32 / 10.0, 1.0] }, RatingsOutput { rating: [(i % 4) as f32] }))
        .collect()
}

fn model() -> Ratings {
    Ratings::new(&mut StdRng::seed_from_u64(3))
}

fn quiet(epochs: usize) -> Fit {
    Fit::epochs(epochs).verbose(false)
}

/// Reads `text` as `ratings.csv` in the three ways a CSV file becomes rows, and checks that
/// all three fail with `expected`.
fn assert_csv_error(text: &str, expected: &str) {
    let error = keramic::data::csv::read_csv_from::<RatingRow, _>(text.as_bytes(), "ratings.csv").unwrap_err();
    assert_eq!(error.to_string(), expected, "read_csv_from");

    let error = Dataset::read_csv_from(text.as_bytes(), "ratings.csv", to_pair).unwrap_err();
    assert_eq!(error.to_string(), expected, "Dataset::read_csv_from");

    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    let error = CsvChunks::from_bytes(text.as_bytes(), "ratings.csv", 2, to_pair)
        .and_then(|mut source| training.fit_stream(&mut source, &quiet(1)))
        .unwrap_err();
    assert_eq!(error.to_string(), expected, "fit_stream on CsvChunks");
}

#[test]
fn csv_missing_field_names_line_and_column() {
    assert_csv_error(
        "user,a,b,rating\n1,0.5,1,2\n2,0.5,1\n",
        "`ratings.csv`, line 3, column `rating`: found 3 fields, expected 4 to match the header row",
    );
}

#[test]
fn csv_extra_field_names_line_and_column() {
    assert_csv_error(
        "user,a,b,rating\n1,0.5,1,2\n1,2,3\n2,0.5,1,2,9\n",
        "`ratings.csv`, line 3, column `rating`: found 3 fields, expected 4 to match the header row",
    );
    assert_csv_error(
        "user,a,b,rating\n1,0.5,1,2\n2,0.5,1,2,9\n",
        "`ratings.csv`, line 3, column `5`: found 5 fields, expected 4 to match the header row; quote fields \
         that contain a comma",
    );
}

#[test]
fn csv_missing_column_names_header() {
    assert_csv_error(
        "user,a,rating\n1,0.5,2\n",
        "`ratings.csv`, line 1, column `b`: the header row has no column `b`; add the column, or make the field \
         an `Option` or give it `#[serde(default)]`",
    );
}

#[test]
fn csv_empty_field_names_line_and_column() {
    assert_csv_error(
        "user,a,b,rating\n1,,1,2\n",
        "`ratings.csv`, line 2, column `a`: expected a floating-point number, found an empty field; make the \
         field an `Option` to read empty fields as `None`",
    );
}

#[test]
fn csv_nan_and_infinity_name_line_and_column() {
    assert_csv_error(
        "user,a,b,rating\n1,0.5,1,2\n1,0.5,NaN,2\n",
        "`ratings.csv`, line 3, column `b`: value `NaN` is not finite; clean or drop this row",
    );
    assert_csv_error(
        "user,a,b,rating\n1,0.5,1,-inf\n",
        "`ratings.csv`, line 2, column `rating`: value `-inf` is not finite; clean or drop this row",
    );
}

#[test]
fn csv_header_only_is_rejected_for_a_dataset() {
    let text = "user,a,b,rating\n";
    let rows = keramic::data::csv::read_csv_from::<RatingRow, _>(text.as_bytes(), "ratings.csv").unwrap();
    assert!(rows.is_empty(), "read_csv returns no rows for a header-only file");

    let expected = "`ratings.csv` has a header row but no records; add at least one row below the header";
    let error = Dataset::read_csv_from(text.as_bytes(), "ratings.csv", to_pair).unwrap_err();
    assert!(matches!(error, Error::EmptyCsv { .. }), "{error:?}");
    assert_eq!(error.to_string(), expected);

    let mut source = CsvChunks::from_bytes(text.as_bytes(), "ratings.csv", 10, to_pair).unwrap();
    let mut model = model();
    let error = model.compile(MeanSquaredError, Adam::default()).fit_stream(&mut source, &quiet(1)).unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
fn csv_header_only_file_is_rejected() {
    let path = std::env::temp_dir().join(format!("keramic-robust-data-{}.csv", std::process::id()));
    std::fs::write(&path, "user,a,b,rating\n\n").unwrap();
    let error = Dataset::read_csv(&path, to_pair).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        error.to_string(),
        format!("`{}` has a header row but no records; add at least one row below the header", path.display())
    );
}

#[test]
fn csv_empty_file_is_rejected() {
    assert_csv_error(
        "",
        "`ratings.csv`, line 1, column `1`: the file has no header row because it is empty or contains only empty \
         lines; its first line must name the columns",
    );
}

#[test]
fn id_outside_vocabulary_names_row_everywhere() {
    let mut data: Vec<_> = rows(12).inputs().iter().cloned().zip(rows(12).targets().iter().cloned()).collect();
    data[9].0.user = 7;
    let data: Dataset<_, _> = data.into_iter().collect();
    let expected = "input `user`, row 9: id 7 is outside the vocabulary 0..4; map ids to 0..4 or declare a larger vocabulary";

    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    assert_eq!(training.evaluate(&data).unwrap_err().to_string(), expected, "evaluate");
    assert_eq!(training.fit(&data, &quiet(1)).unwrap_err().to_string(), expected, "fit");

    // In a stream, the row counts from the start of the pass, across chunks.
    let mut source = DatasetChunks::new(&data, 4).unwrap();
    assert_eq!(training.fit_stream(&mut source, &quiet(1)).unwrap_err().to_string(), expected, "fit_stream");
    assert_eq!(training.evaluate_stream(&mut source).unwrap_err().to_string(), expected, "evaluate_stream");
}

#[test]
fn stream_keeps_steps_before_bad_chunk() {
    let mut data: Vec<_> = rows(12).inputs().iter().cloned().zip(rows(12).targets().iter().cloned()).collect();
    data[9].0.user = 7;
    let data: Dataset<_, _> = data.into_iter().collect();
    let mut model = model();
    let before = model.predict(&data.inputs()[..1]).unwrap();
    let mut source = DatasetChunks::new(&data, 8).unwrap();
    model.compile(MeanSquaredError, Adam::new(0.1)).fit_stream(&mut source, &quiet(1).batch_size(4)).unwrap_err();
    assert_ne!(model.predict(&data.inputs()[..1]).unwrap(), before, "the first chunk trained before the bad one was read");
}

#[test]
fn nan_values_name_row_and_field() {
    let mut data: Vec<_> = rows(6).inputs().iter().cloned().zip(rows(6).targets().iter().cloned()).collect();
    data[4].0.extra[1] = f32::NEG_INFINITY;
    data[2].1.rating[0] = f32::NAN;
    let data: Dataset<_, _> = data.into_iter().collect();

    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    assert_eq!(
        training.evaluate(&data.select(&[0, 1, 2, 3])).unwrap_err().to_string(),
        "target `rating`, row 2: value NaN is not finite; clean or drop this row"
    );
    // Each batch checks its inputs before its targets.
    assert_eq!(
        training.evaluate(&data).unwrap_err().to_string(),
        "input `extra`, row 4: value -inf is not finite; clean or drop this row"
    );
    let error = training.fit_stream(&mut DatasetChunks::new(&data.select(&[0, 1, 3, 4]), 3).unwrap(), &quiet(1)).unwrap_err();
    assert_eq!(error.to_string(), "input `extra`, row 3: value -inf is not finite; clean or drop this row");
    assert_eq!(
        model.predict(&data.inputs()[4..]).unwrap_err().to_string(),
        "input `extra`, row 0: value -inf is not finite; clean or drop this row"
    );
}

#[test]
fn empty_data_is_rejected() {
    let empty: Dataset<RatingsInput, RatingsOutput> = Dataset::default();
    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    assert_eq!(training.fit(&empty, &quiet(1)).unwrap_err().to_string(), "the training set (after the validation split) has no rows");
    assert_eq!(training.evaluate(&empty).unwrap_err().to_string(), "the evaluation set has no rows");
    let mut source = DatasetChunks::new(&empty, 4).unwrap();
    assert_eq!(training.fit_stream(&mut source, &quiet(1)).unwrap_err().to_string(), "the training stream has no rows");
    assert_eq!(training.evaluate_stream(&mut source).unwrap_err().to_string(), "the evaluation stream has no rows");
}

#[test]
fn zero_batch_size_is_rejected() {
    let expected = "invalid batch_size: 0 rows per batch; use a batch size of at least 1";
    let data = rows(8);
    let mut model = model();
    let mut training = model.compile(MeanSquaredError, Adam::default());
    assert_eq!(training.fit(&data, &quiet(1).batch_size(0)).unwrap_err().to_string(), expected);
    let mut source = DatasetChunks::new(&data, 4).unwrap();
    assert_eq!(training.fit_stream(&mut source, &quiet(1).batch_size(0)).unwrap_err().to_string(), expected);
}

#[test]
fn split_leaving_no_training_rows_is_rejected() {
    let mut model = model();
    let initial = model.predict(&rows(1).inputs()[..1]).unwrap();
    let error = model.compile(MeanSquaredError, Adam::default()).fit(&rows(3), &quiet(1).validation_split(0.9)).unwrap_err();
    assert!(matches!(error, Error::InvalidOption { option: "validation_split", .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "invalid validation_split: 0.9 of 3 rows leaves no training rows; pass more rows or a smaller validation_split"
    );
    assert_eq!(model.predict(&rows(1).inputs()[..1]).unwrap(), initial);
}

#[test]
fn split_leaving_no_validation_rows_is_rejected() {
    // Keras takes the first ⌊rows × (1 − split)⌋ rows for training, so a split too small to
    // hold out one row would validate on nothing. Keras raises an error then, and so does fit.
    let error = model().compile(MeanSquaredError, Adam::default()).fit(&rows(10), &quiet(1).validation_split(1e-20)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid validation_split: 1e-20 of 10 rows leaves no validation rows; pass a larger validation_split, or 0 \
         to train without validation"
    );
}

#[test]
fn smallest_useful_split_validates_one_row() {
    let history = model().compile(MeanSquaredError, Adam::default()).fit(&rows(5), &quiet(2).validation_split(0.1)).unwrap();
    assert_eq!(history.epochs.len(), 2);
    assert!(history.epochs.iter().all(|log| log.validation.is_some()));
}

#[test]
fn stream_rejects_validation_split() {
    let data = rows(8);
    let mut source = DatasetChunks::new(&data, 4).unwrap();
    let error = model().compile(MeanSquaredError, Adam::default()).fit_stream(&mut source, &quiet(1).validation_split(0.2)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid validation_split: 0.2 cannot hold out rows of a stream; pass a validation source to \
         fit_stream_with_callbacks instead"
    );
}

#[test]
fn zero_rows_per_chunk_is_rejected() {
    let data = rows(8);
    let expected = "invalid rows_per_chunk: 0 rows per chunk; use at least 1, and a multiple of the batch size to keep \
                    every batch full";
    assert_eq!(DatasetChunks::new(&data, 0).unwrap_err().to_string(), expected);
    let error = CsvChunks::from_bytes(&b"user,a,b,rating\n1,2,3,4\n"[..], "ratings.csv", 0, to_pair).unwrap_err();
    assert_eq!(error.to_string(), expected);
}
