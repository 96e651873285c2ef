//! Chunk stores under damage, failure and concurrency: whatever happens, a store returns the
//! right bytes or an error naming the chunk, never wrong bytes.

// Test helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use syncore::store::ChunkIds;
use syncore::{
    ChunkStore, Digest, Error, ErrorKind, FsStore, HashAlgo, MemStore, ReplicatedStore, Result,
    ScrubReport, StoreStats,
};

/// A back end that can be switched off: while down, every operation fails with an I/O error.
struct FailingStore {
    inner: Arc<dyn ChunkStore>,
    down: AtomicBool,
}

impl FailingStore {
    fn new(inner: impl ChunkStore + 'static) -> Arc<Self> {
        Arc::new(FailingStore {
            inner: Arc::new(inner),
            down: AtomicBool::new(false),
        })
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::io(
                "failing-store",
                io::Error::other("back end is down"),
            ))
        } else {
            Ok(())
        }
    }
}

impl ChunkStore for FailingStore {
    fn algo(&self) -> HashAlgo {
        self.inner.algo()
    }
    fn has(&self, id: &Digest) -> Result<bool> {
        self.check()?;
        self.inner.has(id)
    }
    fn get(&self, id: &Digest) -> Result<Vec<u8>> {
        self.check()?;
        self.inner.get(id)
    }
    fn put(&self, id: &Digest, data: &[u8]) -> Result<bool> {
        self.check()?;
        self.inner.put(id, data)
    }
    fn delete(&self, id: &Digest) -> Result<bool> {
        self.check()?;
        self.inner.delete(id)
    }
    fn ids(&self) -> Result<ChunkIds<'_>> {
        self.check()?;
        self.inner.ids()
    }
    fn stats(&self) -> Result<StoreStats> {
        self.check()?;
        self.inner.stats()
    }
}

fn fs_store(dir: &Path, name: &str, algo: HashAlgo) -> FsStore {
    FsStore::open(dir.join(name), algo).unwrap()
}

/// Chunk data that differs per `seed`.
fn data(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) as u8)
        .collect()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn assert_corrupt_naming(err: &Error, id: &Digest) {
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert!(err.to_string().contains(&id.to_hex()), "{err}");
}

#[test]
fn damaged_chunk_files_are_reported_not_returned() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path(), "s", HashAlgo::Blake3);
    let bytes = data(1, 4096);
    let id = store.put_data(&bytes).unwrap();
    let path = store.chunk_path(&id);

    let mut flipped = bytes.clone();
    flipped[100] ^= 0x01;
    fs::write(&path, &flipped).unwrap();
    let err = store.get(&id).unwrap_err();
    assert_corrupt_naming(&err, &id);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    fs::write(&path, &bytes[..4000]).unwrap();
    assert_corrupt_naming(&store.get(&id).unwrap_err(), &id);
    fs::write(&path, b"").unwrap();
    assert_corrupt_naming(&store.get(&id).unwrap_err(), &id);

    // A damaged chunk still exists (has is not a read), and putting it again repairs it.
    assert!(store.has(&id).unwrap());
    assert!(store.put(&id, &bytes).unwrap());
    assert_eq!(store.get(&id).unwrap(), bytes);

    fs::remove_file(&path).unwrap();
    let err = store.get(&id).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains(&id.to_hex()), "{err}");
}

#[test]
fn concurrent_writers_of_one_chunk_leave_one_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shared");
    for round in 0..4u32 {
        let bytes = data(round, 256 * 1024);
        let id = HashAlgo::Blake3.digest(&bytes);
        let barrier = Barrier::new(8);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    barrier.wait();
                    // Each writer opens its own handle, as separate processes would.
                    let store = FsStore::open(&root, HashAlgo::Blake3).unwrap();
                    store.put(&id, &bytes).unwrap();
                    assert_eq!(store.get(&id).unwrap(), bytes);
                });
            }
        });
        let store = FsStore::open(&root, HashAlgo::Blake3).unwrap();
        assert_eq!(store.get(&id).unwrap(), bytes);
    }
    let store = FsStore::open(&root, HashAlgo::Blake3).unwrap();
    let files = files_under(&root);
    assert_eq!(files.len(), 5, "4 chunks and the meta file: {files:?}");
    assert!(files.iter().all(|f| !f
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(syncore::apply::TEMP_PREFIX)));
    assert_eq!(store.stats().unwrap().chunks, 4);
}

