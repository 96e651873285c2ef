//! Applying plans to real directories: hostile paths, symlinked parents, corrupt chunks, user
//! edits between plan and apply, crashes before rename, local chunk reuse, durability modes.

mod common;

use std::fs;
use std::path::Path;

use common::{chunker, disk_tree, p, scan};
use syncore::apply::{
    apply_plan, is_temp_name, remove_stale_temp_files, ApplyOptions, ChunkSource, Durability,
    Fault, LocalChunks, MemoryTarget, SharedSource,
};
use syncore::sync::{
    reconcile, Action, ChangeSet, LocalView, MemoryView, Plan, ReplicaId, SyncOptions,
};
use syncore::{Digest, ErrorKind, FileManifest, HashAlgo, Result};

const NOW: i64 = 1_700_000_000_000_000_000;

struct Side {
    dir: tempfile::TempDir,
    target: MemoryTarget,
}

impl Side {
    fn new(n: u8) -> Self {
        Side {
            dir: tempfile::tempdir().unwrap(),
            target: MemoryTarget::new(MemoryView::new(ReplicaId::from_bytes([n; 16]))),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, data: &[u8]) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    fn scan(&mut self) {
        scan(self.dir.path(), &mut self.target, NOW);
    }

    fn plan_from(&self, other: &Side) -> Plan {
        let bytes = other.target.view.changes_since(0).encode();
        let changes = ChangeSet::decode(&bytes).unwrap();
        reconcile(&self.target.view, &changes, &SyncOptions::default()).unwrap()
    }
}

/// Pulls `from`'s changes into `to`, reading the chunks `to` cannot find in its own files
/// out of `from`'s files.
fn pull(to: &mut Side, from: &Side, options: &ApplyOptions) -> syncore::apply::ApplyReport {
    let plan = to.plan_from(from);
    let remote = LocalChunks::new(from.root(), HashAlgo::Blake3, &from.target);
    apply_plan(to.dir.path(), &plan, &remote, &mut to.target, options).unwrap()
}

/// Applies `plan` to `to` with chunks from `source`, marked shareable when `shared` (the
/// placing threads then read it).
fn apply_from<S: ChunkSource + Sync>(
    to: &mut Side,
    plan: &Plan,
    source: &S,
    shared: bool,
) -> syncore::apply::ApplyReport {
    let (root, options) = (to.dir.path(), ApplyOptions::default());
    let report = if shared {
        apply_plan(root, plan, &SharedSource(source), &mut to.target, &options)
    } else {
        apply_plan(root, plan, source, &mut to.target, &options)
    };
    report.unwrap()
}

fn temp_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in walkdir(root) {
        let name = entry.file_name().unwrap().to_str().unwrap().to_owned();
        if is_temp_name(&name) {
            out.push(name);
        }
    }
    out
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            out.extend(walkdir(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn two_folders_sync_with_local_reuse_and_no_echo() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("docs/readme.txt", b"hello, world: a readme of some length");
    a.write("bin/tool", b"\x7fELF pretend binary");
    a.write("empty", b"");
    a.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.files_written, 3);
    assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
    // Nothing is echoed back: b's scan finds no local change and a has nothing to plan.
    let seq = b.target.view.seq();
    b.scan();
    assert_eq!(
        b.target.view.seq(),
        seq,
        "scan after apply recorded changes"
    );
    let plan = a.plan_from(&b);
    assert!(plan.is_index_only(), "{plan:#?}");
    // An edit that keeps most chunks reuses them locally.
    a.write(
        "docs/readme.txt",
        b"hello, world: a readme of some length, now longer",
    );
    a.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    assert!(report.bytes_reused_locally >= 32, "{report:#?}");
    assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
}

#[test]
fn a_chunk_listed_missing_but_held_locally_is_still_found_when_the_source_lacks_it() {
    for shared in [false, true] {
        a_chunk_listed_missing_is_found_locally(shared);
    }
}

/// `shared`: the empty source is one the placing thread reads (which fails, and the
/// applier then writes the file itself).
fn a_chunk_listed_missing_is_found_locally(shared: bool) {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    let content = b"the same bytes on both sides, under two names";
    a.write("new.txt", content);
    a.scan();
    b.write("old.txt", content);
    b.scan();
    let mut plan = b.plan_from(&a);
    // Claim every chunk of the write is missing here, as a stale or hand-made plan may.
    let mut listed = 0;
    for action in &mut plan.actions {
        if let Action::WriteFile {
            manifest,
            missing_chunks,
            ..
        } = action
        {
            *missing_chunks = manifest.chunks().iter().map(|c| c.id).collect();
            listed += missing_chunks.len();
        }
    }
    assert!(listed > 0, "{plan:#?}");
    // The caller's source has nothing: the local file must serve the chunk.
    let empty = syncore::store::MemStore::new(HashAlgo::Blake3);
    let report = apply_from(&mut b, &plan, &empty, shared);
    assert!(report.is_complete(), "shared {shared}: {report:#?}");
    assert_eq!(report.bytes_reused_locally, content.len() as u64);
    assert_eq!(fs::read(b.root().join("new.txt")).unwrap(), content);
}

#[test]
fn hostile_paths_are_rejected_at_decode() {
    let mut a = Side::new(1);
    a.write("abcdefghij", b"x");
    a.scan();
    let good = a.target.view.changes_since(0).encode();
    let at = good.windows(10).position(|w| w == b"abcdefghij").unwrap();
    for evil in [
        "/etc/passw",
        "../../../x",
        "a\0bcdefghi",
        "a//bcdefgh",
        "a/./bcdefg",
    ] {
        let mut bad = good[..good.len() - 8].to_vec();
        bad[at..at + 10].copy_from_slice(evil.as_bytes());
        let checksum = blake3::hash(&bad);
        bad.extend_from_slice(&checksum.as_bytes()[..8]);
        let err = ChangeSet::decode(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{evil:?}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn symlinked_parent_pointing_outside_is_refused() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    let outside = tempfile::tempdir().unwrap();
    a.write("link/evil.txt", b"should never land outside");
    a.write("fine.txt", b"ok");
    a.scan();
    // On b, "link" is a symlink to a directory outside its root.
    std::os::unix::fs::symlink(outside.path(), b.root().join("link")).unwrap();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(
        report.failed.iter().any(|f| f.path == p("link/evil.txt")),
        "{report:#?}"
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(fs::read(b.root().join("fine.txt")).unwrap(), b"ok");
}

/// Serves every chunk from a store but flips a byte of one of them.
struct Corrupting<'a> {
    inner: &'a (dyn ChunkSource + Sync),
    bad: Digest,
}

impl ChunkSource for Corrupting<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        let mut bytes = self.inner.read_chunk(id)?;
        if *id == self.bad {
            bytes[0] ^= 1;
        }
        Ok(bytes)
    }
}

#[test]
fn corrupt_or_missing_chunks_write_nothing_and_others_continue() {
    for shared in [false, true] {
        corrupt_or_missing_chunks_write_nothing(shared);
    }
}

/// `shared`: the sources are ones the placing thread reads.
fn corrupt_or_missing_chunks_write_nothing(shared: bool) {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("bad.bin", b"0123456789abcdefXYZ");
    a.write("good.txt", b"good content here");
    b.write("other.txt", b"previous content");
    a.scan();
    b.scan();
    let plan = b.plan_from(&a);
    assert!(plan
        .actions
        .iter()
        .all(|x| matches!(x, Action::WriteFile { .. })));
    let bad = FileManifest::of_slice(&chunker(), b"0123456789abcdefXYZ").chunks()[1].id;
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    let corrupting = Corrupting {
        inner: &remote,
        bad,
    };
    let report = apply_from(&mut b, &plan, &corrupting, shared);
    let failure = report.failed.iter().find(|f| f.path == p("bad.bin"));
    assert!(
        failure.is_some_and(|f| f.kind == ErrorKind::Corrupt),
        "{report:#?}"
    );
    assert_eq!(
        fs::read(b.root().join("good.txt")).unwrap(),
        b"good content here"
    );
    assert!(temp_files(b.root()).is_empty());
    // A missing chunk is reported as not found, also without leftovers.
    let empty = syncore::MemStore::new(HashAlgo::Blake3);
    let report = apply_from(&mut b, &plan, &empty, shared);
    assert!(report
        .failed
        .iter()
        .any(|f| f.path == p("bad.bin") && f.kind == ErrorKind::NotFound));
    assert!(temp_files(b.root()).is_empty());
}

#[test]
fn a_record_waits_for_the_write_it_depends_on() {
    for shared in [false, true] {
        a_record_depends_on_its_write(shared);
    }
}

/// An index-only record that depends on a file write (a conflict's kept copy) is made only if
/// that write completed; `shared`: the placing threads read the source.
fn a_record_depends_on_its_write(shared: bool) {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("copy.txt", b"the kept copy of a conflict");
    a.scan();
    let mut plan = b.plan_from(&a);
    let Some(Action::WriteFile { entry, .. }) = plan.actions.first().cloned() else {
        panic!("expected a file write: {plan:#?}");
    };
    let mut recorded = entry.clone();
    recorded.path = p("kept.txt");
    plan.actions.push(Action::Record {
        entry: recorded,
        requires: Some(p("copy.txt")),
    });
    // The write cannot be served, so the record it depends on is refused.
    let empty = syncore::MemStore::new(HashAlgo::Blake3);
    let report = apply_from(&mut b, &plan, &empty, shared);
    let refused = report.failed.iter().find(|f| f.path == p("kept.txt"));
    assert!(
        refused.is_some_and(|f| f.kind == ErrorKind::NotFound),
        "{report:#?}"
    );
    assert_eq!(b.target.view.entry(&p("kept.txt")).unwrap(), None);
    // Served, the write completes first and the record follows.
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    let report = apply_from(&mut b, &plan, &remote, shared);
    assert!(report.is_complete(), "{report:#?}");
    assert!(b.target.view.entry(&p("kept.txt")).unwrap().is_some());
}

/// Serves chunks from `inner`, noting every thread that reads it.
struct ThreadNoting<'a> {
    inner: &'a (dyn ChunkSource + Sync),
    readers: std::sync::Mutex<std::collections::HashSet<std::thread::ThreadId>>,
}

