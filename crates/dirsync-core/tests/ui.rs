//! The typed invariants of DESIGN §3, proven by programs that must not compile.
//!
//! Each file in `tests/ui` breaks one invariant and is checked against the compiler's exact
//! error (its `.stderr`), so a case cannot pass for an unrelated reason; `tests/pass` holds the
//! legal twins, which must compile.

#[test]
fn typed_invariants() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
