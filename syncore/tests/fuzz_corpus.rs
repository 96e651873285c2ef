//! Replays the committed fuzz corpus through the fuzz target bodies as ordinary tests, so every
//! input a fuzzer ever found interesting keeps being checked by `cargo test`.

use std::path::Path;

#[path = "../../fuzz/src/chunker.rs"]
mod chunker;
#[path = "../../fuzz/src/delta.rs"]
mod delta;
#[path = "../../fuzz/src/manifest.rs"]
mod manifest;

/// Runs every file of `fuzz/corpus/<target>/` through `body`; fails if the corpus is empty.
fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for file in &files {
        let data = std::fs::read(file).expect("read corpus file");
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(
            outcome.is_ok(),
            "{target}: corpus input {} broke an invariant",
            file.display()
        );
    }
}

#[test]
fn manifest_decode_corpus() {
    replay("manifest_decode", manifest::manifest_decode);
}

#[test]
fn chunker_invariants_corpus() {
    replay("chunker_invariants", chunker::chunker_invariants);
}

#[test]
fn delta_signature_decode_corpus() {
    replay("delta_signature_decode", delta::signature_decode);
}

#[test]
fn delta_patch_apply_corpus() {
    replay("delta_patch_apply", delta::patch_apply);
}

#[test]
fn delta_roundtrip_corpus() {
    replay("delta_roundtrip", delta::roundtrip);
}
