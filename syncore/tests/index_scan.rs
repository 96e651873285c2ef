//! Scanning a working tree into the index: what is recorded, skipped, retried, moved and
//! deleted, and how the journal reports it.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use syncore::scan::SkipReason;
use syncore::{ChunkerConfig, EntryKind, RelPath, Replica, ReplicaOptions};

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

fn open(root: &Path) -> Replica {
    Replica::open(root, options()).unwrap()
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let full = root.join(rel);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, data).unwrap();
}

fn names(paths: &[RelPath]) -> Vec<&str> {
    let mut v: Vec<&str> = paths.iter().map(RelPath::as_str).collect();
    v.sort();
    v
}

#[test]
fn first_scan_records_then_rescan_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.txt", b"alpha");
    write(root, "docs/b.bin", &vec![7u8; 5000]);
    let mut replica = open(root);
    let report = replica.scan().unwrap();
    assert_eq!(names(&report.added), ["a.txt", "docs", "docs/b.bin"]);
    assert_eq!(report.bytes_hashed, 5005);
    let b = replica.index().entry(&p("docs/b.bin")).unwrap().unwrap();
    assert_eq!(b.entry.kind, EntryKind::File);
    assert_eq!(b.entry.size, 5000);
    assert_eq!(b.entry.version.get(&replica.replica_id()), 1);
    assert!(!replica.root().join(".syncore").join("x").exists());
    assert!(
        replica.index().entry(&p(".syncore")).unwrap().is_none(),
        "state dir skipped"
    );

    let again = replica.scan().unwrap();
    assert!(again.is_clean(), "{again:?}");
    assert_eq!(again.unchanged, 3);
    assert_eq!(again.bytes_hashed, 0);

    write(root, "a.txt", b"alpha, longer");
    let changed = replica.scan().unwrap();
    assert_eq!(names(&changed.modified), ["a.txt"]);
    let a = replica.index().entry(&p("a.txt")).unwrap().unwrap();
    assert_eq!(a.entry.version.get(&replica.replica_id()), 2);
    assert_eq!(a.entry.seq, replica.index().last_seq().unwrap());
}

#[test]
fn ignore_rules_and_default_names_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, ".syncoreignore", b"*.log\nbuild/\n!keep.log\n");
    write(root, "app.log", b"x");
    write(root, "keep.log", b"x");
    write(root, "build/out.o", b"x");
    write(root, "src/build", b"a file named build is kept");
    write(root, "src/.syncoreignore", b"secret*\n");
    write(root, "src/secret.txt", b"x");
    write(root, "src/main.rs", b"fn main() {}");
    // Opened first: opening removes stale syncore temp files, and this one must be ignored
    // by the scan instead.
    let mut replica = open(root);
    for junk in [
        ".x.swp",
        "notes~",
        "~$doc.docx",
        ".DS_Store",
        ".~lock.sheet.ods#",
        ".syncore-tmp-9-9",
    ] {
        write(root, junk, b"junk");
    }
    let report = replica.scan().unwrap();
    assert_eq!(
        names(&report.added),
        [
            ".syncoreignore",
            "keep.log",
            "src",
            "src/.syncoreignore",
            "src/build",
            "src/main.rs"
        ]
    );
    assert_eq!(report.ignored, 10, "{report:?}");
    let targeted = replica
        .rescan(&[p("app.log"), p("build/out.o"), p("src/secret.txt")])
        .unwrap();
    assert!(targeted.is_clean(), "{targeted:?}");
}

