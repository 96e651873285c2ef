//! Syncing with syncore next to `rsync -a`, in one group and one run.
//!
//! Groups:
//! - `plan_noop`: planning against a change set of 1,000,000 entries (`SYNCORE_BENCH_PLAN`)
//!   when there is nothing to do, against the in-memory view and against the SQLite index
//!   (the change set in memory, and decoded from its bytes).
//! - `sync_full`: a 100,000-file tree (`SYNCORE_BENCH_FILES`, about 550 MB at full size) into
//!   an empty folder: the sync example's path (B scanned; A scanned in pages of
//!   `transport::PAGE` changes, each page planned on B, its chunks read from A's files and
//!   applied on a second thread while A's scan goes on; then the closing exchange, and B's
//!   changes back to A, which leave out what B took from A) under each [`Durability`]
//!   setting, next to `rsync -a` of the same tree. It opens with `paired_syncore_none`:
//!   rsync and syncore back to back in each
//!   iteration (alternating which goes first), so that both meet the same filesystem state;
//!   the per-pair ratios and their geometric mean are printed. The blocks after it time each
//!   contender on its own, and the filesystem drifts between blocks as copies accumulate.
//! - `sync_incremental`: 1% of the files rewritten, then the example's path again (A's
//!   rescan streamed to B, then B's changes to A), next to `rsync -a`; the bytes each moved are printed (`rsync --stats`,
//!   delta transfer forced with `--no-whole-file`).
//!
//! `rsync` is installed with apt-get if missing. Per-file durability is timed once at full
//! size (about a minute) unless `SYNCORE_BENCH_PER_FILE=1` puts it in the criterion group.
//!
//! Recorded on the 2-core development machine (release, nothing else running; absolute times
//! drift by a quarter between runs with the machine's load and the kernel's directory and inode
//! caches, and within a run as the copies fill the filesystem, so compare within one run and
//! prefer the paired figure):
//!
//! | measurement | syncore | rsync |
//! |---|---|---|
//! | plan, 1,000,000 entries, nothing to do: in-memory view | 0.19–0.20 s | |
//! | the same against the SQLite index (change set in memory / from bytes) | 0.46–0.57 s / 0.80–0.95 s (0.55 / 0.91 s latest) | |
//! | 100,000 files, 546.5 MB, into an empty folder (both directions), in pairs: `Durability::None` against `-a` | **0.95x** geometric mean of 55 pairs in five runs (median 0.92x; runs 0.89x, 0.87x, 1.13x, 0.95x, 0.93x), the first two interleaved with the build before one-chunk content lost its `chunks` row: 1.22x and 0.95x (1.08x over 22 pairs, median 1.13x); earlier 1.03x over 33 pairs (median 1.06x), and 1.14x on a slower day | rsync 2.8–11.8 s (an uneven disk); earlier 2.7–3.3 s and 3.9–4.9 s |
//! | the same in blocks: `Durability::None` | 4.22 s mean of 10 | 3.50 s mean of 10 (`-a`) |
//! | the same, `Durability::Batched` | 4.56 s mean of 10 | |
//! | the same, `Durability::PerFile` (one run) | 12.9–38.2 s (with the disk's write-back; 21.6 s with one placing thread; 35.1 s latest) | |
//! | 1% of files (1,000) rewritten, then synced (batched, both directions) | 0.65 s mean; 0.96 s on the slower day; 0.64 s latest (the build before 0.67 s) | 0.64 s mean; 0.80 s on the slower day; 0.57–0.67 s per sample latest |
//! | bytes moved for that change | 5.3–5.8 MB of chunks | 5.1–5.7 MB literal, 7.6–8.2 MB sent |
//!
//! Command: `cargo bench -p syncore-benches --bench sync`. Every full-sync run writes into
//! folders of its own and the copies are removed only after the group: this filesystem (ext4
//! without a journal) steps over inodes freed in the last five to ten minutes one by one when
//! it creates files, so a run that starts right after a mass deletion is slow for both
//! contenders; wait ten minutes after deleting copies before timing anything. The machine is
//! also a virtual machine with free page reporting: memory freed by deleting copies goes back
//! to the host, and page cache allocated from it afterwards is faulted in again (kernel time in
//! `zero_user_segments` and `copy_folio_from_iter_atomic` while writing), which slows every
//! writer until the page cache has taken up free memory again.
//!
//! A full sync is bound by CPU on two cores: syncore spends 6–9 CPU-seconds (user 3.0–3.8,
//! system 3.0–5.6; `/usr/bin/time`, rising with the filesystem's fill) where `rsync -a` spends
//! 3.7–7 (user 0.6–1.0), the difference being the hashing and indexing of both replicas. A's
//! scan commits pages that start at a sixteenth of 25,000 changes and double up to it, and
//! hands B a page of its journal whenever B has taken the last one (so pages grow while B is
//! busy; each encoded from the versions the scan recorded, not read back). B takes them in
//! with `PageIntake::take_all`: it plans each page that has arrived while the last one's files
//! are being placed, so the placing threads go from page to page without a planning pause.
//! Within B's apply, B's own thread checks each path and records each file in B's
//! index, while a placing thread per core reads and verifies the file's chunks from A's files
//! (a `SharedSource`) and creates, writes, names and stats it (by name under the open
//! directory; on Linux an unnamed `O_TMPFILE`, created with its final mode, linked into
//! place), handed over in batches of up to 16.

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

