//! History, retention, restore (from a store and from local files), chunk accounting, gc
//! and quota.

use std::fs;
use std::path::Path;
use std::time::Duration;

use syncore::index::Retention;
use syncore::scan::RestoreSource;
use syncore::{
    ChunkStore, Chunker, ChunkerConfig, ErrorKind, HashAlgo, MemStore, RelPath, Replica,
    ReplicaOptions,
};

fn p(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

fn options() -> ReplicaOptions {
    ReplicaOptions {
        chunker: ChunkerConfig::fixed(1024),
        timestamp_granularity: Duration::ZERO,
        ..ReplicaOptions::default()
    }
}

fn noise(seed: u8, len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(seed).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Puts every chunk of `data` into `store`.
fn store_chunks(store: &MemStore, data: &[u8]) {
    let chunker = Chunker::new(ChunkerConfig::fixed(1024), HashAlgo::Blake3).unwrap();
    for chunk in chunker.chunk_slice(data) {
        let start = chunk.offset as usize;
        store
            .put(&chunk.id, &data[start..start + chunk.len as usize])
            .unwrap();
    }
}

fn temp_files_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| syncore::apply::is_temp_name(n))
        .collect()
}

#[test]
fn history_keeps_every_version_including_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut replica = Replica::open(root, options()).unwrap();
    for i in 0..3u8 {
        fs::write(root.join("doc.txt"), noise(i, 3000 + usize::from(i))).unwrap();
        replica.scan().unwrap();
    }
    fs::remove_file(root.join("doc.txt")).unwrap();
    replica.scan().unwrap();
    let history = replica.history(&p("doc.txt")).unwrap();
    assert_eq!(history.len(), 4);
    assert!(history[0].deleted);
    assert!(history[1..]
        .iter()
        .all(|v| !v.deleted && v.content_id.is_some()));
    assert_eq!(history[3].size, 3000);
    assert!(history.windows(2).all(|w| w[0].seq > w[1].seq));
    assert!(history.windows(2).all(|w| w[0].time_ns >= w[1].time_ns));
}

#[test]
fn retention_by_count_and_age_releases_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut replica = Replica::open(
        root,
        ReplicaOptions {
            retention: Retention {
                max_versions: Some(2),
                max_age: None,
            },
            ..options()
        },
    )
    .unwrap();
    let mut contents = Vec::new();
    for i in 0..4u8 {
        contents.push(noise(i, 2048));
        fs::write(root.join("f.bin"), &contents[usize::from(i)]).unwrap();
        replica.scan().unwrap();
    }
    let history = replica.history(&p("f.bin")).unwrap();
    assert_eq!(history.len(), 2);
    let usage = replica.usage().unwrap();
    assert_eq!(usage.logical_bytes, 4096);
    assert_eq!(usage.unique_chunk_bytes, 4096);
    let gc = replica.gc(None).unwrap();
    assert_eq!(
        gc.unreferenced.len(),
        4,
        "two pruned versions of two chunks each"
    );
    assert_eq!(gc.unreferenced_bytes, 4096);

    replica.index_mut().set_retention(Retention {
        max_versions: None,
        max_age: Some(Duration::ZERO),
    });
    std::thread::sleep(Duration::from_millis(5));
    let removed = replica.index_mut().prune_history().unwrap();
    assert_eq!(removed, 1, "the current version always stays");
    assert_eq!(replica.history(&p("f.bin")).unwrap().len(), 1);
    assert_eq!(replica.gc(None).unwrap().unreferenced.len(), 6);
}

#[test]
fn chunk_refcounts_usage_and_gc_with_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let shared = noise(9, 4096);
    fs::write(root.join("a.bin"), &shared).unwrap();
    fs::write(root.join("b.bin"), &shared).unwrap();
    let mut half = shared[..2048].to_vec();
    half.extend(noise(3, 1024));
    fs::write(root.join("c.bin"), &half).unwrap();
    let mut replica = Replica::open(
        root,
        ReplicaOptions {
            retention: Retention {
                max_versions: Some(1),
                max_age: None,
            },
            ..options()
        },
    )
    .unwrap();
    replica.scan().unwrap();
    let usage = replica.usage().unwrap();
    assert_eq!(usage.live_files, 3);
    assert_eq!(usage.live_bytes, 4096 * 2 + 3072);
    assert_eq!(usage.unique_chunk_bytes, 4096 + 1024);
    assert!((usage.dedup_ratio - (11264.0 / 5120.0)).abs() < 1e-9);
    let chunker = Chunker::new(ChunkerConfig::fixed(1024), HashAlgo::Blake3).unwrap();
    let first = chunker.chunk_slice(&shared)[0].id;
    // a.bin and b.bin share one manifest; c.bin has its own.
    assert_eq!(replica.index().chunk_refs(&first).unwrap(), 2);

    let store = MemStore::default();
    store_chunks(&store, &shared);
    store_chunks(&store, &half);
    fs::remove_file(root.join("a.bin")).unwrap();
    fs::remove_file(root.join("b.bin")).unwrap();
    replica.scan().unwrap();
    assert_eq!(replica.index().chunk_refs(&first).unwrap(), 1);
    let gc = replica.gc(Some(&store)).unwrap();
    assert_eq!(gc.unreferenced.len(), 2);
    assert_eq!(gc.deleted_from_store, 2);
    assert!(store.has(&first).unwrap(), "still referenced by c.bin");
    assert!(replica.gc(None).unwrap().unreferenced.is_empty());
}

