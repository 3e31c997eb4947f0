//! Regression on the diabetes data set, with the learning curves saved as CSV and as a picture.
//!
//! The model predicts a measure of disease progression one year after baseline from ten
//! measurements of 441 patients. The data set ships inside the `linfa-datasets` crate. Inputs
//! and targets are standardized with training statistics, and the test error is reported in
//! the target's own units. `fit` returns a `History`, which this example writes as CSV and,
//! when built with the `plot` feature, draws as a PNG picture.
//!
//! Run with `cargo run --release --example 09_diabetes`, or with
//! `cargo run --release --features plot --example 09_diabetes -- --csv history.csv --plot history.png`
//! to write the learning curves.

use std::path::PathBuf;
use std::process::ExitCode;

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Age, sex, body mass index, blood pressure and six blood serum measurements.
const FEATURES: usize = 10;

model! {
    /// Predicts the standardized disease progression from standardized measurements.
    pub struct Diabetes {
        input measurements: [FEATURES];
        let hidden = Dense::<8, Relu>(measurements);
        output progression = Dense::<1>(hidden);
    }
}

type DiabetesData = Dataset<DiabetesInput, DiabetesOutput>;

/// The share of patients held out for the test set.
const TEST_FRACTION: f64 = 0.2;

/// The seed of the split, the initial weights and the shuffling.
const SEED: u64 = 9;

/// The files for the learning curves, from the command line.
#[derive(Default)]
struct Outputs {
    csv: Option<PathBuf>,
    plot: Option<PathBuf>,
}

/// The mean and standard deviation of each feature and of the target, from the training rows.
struct Scaling {
    feature_mean: [f32; FEATURES],
    feature_std: [f32; FEATURES],
    target_mean: f32,
    target_std: f32,
}

fn main() -> ExitCode {
    let outputs = match parse_args() {
        Ok(outputs) => outputs,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&outputs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(outputs: &Outputs) -> Result<(), Box<dyn std::error::Error>> {
    let patients = load_patients();
    let (raw_train, raw_test) = patients.split_shuffled(TEST_FRACTION, SEED)?;
    let scaling = Scaling::measure(&raw_train);
    let train = scaling.apply(&raw_train);
    let test = scaling.apply(&raw_test);
    println!("Diabetes: {} training patients, {} test patients", train.len(), test.len());

    println!("{}", Diabetes::summary());
    let mut model = Diabetes::new(&mut StdRng::seed_from_u64(SEED));
    let mut training = model.compile(MeanSquaredError, Adam::new(0.002));
    let history = training.fit(&train, &Fit::epochs(60).batch_size(16).validation_split(0.2).seed(SEED))?;

    let predictions = model.predict(test.inputs())?;
    let test_mae = predictions
        .iter()
        .zip(raw_test.targets())
        .map(|(prediction, target)| f64::from((scaling.unscale(prediction.progression[0]) - target.progression[0]).abs()))
        .sum::<f64>()
        / raw_test.len() as f64;
    let baseline = raw_test
        .targets()
        .iter()
        .map(|target| f64::from((scaling.target_mean - target.progression[0]).abs()))
        .sum::<f64>()
        / raw_test.len() as f64;
    println!();
    println!("Test MAE: {test_mae:.1} (predicting the training mean: {baseline:.1}); targets range from 25 to 346");

    if let Some(path) = &outputs.csv {
        history.write_csv(path)?;
        println!("Wrote the learning curves to {}", path.display());
    }
    if let Some(path) = &outputs.plot {
        plot(&history, path)?;
        println!("Drew the learning curves to {}", path.display());
    }
    Ok(())
}

#[cfg(feature = "plot")]
fn plot(history: &History, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    Ok(history.plot(path)?)
}

#[cfg(not(feature = "plot"))]
fn plot(_history: &History, _path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    Err("--plot needs the `plot` feature; run with `cargo run --release --features plot --example 09_diabetes`".into())
}

/// Loads the 441 patients with their measurements and raw disease progression.
fn load_patients() -> DiabetesData {
    // `diabetes()` parses CSV files compiled into linfa-datasets 0.8.1 and panics only if
    // those embedded files are corrupt.
    let diabetes = linfa_datasets::diabetes();
    diabetes
        .records
        .rows()
        .into_iter()
        .zip(diabetes.targets.iter())
        .map(|(row, &progression)| {
            let mut measurements = [0.0; FEATURES];
            for (feature, &value) in measurements.iter_mut().zip(row.iter()) {
                *feature = value as f32;
            }
            (DiabetesInput { measurements }, DiabetesOutput { progression: [progression as f32] })
        })
        .collect()
}

impl Scaling {
    fn measure(train: &DiabetesData) -> Self {
        let feature = |j: usize| mean_and_std(train.inputs().iter().map(|input| input.measurements[j]));
        let columns: [(f32, f32); FEATURES] = std::array::from_fn(feature);
        let (target_mean, target_std) = mean_and_std(train.targets().iter().map(|target| target.progression[0]));
        Scaling {
            feature_mean: columns.map(|(mean, _)| mean),
            feature_std: columns.map(|(_, std)| std),
            target_mean,
            target_std,
        }
    }

    fn apply(&self, data: &DiabetesData) -> DiabetesData {
        data.inputs()
            .iter()
            .zip(data.targets())
            .map(|(input, target)| {
                let mut measurements = input.measurements;
                for j in 0..FEATURES {
                    measurements[j] = (measurements[j] - self.feature_mean[j]) / self.feature_std[j];
                }
                let progression = [(target.progression[0] - self.target_mean) / self.target_std];
                (DiabetesInput { measurements }, DiabetesOutput { progression })
            })
            .collect()
    }

    /// Converts a standardized prediction back to the target's units.
    fn unscale(&self, value: f32) -> f32 {
        value * self.target_std + self.target_mean
    }
}

/// Returns the mean and standard deviation of `values`, with a deviation of 1 for a constant
/// series so that standardizing it gives 0 instead of NaN.
fn mean_and_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let count = values.clone().count().max(1) as f32;
    let mean = values.clone().sum::<f32>() / count;
    let variance = values.map(|value| (value - mean).powi(2)).sum::<f32>() / count;
    (mean, if variance > 0.0 { variance.sqrt() } else { 1.0 })
}

fn parse_args() -> Result<Outputs, String> {
    let usage = "usage: 09_diabetes [--csv FILE] [--plot FILE]";
    let mut outputs = Outputs::default();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.to_str() {
            Some("--csv") => &mut outputs.csv,
            Some("--plot") => &mut outputs.plot,
            Some("--help") => return Err(usage.to_owned()),
            _ => return Err(format!("unknown argument `{}`; {usage}", arg.to_string_lossy())),
        };
        let path = args.next().ok_or_else(|| format!("`{}` needs a file name; {usage}", arg.to_string_lossy()))?;
        *slot = Some(PathBuf::from(path));
    }
    Ok(outputs)
}
