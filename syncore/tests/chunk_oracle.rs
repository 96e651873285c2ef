//! FastCDC boundaries must be identical to the `fastcdc` crate's, whatever entry point and
//! thread count is used; fixed-size chunking must tile exactly.

use std::io::{self, Read};

use fastcdc::v2020::{FastCDC, Normalization, StreamCDC};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syncore::chunk::{Chunk, Chunker, ChunkerConfig};
use syncore::HashAlgo;

fn seeded(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

fn level_of(level: u8) -> Normalization {
    match level {
        0 => Normalization::Level0,
        1 => Normalization::Level1,
        2 => Normalization::Level2,
        _ => Normalization::Level3,
    }
}

/// (offset, len) pairs from the crate, in memory.
fn oracle(config: ChunkerConfig, data: &[u8]) -> Vec<(u64, u32)> {
    let ChunkerConfig::FastCdc {
        min_size,
        avg_size,
        max_size,
        level,
    } = config
    else {
        unreachable!("oracle only knows FastCDC")
    };
    FastCDC::with_level(
        data,
        min_size as usize,
        avg_size as usize,
        max_size as usize,
        level_of(level),
    )
    .map(|c| (c.offset as u64, c.length as u32))
    .collect()
}

/// (offset, len) pairs from the crate's streaming chunker.
fn oracle_stream(config: ChunkerConfig, data: &[u8]) -> Vec<(u64, u32)> {
    let ChunkerConfig::FastCdc {
        min_size,
        avg_size,
        max_size,
        level,
    } = config
    else {
        unreachable!("oracle only knows FastCDC")
    };
    StreamCDC::with_level(
        data,
        min_size as usize,
        avg_size as usize,
        max_size as usize,
        level_of(level),
    )
    .map(|c| {
        let c = c.unwrap();
        (c.offset, c.length as u32)
    })
    .collect()
}

fn spans(chunks: &[Chunk]) -> Vec<(u64, u32)> {
    chunks.iter().map(|c| (c.offset, c.len)).collect()
}

/// A reader that returns short, irregular reads.
struct Trickle<'a> {
    data: &'a [u8],
    rng: ChaCha8Rng,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .rng
            .gen_range(1..=70_000)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn via_reader(chunker: &Chunker, data: &[u8], seed: u64) -> Vec<Chunk> {
    let mut out = Vec::new();
    let reader = Trickle {
        data,
        rng: ChaCha8Rng::seed_from_u64(seed),
    };
    let total = chunker
        .chunk_reader(reader, |c, bytes| {
            assert_eq!(bytes.len(), c.len as usize);
            out.push(*c);
            Ok(())
        })
        .unwrap();
    assert_eq!(total, data.len() as u64);
    out
}

fn via_push(chunker: &Chunker, data: &[u8], seed: u64) -> Vec<Chunk> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut stream = chunker.stream();
    let mut rest = data;
    while !rest.is_empty() {
        let n = rng.gen_range(1..=3_000_000).min(rest.len());
        stream
            .push(&rest[..n], |c, _| {
                out.push(*c);
                Ok(())
            })
            .unwrap();
        rest = &rest[n..];
    }
    assert!(stream.buffer_limit() <= 32 << 20);
    stream
        .finish(|c, _| {
            out.push(*c);
            Ok(())
        })
        .unwrap();
    out
}

fn check_all_entry_points(config: ChunkerConfig, data: &[u8], seed: u64) {
    let expected = oracle(config, data);
    assert_eq!(
        expected,
        oracle_stream(config, data),
        "the crate disagrees with itself"
    );
    for threads in [1, 2, 3, 4] {
        let chunker = Chunker::new(config, HashAlgo::Blake3)
            .unwrap()
            .with_threads(threads)
            .unwrap();
        let slice = chunker.chunk_slice(data);
        assert_eq!(
            spans(&slice),
            expected,
            "slice, {threads} threads, len {}",
            data.len()
        );
        for c in &slice {
            let bytes = &data[c.offset as usize..c.end() as usize];
            assert_eq!(c.id, HashAlgo::Blake3.digest(bytes));
        }
        assert_eq!(
            via_reader(&chunker, data, seed),
            slice,
            "reader, {threads} threads"
        );
        assert_eq!(
            via_push(&chunker, data, seed),
            slice,
            "push, {threads} threads"
        );
    }
}

