//! Replays every committed fuzz corpus file through its target body, so `make test` catches
//! regressions on inputs the fuzzers found interesting.

use std::path::Path;

#[path = "../../fuzz/src/delta.rs"]
mod delta;

/// Runs `body` on every file in `fuzz/corpus/<target>/`.
fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        body(&data);
    }
}

#[test]
fn delta_signature_decode() {
    replay("delta_signature_decode", delta::signature_decode);
}

#[test]
fn delta_patch_apply() {
    replay("delta_patch_apply", delta::patch_apply);
}

#[test]
fn delta_roundtrip() {
    replay("delta_roundtrip", delta::roundtrip);
}