#[test]
fn quota_refuses_a_change_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("small.txt"), noise(1, 1000)).unwrap();
    let mut replica = Replica::open(
        root,
        ReplicaOptions {
            quota_bytes: Some(5000),
            ..options()
        },
    )
    .unwrap();
    replica.scan().unwrap();
    let before = replica.index().last_seq().unwrap();
    fs::write(root.join("big.bin"), noise(2, 8000)).unwrap();
    let err = replica.scan().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");
    assert_eq!(replica.index().last_seq().unwrap(), before);
    assert!(replica.index().entry(&p("big.bin")).unwrap().is_none());
    assert_eq!(replica.usage().unwrap().unique_chunk_bytes, 1000);
    fs::remove_file(root.join("big.bin")).unwrap();
    assert!(replica.scan().unwrap().is_clean());
}

#[test]
fn restore_from_a_store_brings_an_old_version_back_as_a_new_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old = noise(5, 3500);
    fs::write(root.join("report.txt"), &old).unwrap();
    let mut replica = Replica::open(root, options()).unwrap();
    replica.scan().unwrap();
    let old_seq = replica.history(&p("report.txt")).unwrap()[0].seq;
    fs::remove_file(root.join("report.txt")).unwrap();
    replica.scan().unwrap();

    let store = MemStore::default();
    store_chunks(&store, &old);
    let restored = replica
        .restore(&p("report.txt"), old_seq, RestoreSource::Store(&store))
        .unwrap();
    assert_eq!(fs::read(root.join("report.txt")).unwrap(), old);
    assert!(!restored.deleted);
    assert_eq!(restored.seq, replica.index().last_seq().unwrap());
    assert_eq!(restored.version.get(&replica.replica_id()), 3);
    assert_eq!(replica.history(&p("report.txt")).unwrap().len(), 3);
    let rescan = replica.scan().unwrap();
    assert!(rescan.is_clean(), "{rescan:?}");

    let deletion_seq = replica.history(&p("report.txt")).unwrap()[1].seq;
    let err = replica
        .restore(&p("report.txt"), deletion_seq, RestoreSource::Store(&store))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = replica
        .restore(&p("report.txt"), 999, RestoreSource::Store(&store))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn restore_from_local_files_verifies_every_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let original = noise(7, 4096);
    fs::write(root.join("a.bin"), &original).unwrap();
    fs::create_dir(root.join("copies")).unwrap();
    fs::write(root.join("copies/b.bin"), &original).unwrap();
    let mut replica = Replica::open(root, options()).unwrap();
    replica.scan().unwrap();
    let old_seq = replica.history(&p("a.bin")).unwrap()[0].seq;
    fs::write(root.join("a.bin"), b"rewritten").unwrap();
    replica.scan().unwrap();

    // Damage the only local copy behind the index's back: same size, other bytes.
    let mut damaged = original.clone();
    damaged[1500] ^= 0xFF;
    fs::write(root.join("copies/b.bin"), &damaged).unwrap();
    let before = replica.index().last_seq().unwrap();
    let err = replica
        .restore(&p("a.bin"), old_seq, RestoreSource::Local)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(fs::read(root.join("a.bin")).unwrap(), b"rewritten");
    assert!(temp_files_in(root).is_empty());
    assert_eq!(replica.index().last_seq().unwrap(), before);

    fs::write(root.join("copies/b.bin"), &original).unwrap();
    replica
        .restore(&p("a.bin"), old_seq, RestoreSource::Local)
        .unwrap();
    assert_eq!(fs::read(root.join("a.bin")).unwrap(), original);
}

#[test]
fn restore_from_a_store_with_bad_bytes_is_corrupt_and_writes_nothing() {
    struct LyingStore(MemStore);
    impl ChunkStore for LyingStore {
        fn algo(&self) -> HashAlgo {
            self.0.algo()
        }
        fn has(&self, id: &syncore::Digest) -> syncore::Result<bool> {
            self.0.has(id)
        }
        fn get(&self, id: &syncore::Digest) -> syncore::Result<Vec<u8>> {
            let mut bytes = self.0.get(id)?;
            bytes[0] ^= 1;
            Ok(bytes)
        }
        fn put(&self, id: &syncore::Digest, data: &[u8]) -> syncore::Result<bool> {
            self.0.put(id, data)
        }
        fn delete(&self, id: &syncore::Digest) -> syncore::Result<bool> {
            self.0.delete(id)
        }
        fn ids(&self) -> syncore::Result<syncore::store::ChunkIds<'_>> {
            self.0.ids()
        }
        fn stats(&self) -> syncore::Result<syncore::StoreStats> {
            self.0.stats()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old = noise(8, 2000);
    fs::write(root.join("x.bin"), &old).unwrap();
    let mut replica = Replica::open(root, options()).unwrap();
    replica.scan().unwrap();
    let seq = replica.history(&p("x.bin")).unwrap()[0].seq;
    fs::write(root.join("x.bin"), b"new").unwrap();
    replica.scan().unwrap();
    let store = LyingStore(MemStore::default());
    store_chunks(&store.0, &old);
    let err = replica
        .restore(&p("x.bin"), seq, RestoreSource::Store(&store))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(fs::read(root.join("x.bin")).unwrap(), b"new");
    assert!(temp_files_in(root).is_empty());
}
