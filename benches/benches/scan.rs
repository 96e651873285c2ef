//! Scanning a 100,000-file tree: syncore's scanner next to a `find -printf '%s %T@'` walk of
//! the same tree, in one group and one run.
//!
//! Contenders: the `find` walk (stat of every file, the floor any scanner stands on); a
//! syncore rescan with nothing changed (walk + stat + index compare); a first full scan into
//! a fresh index (walk, chunk, hash, index; no chunk store writes); a rescan after 1% of the
//! files were rewritten. Set `SYNCORE_BENCH_FILES` to shrink the tree for a quick run.
//!
//! Recorded on the 2-core development machine (release, nothing else running; 100,000 files
//! in 200 directories, 546.5 MB; absolute times drift by a quarter between runs, so compare
//! within one run). Runs 1 and 2 with 4 KiB index pages, run 3 with the 16 KiB pages new
//! indexes now get, run 4 with hashing jobs handed to the workers in batches (its unchanged
//! rescan and `find` from a second run of those two alone; in the full run, which shared the
//! machine with a large deletion, they took 235 ms and 144 ms):
//!
//! | measurement | run 1 | run 2 | run 3 (16 KiB pages) | run 4 (batched hashing) | target |
//! |---|---|---|---|---|---|
//! | `find -printf '%s %T@'` walk | 170 ms | 236 ms | 155 ms | 134 ms | |
//! | rescan, nothing changed | 231 ms (1.36x `find`) | 294 ms (1.25x) | 221 ms (1.42x) | 199 ms (1.48x) | ≤ 1.5x `find` |
//! | rescan after 1% of the files were rewritten | 341 ms (1.47x the unchanged rescan) | 377 ms (1.28x) | 375 ms (1.69x) | 339 ms (1.44x of 235 ms) | ≤ 2x |
//! | first full scan into a fresh index | 1.76 s | 1.90 s | 1.26 s | 1.21 s | ≤ 2 s |
//!
//! Command: `cargo bench -p syncore-benches --bench scan`. Peak RSS of a first full scan of
//! this tree is 62 MB (`benches/examples/scan_rss.rs`, which also times each phase once: first
//! scan 1.51 s there); it is bounded by the index's page cache, the largest directory listing
//! and the hashing batch, not by the index size.

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use syncore::{ChunkerConfig, Replica, ReplicaOptions};
use syncore_benches::{generate_tree, rewrite_files, TreeSpec};

fn tree_spec() -> TreeSpec {
    let files = syncore_benches::env_usize("SYNCORE_BENCH_FILES", 100_000);
    TreeSpec {
        files,
        dirs: 200,
        max_size: 16 * 1024,
        seed: 0x5CA9,
    }
}

fn open_replica(root: &Path, state: &Path) -> Replica {
    let options = ReplicaOptions {
        chunker: ChunkerConfig::default(),
        state_dir: Some(state.to_path_buf()),
        check_integrity: false,
        ..ReplicaOptions::default()
    };
    Replica::open(root, options).expect("open replica")
}

fn find_walk(root: &Path) {
    let status = Command::new("find")
        .arg(root)
        .args(["-printf", "%s %T@\n"])
        .stdout(Stdio::null())
        .status()
        .expect("run find");
    assert!(status.success());
}

fn scan(c: &mut Criterion) {
    let spec = tree_spec();
    let work = tempfile::tempdir().expect("temp dir");
    let root = work.path().join("tree");
    let bytes = generate_tree(&root, &spec).expect("generate tree");
    eprintln!(
        "scan bench: {} files in {} directories, {:.1} MB",
        spec.files,
        spec.dirs,
        bytes as f64 / 1e6
    );
    let state: PathBuf = work.path().join("state");
    let fresh_state = work.path().join("fresh-state");

    let mut group = c.benchmark_group(format!("scan_{}_files", spec.files));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(spec.files as u64));

    group.bench_function("find_printf_walk", |b| b.iter(|| find_walk(&root)));

    let mut replica = open_replica(&root, &state);
    replica.scan().expect("initial scan");
    replica.scan().expect("settle racy files");
    group.bench_function("syncore_rescan_unchanged", |b| {
        b.iter(|| {
            let report = replica.scan().expect("rescan");
            assert!(report.is_clean());
        })
    });

    let changed = (spec.files / 100).max(1);
    let mut round = 0u64;
    group.bench_function("syncore_rescan_1pct_changed", |b| {
        b.iter_batched(
            || {
                round += 1;
                rewrite_files(&root, &spec, changed, round).expect("rewrite files")
            },
            |chosen| {
                let report = replica.scan().expect("rescan");
                assert_eq!(report.modified.len(), chosen.len());
                report
            },
            BatchSize::PerIteration,
        )
    });
    drop(replica);

    group.bench_function("syncore_first_full_scan", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&fresh_state);
                open_replica(&root, &fresh_state)
            },
            |mut replica| {
                let report = replica.scan().expect("full scan");
                assert_eq!(report.added.len(), spec.files + spec.dirs);
                (replica, report)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
