//! Compile-time tests of `model!`: every case under `tests/ui/` must fail with the error in
//! its `.stderr` file, and every case under `tests/pass/` must compile and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then read
//! each one: the caret must land on the token that the case's opening comment names. Then list
//! a new case's message in `docs/errors.md`.

use std::path::Path;

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/**/*.rs");
    cases.pass("tests/pass/*.rs");
}

/// Returns the `.stderr` files under `dir` and its subfolders.
fn stderr_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/ui is readable") {
        let path = entry.expect("tests/ui is readable").path();
        if path.is_dir() {
            files.extend(stderr_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "stderr") {
            files.push(path);
        }
    }
    files
}

/// Returns the first error message of a `.stderr` file, without its `error[E0277]: ` prefix.
fn first_message(stderr: &str) -> Option<&str> {
    let line = stderr.lines().find(|line| line.starts_with("error"))?;
    line.split_once(": ").map(|(_, message)| message)
}

#[test]
fn error_catalogue_lists_every_case() {
    let catalogue = std::fs::read_to_string("docs/errors.md").expect("docs/errors.md is readable");
    let mut missing = Vec::new();
    for path in stderr_files(Path::new("tests/ui")) {
        let stderr = std::fs::read_to_string(&path).expect("a .stderr file is readable");
        let message = first_message(&stderr).unwrap_or_else(|| panic!("{} has no error line", path.display()));
        let case = path.with_extension("rs");
        let case_name = case.file_name().and_then(|name| name.to_str()).expect("a case has a UTF-8 name");
        let listed = catalogue.lines().any(|line| line.contains(message) && line.contains(case_name));
        if !listed {
            missing.push(format!("{}: {message}", case.display()));
        }
    }
    assert!(missing.is_empty(), "docs/errors.md lacks a row with the case and its message for:\n{}", missing.join("\n"));
}
