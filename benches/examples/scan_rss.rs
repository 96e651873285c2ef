//! Times the phases of scanning a generated tree and reports peak resident memory.
//!
//! `SYNCORE_BENCH_FILES` (default 100,000), `SYNCORE_BENCH_DIRS` (default 200) and
//! `SYNCORE_BENCH_MAX_SIZE` (default 16384) shape the tree. Prints wall time per phase and
//! VmHWM (peak RSS) from /proc/self/status after each.

use std::time::Instant;

use syncore::{Replica, ReplicaOptions};
use syncore_benches::{generate_tree, rewrite_files, TreeSpec};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = TreeSpec {
        files: env("SYNCORE_BENCH_FILES", 100_000),
        dirs: env("SYNCORE_BENCH_DIRS", 200),
        max_size: env("SYNCORE_BENCH_MAX_SIZE", 16 * 1024),
        seed: 0x5CA9,
    };
    let work = tempfile::tempdir()?;
    let root = work.path().join("tree");
    let started = Instant::now();
    let bytes = generate_tree(&root, &spec)?;
    println!(
        "generated {} files in {} dirs, {:.1} MB in {:.2?}; peak RSS {} KiB",
        spec.files,
        spec.dirs,
        bytes as f64 / 1e6,
        started.elapsed(),
        peak_rss_kib()
    );
    let options = ReplicaOptions {
        state_dir: Some(work.path().join("state")),
        check_integrity: false,
        ..ReplicaOptions::default()
    };
    let mut replica = Replica::open(&root, options)?;
    let phase = |name: &str, started: Instant| {
        println!(
            "{name:<24} {:>10.3?}  peak RSS {:>8} KiB",
            started.elapsed(),
            peak_rss_kib()
        );
    };
    let t = Instant::now();
    let report = replica.scan()?;
    phase("first full scan", t);
    println!(
        "  added {} hashed {} bytes",
        report.added.len(),
        report.bytes_hashed
    );
    for _ in 0..3 {
        let t = Instant::now();
        let report = replica.scan()?;
        phase("rescan unchanged", t);
        println!(
            "  unchanged {} hashed {}",
            report.unchanged, report.bytes_hashed
        );
    }
    rewrite_files(&root, &spec, (spec.files / 100).max(1), 7)?;
    let t = Instant::now();
    let report = replica.scan()?;
    phase("rescan 1% changed", t);
    println!("  modified {}", report.modified.len());
    let t = Instant::now();
    let changes = replica.index().changes_page(0, 10_000)?;
    phase("journal page (10k)", t);
    println!("  entries {}", changes.entries.len());
    Ok(())
}
