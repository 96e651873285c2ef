//! The sans-IO exchange on real replicas: no echo after apply, cursors, moves, executable
//! bits, conflicts, a hub serving two clients, hostile change-set bytes, and change sets
//! that leave out the receiver's own versions.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use syncore::apply::{ApplyOptions, Durability};
use syncore::index::IndexOptions;
use syncore::sync::{ConflictPolicy, SyncOptions};
use syncore::{ErrorKind, HashAlgo, Hub, MemStore, Replica, ReplicaOptions};
use tempfile::TempDir;

fn open(root: &Path) -> Replica {
    Replica::open(root, ReplicaOptions::default()).unwrap()
}

/// A's changes to B; returns the number of actions planned.
fn push(a: &Replica, b: &mut Replica, options: &SyncOptions) -> usize {
    exchange(a, b, options, false)
}

/// [`push`] through `changes_for`: A's changes to B, without B's own versions.
fn push_for(a: &Replica, b: &mut Replica, options: &SyncOptions) -> usize {
    exchange(a, b, options, true)
}

/// A's changes since B's cursor (`for_b`: less B's own versions) planned and applied on B.
fn exchange(a: &Replica, b: &mut Replica, options: &SyncOptions, for_b: bool) -> usize {
    let cursor = b.synced_cursor(a.replica_id()).unwrap();
    let bytes = if for_b {
        a.changes_for_encoded(b.replica_id(), cursor).unwrap()
    } else {
        a.changes_since_encoded(cursor).unwrap()
    };
    let plan = b.plan_encoded(&bytes, options).unwrap();
    let report = b
        .apply(&plan, &a.chunk_source(), &ApplyOptions::default())
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    plan.actions.len()
}

#[test]
fn applied_changes_do_not_echo_and_cursors_advance() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir_all(da.path().join("dir/sub")).unwrap();
    fs::write(da.path().join("dir/sub/x.txt"), b"x".repeat(100_000)).unwrap();
    fs::write(da.path().join("y"), b"why").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("y", da.path().join("link")).unwrap();
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    a.scan().unwrap();
    assert!(push(&a, &mut b, &SyncOptions::default()) > 0);
    assert_eq!(fs::read(db.path().join("y")).unwrap(), b"why");
    let report = b.scan().unwrap();
    assert!(
        report.is_clean(),
        "applied files were seen as local changes: {report:?}"
    );
    // Nothing new either way now.
    assert_eq!(push(&a, &mut b, &SyncOptions::default()), 0);
    assert_eq!(push(&b, &mut a, &SyncOptions::default()), 0);

    // A rename and an executable bit travel without content.
    fs::rename(
        da.path().join("dir/sub/x.txt"),
        da.path().join("x-moved.txt"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(da.path().join("y"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    a.scan().unwrap();
    let bytes = a
        .changes_since_encoded(b.synced_cursor(a.replica_id()).unwrap())
        .unwrap();
    let plan = b.plan_encoded(&bytes, &SyncOptions::default()).unwrap();
    assert_eq!(plan.missing_bytes(), 0, "a move needs no bytes");
    let report = b
        .apply(&plan, &a.chunk_source(), &ApplyOptions::default())
        .unwrap();
    assert!(report.is_complete());
    assert!(db.path().join("x-moved.txt").exists());
    assert!(!db.path().join("dir/sub/x.txt").exists());
    assert!(b.scan().unwrap().is_clean());
}

/// Two replicas that took `n.txt` from A, then each edited it (and scanned), with keep-both
/// options.
fn diverged() -> (TempDir, TempDir, Replica, Replica, SyncOptions) {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::write(da.path().join("n.txt"), b"base").unwrap();
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    a.scan().unwrap();
    push(&a, &mut b, &SyncOptions::default());
    fs::write(da.path().join("n.txt"), b"edit from A").unwrap();
    fs::write(db.path().join("n.txt"), b"edit from B!").unwrap();
    a.scan().unwrap();
    b.scan().unwrap();
    let options = SyncOptions {
        policy: ConflictPolicy::KeepBoth,
        ..SyncOptions::default()
    };
    (da, db, a, b, options)
}

#[test]
fn concurrent_edits_keep_both_and_converge() {
    let (da, db, mut a, mut b, options) = diverged();
    push(&a, &mut b, &options);
    push(&b, &mut a, &options);
    push(&a, &mut b, &options);
    let names = |dir: &Path| {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".syncore")
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(da.path()), names(db.path()));
    assert_eq!(names(da.path()).len(), 2, "winner and conflict copy");
    assert!(a.scan().unwrap().is_clean());
    assert!(b.scan().unwrap().is_clean());
}

#[test]
fn a_hub_serves_two_clients() {
    let (d1, d2, hub_state) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut hub = Hub::open(
        hub_state.path(),
        MemStore::new(HashAlgo::Blake3),
        IndexOptions::default(),
    )
    .unwrap();
    let (mut c1, mut c2) = (open(d1.path()), open(d2.path()));
    fs::write(d1.path().join("shared.bin"), vec![7u8; 300_000]).unwrap();
    c1.scan().unwrap();
    let options = SyncOptions::default();
    // Upload from client 1.
    let changes = c1
        .change_set(hub.synced_cursor(c1.replica_id()).unwrap())
        .unwrap();
    let plan = hub.plan(&changes, &options).unwrap();
    let report = hub.apply(&plan, &c1.chunk_source()).unwrap();
    assert!(report.is_complete());
    assert!(hub.synced_cursor(c1.replica_id()).unwrap() > 0);
    // Download to client 2, straight from the hub's store.
    let bytes = hub
        .changes_since_encoded(c2.synced_cursor(hub.replica_id()).unwrap())
        .unwrap();
    let plan = c2.plan_encoded(&bytes, &options).unwrap();
    let apply = ApplyOptions {
        durability: Durability::Batched,
        ..ApplyOptions::default()
    };
    assert!(c2.apply(&plan, hub.store(), &apply).unwrap().is_complete());
    assert_eq!(
        fs::read(d2.path().join("shared.bin")).unwrap(),
        vec![7u8; 300_000]
    );
    assert!(c2.scan().unwrap().is_clean());
    // Re-uploading client 2's view of it is a no-op for the hub.
    let changes = c2.change_set(0).unwrap();
    assert!(hub.plan(&changes, &options).unwrap().is_empty());
}

#[test]
fn hostile_change_set_bytes_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let r = open(d.path());
    for bytes in [&b""[..], b"SYNC", &[0xff; 64][..]] {
        let err = r.plan_encoded(bytes, &SyncOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }
}

/// Serves every chunk from `inner` except `bad`, which comes back damaged.
struct Damaging<'a> {
    inner: &'a dyn syncore::apply::ChunkSource,
    bad: syncore::Digest,
}

impl syncore::apply::ChunkSource for Damaging<'_> {
    fn read_chunk(&self, id: &syncore::Digest) -> syncore::Result<Vec<u8>> {
        let mut bytes = self.inner.read_chunk(id)?;
        if *id == self.bad {
            bytes[0] ^= 1;
        }
        Ok(bytes)
    }
}

