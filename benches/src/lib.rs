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
