//! Compile-time checks of the derives: code that must compile, and misuses that must fail with
//! an error at the offending token that says how to fix it.
//!
//! Regenerate the expected errors with
//! `TRYBUILD=overwrite cargo test -p promexport-tests --test ui`, then review the `.stderr` diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