/// Many small files go through the placing thread (more than it holds in flight at once),
/// around a file large enough to be written inline and a file whose chunk arrives damaged:
/// every outcome lands on the right path and the receiver records exactly what it wrote.
#[test]
fn many_small_files_placed_on_a_second_thread_keep_every_outcome() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..700 {
        let dir = da.path().join(format!("d{}", i % 7));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}.txt")), format!("small {i}")).unwrap();
    }
    let big: Vec<u8> = (0..5u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(da.path().join("d3/big.bin"), &big).unwrap();
    fs::write(da.path().join("bad.txt"), b"damaged on the way").unwrap();
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    a.scan().unwrap();
    let bytes = a.changes_since_encoded(0).unwrap();
    let plan = b.plan_encoded(&bytes, &SyncOptions::default()).unwrap();
    let chunker =
        syncore::Chunker::new(syncore::ChunkerConfig::default(), HashAlgo::Blake3).unwrap();
    let bad = syncore::FileManifest::of_slice(&chunker, b"damaged on the way").chunks()[0].id;
    let files = a.chunk_source();
    let source = Damaging { inner: &files, bad };
    let report = b.apply(&plan, &source, &ApplyOptions::default()).unwrap();
    assert_eq!(report.files_written, 701, "{:#?}", report.failed);
    assert_eq!(report.failed.len(), 1, "{:#?}", report.failed);
    assert_eq!(report.failed[0].path.as_str(), "bad.txt");
    assert_eq!(report.failed[0].kind, ErrorKind::Corrupt);
    assert_eq!(fs::read(db.path().join("d3/big.bin")).unwrap(), big);
    for i in (0..700).step_by(97) {
        let got = fs::read(db.path().join(format!("d{}/f{i}.txt", i % 7))).unwrap();
        assert_eq!(got, format!("small {i}").as_bytes());
    }
    let leftovers = fs::read_dir(db.path().join("d0"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            syncore::apply::is_temp_name(name.to_str().unwrap())
        })
        .count();
    assert_eq!(leftovers, 0);
    // Everything written was recorded: B's scan finds nothing new.
    let rescan = b.scan().unwrap();
    assert!(rescan.is_clean(), "applied files echoed back: {rescan:?}");
}

#[test]
fn opening_a_replica_removes_temp_files_a_crash_left_outside_its_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("sub")).unwrap();
    drop(open(dir.path()));
    let stale = dir
        .path()
        .join("sub")
        .join(format!("{}a.txt.1.2.3", syncore::apply::TEMP_PREFIX));
    let in_state = dir
        .path()
        .join(".syncore")
        .join(format!("{}keep", syncore::apply::TEMP_PREFIX));
    fs::write(&stale, b"half-written").unwrap();
    fs::write(&in_state, b"not ours to judge").unwrap();
    let kept = Replica::open(
        dir.path(),
        ReplicaOptions {
            remove_stale_temp_files: false,
            ..ReplicaOptions::default()
        },
    )
    .unwrap();
    assert!(stale.exists(), "the option turns cleaning off");
    drop(kept);
    let mut replica = open(dir.path());
    assert!(!stale.exists());
    assert!(in_state.exists());
    assert_eq!(
        replica.scan().unwrap().added.len(),
        1,
        "only the directory is new"
    );
}

