//! The command line shared by the examples on the NCAA tournament files: `--data DIR`, and
//! `--json` or `--plot DIR` where an example offers them.

use std::error::Error;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// An example's name, its data file and the options it accepts besides `--data`.
pub struct Spec {
    /// The example's name, as passed to `cargo run --example`.
    pub example: &'static str,
    /// The CSV file read from the `--data` folder.
    pub data_file: &'static str,
    /// The help line of `--json`, for an example that accepts it.
    pub json_help: Option<&'static str>,
    /// The help line of `--plot DIR`, for an example that accepts it.
    pub plot_help: Option<&'static str>,
}

/// Command-line options.
// Each example is its own binary and reads only the options it accepts, so the others are
// unread there.
#[allow(dead_code)]
pub struct Options {
    /// The folder that contains the data file.
    pub data_dir: PathBuf,
    /// JSON output instead of text, when the example accepts `--json`.
    pub json: bool,
    /// The folder for PNG pictures, when the example accepts `--plot DIR`.
    pub plot_dir: Option<PathBuf>,
}

/// The action that the command line requests.
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the command line, then runs `run` and turns its outcome into the exit code: 0 on
/// success, 1 for an error while running, and 2 for a command-line mistake.
pub fn main_with(spec: &Spec, run: impl FnOnce(&Options) -> Result<(), Box<dyn Error>>) -> ExitCode {
    let options = match parse_args(spec, std::env::args_os().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{}", usage(spec));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };

    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Returns the help text.
pub fn usage(spec: &Spec) -> String {
    let json = if spec.json_help.is_some() { " [--json]" } else { "" };
    let plot = if spec.plot_help.is_some() { " [--plot DIR]" } else { "" };
    let mut text = format!(
        "Usage: cargo run --release --example {} -- --data DIR{json}{plot}\n\nOptions:\n  --data DIR  folder that contains {}",
        spec.example, spec.data_file
    );
    for (flag, help) in [("--json    ", spec.json_help), ("--plot DIR", spec.plot_help)] {
        if let Some(help) = help {
            text.push_str(&format!("\n  {flag}  {help}"));
        }
    }
    text.push_str("\n  -h, --help  print this help");
    text
}

/// Parses the arguments after the program name. An error is the message to print.
///
/// Arguments are read as `OsString`, so a path that is not valid UTF-8 is still accepted.
pub fn parse_args(spec: &Spec, args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut data_dir = None;
    let mut json = false;
    let mut plot_dir = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--data") => match args.next() {
                Some(dir) => data_dir = Some(PathBuf::from(dir)),
                None => return Err(format!("missing value for --data: pass the folder that contains {}", spec.data_file)),
            },
            Some("--json") if spec.json_help.is_some() => json = true,
            Some("--plot") if spec.plot_help.is_some() => match args.next() {
                Some(dir) => plot_dir = Some(PathBuf::from(dir)),
                None => return Err("missing value for --plot: pass the folder for the PNG files".to_owned()),
            },
            Some("-h" | "--help") => return Ok(Command::Help),
            _ => return Err(format!("unknown argument `{}`\n\n{}", arg.to_string_lossy(), usage(spec))),
        }
    }

    match data_dir {
        Some(data_dir) => Ok(Command::Run(Options { data_dir, json, plot_dir })),
        None => Err(missing_data_message(spec)),
    }
}

fn missing_data_message(spec: &Spec) -> String {
    format!(
        "missing --data DIR: this example reads {}, from the NCAA tournament files of the \
         DataCamp course \"Advanced Deep Learning with Keras\".\n\
         The files are in the folder shared/data/basketball beside this repository, where \
         PROVENANCE.md says where they come from. From the repository root, run:\n\
         \n    \
         cargo run --release --example {} -- --data ../shared/data/basketball",
        spec.data_file, spec.example
    )
}
