//! Measures the peak memory of training on a generated CSV file read in chunks.
//!
//! ```text
//! cargo run --release --example stream_memory -- [ROWS] [ROWS_PER_CHUNK] [--in-memory] [--keep]
//! ```
//!
//! The program writes ROWS rows (default 10,000,000) of four random features and a binary
//! label to a file in the temporary directory. It trains a small classifier on the file for
//! one epoch with `fit_stream` and scores it with `evaluate_stream`, reading ROWS_PER_CHUNK
//! rows at a time (default 65,536). After each step it prints the peak resident memory, the
//! VmHWM line of `/proc/self/status`. With `--in-memory` it loads the whole file with
//! `Dataset::read_csv` and uses `fit` and `evaluate` instead, for comparison. The file is
//! removed at the end unless `--keep` is given, and a kept file is reused by the next run.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use keramic::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

model! {
    /// A classifier of four features with one hidden layer.
    pub struct Classifier {
        input x: [4];
        output label = Dense::<1, Sigmoid>(Dense::<8, Relu>(x));
    }
}

#[derive(serde::Deserialize)]
struct Row {
    x0: f32,
    x1: f32,
    x2: f32,
    x3: f32,
    label: u8,
}

fn to_pair(row: Row) -> (ClassifierInput, ClassifierOutput) {
    (ClassifierInput { x: [row.x0, row.x1, row.x2, row.x3] }, ClassifierOutput { label: [f32::from(row.label)] })
}

/// The command line.
struct Options {
    rows: usize,
    rows_per_chunk: usize,
    in_memory: bool,
    keep: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options { rows: 10_000_000, rows_per_chunk: 65_536, in_memory: false, keep: false };
    let mut numbers = Vec::new();
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--in-memory" => options.in_memory = true,
            "--keep" => options.keep = true,
            text => numbers.push(
                text.replace('_', "")
                    .parse::<usize>()
                    .map_err(|_| format!("invalid argument `{text}`; expected a row count, --in-memory or --keep"))?,
            ),
        }
    }
    match numbers[..] {
        [] => {}
        [rows] => options.rows = rows,
        [rows, rows_per_chunk] => (options.rows, options.rows_per_chunk) = (rows, rows_per_chunk),
        _ => return Err("expected at most two numbers: ROWS and ROWS_PER_CHUNK".to_owned()),
    }
    if options.rows == 0 || options.rows_per_chunk == 0 {
        return Err("ROWS and ROWS_PER_CHUNK must be at least 1".to_owned());
    }
    Ok(options)
}

/// Returns the peak resident set size of this process in MiB, from VmHWM in
/// `/proc/self/status`, or `None` where that file does not exist.
fn peak_resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn report(step: &str, started: Instant) {
    let peak = peak_resident_mib().map_or_else(|| "unavailable".to_owned(), |mib| format!("{mib:.1} MiB"));
    println!("{step:<28} {:>8.1} s   peak resident memory {peak}", started.elapsed().as_secs_f64());
}

/// Writes `rows` rows with the label `x0 + x1 − x2 > 0`, from a fixed seed.
fn write_rows(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut writer = BufWriter::new(File::create(path)?);
    writeln!(writer, "x0,x1,x2,x3,label")?;
    let mut rng = StdRng::seed_from_u64(42);
    for _ in 0..rows {
        let x: [f32; 4] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
        let label = u8::from(x[0] + x[1] - x[2] > 0.0);
        writeln!(writer, "{:.4},{:.4},{:.4},{:.4},{label}", x[0], x[1], x[2], x[3])?;
    }
    writer.flush()
}

fn run(options: &Options, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    if !path.exists() {
        write_rows(path, options.rows)?;
    }
    let megabytes = std::fs::metadata(path)?.len() as f64 / 1e6;
    println!("{} rows, {megabytes:.0} MB, in {}", options.rows, path.display());
    report("file ready", started);

    let mut model = Classifier::new(&mut StdRng::seed_from_u64(1));
    let mut training = model.compile(BinaryCrossentropy, Adam::new(0.01));
    let fit = Fit::epochs(1).batch_size(256).verbose(false);

    let (history, scores) = if options.in_memory {
        let started = Instant::now();
        let data = Dataset::read_csv(path, to_pair)?;
        report("read_csv into a Dataset", started);
        let started = Instant::now();
        let history = training.fit(&data, &fit)?;
        report("fit, 1 epoch", started);
        let started = Instant::now();
        let scores = training.evaluate(&data)?;
        report("evaluate", started);
        (history, scores)
    } else {
        println!("chunks of {} rows", options.rows_per_chunk);
        let mut source = CsvChunks::open(path, options.rows_per_chunk, to_pair)?;
        let started = Instant::now();
        let history = training.fit_stream(&mut source, &fit)?;
        report("fit_stream, 1 epoch", started);
        let started = Instant::now();
        let scores = training.evaluate_stream(&mut source)?;
        report("evaluate_stream", started);
        (history, scores)
    };

    let accuracy = scores.outputs[0].accuracy.unwrap_or(f64::NAN);
    println!("training loss {:.4}, final loss {:.4}, accuracy {accuracy:.4}", history.epochs[0].train.loss, scores.loss);
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("usage: stream_memory [ROWS] [ROWS_PER_CHUNK] [--in-memory] [--keep]");
            return ExitCode::FAILURE;
        }
    };
    let path: PathBuf = std::env::temp_dir().join(format!("keramic-stream-memory-{}.csv", options.rows));
    let result = run(&options, &path);
    if !options.keep {
        let _ = std::fs::remove_file(&path);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