#[test]
fn put_refuses_bytes_that_do_not_match_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let fs_store = fs_store(dir.path(), "s", HashAlgo::Blake3);
    let stores: Vec<Arc<dyn ChunkStore>> = vec![
        Arc::new(MemStore::default()),
        Arc::new(fs_store.clone()),
        Arc::new(
            ReplicatedStore::new(vec![
                Arc::new(MemStore::default()),
                Arc::new(MemStore::default()),
            ])
            .unwrap(),
        ),
    ];
    let id = HashAlgo::Blake3.digest(b"right");
    for store in &stores {
        let err = store.put(&id, b"wrong").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(!store.has(&id).unwrap());
        assert_eq!(store.stats().unwrap(), StoreStats::default());
    }
    assert_eq!(files_under(fs_store.root()).len(), 1, "only the meta file");
}

#[test]
fn missing_lists_absent_ids_in_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn ChunkStore>> = vec![
        Arc::new(MemStore::default()),
        Arc::new(fs_store(dir.path(), "s", HashAlgo::Blake3)),
        Arc::new(
            ReplicatedStore::new(vec![
                Arc::new(MemStore::default()),
                Arc::new(MemStore::default()),
                Arc::new(MemStore::default()),
            ])
            .unwrap(),
        ),
    ];
    for store in &stores {
        let ids: Vec<Digest> = (0..5).map(|i| store.algo().digest(&data(i, 10))).collect();
        store.put(&ids[1], &data(1, 10)).unwrap();
        store.put(&ids[3], &data(3, 10)).unwrap();
        let asked = [ids[4], ids[1], ids[0], ids[4], ids[3], ids[2], ids[0]];
        assert_eq!(store.missing(&asked).unwrap(), vec![ids[4], ids[0], ids[2]]);
    }
}

#[test]
fn reopening_with_another_algorithm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = fs_store(dir.path(), "s", HashAlgo::Sha256);
    let id = store.put_data(b"abc").unwrap();
    let err = FsStore::open(store.root(), HashAlgo::Blake3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let again = FsStore::open(store.root(), HashAlgo::Sha256).unwrap();
    assert_eq!(again.get(&id).unwrap(), b"abc");
}