impl ChunkSource for ThreadNoting<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        let reader = std::thread::current().id();
        self.readers.lock().unwrap().insert(reader);
        self.inner.read_chunk(id)
    }
}

#[test]
fn a_shareable_source_is_read_on_the_placing_thread_and_others_on_the_callers() {
    let mut a = Side::new(1);
    for i in 0..20 {
        a.write(
            &format!("d{}/f{i}.txt", i % 3),
            format!("file {i} ").repeat(i + 1).as_bytes(),
        );
    }
    a.scan();
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    for shared in [false, true] {
        let mut b = Side::new(2);
        let plan = b.plan_from(&a);
        let noting = ThreadNoting {
            inner: &remote,
            readers: Default::default(),
        };
        let report = apply_from(&mut b, &plan, &noting, shared);
        assert!(report.is_complete(), "{report:#?}");
        assert_eq!(report.files_written, 20);
        assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
        let readers = noting.readers.into_inner().unwrap();
        let here = std::thread::current().id();
        if shared {
            // Read on the placing threads (one or more), never on the caller's.
            assert!(
                !readers.is_empty() && !readers.contains(&here),
                "{readers:?}"
            );
        } else {
            assert_eq!(readers, [here].into(), "only the caller's thread reads");
        }
    }
}

#[test]
fn user_edit_between_plan_and_apply_is_never_overwritten() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("shared.txt", b"version 1");
    a.write("doomed.txt", b"will be deleted remotely");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    a.write("shared.txt", b"version 2 from a");
    fs::remove_file(a.root().join("doomed.txt")).unwrap();
    a.write("fresh.txt", b"new on a");
    a.scan();
    let plan = b.plan_from(&a);
    assert_eq!(plan.actions.len(), 3, "{plan:#?}");
    // The user edits both files on b after planning, before applying, and creates a file
    // where a's new one was going to go.
    b.write("shared.txt", b"user's unsaved work!");
    b.write("doomed.txt", b"user kept working on this");
    b.write("fresh.txt", b"user's own fresh file");
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    let report = apply_plan(
        b.dir.path(),
        &plan,
        &remote,
        &mut b.target,
        &ApplyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.conflicts.len(), 3, "{report:#?}");
    assert_eq!(
        fs::read(b.root().join("shared.txt")).unwrap(),
        b"user's unsaved work!"
    );
    assert_eq!(
        fs::read(b.root().join("fresh.txt")).unwrap(),
        b"user's own fresh file"
    );
    assert!(temp_files(b.root()).is_empty());
    assert_eq!(
        fs::read(b.root().join("doomed.txt")).unwrap(),
        b"user kept working on this"
    );
    // The next round sees a real conflict and keeps both versions (the default policy).
    b.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    let tree = disk_tree(b.root());
    assert!(tree
        .values()
        .any(|v| v.as_deref() == Some(&b"user's unsaved work!"[..])));
    assert!(tree
        .values()
        .any(|v| v.as_deref() == Some(&b"version 2 from a"[..])));
    for kept in [&b"user's own fresh file"[..], b"new on a"] {
        assert!(
            tree.values().any(|v| v.as_deref() == Some(kept)),
            "{tree:?}"
        );
    }
    assert_eq!(
        fs::read(b.root().join("doomed.txt")).unwrap(),
        b"user kept working on this"
    );
}

