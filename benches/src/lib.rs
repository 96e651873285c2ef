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

/// A size parameter of a benchmark: the environment variable `name` if it is set to a
/// number, else `default` (e.g. `SYNCORE_BENCH_MIB`, `SYNCORE_BENCH_FILES`).
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The data size for a benchmark in MiB: `SYNCORE_BENCH_MIB` if set, else `default`.
pub fn bench_mib(default: usize) -> usize {
    env_usize("SYNCORE_BENCH_MIB", default)
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

/// The shape of a generated directory tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeSpec {
    /// Number of files.
    pub files: usize,
    /// Number of directories the files are spread over (round robin).
    pub dirs: usize,
    /// Largest file size; sizes are `max_size * u²` for uniform `u`, so most files are small
    /// (mean about a third of `max_size`).
    pub max_size: usize,
    /// Seed for sizes and contents.
    pub seed: u64,
}

impl TreeSpec {
    /// The relative path of file `i`.
    pub fn file_path(&self, i: usize) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("d{:04}/f{:07}.bin", i % self.dirs.max(1), i))
    }
}

/// Writes the tree described by `spec` under `root`; returns the total bytes written.
pub fn generate_tree(root: &std::path::Path, spec: &TreeSpec) -> std::io::Result<u64> {
    use rand::Rng;
    for d in 0..spec.dirs.max(1) {
        std::fs::create_dir_all(root.join(format!("d{d:04}")))?;
    }
    let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
    let mut buf = vec![0u8; spec.max_size];
    let mut total = 0u64;
    for i in 0..spec.files {
        let u: f64 = rng.gen();
        let len = ((u * u) * spec.max_size as f64) as usize;
        rng.fill_bytes(&mut buf[..len]);
        std::fs::write(root.join(spec.file_path(i)), &buf[..len])?;
        total += len as u64;
    }
    Ok(total)
}

/// Rewrites `count` distinct files of the tree with fresh seeded content (same sizes);
/// returns their indices.
pub fn rewrite_files(
    root: &std::path::Path,
    spec: &TreeSpec,
    count: usize,
    seed: u64,
) -> std::io::Result<Vec<usize>> {
    use rand::seq::index::sample;
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let chosen = sample(&mut rng, spec.files, count.min(spec.files)).into_vec();
    for &i in &chosen {
        let path = root.join(spec.file_path(i));
        let len = std::fs::metadata(&path)?.len() as usize;
        let mut data = vec![0u8; len.max(1)];
        rng.fill_bytes(&mut data);
        std::fs::write(&path, &data)?;
    }
    Ok(chosen)
}
