//! Times `Chunker::chunk_slice` on a file's bytes held in memory: the Rust-API reference the
//! Python benchmark (`syncore-py/benches/bench_chunk_hash.py`) compares its binding against.
//!
//! ```sh
//! cargo run --release -p syncore --example chunk_timing -- DATA_FILE MIN AVG MAX THREADS REPEATS
//! ```
//!
//! Prints the best wall time in seconds and the chunk count, as `seconds chunks`.

use std::time::Instant;

use syncore::{Chunker, ChunkerConfig, HashAlgo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, min, avg, max, threads, repeats] = args.as_slice() else {
        return Err("usage: chunk_timing DATA_FILE MIN AVG MAX THREADS REPEATS".into());
    };
    let data = std::fs::read(path)?;
    let config = ChunkerConfig::fastcdc(min.parse()?, avg.parse()?, max.parse()?);
    let chunker = Chunker::new(config, HashAlgo::Blake3)?.with_threads(threads.parse()?)?;
    let mut best = f64::INFINITY;
    let mut count = 0;
    for _ in 0..repeats.parse::<u32>()? {
        let start = Instant::now();
        let chunks = chunker.chunk_slice(&data);
        best = best.min(start.elapsed().as_secs_f64());
        count = chunks.len();
    }
    println!("{best:.6} {count}");
    Ok(())
}
