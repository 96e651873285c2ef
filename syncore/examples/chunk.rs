//! Chunks a file or a directory tree and reports what content-defined dedup would save.
//!
//! ```text
//! cargo run --release -p syncore --example chunk -- [PATH] [--fixed SIZE] [--sha256]
//! ```
//!
//! PATH defaults to the current directory. Symlinks are not followed. Prints the number of
//! files, bytes, chunks and unique chunks, the dedup ratio and the chunk+hash throughput.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use syncore::chunk::{Chunker, ChunkerConfig};
use syncore::{Digest, HashAlgo};

struct Totals {
    files: u64,
    bytes: u64,
    chunks: u64,
    unique: HashMap<Digest, u32>,
    unreadable: u64,
}

fn main() {
    if let Err(message) = run() {
        eprintln!("chunk: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut path = PathBuf::from(".");
    let mut config = ChunkerConfig::default();
    let mut algo = HashAlgo::Blake3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixed" => {
                let size = args.next().ok_or("--fixed needs a size in bytes")?;
                config =
                    ChunkerConfig::fixed(size.parse().map_err(|_| format!("bad size {size:?}"))?);
            }
            "--sha256" => algo = HashAlgo::Sha256,
            "-h" | "--help" => {
                println!("usage: chunk [PATH] [--fixed SIZE] [--sha256]");
                return Ok(());
            }
            other => path = PathBuf::from(other),
        }
    }
    let chunker = Chunker::new(config, algo).map_err(|e| e.to_string())?;
    let mut totals = Totals {
        files: 0,
        bytes: 0,
        chunks: 0,
        unique: HashMap::new(),
        unreadable: 0,
    };
    let start = Instant::now();
    visit(&chunker, &path, &mut totals)?;
    let elapsed = start.elapsed().as_secs_f64();

    let unique_bytes: u64 = totals.unique.values().map(|&len| u64::from(len)).sum();
    println!("path            {}", path.display());
    println!("chunker         {config:?}, {algo}");
    println!("files           {}", totals.files);
    println!("bytes           {}", totals.bytes);
    println!("chunks          {}", totals.chunks);
    println!("unique chunks   {}", totals.unique.len());
    println!("unique bytes    {unique_bytes}");
    if unique_bytes > 0 {
        println!(
            "dedup ratio     {:.3}",
            totals.bytes as f64 / unique_bytes as f64
        );
    }
    println!("elapsed         {elapsed:.3} s");
    if elapsed > 0.0 {
        println!(
            "throughput      {:.1} MiB/s",
            totals.bytes as f64 / elapsed / (1 << 20) as f64
        );
    }
    if totals.unreadable > 0 {
        println!("unreadable      {} (skipped)", totals.unreadable);
    }
    Ok(())
}

fn visit(chunker: &Chunker, path: &Path, totals: &mut Totals) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        children.sort();
        for child in children {
            visit(chunker, &child, totals)?;
        }
    } else if meta.is_file() {
        let outcome = chunker.chunk_file_with(path, |chunk, _| {
            totals.chunks += 1;
            totals.unique.insert(chunk.id, chunk.len);
            Ok(())
        });
        match outcome {
            Ok(len) => {
                totals.files += 1;
                totals.bytes += len;
            }
            Err(err) => {
                eprintln!("chunk: skipping {err}");
                totals.unreadable += 1;
            }
        }
    }
    Ok(())
}