#[test]
fn crash_between_temp_write_and_rename_leaves_the_target_intact() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("f.txt", b"old");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    a.write("f.txt", b"new content after the crash");
    a.scan();
    let plan = b.plan_from(&a);
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    let crash = ApplyOptions {
        fault: Some(Fault::CrashBeforeRename(p("f.txt"))),
        ..ApplyOptions::default()
    };
    let err = apply_plan(b.dir.path(), &plan, &remote, &mut b.target, &crash).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(fs::read(b.root().join("f.txt")).unwrap(), b"old");
    let leftovers = temp_files(b.root()).len();
    // On Linux (with the right to name unnamed files) the temp file has no name until it is
    // placed, so the crash leaves nothing; elsewhere it leaves its named temp file.
    assert!(leftovers <= 1, "the crash leaves at most its temp file");
    if cfg!(target_os = "linux") && is_root() {
        assert_eq!(leftovers, 0, "an unnamed temp file vanishes with the crash");
    }
    // After "restarting", the same plan applies cleanly; the leftover is ignored by scans.
    let report = apply_plan(
        b.dir.path(),
        &plan,
        &remote,
        &mut b.target,
        &ApplyOptions::default(),
    )
    .unwrap();
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(
        fs::read(b.root().join("f.txt")).unwrap(),
        b"new content after the crash"
    );
    let seq = b.target.view.seq();
    b.scan();
    assert_eq!(b.target.view.seq(), seq);
    assert_eq!(
        remove_stale_temp_files(b.root()).unwrap() as usize,
        leftovers
    );
    assert!(temp_files(b.root()).is_empty());
}