#[test]
fn sha256_stores_address_by_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let abc_sha256: Digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        .parse()
        .unwrap();
    let backends: Vec<Arc<dyn ChunkStore>> = (0..3)
        .map(|i| Arc::new(fs_store(dir.path(), &format!("b{i}"), HashAlgo::Sha256)) as _)
        .collect();
    let stores: Vec<Arc<dyn ChunkStore>> = vec![
        Arc::new(MemStore::new(HashAlgo::Sha256)),
        Arc::new(fs_store(dir.path(), "s", HashAlgo::Sha256)),
        Arc::new(ReplicatedStore::new(backends).unwrap()),
    ];
    for store in &stores {
        assert_eq!(store.algo(), HashAlgo::Sha256);
        assert_eq!(store.put_data(b"abc").unwrap(), abc_sha256);
        assert_eq!(store.get(&abc_sha256).unwrap(), b"abc");
        let blake = HashAlgo::Blake3.digest(b"abc");
        assert_eq!(
            store.put(&blake, b"abc").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    let mixed = ReplicatedStore::new(vec![
        Arc::new(MemStore::new(HashAlgo::Sha256)),
        Arc::new(MemStore::new(HashAlgo::Blake3)),
    ]);
    assert_eq!(mixed.unwrap_err().kind(), ErrorKind::InvalidInput);
}

/// Three file-system back ends replicated twice, plus handles on them.
fn replicated_fs(dir: &Path) -> (Vec<FsStore>, ReplicatedStore) {
    let backends: Vec<FsStore> = (0..3)
        .map(|i| fs_store(dir, &format!("b{i}"), HashAlgo::Blake3))
        .collect();
    let dyns = backends
        .iter()
        .map(|b| Arc::new(b.clone()) as Arc<dyn ChunkStore>)
        .collect();
    (backends, ReplicatedStore::new(dyns).unwrap())
}

#[test]
fn replicated_reads_fail_over_past_missing_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (backends, store) = replicated_fs(dir.path());
    let chunks: Vec<(Digest, Vec<u8>)> = (0..20)
        .map(|i| {
            let bytes = data(i, 1000 + i as usize);
            (store.put_data(&bytes).unwrap(), bytes)
        })
        .collect();
    for (id, bytes) in &chunks {
        let placement = store.placement(id);
        assert!(backends[placement[0]].delete(id).unwrap());
        assert_eq!(&store.get(id).unwrap(), bytes);
        assert!(store.has(id).unwrap());
        assert!(backends[placement[1]].delete(id).unwrap());
        assert_eq!(store.get(id).unwrap_err().kind(), ErrorKind::NotFound);
        assert!(!store.has(id).unwrap());
    }
}

#[test]
fn replicated_reads_never_return_damaged_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (backends, store) = replicated_fs(dir.path());
    let bytes = data(7, 5000);
    let id = store.put_data(&bytes).unwrap();
    let placement = store.placement(&id);

    fs::write(backends[placement[0]].chunk_path(&id), b"garbage").unwrap();
    assert_eq!(store.get(&id).unwrap(), bytes);

    fs::write(backends[placement[1]].chunk_path(&id), &bytes[1..]).unwrap();
    assert_corrupt_naming(&store.get(&id).unwrap_err(), &id);

    let report = store.scrub().unwrap();
    assert_eq!(
        report,
        ScrubReport {
            checked: 1,
            repaired: 0,
            lost: vec![id]
        }
    );
    assert_corrupt_naming(&store.get(&id).unwrap_err(), &id);
}

