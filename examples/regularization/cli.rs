//! The command line of the regularization example.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::DATA_FILE;

/// Command-line options.
pub struct Options {
    /// The folder that contains `DATA_FILE`.
    pub data_dir: PathBuf,
    /// JSON output: one object with every score instead of tables.
    pub json: bool,
    /// The folder for one PNG picture of the learning curves per variant.
    pub plot_dir: Option<PathBuf>,
}

/// The action that the command line requests.
pub enum Command {
    Run(Options),
    Help,
}

pub fn usage() -> String {
    format!(
        "Usage: cargo run --release --example regularization -- --data DIR [--json] [--plot DIR]\n\
         \n\
         Options:\n  \
         --data DIR  folder that contains {DATA_FILE}\n  \
         --json      print one JSON object with every score instead of tables\n  \
         --plot DIR  draw the learning curves of each variant to a PNG file in DIR; needs the\n              \
         `plot` feature (cargo run --release --features plot ...)\n  \
         -h, --help  print this help"
    )
}

/// Parses the arguments after the program name. An error is the message to print.
///
/// Arguments are read as `OsString`, so a path that is not valid UTF-8 is still accepted.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut data_dir = None;
    let mut json = false;
    let mut plot_dir = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--data") => match args.next() {
                Some(dir) => data_dir = Some(PathBuf::from(dir)),
                None => return Err(format!("missing value for --data: pass the folder that contains {DATA_FILE}")),
            },
            Some("--plot") => match args.next() {
                Some(dir) => plot_dir = Some(PathBuf::from(dir)),
                None => return Err("missing value for --plot: pass the folder for the PNG files".to_owned()),
            },
            Some("--json") => json = true,
            Some("-h" | "--help") => return Ok(Command::Help),
            _ => return Err(format!("unknown argument `{}`\n\n{}", arg.to_string_lossy(), usage())),
        }
    }

    match data_dir {
        Some(data_dir) => Ok(Command::Run(Options { data_dir, json, plot_dir })),
        None => Err(missing_data_message()),
    }
}

fn missing_data_message() -> String {
    format!(
        "missing --data DIR: this example reads {DATA_FILE}, one of the NCAA tournament files \
         of the DataCamp course \"Advanced Deep Learning with Keras\" (the other is \
         games_season_enriched.csv).\n\
         The files are in the folder shared/data/basketball beside this repository, where \
         PROVENANCE.md says where they come from. From the repository root, run:\n\
         \n    \
         cargo run --release --example regularization -- --data ../shared/data/basketball"
    )
}
