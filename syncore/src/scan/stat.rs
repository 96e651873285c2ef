//! Reading what the filesystem says about a path without following symlinks.
//!
//! This file owns the conversion of `std::fs::Metadata` into an index [`FileStat`] (size,
//! mtime, inode + ctime as the change token, exec bit), made through [`DiskStat`], the stat
//! apply records, and the kind of a directory entry. It never opens file contents.

use std::fs::Metadata;

use crate::apply::DiskStat;
use crate::entry::EntryKind;
use crate::index::FileStat;

/// The kind of a (not followed) directory entry, or `None` for sockets, devices and FIFOs.
pub fn kind_of(meta: &Metadata) -> Option<EntryKind> {
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        Some(EntryKind::Symlink)
    } else if file_type.is_dir() {
        Some(EntryKind::Dir)
    } else if file_type.is_file() {
        Some(EntryKind::File)
    } else {
        None
    }
}

/// The stat of `meta`, as the index records it: the apply side's [`DiskStat`] (one notion of
/// "unchanged" for files syncore wrote and files the user wrote), with the length `meta`
/// reports for every kind.
pub fn file_stat(meta: &Metadata) -> FileStat {
    let mut stat = FileStat::from(DiskStat::from_metadata(meta));
    stat.size = meta.len();
    stat
}
