//! One path in a replica, as the index records it and as replicas exchange it.
//!
//! An [`Entry`] is the shared vocabulary of the index, the scanner and reconciliation: what
//! kind of thing a path is, what it contains (by content id), when it changed, which version
//! it is (a [`VersionVector`]) and whether it was deleted (a tombstone). Local-only facts that
//! mean nothing to a peer (inode numbers, change tokens) stay in the index. This module only
//! describes entries; it never reads the disk.

use crate::hash::Digest;
use crate::path::RelPath;
use crate::sync::VersionVector;

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed; its target is recorded).
    Symlink,
}

impl EntryKind {
    /// A one-byte code for binary formats and the index.
    pub const fn code(self) -> u8 {
        match self {
            EntryKind::File => 0,
            EntryKind::Dir => 1,
            EntryKind::Symlink => 2,
        }
    }

    /// The kind for a code made by [`EntryKind::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(EntryKind::File),
            1 => Some(EntryKind::Dir),
            2 => Some(EntryKind::Symlink),
            _ => None,
        }
    }
}

/// One path of a replica: its kind, content, version and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path, relative to the replica root.
    pub path: RelPath,
    /// File, directory or symlink.
    pub kind: EntryKind,
    /// Size in bytes (files), 0 otherwise.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// The owner-executable bit (files).
    pub executable: bool,
    /// Where a symlink points (symlinks only).
    pub symlink_target: Option<String>,
    /// The content id of a file's manifest (files that are not deleted).
    pub content_id: Option<Digest>,
    /// Which changes this version includes.
    pub version: VersionVector,
    /// True for a tombstone: the path was deleted at this version.
    pub deleted: bool,
    /// The local sequence number of the change that produced this entry.
    pub seq: u64,
}

impl Entry {
    /// True if both entries describe the same content, ignoring versions and sequence numbers:
    /// same kind, same deletion state, same content id / target / exec bit.
    pub fn same_content(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && self.deleted == other.deleted
            && (self.deleted
                || (self.content_id == other.content_id
                    && self.symlink_target == other.symlink_target
                    && self.executable == other.executable))
    }
}
