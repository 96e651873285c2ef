//! Reading what the filesystem says about a path without following symlinks.
//!
//! This file owns the conversion of `std::fs::Metadata` into an index [`FileStat`] (size,
//! mtime, inode + ctime as the change token, exec bit) and the kind of a directory entry. It
//! never opens file contents.

use std::fs::Metadata;

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

/// The stat of `meta`, as the index records it.
#[cfg(unix)]
pub fn file_stat(meta: &Metadata) -> FileStat {
    use std::os::unix::fs::MetadataExt;
    FileStat {
        size: meta.len(),
        mtime_ns: meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
        inode: meta.ino(),
        ctime_ns: meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
        executable: meta.is_file() && meta.mode() & 0o100 != 0,
    }
}

/// The stat of `meta`, as the index records it.
#[cfg(not(unix))]
pub fn file_stat(meta: &Metadata) -> FileStat {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    FileStat {
        size: meta.len(),
        mtime_ns,
        inode: 0,
        ctime_ns: 0,
        executable: false,
    }
}
