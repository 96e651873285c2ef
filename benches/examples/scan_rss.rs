//! Times the phases of scanning a generated tree and reports peak resident memory.
//!
//! `SYNCORE_BENCH_FILES` (default 100,000), `SYNCORE_BENCH_DIRS` (default 200) and
//! `SYNCORE_BENCH_MAX_SIZE` (default 16384) shape the tree. Prints wall time per phase and
//! VmHWM (peak RSS) from /proc/self/status after each; the peak is reset between phases
//! (`/proc/self/clear_refs`), so each line shows that phase's own peak.

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

/// User + system CPU time of this process so far, in seconds (from /proc/self/stat).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the full line; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = TreeSpec {
        files: env("SYNCORE_BENCH_FILES", 100_000),
        dirs: env("SYNCORE_BENCH_DIRS", 200),
        max_size: env("SYNCORE_BENCH_MAX_SIZE", 16 * 1024),
        seed: 0x5CA9,
    };
    let work = tempfile::tempdir()?;
    // SYNCORE_BENCH_TREE: reuse (or create once) a tree at that path.
    let kept = std::env::var_os("SYNCORE_BENCH_TREE").map(std::path::PathBuf::from);
    let root = kept.clone().unwrap_or_else(|| work.path().join("tree"));
    let started = Instant::now();
    let bytes = if kept.is_some() && root.exists() {
        0
    } else {
        generate_tree(&root, &spec)?
    };
    println!(
        "generated {} files in {} dirs, {:.1} MB in {:.2?}; peak RSS {} KiB",
        spec.files,
        spec.dirs,
        bytes as f64 / 1e6,
        started.elapsed(),
        peak_rss_kib()
    );
    let options = ReplicaOptions {
        // SYNCORE_BENCH_STATE: keep the index there between runs.
        state_dir: Some(
            std::env::var_os("SYNCORE_BENCH_STATE")
                .map_or_else(|| work.path().join("state"), std::path::PathBuf::from),
        ),
        check_integrity: false,
        ..ReplicaOptions::default()
    };
    let mut replica = Replica::open(&root, options)?;
    let mut cpu_mark = cpu_seconds();
    let mut phase = |name: &str, started: Instant| {
        // Reset the high-water mark so the next phase reports its own peak.
        let reset = || {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
        };
        let cpu = cpu_seconds();
        println!(
            "{name:<24} {:>10.3?}  cpu {:>6.2} s  peak RSS {:>8} KiB",
            started.elapsed(),
            cpu - cpu_mark,
            peak_rss_kib()
        );
        cpu_mark = cpu;
        reset();
    };
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let report = replica.scan()?;
    phase("first full scan", t);
    println!(
        "  added {} hashed {} bytes",
        report.added.len(),
        report.bytes_hashed
    );
    for _ in 0..env("SYNCORE_BENCH_RESCANS", 3) {
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
