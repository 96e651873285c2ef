//! Chunk + hash throughput: syncore against the plain composition of its building blocks.
//!
//! Group `chunk_hash`: FastCDC 16/64/256 KiB on a seeded buffer (512 MiB by default; set
//! `SYNCORE_BENCH_MIB` to change it), every contender on the same bytes:
//! - `syncore`: `Chunker::chunk_slice` (parallel, boundary-identical cuts, BLAKE3 per chunk);
//! - `naive_fastcdc_blake3`: iterate the `fastcdc` crate and `blake3::hash` each chunk;
//! - `fastcdc_only`: the `fastcdc` crate's boundaries alone;
//! - `syncore_sha256` / `naive_fastcdc_sha256`: the same with SHA-256.
//!
//! Group `chunk_file`: the file entry point (bounded memory) against the in-memory path.

// criterion's macros generate undocumented public items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fastcdc::v2020::FastCDC;
use sha2::Digest as _;
use syncore::chunk::{Chunker, ChunkerConfig};
use syncore::HashAlgo;
use syncore_benches::{bench_mib, seeded_bytes};

const MIN: usize = 16 * 1024;
const AVG: usize = 64 * 1024;
const MAX: usize = 256 * 1024;

fn chunk_hash(c: &mut Criterion) {
    let data = seeded_bytes(0x5eed, bench_mib(512) << 20);
    let blake3 = Chunker::new(ChunkerConfig::default(), HashAlgo::Blake3).expect("valid config");
    let sha256 = Chunker::new(ChunkerConfig::default(), HashAlgo::Sha256).expect("valid config");

    let mut group = c.benchmark_group("chunk_hash");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));

    group.bench_function("syncore", |b| {
        b.iter(|| black_box(blake3.chunk_slice(&data)).len())
    });
    group.bench_function("naive_fastcdc_blake3", |b| {
        b.iter(|| {
            FastCDC::new(&data, MIN, AVG, MAX)
                .map(|c| blake3::hash(&data[c.offset..c.offset + c.length]))
                .collect::<Vec<_>>()
                .len()
        })
    });
    group.bench_function("fastcdc_only", |b| {
        b.iter(|| {
            FastCDC::new(&data, MIN, AVG, MAX)
                .map(|c| c.length)
                .collect::<Vec<_>>()
                .len()
        })
    });
    group.bench_function("syncore_sha256", |b| {
        b.iter(|| black_box(sha256.chunk_slice(&data)).len())
    });
    group.bench_function("naive_fastcdc_sha256", |b| {
        b.iter(|| {
            FastCDC::new(&data, MIN, AVG, MAX)
                .map(|c| sha2::Sha256::digest(&data[c.offset..c.offset + c.length]))
                .collect::<Vec<_>>()
                .len()
        })
    });
    group.finish();
}

fn chunk_file(c: &mut Criterion) {
    let data = seeded_bytes(0xf11e, bench_mib(512) << 20);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data.bin");
    std::fs::write(&path, &data).expect("write bench file");
    let chunker = Chunker::default();

    let mut group = c.benchmark_group("chunk_file");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("syncore_file", |b| {
        b.iter(|| chunker.chunk_file(&path).expect("chunk file").len())
    });
    group.bench_function("syncore_memory", |b| {
        b.iter(|| chunker.chunk_slice(&data).len())
    });
    group.finish();
}

criterion_group!(benches, chunk_hash, chunk_file);
criterion_main!(benches);
