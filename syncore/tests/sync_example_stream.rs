//! The sync example's streamed exchange (`examples/sync/transport.rs`), end to end on real
//! folders: every page the sender's scan commits reaches the receiver, including the changes
//! committed after the last page sent while the receiver was busy, so the closing exchange
//! finds nothing left to write.

#[path = "../examples/sync/transport.rs"]
#[allow(dead_code)]
mod transport;

use std::fs;
use std::path::Path;

use syncore::apply::ApplyOptions;
use syncore::sync::SyncOptions;
use syncore::{Replica, ReplicaOptions};

const FILES: usize = 300;

fn open(root: &Path) -> Replica {
    Replica::open(root, ReplicaOptions::default()).unwrap()
}

/// `FILES` files of distinct content (one pair sharing it) in ten directories.
fn write_tree(root: &Path) {
    for i in 0..FILES {
        let dir = root.join(format!("d{}", i % 10));
        fs::create_dir_all(&dir).unwrap();
        let content = format!("file {} ", i.min(FILES - 2)).repeat(i % 50 + 1);
        fs::write(dir.join(format!("f{i:03}.txt")), content).unwrap();
    }
}

fn tree_of(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        // The replica's own state directory is not part of the tree.
        if !dir.is_dir() || dir.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue;
        }
        for file in fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// The commits of a paged scan recording `changes` in pages of at most `page`: the first
/// holds a sixteenth of `page`, and each next one twice the last, up to `page`.
fn commits(changes: usize, page: usize) -> usize {
    let (mut size, mut left, mut count) = ((page / 16).max(1), changes, 0);
    while left > 0 {
        left = left.saturating_sub(size);
        size = (size * 2).min(page);
        count += 1;
    }
    count
}

#[test]
fn a_streamed_first_sync_leaves_nothing_for_the_closing_exchange() {
    for page in [7, 40, 1000] {
        let a_dir = tempfile::tempdir().unwrap();
        let b_dir = tempfile::tempdir().unwrap();
        write_tree(a_dir.path());
        let mut a = open(a_dir.path());
        let mut b = open(b_dir.path());
        b.scan().unwrap();
        let (scanned, way) = transport::scan_and_push(
            &mut a,
            &mut b,
            page,
            &SyncOptions::default(),
            &ApplyOptions::default(),
        )
        .unwrap();
        assert_eq!(scanned.added.len(), FILES + 10, "page {page}");
        assert_eq!(way.stream_stopped, None, "page {page}");
        assert!(way.pages_streamed >= 1, "page {page}");
        // Pages were merged while the receiver was busy, never more than one per commit.
        assert!(
            way.pages_streamed as usize <= commits(FILES + 10, page),
            "page {page}: {} pages",
            way.pages_streamed
        );
        // The streamed pages brought every file: the closing exchange wrote none.
        assert_eq!(way.plan.summary().files_written, 0, "page {page}");
        let report = way.report.unwrap();
        assert_eq!(report.files_written, FILES as u64, "page {page}");
        assert!(report.is_complete(), "page {page}: {report:#?}");
        let tree = tree_of(a_dir.path());
        assert_eq!(tree.len(), FILES, "page {page}");
        assert!(
            tree == tree_of(b_dir.path()),
            "page {page}: the trees differ"
        );
        // The two files sharing content moved once.
        let distinct: u64 = tree
            .iter()
            .map(|(_, bytes)| bytes.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .map(|bytes| bytes.len() as u64)
            .sum();
        assert!(way.bytes_moved <= distinct, "page {page}");
        // B's rescan finds nothing new: nothing is echoed back.
        let rescan = b.scan().unwrap();
        assert!(
            rescan.added.is_empty() && rescan.modified.is_empty(),
            "page {page}: {rescan:?}"
        );
    }
}
