//! What a scan found: the [`ScanReport`] and its parts.
//!
//! This file owns the report types and the final pairing of deletions with creations of
//! identical content into moves. It never touches the disk or the index.

use std::collections::{HashMap, HashSet};

use crate::hash::Digest;
use crate::path::RelPath;

/// A path that disappeared and a path that appeared with identical content, in one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The old path (now a tombstone).
    pub from: RelPath,
    /// The new path.
    pub to: RelPath,
}

/// Why a path was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Its name is not valid UTF-8 (it is neither recorded nor renamed).
    NonUtf8Name,
    /// Its name is not an acceptable replica path; the text says why.
    InvalidName(String),
    /// Another name in the same directory has the same NFC form.
    NormalizationCollision,
    /// A symlink whose target is not valid UTF-8.
    NonUtf8SymlinkTarget,
    /// A socket, device or FIFO.
    UnsupportedType,
    /// It could not be read; the text is the error.
    Unreadable(String),
}

/// A path the scan did not record, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path on disk, lossily converted for display.
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// A file that changed while it was being hashed: not recorded, retried next scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The file.
    pub path: RelPath,
    /// What happened.
    pub reason: String,
}

/// Everything one scan found and recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// New paths (not counting move targets).
    pub added: Vec<RelPath>,
    /// Paths whose content, kind, target or exec bit changed.
    pub modified: Vec<RelPath>,
    /// Paths now recorded as tombstones (not counting move sources).
    pub deleted: Vec<RelPath>,
    /// Deletions paired with creations of identical content.
    pub moved: Vec<Move>,
    /// Paths found unchanged.
    pub unchanged: u64,
    /// Paths skipped by ignore rules and default names.
    pub ignored: u64,
    /// Paths not recorded, with the reason.
    pub skipped: Vec<Skipped>,
    /// Files that changed while hashed; not recorded, retried next scan.
    pub retries: Vec<Retry>,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
}

impl ScanReport {
    /// True if the scan recorded no change.
    pub fn is_clean(&self) -> bool {
        self.added.is_empty()
            && self.modified.is_empty()
            && self.deleted.is_empty()
            && self.moved.is_empty()
    }

    /// Pairs deleted files with added files of the same content into moves, one to one.
    pub(crate) fn pair_moves(
        &mut self,
        deleted_files: HashMap<Digest, Vec<RelPath>>,
        added_files: Vec<(RelPath, Digest)>,
    ) {
        let mut deleted_files = deleted_files;
        let mut moved_from = HashSet::new();
        let mut moved_to = HashSet::new();
        for (to, content_id) in added_files {
            let Some(candidates) = deleted_files.get_mut(&content_id) else {
                continue;
            };
            let Some(from) = candidates.pop() else {
                continue;
            };
            moved_from.insert(from.clone());
            moved_to.insert(to.clone());
            self.moved.push(Move { from, to });
        }
        if self.moved.is_empty() {
            return;
        }
        self.added.retain(|p| !moved_to.contains(p));
        self.deleted.retain(|p| !moved_from.contains(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashAlgo;

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn moves_pair_one_to_one_by_content() {
        let same = HashAlgo::Blake3.digest(b"same");
        let other = HashAlgo::Blake3.digest(b"other");
        let mut report = ScanReport {
            added: vec![p("new1"), p("new2"), p("fresh")],
            deleted: vec![p("old1"), p("gone")],
            ..ScanReport::default()
        };
        let mut deleted = HashMap::new();
        deleted.insert(same, vec![p("old1")]);
        deleted.insert(other, vec![p("gone")]);
        let fresh = HashAlgo::Blake3.digest(b"fresh");
        report.pair_moves(
            deleted,
            vec![(p("new1"), same), (p("new2"), same), (p("fresh"), fresh)],
        );
        assert_eq!(
            report.moved,
            vec![Move {
                from: p("old1"),
                to: p("new1")
            }]
        );
        assert_eq!(report.added, vec![p("new2"), p("fresh")]);
        assert_eq!(report.deleted, vec![p("gone")]);
    }
}
