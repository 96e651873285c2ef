//! Streaming an exchange in pages while the sender scans: pages are committed prefixes of the
//! journal, a receiver takes them in as they come, and deletions, gaps, undecodable pages and
//! partial applies stop the intake so that the closing exchange takes in the rest; pages encoded
//! from what the scan recorded equal pages read from the journal.

mod common;

use std::collections::VecDeque;
use std::fs;
use std::path::Path;

use syncore::apply::{ApplyOptions, ChunkSource, Durability, LocalChunks, NoLocations};
use syncore::replica_pages::{PageFeed, PageIntake, PageSender, PageStop};
use syncore::sync::SyncOptions;
use syncore::{Error, ErrorKind, MemStore, Replica, ReplicaOptions};

const FILES: usize = 40;

fn open(root: &Path) -> Replica {
    Replica::open(root, ReplicaOptions::default()).unwrap()
}

/// `FILES` files of distinct content in four directories.
fn write_tree(root: &Path) {
    for i in 0..FILES {
        let dir = root.join(format!("d{}", i % 4));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("f{i:02}.txt")),
            format!("file {i} ").repeat(i + 1),
        )
        .unwrap();
    }
}

/// Scans `a` in pages of `page` changes, encoding each page since the last; returns them.
fn scan_pages(a: &mut Replica, since: u64, page: usize) -> Vec<Vec<u8>> {
    let mut sender = PageSender::new(since);
    let mut pages = Vec::new();
    a.scan_in_pages(page, |page| {
        let index = page.index();
        sender.add(page);
        pages.push(sender.next_page(index)?);
        Ok(())
    })
    .unwrap();
    assert_eq!(sender.cursor(), a.index().last_seq().unwrap());
    pages
}

/// Scans `a` in pages of `page` changes and hands each to `intake` on `b` as it commits,
/// with chunks read from A's files by the paths B's applier names (A's index is busy).
/// Returns how many pages were offered.
fn stream(a: &mut Replica, b: &mut Replica, intake: &mut PageIntake, page: usize) -> usize {
    let a_files = LocalChunks::new(a.root(), a.index().algo(), &NoLocations).following_hints();
    let mut sender = PageSender::new(b.synced_cursor(a.replica_id()).unwrap());
    let mut offered = 0;
    a.scan_in_pages(page, |page| {
        offered += 1;
        let index = page.index();
        sender.add(page);
        let bytes = sender.next_page(index)?;
        intake.take(
            b,
            &bytes,
            &a_files,
            &SyncOptions::default(),
            &ApplyOptions::default(),
        )?;
        Ok(())
    })
    .unwrap();
    offered
}

/// The closing exchange: A's changes since B's cursor, planned with `options` and applied.
fn close(a: &Replica, b: &mut Replica, options: &SyncOptions) -> syncore::Result<usize> {
    let bytes = a.changes_since_encoded(b.synced_cursor(a.replica_id())?)?;
    let plan = b.plan_encoded(&bytes, options)?;
    let report = b.apply(&plan, &a.chunk_source(), &ApplyOptions::default())?;
    assert!(report.is_complete(), "{report:?}");
    Ok(plan.actions.len())
}

fn files_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..FILES {
        let rel = format!("d{}/f{i:02}.txt", i % 4);
        if let Ok(bytes) = fs::read(root.join(&rel)) {
            files.push((rel, bytes));
        }
    }
    files
}

#[test]
fn a_first_sync_streams_in_pages_and_leaves_nothing_for_the_closing_exchange() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    let mut intake = PageIntake::new();
    let offered = stream(&mut a, &mut b, &mut intake, 8);
    assert!(offered >= 5, "only {offered} pages for {FILES} files");
    assert!(intake.stopped().is_none(), "{:?}", intake.stopped());
    assert_eq!(intake.pages_applied(), offered as u64);
    // The pages' reports add up.
    assert_eq!(intake.report().files_written, FILES as u64);
    assert_eq!(intake.report().dirs_created, 4);
    assert_eq!(files_of(db.path()), files_of(da.path()));
    assert_eq!(files_of(db.path()).len(), FILES);
    assert_eq!(
        b.synced_cursor(a.replica_id()).unwrap(),
        a.index().last_seq().unwrap()
    );
    assert_eq!(close(&a, &mut b, &SyncOptions::default()).unwrap(), 0);
    assert!(b.scan().unwrap().is_clean(), "streamed files echoed back");
}