#[test]
fn directories_with_unknown_contents_are_not_removed() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("d/f.txt", b"x");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    fs::remove_dir_all(a.root().join("d")).unwrap();
    a.scan();
    b.write("d/new-unsynced.txt", b"user's new file");
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert_eq!(report.deleted, 1, "{report:#?}");
    assert!(!report.conflicts.is_empty(), "{report:#?}");
    assert!(b.root().join("d/new-unsynced.txt").exists());
}

#[test]
fn every_durability_mode_produces_the_same_tree() {
    for durability in [Durability::PerFile, Durability::Batched, Durability::None] {
        let mut a = Side::new(1);
        let mut b = Side::new(2);
        for i in 0..20 {
            a.write(
                &format!("dir{}/file{i}.txt", i % 3),
                format!("{i}").as_bytes(),
            );
        }
        a.scan();
        let options = ApplyOptions {
            durability,
            ..ApplyOptions::default()
        };
        let report = pull(&mut b, &a, &options);
        assert!(report.is_complete(), "{durability:?}: {report:#?}");
        assert_eq!(report.files_written, 20);
        assert_eq!(disk_tree(a.root()), disk_tree(b.root()), "{durability:?}");
        let seq = b.target.view.seq();
        b.scan();
        assert_eq!(b.target.view.seq(), seq, "{durability:?}: echo");
    }
}

