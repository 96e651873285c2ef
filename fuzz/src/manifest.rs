//! Manifest decoding must reject or accept any bytes without panicking, and whatever it
//! accepts must re-encode to the same bytes.

use syncore::FileManifest;

/// Decodes `data` as a manifest; accepted manifests must roundtrip exactly.
pub fn manifest_decode(data: &[u8]) {
    if let Ok(manifest) = FileManifest::decode(data) {
        assert_eq!(
            manifest.encode(),
            data,
            "accepted manifest does not re-encode identically"
        );
        let total: u64 = manifest.chunks().iter().map(|c| u64::from(c.len)).sum();
        assert_eq!(total, manifest.size());
    }
}
