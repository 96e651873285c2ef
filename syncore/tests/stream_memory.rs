//! A 4 GiB stream must chunk in bounded memory (well under 64 MiB of peak RSS).
//!
//! This file holds a single test so the process's peak RSS is this test's alone.

#![cfg(target_os = "linux")]

use std::io::{self, Read};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use syncore::chunk::Chunker;

/// Yields `remaining` bytes by copying from a random pool at shifting offsets: cheap to
/// produce, and never the same 1 MiB twice in a row, so chunking does real work.
struct Generator {
    pool: Vec<u8>,
    position: usize,
    remaining: u64,
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.remaining).min(1 << 20) as usize;
        let start = (self.position * 7919) % (self.pool.len() - (1 << 20));
        buf[..n].copy_from_slice(&self.pool[start..start + n]);
        self.position += 1;
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn four_gib_stream_chunks_in_bounded_memory() {
    let mut pool = vec![0u8; 4 << 20];
    ChaCha8Rng::seed_from_u64(4).fill_bytes(&mut pool);
    let total: u64 = 4 << 30;
    let reader = Generator {
        pool,
        position: 0,
        remaining: total,
    };
    let mut chunks = 0u64;
    let mut covered = 0u64;
    let read = Chunker::default()
        .chunk_reader(reader, |chunk, bytes| {
            assert_eq!(chunk.offset, covered);
            assert_eq!(bytes.len(), chunk.len as usize);
            covered += u64::from(chunk.len);
            chunks += 1;
            Ok(())
        })
        .expect("chunk the stream");
    assert_eq!(read, total);
    assert_eq!(covered, total);
    assert!(chunks > 4 << 30 >> 18, "{chunks} chunks for 4 GiB");
    let peak = peak_rss_kib();
    eprintln!("peak RSS after a 4 GiB stream: {peak} KiB");
    assert!(peak < 64 << 10, "peak RSS {peak} KiB is not under 64 MiB");
}
