//! Shared fixtures for syncore's criterion benchmarks.
//!
//! Every benchmark group compares syncore with its peers on the same seeded data; the data
//! generators live here so each contender sees identical bytes in every run.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// `len` pseudo-random bytes from a fixed seed: the same bytes on every run and machine.
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// `data` with `count` scattered small edits (inserts, deletes and replacements of 1 to 64
/// bytes), chosen by a fixed seed.
pub fn scattered_edits(data: &[u8], count: usize, seed: u64) -> Vec<u8> {
    use rand::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = data.to_vec();
    if out.len() < 128 {
        return out;
    }
    // Spread the edits evenly, each at a random offset inside its own stretch.
    let stretch = out.len() / count.max(1);
    for i in (0..count).rev() {
        let at = i * stretch + rng.gen_range(0..stretch.saturating_sub(64).max(1));
        let n = rng.gen_range(1..=64usize).min(out.len() - at);
        match rng.gen_range(0..3) {
            0 => {
                let mut bytes = vec![0u8; n];
                rng.fill_bytes(&mut bytes);
                out.splice(at..at, bytes);
            }
            1 => {
                out.drain(at..at + n);
            }
            _ => rng.fill_bytes(&mut out[at..at + n]),
        }
    }
    out
}