#[path = "../../syncore/examples/sync/transport.rs"]
#[allow(dead_code)]
mod transport;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use syncore::apply::{ApplyOptions, Durability};
use syncore::index::{Index, IndexOptions};
use syncore::sync::{
    reconcile, reconcile_encoded, ChangeSet, MemoryView, ReplicaId, SyncOptions, VersionVector,
};
use syncore::{ChunkerConfig, Entry, EntryKind, FileManifest, RelPath, Replica, ReplicaOptions};
use syncore_benches::{env_usize, generate_tree, rewrite_files, TreeSpec};

fn tree_spec() -> TreeSpec {
    TreeSpec {
        files: env_usize("SYNCORE_BENCH_FILES", 100_000),
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

fn ensure_rsync() {
    if Command::new("rsync")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
    {
        return;
    }
    eprintln!("installing rsync");
    let _ = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync",
        ])
        .status();
}

/// `rsync -a [extra] from/ to/`; returns its `--stats` output.
fn rsync(from: &Path, to: &Path, extra: &[&str]) -> String {
    let out = Command::new("rsync")
        .arg("-a")
        .args(extra)
        .arg(format!("{}/", from.display()))
        .arg(format!("{}/", to.display()))
        .output()
        .expect("run rsync");
    assert!(out.status.success(), "rsync failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A change set of `n` live files and an index/view that already holds every one of them.
fn plan_noop(c: &mut Criterion) {
    let n = env_usize("SYNCORE_BENCH_PLAN", 1_000_000);
    let source = ReplicaId::from_bytes([7; 16]);
    let mut version = VersionVector::new();
    version.bump(source);
    let chunker = syncore::Chunker::default();
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let data = (i as u64).to_le_bytes();
        let manifest = FileManifest::of_slice(&chunker, &data);
        let entry = Entry {
            path: RelPath::new(&format!("d{:03}/f{i:07}", i % 500)).expect("path"),
            kind: EntryKind::File,
            size: manifest.size(),
            mtime_ns: 1_700_000_000_000_000_000,
            executable: false,
            symlink_target: None,
            content_id: Some(manifest.content_id()),
            version: version.clone(),
            deleted: false,
            seq: i as u64 + 1,
        };
        files.push((entry, manifest));
    }
    // Entries by path, manifests in the order their contents first appear, as replicas
    // produce change sets.
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let (entries, manifests): (Vec<Entry>, Vec<FileManifest>) = files.into_iter().unzip();
    let changes = ChangeSet {
        source,
        since: 0,
        cursor: n as u64,
        entries,
        manifests,
    };
    let mut view = MemoryView::new(ReplicaId::from_bytes([9; 16]));
    let by_id = changes.manifest_map();
    for entry in &changes.entries {
        let manifest = entry.content_id.and_then(|id| by_id.get(&id).copied());
        view.record(entry.clone(), manifest);
    }
    let state = tempfile::tempdir().expect("temp dir");
    // Built on first use, so filtering to the in-memory variant skips it.
    let index_cell: std::cell::OnceCell<Index> = std::cell::OnceCell::new();
    let index = || {
        index_cell.get_or_init(|| {
            let mut index = Index::open(
                state.path(),
                IndexOptions {
                    check_integrity: false,
                    ..IndexOptions::default()
                },
            )
            .expect("index");
            use syncore::apply::ApplyTarget;
            let started = Instant::now();
            let mut batch = index.applied_batch().expect("batch");
            for entry in &changes.entries {
                let manifest = entry.content_id.and_then(|id| by_id.get(&id).copied());
                batch.record_applied(entry, manifest, None).expect("record");
            }
            batch.commit().expect("commit");
            eprintln!(
                "plan bench: {n} entries indexed in {:.1?}",
                started.elapsed()
            );
            index
        })
    };
    let encoded = changes.encode();
    let options = SyncOptions::default();
    let mut group = c.benchmark_group("plan_noop");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(BenchmarkId::new("memory_view", n), |b| {
        b.iter(|| {
            let plan = reconcile(&view, &changes, &options).expect("plan");
            assert!(plan.is_empty());
        })
    });
    group.bench_function(BenchmarkId::new("index", n), |b| {
        b.iter(|| {
            let plan = reconcile(
                &syncore::index::PlanningView::new(index()),
                &changes,
                &options,
            )
            .expect("plan");
            assert!(plan.is_empty());
        })
    });
    group.bench_function(BenchmarkId::new("index_from_bytes", n), |b| {
        b.iter(|| {
            let plan = reconcile_encoded(
                &syncore::index::PlanningView::new(index()),
                &encoded,
                &options,
            )
            .expect("plan");
            assert!(plan.is_empty());
        })
    });
    group.finish();
}

/// The sync example's two-way sync after B's scan: A's scan streamed to B page by page, the
/// closing exchange, then B's changes to A (none here: B only holds A's versions, which
/// `changes_for` leaves out). Returns the A-to-B direction.
fn example_sync(a: &mut Replica, b: &mut Replica, apply: &ApplyOptions) -> transport::OneWay {
    let sync = SyncOptions::default();
    let (_, way) = transport::scan_and_push(a, b, transport::PAGE, &sync, apply)
        .expect("scan A and push to B");
    let back = transport::push(b, a, &sync, apply, false).expect("push B to A");
    assert!(
        back.plan.is_empty(),
        "B sent A work: {:?}",
        back.plan.summary()
    );
    way
}

/// One example-path sync of `a_root` into a new, empty folder under `work` (named by `run`,
/// with fresh state directories); returns the time and the bytes moved.
fn sync_into_empty(
    a_root: &Path,
    work: &Path,
    run: usize,
    durability: Durability,
) -> (Duration, u64) {
    let a_state = work.join(format!("a-state-{run}"));
    let b_root = work.join(format!("b-{run}"));
    let b_state = work.join(format!("b-state-{run}"));
    std::fs::create_dir_all(&b_root).expect("b root");
    let started = Instant::now();
    let mut a = open_replica(a_root, &a_state);
    let mut b = open_replica(&b_root, &b_state);
    b.scan().expect("scan B");
    let apply = ApplyOptions {
        durability,
        ..ApplyOptions::default()
    };
    let way = example_sync(&mut a, &mut b, &apply);
    let elapsed = started.elapsed();
    let report = way.report.expect("applied");
    assert!(report.is_complete());
    (elapsed, way.bytes_moved)
}

fn sync_full(c: &mut Criterion) {
    ensure_rsync();
    let spec = tree_spec();
    let work = tempfile::tempdir().expect("temp dir");
    let a_root = work.path().join("a");
    let bytes = generate_tree(&a_root, &spec).expect("generate tree");
    eprintln!(
        "sync bench: {} files in {} directories, {:.1} MB",
        spec.files,
        spec.dirs,
        bytes as f64 / 1e6
    );
    // Every run writes into folders of its own, and nothing is deleted until the group is
    // done: creating files right after deleting as many makes ext4 skip its recently freed
    // inodes one by one, which would slow whichever contender comes next.
    let mut runs = 0usize;
    let mut next_run = || {
        runs += 1;
        runs
    };
    let mut group = c.benchmark_group("sync_full");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(criterion::Throughput::Bytes(bytes));
    // Pairs first: each iteration runs rsync and syncore back to back (alternating which goes
    // first), so both meet the same filesystem state; the measured time is syncore's and the
    // per-pair ratios are printed. The groups below time each contender in a block of its
    // own, where the filesystem drifts between blocks.
    let mut ratios: Vec<f64> = Vec::new();
    group.bench_function(BenchmarkId::new("paired_syncore_none", spec.files), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let rsync_first = ratios.len().is_multiple_of(2);
                let time_rsync = |run: usize| {
                    let dest = work.path().join(format!("rsync-{run}"));
                    let started = Instant::now();
                    rsync(&a_root, &dest, &[]);
                    started.elapsed()
                };
                let (ours, theirs) = if rsync_first {
                    let theirs = time_rsync(next_run());
                    let (ours, _) =
                        sync_into_empty(&a_root, work.path(), next_run(), Durability::None);
                    (ours, theirs)
                } else {
                    let (ours, _) =
                        sync_into_empty(&a_root, work.path(), next_run(), Durability::None);
                    (ours, time_rsync(next_run()))
                };
                let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
                ratios.push(ratio);
                eprintln!("pair: syncore_none {ours:.2?}, rsync_a {theirs:.2?}: {ratio:.2}x");
                total += ours;
            }
            total
        })
    });
    if !ratios.is_empty() {
        let geometric = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        eprintln!(
            "paired: syncore_none / rsync_a over {} pairs: geometric mean {geometric:.2}x, \
             median {:.2}x, range {:.2}x-{:.2}x",
            ratios.len(),
            sorted[sorted.len() / 2],
            sorted[0],
            sorted[sorted.len() - 1]
        );
    }
    group.bench_function(BenchmarkId::new("rsync_a", spec.files), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dest = work.path().join(format!("rsync-{}", next_run()));
                let started = Instant::now();
                rsync(&a_root, &dest, &[]);
                total += started.elapsed();
                eprintln!("rsync_a: {:.2?}", started.elapsed());
            }
            total
        })
    });
    // Per-file fsync costs about 0.6 ms a file here: at full size it is timed once, and in
    // the criterion group only with SYNCORE_BENCH_PER_FILE=1.
    let per_file = std::env::var_os("SYNCORE_BENCH_PER_FILE").is_some();
    if !per_file {
        let (elapsed, moved) =
            sync_into_empty(&a_root, work.path(), next_run(), Durability::PerFile);
        eprintln!("sync_full/syncore_per_file (one run): {elapsed:.2?}, {moved} bytes moved");
    }
    let mut settings = vec![
        ("syncore_none", Durability::None),
        ("syncore_batched", Durability::Batched),
    ];
    if per_file {
        settings.push(("syncore_per_file", Durability::PerFile));
    }
    for (name, durability) in settings {
        group.bench_function(BenchmarkId::new(name, spec.files), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (elapsed, moved) =
                        sync_into_empty(&a_root, work.path(), next_run(), durability);
                    eprintln!("{name}: {elapsed:.2?}, {moved} bytes moved");
                    total += elapsed;
                }
                total
            })
        });
    }
    group.finish();
    eprintln!("sync bench: removing {runs} copies");
}