#[test]
fn pages_are_committed_journal_prefixes_and_a_failing_hook_stops_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let mut a = open(dir.path());
    let err = a.scan_in_pages(0, |_| Ok(())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let mut seen = Vec::new();
    let err = a
        .scan_in_pages(10, |page| {
            seen.push(page.index().last_seq()?);
            if seen.len() == 2 {
                return Err(Error::InvalidInput("the peer went away".into()));
            }
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("the peer went away"), "{err}");
    // Two pages were committed before the hook failed (pages start small: one change, then
    // two), and they stay recorded.
    assert_eq!(seen, [1, 3]);
    assert_eq!(a.index().last_seq().unwrap(), seen[1]);
    assert!(a.changes_since(0).unwrap().entries.len() < FILES + 4);
    // The next scan finds the rest.
    let report = a.scan().unwrap();
    assert!(!report.added.is_empty());
    let live = a.changes_since(0).unwrap().entries;
    assert_eq!(live.len(), FILES + 4);
}

#[test]
fn pages_start_at_a_sixteenth_and_double_up_to_the_page_size() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let mut a = open(dir.path());
    let mut sizes = Vec::new();
    a.scan_in_pages(32, |page| {
        sizes.push(page.recorded().len());
        Ok(())
    })
    .unwrap();
    // 44 changes: the four directories and the files.
    assert_eq!(sizes, [2, 4, 8, 16, 14]);
}

#[test]
fn deletions_wait_for_the_closing_exchange_where_the_guard_sees_them_all() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    stream(&mut a, &mut b, &mut PageIntake::new(), 8);
    assert_eq!(files_of(db.path()).len(), FILES);

    // Three quarters of A's files go, a few in each directory: each page deletes less than
    // the guard's half, all pages together more.
    for i in 0..30 {
        fs::remove_file(da.path().join(format!("d{}/f{i:02}.txt", i % 4))).unwrap();
    }
    let mut intake = PageIntake::new();
    stream(&mut a, &mut b, &mut intake, 4);
    assert!(
        matches!(intake.stopped(), Some(PageStop::Deletes(n)) if *n > 0),
        "{:?}",
        intake.stopped()
    );
    assert_eq!(intake.report().deleted, 0);
    assert_eq!(files_of(db.path()).len(), FILES, "a page deleted files");

    // The closing exchange shows every deletion at once, and the guard refuses it.
    let strict = SyncOptions {
        max_delete_ratio: 0.5,
        delete_guard_min_entries: 0,
        ..SyncOptions::default()
    };
    let err = close(&a, &mut b, &strict).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("mass delete"), "{err}");
    assert_eq!(files_of(db.path()).len(), FILES);
    // Confirmed, it goes through.
    let confirmed = SyncOptions {
        confirm_mass_delete: true,
        ..strict
    };
    assert!(close(&a, &mut b, &confirmed).unwrap() > 0);
    assert_eq!(files_of(db.path()), files_of(da.path()));
}

#[test]
fn a_gap_or_an_undecodable_page_stops_the_intake() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    let pages = scan_pages(&mut a, 0, 8);
    assert!(pages.len() >= 3);
    let files = a.chunk_source();
    let (sync, apply) = (SyncOptions::default(), ApplyOptions::default());

    let mut skipped_one = PageIntake::new();
    assert!(!skipped_one
        .take(&mut b, &pages[1], &files, &sync, &apply)
        .unwrap());
    assert!(matches!(
        skipped_one.stopped(),
        Some(PageStop::Gap { since, cursor: 0 }) if *since > 0
    ));
    // Stopped for good: even the right page is left for the closing exchange now.
    assert!(!skipped_one
        .take(&mut b, &pages[0], &files, &sync, &apply)
        .unwrap());

    let mut garbled = PageIntake::new();
    let mut bytes = pages[0].clone();
    bytes.truncate(bytes.len() / 2);
    assert!(!garbled.take(&mut b, &bytes, &files, &sync, &apply).unwrap());
    assert!(matches!(garbled.stopped(), Some(PageStop::Unplannable(_))));
    assert!(files_of(db.path()).is_empty());
    assert_eq!(b.synced_cursor(a.replica_id()).unwrap(), 0);

    // In order, every page is taken.
    let mut intake = PageIntake::new();
    for page in &pages {
        assert!(intake.take(&mut b, page, &files, &sync, &apply).unwrap());
    }
    assert_eq!(files_of(db.path()), files_of(da.path()));
}

#[test]
fn a_partly_applied_page_stops_the_intake_and_keeps_the_cursor() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    // A first page of 8 changes: the directories, and files to fail.
    let pages = scan_pages(&mut a, 0, 8 * 16);
    let empty = MemStore::new(a.index().algo());
    let nowhere: &dyn ChunkSource = &empty;
    let (sync, apply) = (SyncOptions::default(), ApplyOptions::default());

    let mut intake = PageIntake::new();
    assert!(!intake
        .take(&mut b, &pages[0], nowhere, &sync, &apply)
        .unwrap());
    assert!(matches!(intake.stopped(), Some(PageStop::Incomplete)));
    assert!(!intake.report().failed.is_empty());
    assert_eq!(intake.pages_applied(), 1);
    assert_eq!(b.synced_cursor(a.replica_id()).unwrap(), 0);
    let files = a.chunk_source();
    assert!(!intake
        .take(&mut b, &pages[1], &files, &sync, &apply)
        .unwrap());

    // The closing exchange starts from the old cursor and completes the sync.
    drop(files);
    assert!(close(&a, &mut b, &sync).unwrap() > 0);
    assert_eq!(files_of(db.path()), files_of(da.path()));
}

