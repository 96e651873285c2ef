//! Manifest decoding must reject or accept any bytes without panicking. Whatever it accepts
//! re-encodes to bytes that decode to the same manifest, and to the very same bytes when they
//! were already in the current format (an older format is re-encoded in the current one).

use syncore::FileManifest;

/// Decodes `data` as a manifest; accepted manifests must roundtrip.
pub fn manifest_decode(data: &[u8]) {
    if let Ok(manifest) = FileManifest::decode(data) {
        let encoded = manifest.encode();
        let format = |bytes: &[u8]| bytes.get(4).copied();
        if format(data) == format(&encoded) {
            assert_eq!(
                encoded, data,
                "accepted manifest does not re-encode identically"
            );
        }
        assert_eq!(
            FileManifest::decode(&encoded).ok().as_ref(),
            Some(&manifest),
            "the re-encoding does not decode to the same manifest"
        );
        let total: u64 = manifest.chunks().iter().map(|c| u64::from(c.len)).sum();
        assert_eq!(total, manifest.size());
    }
}
