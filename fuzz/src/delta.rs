//! Fuzz bodies for `syncore::delta`: signature decoding, patch application and the
//! signature → delta → patch roundtrip.
//!
//! Each body must never panic on any input except when syncore breaks an invariant it
//! promises (a roundtrip that does not reproduce the new file, a decode/encode mismatch).

use syncore::delta::{self, Signature, SignatureMagic, SignatureOptions, DELTA_MAGIC};

/// Output limit for patches, so a small delta cannot ask for gigabytes.
const LIMIT: u64 = 1 << 20;

/// Decodes `data` as a signature; a signature that decodes must encode back to `data`, and a
/// delta against it must apply to *some* basis without panicking.
pub fn signature_decode(data: &[u8]) {
    let Ok(sig) = Signature::decode(data) else {
        return;
    };
    assert_eq!(sig.encode(), data, "decode/encode roundtrip");
    // Delta generation against a hostile signature: must terminate quickly and produce a
    // delta that patches cleanly or fails cleanly.
    let new = &data[data.len() / 2..];
    let d = delta::delta(&sig, new).expect("delta into memory cannot fail");
    let _ = delta::patch(data, &d, Some(LIMIT));
}

/// Applies a delta to a basis, both taken from `data`: byte 0 selects the basis length
/// (`(data[0] >> 1) * 8`, capped by what is there) and whether the delta magic is
/// prepended (low bit), so inputs need not spend four bytes on it.
pub fn patch_apply(data: &[u8]) {
    let Some((&h, rest)) = data.split_first() else {
        return;
    };
    let basis_len = (usize::from(h >> 1) * 8).min(rest.len());
    let (basis, body) = rest.split_at(basis_len);
    let mut d = Vec::with_capacity(body.len() + 4);
    if h & 1 == 1 {
        d.extend_from_slice(&DELTA_MAGIC.to_be_bytes());
    }
    d.extend_from_slice(body);
    if let Ok(out) = delta::patch(basis, &d, Some(LIMIT)) {
        assert!(out.len() as u64 <= LIMIT, "limit not enforced");
    }
}

/// Builds options, a basis and a new file from `data` and checks signature → delta → patch
/// reproduces the new file.
///
/// Layout: `[magic, block_lo, block_hi, strong, split_lo, split_hi, rest...]`; the basis is the
/// first `split % (rest.len() + 1)` bytes of `rest`, the remaining bytes are an edit script
/// (3 bytes per edit: position, length, kind) applied to a copy of the basis.
pub fn roundtrip(data: &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let magic = SignatureMagic::ALL[usize::from(head[0]) % 4];
    let block_len = 1 + (u32::from(head[1]) | (u32::from(head[2] & 0x07) << 8));
    let max = magic.strong().max_len();
    let strong_len = match u32::from(head[3]) % (max + 1) {
        0 => None,
        n => Some(n),
    };
    let split = usize::from(u16::from_le_bytes([head[4], head[5]])) % (rest.len() + 1);
    let (basis, script) = rest.split_at(split);
    let mut new = basis.to_vec();
    for edit in script.chunks_exact(3) {
        let at = usize::from(edit[0]) * new.len() / 256;
        let len = usize::from(edit[1] % 64);
        let end = (at + len).min(new.len());
        match edit[2] % 4 {
            0 => {
                new.drain(at..end);
            }
            1 => {
                let ins: Vec<u8> = (0..len).map(|i| edit[2].wrapping_add(i as u8)).collect();
                new.splice(at..at, ins);
            }
            2 => new[at..end].iter_mut().for_each(|b| *b ^= edit[1] | 1),
            _ => {
                // Duplicate a range: exercises repeated blocks.
                let piece = new[at..end].to_vec();
                new.extend_from_slice(&piece);
            }
        }
    }
    let opts = SignatureOptions {
        magic,
        block_len: Some(block_len),
        strong_len,
    };
    let sig = delta::signature_of(basis, &opts).expect("valid options");
    let sig = Signature::decode(&sig.encode()).expect("own signature decodes");
    let d = delta::delta(&sig, &new).expect("delta into memory cannot fail");
    let out = delta::patch(basis, &d, None).expect("own delta applies");
    assert!(out == new, "roundtrip changed the file");
}