fn sync_incremental(c: &mut Criterion) {
    ensure_rsync();
    let spec = tree_spec();
    let work = tempfile::tempdir().expect("temp dir");
    let a_root = work.path().join("a");
    let b_root = work.path().join("b");
    let r_root = work.path().join("rsync");
    generate_tree(&a_root, &spec).expect("generate tree");
    std::fs::create_dir_all(&b_root).expect("b root");
    let mut a = open_replica(&a_root, &work.path().join("a-state"));
    let mut b = open_replica(&b_root, &work.path().join("b-state"));
    a.scan().expect("scan A");
    let apply = ApplyOptions {
        durability: Durability::Batched,
        ..ApplyOptions::default()
    };
    transport::push(&a, &mut b, &SyncOptions::default(), &apply, false).expect("first sync");
    rsync(&a_root, &r_root, &[]);
    let changed = (spec.files / 100).max(1);
    let mut round = 0u64;
    let mut group = c.benchmark_group("sync_incremental");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(BenchmarkId::new("syncore_batched", changed), |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                rewrite_files(&a_root, &spec, changed, round).expect("rewrite");
                let started = Instant::now();
                let way = example_sync(&mut a, &mut b, &apply);
                total += started.elapsed();
                eprintln!(
                    "syncore incremental: {:.2?}, {} files written, {} bytes moved",
                    started.elapsed(),
                    way.report.map_or(0, |r| r.files_written),
                    way.bytes_moved
                );
            }
            total
        })
    });
    // Bring rsync's copy up to date with the rounds above before timing it.
    rsync(&a_root, &r_root, &[]);
    group.bench_function(BenchmarkId::new("rsync_a", changed), |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                rewrite_files(&a_root, &spec, changed, round).expect("rewrite");
                let started = Instant::now();
                let stats = rsync(&a_root, &r_root, &["--stats", "--no-whole-file"]);
                total += started.elapsed();
                let pick = |key: &str| {
                    stats
                        .lines()
                        .find(|l| l.starts_with(key))
                        .map(|l| l.trim().to_owned())
                        .unwrap_or_default()
                };
                eprintln!(
                    "rsync incremental: {:.2?}; {}; {}; {}",
                    started.elapsed(),
                    pick("Number of regular files transferred"),
                    pick("Literal data"),
                    pick("Total bytes sent")
                );
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, plan_noop, sync_full, sync_incremental);
criterion_main!(benches);
