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

/// The data size for a benchmark in MiB: `SYNCORE_BENCH_MIB` if set, else `default`.
pub fn bench_mib(default: usize) -> usize {
    std::env::var("SYNCORE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `data` with `count` scattered small edits (inserts, deletes and replacements of 1 to 64
/// bytes), chosen by a fixed seed: edit `i` lands at a random offset inside the `i`-th of
/// `count` equal stretches of `data`.
pub fn scattered_edits(data: &[u8], count: usize, seed: u64) -> Vec<u8> {
    use rand::Rng;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let stretch = data.len() / count.max(1);
    if stretch < 128 {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() + 64 * count);
    let mut at = 0;
    for i in 0..count {
        let edit = i * stretch + rng.gen_range(0..stretch - 64);
        out.extend_from_slice(&data[at..edit]);
        let n = rng.gen_range(1..=64usize);
        let mut bytes = vec![0u8; n];
        rng.fill_bytes(&mut bytes);
        at = match rng.gen_range(0..3) {
            // Insert.
            0 => {
                out.extend_from_slice(&bytes);
                edit
            }
            // Delete.
            1 => edit + n,
            // Replace.
            _ => {
                out.extend_from_slice(&bytes);
                edit + n
            }
        };
    }
    out.extend_from_slice(&data[at..]);
    out
}
