//! Compile-time tests of `model!`: every case under `tests/ui/` must fail with the error in
//! its `.stderr` file, and every case under `tests/pass/` must compile and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then read
//! each one: the caret must land on the token that the case's opening comment names.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/**/*.rs");
    cases.pass("tests/pass/*.rs");
}
