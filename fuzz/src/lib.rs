//! Fuzz target bodies for syncore.
//!
//! Each target is a plain function over raw bytes, kept free of libFuzzer so the same code
//! runs in two places: the `fuzz_targets/` binaries (driven by `cargo fuzz`) and the normal
//! test suite, which replays every file of `corpus/<target>/` through it
//! (`syncore/tests/fuzz_corpus.rs`). A body panics only when an invariant is broken.

pub mod chunker;
pub mod delta;
pub mod manifest;