#[cfg(unix)]
#[test]
fn a_peer_cannot_plant_a_symlink_and_write_through_it() {
    let outside = tempfile::tempdir().unwrap();
    let mut remote = MemoryView::new(ReplicaId::from_bytes([9; 16]));
    let mut version = syncore::sync::VersionVector::new();
    version.bump(remote.replica_id());
    remote.record(
        syncore::Entry {
            path: p("link"),
            kind: syncore::EntryKind::Symlink,
            size: 0,
            mtime_ns: NOW,
            executable: false,
            symlink_target: Some(outside.path().to_str().unwrap().to_owned()),
            content_id: None,
            version,
            deleted: false,
            seq: 0,
        },
        None,
    );
    let manifest = FileManifest::of_slice(&chunker(), b"evil payload");
    remote.local_write(&p("link/evil.txt"), manifest.clone(), NOW, false);
    let store = syncore::MemStore::new(HashAlgo::Blake3);
    for chunk in manifest.chunks() {
        let data = &b"evil payload"[chunk.offset as usize..chunk.end() as usize];
        syncore::ChunkStore::put(&store, &chunk.id, data).unwrap();
    }
    let mut b = Side::new(2);
    let plan = reconcile(
        &b.target.view,
        &remote.changes_since(0),
        &SyncOptions::default(),
    )
    .unwrap();
    let report = apply_plan(
        b.dir.path(),
        &plan,
        &store,
        &mut b.target,
        &ApplyOptions::default(),
    )
    .unwrap();
    assert_eq!(report.symlinks_created, 1, "{report:#?}");
    assert!(
        report.failed.iter().any(|f| f.path == p("link/evil.txt")),
        "{report:#?}"
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_file_replaced_by_a_directory_and_back() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("thing", b"a file first");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    fs::remove_file(a.root().join("thing")).unwrap();
    a.write("thing/inside.txt", b"now a directory");
    a.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
    fs::remove_dir_all(a.root().join("thing")).unwrap();
    a.write("thing", b"a file again");
    a.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
}

#[test]
fn crash_after_rename_before_recording_converges_without_loss() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("f.txt", b"old");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    a.write("f.txt", b"new content, renamed but never recorded");
    a.scan();
    let plan = b.plan_from(&a);
    let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
    let crash = ApplyOptions {
        fault: Some(Fault::CrashAfterRename(p("f.txt"))),
        ..ApplyOptions::default()
    };
    assert!(apply_plan(b.dir.path(), &plan, &remote, &mut b.target, &crash).is_err());
    // Reopened: the scan sees the new file as a local change of identical content, which
    // merges silently with a's version; nothing conflicts and both sides agree.
    b.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(
        report.is_complete() && report.files_written == 0,
        "{report:#?}"
    );
    let back = a.plan_from(&b);
    assert!(
        back.conflicts.is_empty() && back.is_index_only(),
        "{back:#?}"
    );
    assert_eq!(disk_tree(a.root()), disk_tree(b.root()));
}

#[cfg(unix)]
#[test]
fn an_executable_bit_change_is_applied_without_rewriting() {
    use std::os::unix::fs::PermissionsExt;
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    a.write("run.sh", b"#!/bin/sh\necho hi\n");
    a.scan();
    pull(&mut b, &a, &ApplyOptions::default());
    let path = a.root().join("run.sh");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    a.scan();
    let report = pull(&mut b, &a, &ApplyOptions::default());
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.files_written, 0, "{report:#?}");
    let mode = fs::metadata(b.root().join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111 & (mode & 0o444) >> 2, "mode {mode:o}");
    assert!(mode & 0o100 != 0);
    let seq = b.target.view.seq();
    b.scan();
    assert_eq!(b.target.view.seq(), seq, "metadata update echoed back");
}

/// Whether the tests run as root (who may always name `O_TMPFILE` files on Linux).
fn is_root() -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    return unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    false
}

/// A shareable source that panics on one chunk and serves the others from `inner`.
struct PanickingOn<'a> {
    inner: &'a (dyn ChunkSource + Sync),
    chunk: Digest,
}

impl ChunkSource for PanickingOn<'_> {
    fn read_chunk(&self, id: &Digest) -> Result<Vec<u8>> {
        assert_ne!(*id, self.chunk, "the chunk source panics");
        self.inner.read_chunk(id)
    }
}

#[test]
fn a_panicking_shared_source_ends_the_apply_with_its_panic() {
    let mut a = Side::new(1);
    let mut b = Side::new(2);
    for i in 0..40 {
        a.write(&format!("f{i:02}.txt"), format!("file {i}").as_bytes());
    }
    a.scan();
    let plan = b.plan_from(&a);
    // One file's chunk panics; the other placing thread goes on with the rest.
    let chunk = FileManifest::of_slice(&chunker(), b"file 3").chunks()[0].id;
    assert!(common::panics_without_hanging("the apply", move || {
        let remote = LocalChunks::new(a.root(), HashAlgo::Blake3, &a.target);
        let source = PanickingOn {
            inner: &remote,
            chunk,
        };
        let root = b.root().to_path_buf();
        let _ = apply_plan(
            &root,
            &plan,
            &SharedSource(&source),
            &mut b.target,
            &ApplyOptions::default(),
        );
    }));
}