/// Writes a tree with what a change set must carry: nested directories, duplicate and empty
/// files, an executable, a symlink.
#[cfg(unix)]
fn write_varied_tree(root: &Path, round: usize) {
    use std::os::unix::fs::PermissionsExt;
    for i in 0..30 {
        let dir = root.join(format!("d{}/sub{}", i % 3, i % 2));
        fs::create_dir_all(&dir).unwrap();
        let content = match i % 5 {
            0 => String::new(),
            1 => "same content in several files".to_owned(),
            _ => format!("file {i} round {round} ").repeat(i + round),
        };
        fs::write(dir.join(format!("f{i:02}")), content).unwrap();
    }
    let tool = root.join("d0/tool.sh");
    fs::write(&tool, format!("#!/bin/sh\necho {round}\n")).unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    let link = root.join("d1/link");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("sub{}", round % 2), &link).unwrap();
}

#[cfg(unix)]
#[test]
fn pages_encoded_from_the_scan_equal_pages_read_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(dir.path());
    for round in 0..3 {
        write_varied_tree(dir.path(), round);
        if round == 2 {
            // Deletions and a directory replaced by a file.
            fs::remove_dir_all(dir.path().join("d2/sub0")).unwrap();
            fs::remove_file(dir.path().join("d1/sub1/f01")).unwrap();
            fs::write(dir.path().join("d2/sub0"), "now a file").unwrap();
        }
        let since = a.index().last_seq().unwrap();
        // `held` encodes from what the scan recorded; `reading` reads the journal back.
        let (mut held, mut reading) = (PageSender::new(since), PageSender::new(since));
        // Compared after the scan: a panic inside the hook would not reach the test.
        let (mut pages, mut from_memory) = (Vec::new(), 0);
        a.scan_in_pages(7, |page| {
            let index = page.index();
            held.add(page);
            if held.held_versions() > 0 {
                from_memory += 1;
            }
            pages.push((held.next_page(index)?, reading.next_page(index)?));
            Ok(())
        })
        .unwrap();
        for (i, (ours, theirs)) in pages.iter().enumerate() {
            assert_eq!(ours, theirs, "round {round}, page {i}");
        }
        let held_pages = from_memory;
        assert!(
            held_pages >= 2,
            "round {round}: {held_pages} of {} pages held",
            pages.len()
        );
        assert_eq!(held.cursor(), a.index().last_seq().unwrap());
    }
}

#[test]
fn a_sender_that_missed_a_page_reads_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let mut a = open(dir.path());
    let (mut sender, mut reading) = (PageSender::new(0), PageSender::new(0));
    let (mut pages, mut sent) = (0, Vec::new());
    a.scan_in_pages(6, |page| {
        pages += 1;
        let index = page.index();
        if pages != 2 {
            // The second page is never added: what is held no longer covers the journal.
            sender.add(page);
        }
        if pages % 3 == 0 {
            sent.push((sender.next_page(index)?, reading.next_page(index)?));
        }
        Ok(())
    })
    .unwrap();
    assert!(pages >= 6, "{pages}");
    for (ours, theirs) in &sent {
        assert_eq!(ours, theirs);
    }
    // Everything after the last page sent comes out too.
    assert_eq!(
        sender.next_page(a.index()).unwrap(),
        reading.next_page(a.index()).unwrap()
    );
    assert_eq!(sender.cursor(), a.index().last_seq().unwrap());
}

#[test]
fn a_panicking_page_hook_ends_the_scan_with_its_panic() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path());
    let mut a = open(dir.path());
    // The hashing threads are released and the panic reaches the caller.
    assert!(common::panics_without_hanging("the scan", move || {
        let _ = a.scan_in_pages(3, |_| panic!("the hook panics"));
    }));
}

/// A page stream whose pages have all arrived, counting how each was taken.
#[derive(Default)]
struct Arrived {
    pages: VecDeque<Vec<u8>>,
    waited_for: usize,
    taken_ready: usize,
    stops: Vec<String>,
}

impl Arrived {
    fn new(pages: Vec<Vec<u8>>) -> Self {
        Arrived {
            pages: pages.into(),
            ..Arrived::default()
        }
    }
}

impl PageFeed for Arrived {
    fn next_page(&mut self) -> Option<Vec<u8>> {
        self.waited_for += 1;
        self.pages.pop_front()
    }