#[test]
fn racy_files_are_rehashed_once_the_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "fresh.txt", b"just written");
    let mut replica = Replica::open(
        root,
        ReplicaOptions {
            timestamp_granularity: Duration::from_secs(3600),
            ..options()
        },
    )
    .unwrap();
    replica.scan().unwrap();
    assert!(
        replica
            .index()
            .entry(&p("fresh.txt"))
            .unwrap()
            .unwrap()
            .racy
    );
    // Same stat, but the mtime was too close to the scan to trust: read it again.
    let second = replica.scan().unwrap();
    assert_eq!(second.bytes_hashed, 12);
    assert!(second.is_clean());
    assert_eq!(second.unchanged, 1);
    drop(replica);

    let mut relaxed = open(root);
    let third = relaxed.scan().unwrap();
    assert_eq!(third.bytes_hashed, 12, "still racy from the previous scan");
    assert!(
        !relaxed
            .index()
            .entry(&p("fresh.txt"))
            .unwrap()
            .unwrap()
            .racy
    );
    assert_eq!(relaxed.scan().unwrap().bytes_hashed, 0);
}

#[test]
fn a_file_changing_while_hashed_is_retried_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "busy.txt", b"version one");
    write(root, "calm.txt", b"calm");
    let mut replica = open(root);
    let fired = Arc::new(AtomicBool::new(false));
    let hook_fired = fired.clone();
    replica.scanner_mut().options_mut().hash_hook = Some(Arc::new(move |path: &Path| {
        if path.ends_with("busy.txt") && !hook_fired.swap(true, Ordering::SeqCst) {
            fs::write(path, b"version two, written mid-hash").unwrap();
        }
    }));
    let report = replica.scan().unwrap();
    assert!(fired.load(Ordering::SeqCst));
    assert_eq!(report.retries.len(), 1, "{report:?}");
    assert_eq!(report.retries[0].path, p("busy.txt"));
    assert_eq!(names(&report.added), ["calm.txt"]);
    assert!(replica.index().entry(&p("busy.txt")).unwrap().is_none());

    let next = replica.scan().unwrap();
    assert_eq!(names(&next.added), ["busy.txt"]);
    assert!(next.retries.is_empty());
    let entry = replica.index().entry(&p("busy.txt")).unwrap().unwrap();
    assert_eq!(entry.entry.size, 29);
}

#[test]
fn delete_plus_create_of_same_content_is_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "old/name.txt", b"content that moves");
    write(root, "other.txt", b"stays");
    let mut replica = open(root);
    replica.scan().unwrap();
    let cursor = replica.index().last_seq().unwrap();
    fs::create_dir(root.join("new")).unwrap();
    fs::rename(root.join("old/name.txt"), root.join("new/renamed.txt")).unwrap();
    let report = replica.scan().unwrap();
    assert_eq!(report.moved.len(), 1, "{report:?}");
    assert_eq!(report.moved[0].from, p("old/name.txt"));
    assert_eq!(report.moved[0].to, p("new/renamed.txt"));
    assert_eq!(names(&report.added), ["new"]);
    assert!(report.deleted.is_empty());
    let changes = replica.changes_since(cursor).unwrap();
    let summary: Vec<(&str, bool)> = changes
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.deleted))
        .collect();
    assert!(summary.contains(&("old/name.txt", true)), "{summary:?}");
    assert!(summary.contains(&("new/renamed.txt", false)), "{summary:?}");
}

#[test]
fn tombstones_are_returned_once_per_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "keep.txt", b"keep");
    write(root, "gone.txt", b"gone");
    write(root, "tree/a/b.txt", b"deep");
    let mut replica = open(root);
    replica.scan().unwrap();
    let all = replica.changes_since(0).unwrap();
    assert_eq!(all.entries.len(), 5);
    let c1 = all.cursor;

    fs::remove_file(root.join("gone.txt")).unwrap();
    fs::remove_dir_all(root.join("tree")).unwrap();
    let report = replica.scan().unwrap();
    assert_eq!(
        names(&report.deleted),
        ["gone.txt", "tree", "tree/a", "tree/a/b.txt"]
    );

    let changes = replica.changes_since(c1).unwrap();
    assert_eq!(changes.entries.len(), 4);
    assert!(changes.entries.iter().all(|e| e.deleted));
    let c2 = changes.cursor;
    assert!(replica.changes_since(c2).unwrap().entries.is_empty());
    assert!(replica.scan().unwrap().is_clean());
    assert!(replica.changes_since(c2).unwrap().entries.is_empty());

    write(root, "gone.txt", b"back again");
    replica.scan().unwrap();
    let revived = replica.changes_since(c2).unwrap();
    assert_eq!(revived.entries.len(), 1);
    assert!(!revived.entries[0].deleted);
    assert_eq!(revived.entries[0].version.get(&replica.replica_id()), 3);
}

