//! Fuzz target bodies for syncore, one module per target family.
//!
//! The bodies are plain functions over `&[u8]` that depend only on `syncore`, so the normal
//! test run can replay the committed corpus through them (`syncore/tests/fuzz_corpus.rs`)
//! without libFuzzer. The binaries in `fuzz_targets/` only wrap them.

pub mod delta;