    fn ready_page(&mut self) -> Option<Vec<u8>> {
        let page = self.pages.pop_front();
        self.taken_ready += usize::from(page.is_some());
        page
    }

    fn stopped(&mut self, why: &PageStop) {
        self.stops.push(why.to_string());
    }
}

/// Hands `pages`, all arrived at once, to a new intake on `b` with `take_all`, chunks read
/// from `a`'s files; returns the stream's counts and the intake.
fn take_all_arrived(
    a: &Replica,
    b: &mut Replica,
    pages: Vec<Vec<u8>>,
    apply: &ApplyOptions,
) -> (Arrived, PageIntake) {
    let mut feed = Arrived::new(pages);
    let mut intake = PageIntake::new();
    intake
        .take_all(
            b,
            &mut feed,
            &a.chunk_source(),
            &SyncOptions::default(),
            apply,
        )
        .unwrap();
    (feed, intake)
}

#[test]
fn take_all_plans_each_page_that_has_arrived_while_the_last_is_placed() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    let pages = scan_pages(&mut a, 0, 8);
    let count = pages.len();
    assert!(count >= 5);
    let (feed, intake) = take_all_arrived(&a, &mut b, pages, &ApplyOptions::default());
    // Every page after the first was taken while the one before it was placed.
    assert_eq!(feed.taken_ready, count - 1);
    assert!(feed.pages.is_empty() && feed.stops.is_empty());
    assert!(intake.stopped().is_none(), "{:?}", intake.stopped());
    assert_eq!(intake.pages_applied(), count as u64);
    assert_eq!(intake.report().files_written, FILES as u64);
    assert_eq!(files_of(db.path()), files_of(da.path()));
    assert_eq!(close(&a, &mut b, &SyncOptions::default()).unwrap(), 0);
    assert!(b.scan().unwrap().is_clean(), "streamed files echoed back");
}

#[test]
fn a_page_changing_a_path_of_the_page_before_is_planned_after_it() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    // Pages large enough that each scan sends one.
    let mut pages = scan_pages(&mut a, 0, FILES * 32);
    assert_eq!(pages.len(), 1);
    // A second page that rewrites a file of the first (and adds one): planned while the
    // first was placed, it would expect nothing at that path and turn into a conflict. (A
    // copy of the old content stays on A, to serve the first page from.)
    fs::copy(da.path().join("d1/f01.txt"), da.path().join("d3/kept.txt")).unwrap();
    fs::write(da.path().join("d1/f01.txt"), "edited").unwrap();
    fs::write(da.path().join("d2/new.txt"), "new").unwrap();
    let since = a.index().last_seq().unwrap();
    pages.extend(scan_pages(&mut a, since, FILES * 32));
    assert_eq!(pages.len(), 2);
    // Batched: nothing of the first page is recorded before its files are all placed.
    let apply = ApplyOptions {
        durability: Durability::Batched,
        ..ApplyOptions::default()
    };
    let (feed, intake) = take_all_arrived(&a, &mut b, pages, &apply);
    assert_eq!(feed.taken_ready, 1);
    assert!(
        intake.stopped().is_none(),
        "{:?} {:?}",
        intake.stopped(),
        intake.report()
    );
    assert!(intake.conflicts().is_empty() && intake.report().conflicts.is_empty());
    assert_eq!(fs::read(db.path().join("d1/f01.txt")).unwrap(), b"edited");
    assert_eq!(fs::read(db.path().join("d2/new.txt")).unwrap(), b"new");
    assert_eq!(close(&a, &mut b, &SyncOptions::default()).unwrap(), 0);
}

#[test]
fn take_all_stops_once_and_drains_the_stream() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_tree(da.path());
    let (mut a, mut b) = (open(da.path()), open(db.path()));
    let mut pages = scan_pages(&mut a, 0, 8);
    // The second page first: a gap.
    pages.swap(0, 1);
    let count = pages.len();
    let (feed, intake) = take_all_arrived(&a, &mut b, pages, &ApplyOptions::default());
    assert!(matches!(intake.stopped(), Some(PageStop::Gap { .. })));
    assert_eq!(feed.stops.len(), 1, "{:?}", feed.stops);
    assert!(
        feed.stops[0].contains("after the cursor"),
        "{:?}",
        feed.stops
    );
    // Every page was received, the last call finding the stream's end.
    assert!(feed.pages.is_empty());
    assert_eq!(feed.waited_for + feed.taken_ready, count + 1);
    assert_eq!(intake.pages_applied(), 0);
    assert!(files_of(db.path()).is_empty());
    assert!(close(&a, &mut b, &SyncOptions::default()).unwrap() > 0);
    assert_eq!(files_of(db.path()), files_of(da.path()));
}