#[test]
fn paging_the_journal_covers_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..10 {
        write(root, &format!("f{i}.txt"), format!("{i}").as_bytes());
    }
    let mut replica = open(root);
    replica.scan().unwrap();
    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = replica.index().changes_page(cursor, 3).unwrap();
        seen.extend(page.entries.iter().map(|e| e.path.to_string()));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10);
}

#[test]
fn targeted_rescan_sees_only_given_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a.txt", b"a");
    write(root, "b.txt", b"b");
    write(root, "d/c.txt", b"c");
    let mut replica = open(root);
    replica.scan().unwrap();
    write(root, "a.txt", b"a changed");
    fs::remove_file(root.join("b.txt")).unwrap();
    write(root, "d/new.txt", b"new");
    write(root, "unwatched.txt", b"not named");
    let report = replica.rescan(&[p("a.txt"), p("b.txt"), p("d")]).unwrap();
    assert_eq!(names(&report.modified), ["a.txt"]);
    assert_eq!(names(&report.deleted), ["b.txt"]);
    assert_eq!(names(&report.added), ["d/new.txt"]);
    assert!(replica
        .index()
        .entry(&p("unwatched.txt"))
        .unwrap()
        .is_none());
}

#[cfg(unix)]
#[test]
fn non_utf8_names_are_reported_and_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bad = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    if fs::write(&bad, b"latin-1 name").is_err() {
        return; // the filesystem itself refuses such names
    }
    write(root, "ok.txt", b"fine");
    let mut replica = open(root);
    let report = replica.scan().unwrap();
    assert_eq!(names(&report.added), ["ok.txt"]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, SkipReason::NonUtf8Name);
    assert!(bad.exists(), "never renamed or mangled");
}

#[cfg(unix)]
#[test]
fn symlinks_are_recorded_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", b"outside the root");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "real.txt", b"inside");
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    std::os::unix::fs::symlink("real.txt", root.join("alias")).unwrap();
    let mut replica = open(root);
    let report = replica.scan().unwrap();
    assert_eq!(names(&report.added), ["alias", "escape", "real.txt"]);
    let escape = replica.index().entry(&p("escape")).unwrap().unwrap();
    assert_eq!(escape.entry.kind, EntryKind::Symlink);
    assert_eq!(
        escape.entry.symlink_target.as_deref(),
        outside.path().to_str()
    );
    assert!(replica
        .index()
        .entry(&p("escape/secret.txt"))
        .unwrap()
        .is_none());
    let targeted = replica.rescan(&[p("escape/secret.txt")]).unwrap();
    assert!(targeted.is_clean(), "{targeted:?}");
    assert!(replica
        .index()
        .entry(&p("escape/secret.txt"))
        .unwrap()
        .is_none());

    fs::remove_file(root.join("alias")).unwrap();
    std::os::unix::fs::symlink("elsewhere.txt", root.join("alias")).unwrap();
    let report = replica.scan().unwrap();
    assert_eq!(names(&report.modified), ["alias"]);
}

#[test]
fn a_directory_replaced_by_a_file_tombstones_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "x/one.txt", b"1");
    write(root, "x/two.txt", b"2");
    let mut replica = open(root);
    replica.scan().unwrap();
    fs::remove_dir_all(root.join("x")).unwrap();
    write(root, "x", b"now a file");
    let report = replica.scan().unwrap();
    assert_eq!(names(&report.modified), ["x"]);
    assert_eq!(names(&report.deleted), ["x/one.txt", "x/two.txt"]);
    let x = replica.index().entry(&p("x")).unwrap().unwrap();
    assert_eq!(x.entry.kind, EntryKind::File);
}