#[test]
fn encoded_changes_are_the_change_set_encoded_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(dir.path());
    fs::create_dir(dir.path().join("sub")).unwrap();
    // Several chunks, a one-chunk file, the same content twice, an empty file, a deletion.
    let big: Vec<u8> = (0..600_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(dir.path().join("big.bin"), &big).unwrap();
    fs::write(dir.path().join("sub/one.txt"), b"one").unwrap();
    fs::write(dir.path().join("sub/copy.txt"), b"one").unwrap();
    fs::write(dir.path().join("empty"), b"").unwrap();
    fs::write(dir.path().join("doomed"), b"soon gone").unwrap();
    a.scan().unwrap();
    let middle = a.change_set(0).unwrap().cursor;
    fs::remove_file(dir.path().join("doomed")).unwrap();
    fs::write(dir.path().join("sub/one.txt"), b"one, edited").unwrap();
    a.scan().unwrap();
    for cursor in [0, middle] {
        let changes = a.change_set(cursor).unwrap();
        assert!(!changes.manifests.is_empty());
        let encoded = a.changes_since_encoded(cursor).unwrap();
        assert_eq!(encoded, changes.encode(), "cursor {cursor}");
        assert_eq!(syncore::sync::ChangeSet::decode(&encoded).unwrap(), changes);
    }
}

#[test]
fn a_peer_is_not_sent_back_its_own_versions() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fs::create_dir_all(da.path().join("dir")).unwrap();
    for i in 0..20 {
        fs::write(da.path().join(format!("dir/f{i}")), format!("file {i}")).unwrap();
    }
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    a.scan().unwrap();
    b.scan().unwrap();
    assert_eq!(push(&a, &mut b, &SyncOptions::default()), 21);
    let taken = b.index().last_seq().unwrap();
    assert_eq!(taken, 21, "B recorded A's 20 files and their directory");

    // For A, B's journal holds nothing new; for anyone else, all of it.
    let cursor = a.synced_cursor(b.replica_id()).unwrap();
    let for_a = b.changes_for(a.replica_id(), cursor).unwrap();
    assert!(for_a.entries.is_empty(), "{:?}", for_a.entries);
    assert_eq!((for_a.since, for_a.cursor), (taken, taken));
    assert!(!for_a.is_complete());
    let stranger = syncore::sync::ReplicaId::from_bytes([7; 16]);
    assert_eq!(
        b.changes_for(stranger, cursor).unwrap().entries.len(),
        21,
        "only the peer that sent them is spared its versions"
    );
    assert_eq!(
        b.changes_for_encoded(a.replica_id(), cursor).unwrap(),
        for_a.encode()
    );

    // B's own edits after that still reach A, and nothing else does.
    fs::write(db.path().join("dir/f3"), b"edited on B").unwrap();
    fs::write(db.path().join("new-on-b"), b"new").unwrap();
    b.scan().unwrap();
    let for_a = b.changes_for(a.replica_id(), cursor).unwrap();
    let paths: Vec<&str> = for_a.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["dir/f3", "new-on-b"]);
    let plan = a.plan(&for_a, &SyncOptions::default()).unwrap();
    a.apply(&plan, &b.chunk_source(), &ApplyOptions::default())
        .unwrap();
    assert_eq!(fs::read(da.path().join("dir/f3")).unwrap(), b"edited on B");
    assert_eq!(fs::read(da.path().join("new-on-b")).unwrap(), b"new");

    // A's plan of B's edits was verbatim: A does not send them back either.
    assert!(plan.verbatim);
    let for_b = a
        .changes_for(b.replica_id(), b.synced_cursor(a.replica_id()).unwrap())
        .unwrap();
    assert!(for_b.entries.is_empty(), "{:?}", for_b.entries);
}

#[test]
fn a_resolved_conflict_is_sent_back_to_the_peer_it_came_from() {
    let (da, db, mut a, mut b, options) = diverged();
    let changes = a
        .changes_for(b.replica_id(), b.synced_cursor(a.replica_id()).unwrap())
        .unwrap();
    let plan = b.plan(&changes, &options).unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    assert!(!plan.verbatim, "a conflict records versions A never sent");
    b.apply(&plan, &a.chunk_source(), &ApplyOptions::default())
        .unwrap();
    // The winner, its merged version and the loser's copy all go back to A.
    let back = b
        .changes_for(a.replica_id(), a.synced_cursor(b.replica_id()).unwrap())
        .unwrap();
    assert!(back.entries.len() >= 2, "{:?}", back.entries);
    push_for(&b, &mut a, &options);
    push_for(&a, &mut b, &options);
    assert_eq!(push_for(&b, &mut a, &options), 0);
    assert_eq!(
        user_tree(da.path()),
        user_tree(db.path()),
        "both sides hold the winner and the conflict copy"
    );
}

/// Every file and directory under `root` but the state directory.
fn user_tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut tree = common::disk_tree(root);
    tree.retain(|path, _| !path.starts_with(".syncore"));
    tree
}