#[test]
fn default_parameters_match_the_crate() {
    let config = ChunkerConfig::default();
    let (min, max) = (16 * 1024, 256 * 1024);
    for (seed, len) in [
        (1, 0),
        (2, 1),
        (3, 100),
        (4, min - 1),
        (5, min),
        (6, min + 1),
        (7, max),
        (8, max + 1),
        (9, 3 << 20),
        (10, 21 << 20),
    ] {
        check_all_entry_points(config, &seeded(seed, len), seed);
    }
}

#[test]
fn small_chunks_stitch_identically_across_threads() {
    for level in 0..=3 {
        let config = ChunkerConfig::FastCdc {
            min_size: 64,
            avg_size: 256,
            max_size: 1024,
            level,
        };
        check_all_entry_points(config, &seeded(40 + u64::from(level), 9 << 20), 7);
    }
}

#[test]
fn low_entropy_inputs_match_the_crate() {
    let config = ChunkerConfig::fastcdc(4096, 16384, 65536);
    check_all_entry_points(config, &vec![0u8; 10 << 20], 11);
    let text: Vec<u8> = b"the quick brown fox jumps over the lazy dog\n"
        .iter()
        .copied()
        .cycle()
        .take(9 << 20)
        .collect();
    check_all_entry_points(config, &text, 12);
}

#[test]
fn fixed_blocks_tile_the_input() {
    let data = seeded(99, (5 << 20) + 12345);
    for threads in [1, 2, 3] {
        let chunker = Chunker::new(ChunkerConfig::fixed(65536), HashAlgo::Sha256)
            .unwrap()
            .with_threads(threads)
            .unwrap();
        let chunks = chunker.chunk_slice(&data);
        assert_eq!(chunks.len(), data.len().div_ceil(65536));
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.offset, i as u64 * 65536);
            assert_eq!(
                c.id,
                HashAlgo::Sha256.digest(&data[c.offset as usize..c.end() as usize])
            );
        }
        assert_eq!(via_reader(&chunker, &data, 5), chunks);
        assert_eq!(via_push(&chunker, &data, 5), chunks);
    }
}

#[test]
fn files_chunk_like_slices_and_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let data = seeded(77, (6 << 20) + 3);
    std::fs::write(&path, &data).unwrap();
    let chunker = Chunker::default();
    assert_eq!(
        chunker.chunk_file(&path).unwrap(),
        chunker.chunk_slice(&data)
    );

    let missing = dir.path().join("missing.bin");
    let err = chunker.chunk_file(&missing).unwrap_err();
    assert_eq!(err.kind(), syncore::ErrorKind::Io);
    assert_eq!(err.path(), Some(missing.as_path()));
}

#[test]
fn a_failing_sink_stops_and_resumes_at_the_failed_chunk() {
    let data = seeded(5, 12 << 20);
    let chunker = Chunker::default();
    let expected = chunker.chunk_slice(&data);
    let mut stream = chunker.stream();
    let mut seen = Vec::new();
    let mut budget = 10;
    let err = stream
        .push(&data, |c, _| {
            if budget == 0 {
                return Err(syncore::Error::Busy("sink full".into()));
            }
            budget -= 1;
            seen.push(*c);
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.kind(), syncore::ErrorKind::Busy);
    assert_eq!(seen, expected[..10]);
    assert_eq!(stream.position(), data.len().min(8 << 20) as u64);
}

#[test]
fn maximum_size_chunks_stream_without_stalling() {
    let config = ChunkerConfig::fastcdc(1 << 20, 4 << 20, 16 << 20);
    let data = vec![0u8; 40 << 20];
    let chunker = Chunker::new(config, HashAlgo::Blake3).unwrap();
    let chunks = via_push(&chunker, &data, 3);
    assert_eq!(spans(&chunks), oracle(config, &data));
    assert_eq!(chunks.len(), 3);
}