#[test]
fn failed_back_ends_are_skipped_and_scrub_restores_placement() {
    let dir = tempfile::tempdir().unwrap();
    let fs_backends: Vec<FsStore> = (0..3)
        .map(|i| fs_store(dir.path(), &format!("b{i}"), HashAlgo::Blake3))
        .collect();
    let failing: Vec<Arc<FailingStore>> = fs_backends
        .iter()
        .map(|b| FailingStore::new(b.clone()))
        .collect();
    let store = ReplicatedStore::new(
        failing
            .iter()
            .map(|f| Arc::clone(f) as Arc<dyn ChunkStore>)
            .collect(),
    )
    .unwrap();

    // Chunks written while back end 0 is down land on the next back ends of their ring.
    failing[0].set_down(true);
    let chunks: Vec<(Digest, Vec<u8>)> = (0..30)
        .map(|i| {
            let bytes = data(100 + i, 700);
            (store.put_data(&bytes).unwrap(), bytes)
        })
        .collect();
    for (id, bytes) in &chunks {
        assert_eq!(&store.get(id).unwrap(), bytes);
        let copies = fs_backends.iter().filter(|b| b.has(id).unwrap()).count();
        assert_eq!(copies, 2, "two copies despite a back end being down");
        assert!(!fs_backends[0].has(id).unwrap());
    }
    let on_zero: Vec<&(Digest, Vec<u8>)> = chunks
        .iter()
        .filter(|(id, _)| store.placement(id).contains(&0))
        .collect();
    assert!(!on_zero.is_empty());

    // While a back end is down, "absent" cannot be known and scrub cannot finish.
    let absent = HashAlgo::Blake3.digest(b"never stored");
    assert_eq!(store.has(&absent).unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(store.get(&absent).unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(store.missing(&[absent]).unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(store.missing(&[chunks[0].0]).unwrap(), Vec::<Digest>::new());
    assert_eq!(store.scrub().unwrap_err().kind(), ErrorKind::Io);

    // Back end 0 returns; scrub puts the copies it missed in place.
    failing[0].set_down(false);
    let report = store.scrub().unwrap();
    assert_eq!(report.checked, 30);
    assert_eq!(report.repaired, on_zero.len() as u64);
    assert!(report.lost.is_empty());
    for (id, bytes) in &on_zero {
        assert_eq!(&fs_backends[0].get(id).unwrap(), bytes);
    }
    assert_eq!(store.scrub().unwrap().repaired, 0);

    // Another back end goes down: every chunk is still readable from its other replica.
    failing[1].set_down(true);
    for (id, bytes) in &chunks {
        assert_eq!(&store.get(id).unwrap(), bytes);
    }
    failing[1].set_down(false);

    // Every back end down: the failure is reported, not a false "not found".
    for f in &failing {
        f.set_down(true);
    }
    assert_eq!(store.get(&chunks[0].0).unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(
        store.put_data(b"nowhere to go").unwrap_err().kind(),
        ErrorKind::Io
    );
    for f in &failing {
        f.set_down(false);
    }
}

#[test]
fn scrub_replaces_damaged_and_missing_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (backends, store) = replicated_fs(dir.path());
    let chunks: Vec<(Digest, Vec<u8>)> = (0..12)
        .map(|i| {
            let bytes = data(300 + i, 2000);
            (store.put_data(&bytes).unwrap(), bytes)
        })
        .collect();
    // Damage the first copy of some chunks, drop the second copy of others.
    for (n, (id, _)) in chunks.iter().enumerate() {
        let placement = store.placement(id);
        match n % 3 {
            0 => {
                let path = backends[placement[0]].chunk_path(id);
                let mut raw = fs::read(&path).unwrap();
                raw[0] ^= 0xff;
                fs::write(&path, raw).unwrap();
            }
            1 => {
                backends[placement[1]].delete(id).unwrap();
            }
            _ => {}
        }
    }
    let report = store.scrub().unwrap();
    assert_eq!(report.checked, 12);
    assert_eq!(report.repaired, 8);
    assert!(report.lost.is_empty());
    for (id, bytes) in &chunks {
        for &i in &store.placement(id) {
            assert_eq!(&backends[i].get(id).unwrap(), bytes);
        }
    }
    assert_eq!(store.scrub().unwrap().repaired, 0);
}

#[test]
fn replicated_listing_and_stats_count_each_chunk_once() {
    let dir = tempfile::tempdir().unwrap();
    let (backends, store) = replicated_fs(dir.path());
    let mut want = HashSet::new();
    let mut bytes = 0;
    for i in 0..10 {
        let chunk = data(500 + i, 100 * (i as usize + 1));
        bytes += chunk.len() as u64;
        want.insert(store.put_data(&chunk).unwrap());
    }
    let ids: Vec<Digest> = store.ids().unwrap().collect::<Result<_>>().unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), want);
    assert_eq!(store.stats().unwrap(), StoreStats { chunks: 10, bytes });
    let physical: u64 = backends.iter().map(|b| b.stats().unwrap().chunks).sum();
    assert_eq!(physical, 20);

    let id = *want.iter().next().unwrap();
    assert!(store.delete(&id).unwrap());
    assert!(!store.delete(&id).unwrap());
    assert!(backends.iter().all(|b| !b.has(&id).unwrap()));
    assert_eq!(store.stats().unwrap().chunks, 9);
}
