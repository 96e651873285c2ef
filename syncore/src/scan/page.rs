//! What a paged scan hands its caller after each commit.
//!
//! [`Scanner::scan_in_pages`](super::Scanner::scan_in_pages) commits every few thousand
//! changes and then calls the caller's hook with a [`ScanPage`]: the index as committed, and
//! every version the page recorded, exactly as the index stored it. A sender streaming the
//! scan to a peer can encode the page from those versions instead of reading back what the
//! scan has just written (see [`PageSender`](crate::replica_pages::PageSender)). This file
//! only carries the page; it decides nothing.

use crate::entry::Entry;
use crate::index::Index;
use crate::manifest::FileManifest;

/// One version a scan recorded: the entry as stored (its sequence number and version
/// vector included) and, for a live file, the manifest of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedVersion {
    /// The entry as the index stored it.
    pub entry: Entry,
    /// The manifest of a live file's content (`None` for directories, symlinks and
    /// tombstones).
    pub manifest: Option<FileManifest>,
}

/// One committed page of a paged scan.
#[derive(Debug)]
pub struct ScanPage<'a> {
    index: &'a Index,
    recorded: Vec<RecordedVersion>,
}

impl<'a> ScanPage<'a> {
    pub(crate) fn new(index: &'a Index, recorded: Vec<RecordedVersion>) -> Self {
        ScanPage { index, recorded }
    }

    /// The index, holding everything committed so far.
    pub fn index(&self) -> &'a Index {
        self.index
    }

    /// The versions this page recorded, in sequence order.
    pub fn recorded(&self) -> &[RecordedVersion] {
        &self.recorded
    }

    /// The versions this page recorded, in sequence order, taken out of the page.
    pub fn into_recorded(self) -> Vec<RecordedVersion> {
        self.recorded
    }
}
