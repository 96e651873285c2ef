//! Reading directories for a scan: names, ignore rules and `lstat`, ahead of the comparison.
//!
//! This file owns [`list_dir`] (one directory: its children that are not ignored, each with
//! its kind and stat, keyed by NFC name; names that cannot be recorded are reported) and
//! [`list_tree`], which walks a subtree depth-first on its own thread and hands listings over
//! a bounded channel, so stat calls overlap index queries and memory stays bounded. It never
//! follows a symlink, never descends into an ignored directory or the state directory, and
//! never touches the index.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use super::ignore::{is_default_ignored, IgnoreChain, IGNORE_FILE_NAME};
use super::report::{SkipReason, Skipped};
use super::stat::{file_stat, kind_of};
use super::Scanner;
use crate::apply::dir::Dir;
use crate::entry::EntryKind;
use crate::index::FileStat;
use crate::path::RelPath;

/// A path as found on disk.
#[derive(Debug, Clone)]
pub(super) struct DiskItem {
    /// Its filesystem path (the name as on disk, which may not be NFC).
    pub full: PathBuf,
    /// What it is (symlinks are not followed).
    pub kind: EntryKind,
    /// Its stat.
    pub stat: FileStat,
    /// Its parent directory, held open so the file can be opened by name alone.
    pub parent: Option<Arc<Dir>>,
}

/// A directory waiting to be listed.
#[derive(Debug, Clone)]
pub(super) struct PendingDir {
    /// Its replica path (`None`: the root).
    pub rel: Option<RelPath>,
    /// Its filesystem path.
    pub full: PathBuf,
    /// The ignore rules of its parent.
    pub chain: IgnoreChain,
}

/// One directory's children as found on disk.
#[derive(Debug)]
pub(super) struct DirListing {
    /// The directory.
    pub dir: PendingDir,
    /// Its ignore rules (its parent's, plus its own `.syncoreignore`).
    pub chain: IgnoreChain,
    /// Recordable children by NFC name.
    pub on_disk: HashMap<String, (RelPath, DiskItem)>,
    /// NFC names of ignored children (their index entries are left alone).
    pub ignored: HashSet<String>,
    /// How many children were ignored.
    pub ignored_count: u64,
    /// Children that cannot be recorded.
    pub skipped: Vec<Skipped>,
    /// Set if the directory could not be read; then nothing else is meaningful.
    pub error: Option<std::io::Error>,
    /// Subdirectories to walk next.
    pub subdirs: Vec<PendingDir>,
}

/// Lists every directory under `start` depth-first, sending each listing to `sink`; stops
/// early if the receiver hangs up.
pub(super) fn list_tree(scanner: &Scanner, start: Vec<PendingDir>, sink: &SyncSender<DirListing>) {
    let mut stack = start;
    while let Some(dir) = stack.pop() {
        let mut listing = list_dir(scanner, dir);
        stack.append(&mut listing.subdirs);
        if sink.send(listing).is_err() {
            return;
        }
    }
}

/// Lists one directory.
pub(super) fn list_dir(scanner: &Scanner, dir: PendingDir) -> DirListing {
    let mut listing = DirListing {
        chain: dir.chain.clone(),
        dir,
        on_disk: HashMap::new(),
        ignored: HashSet::new(),
        ignored_count: 0,
        skipped: Vec::new(),
        error: None,
        subdirs: Vec::new(),
    };
    let children = match read_children(&listing.dir.full) {
        Ok(children) => children,
        Err(e) => {
            listing.error = Some(e);
            return listing;
        }
    };
    listing.on_disk.reserve(children.len());
    // Opening each child by name under this directory walks one path component instead of the
    // whole path (and never through a parent swapped for a symlink since the listing).
    let dir = Dir::open(&listing.dir.full).ok().map(Arc::new);
    let has_ignore_file = children.iter().any(|d| d.file_name() == IGNORE_FILE_NAME);
    let rel_str = listing.dir.rel.as_ref().map_or("", RelPath::as_str);
    listing.chain = listing
        .dir
        .chain
        .enter(&listing.dir.full, rel_str, has_ignore_file);
    for dirent in children {
        classify_child(scanner, &mut listing, dir.as_ref(), dirent);
    }
    listing
}

fn read_children(dir: &std::path::Path) -> std::io::Result<Vec<fs::DirEntry>> {
    fs::read_dir(dir)?.collect()
}

/// Sorts one directory entry into "on disk", "ignored" or "skipped"; `dir` is the listed
/// directory held open (`None` where it could not be), kept with each item for its open.
fn classify_child(
    scanner: &Scanner,
    listing: &mut DirListing,
    dir: Option<&Arc<Dir>>,
    dirent: fs::DirEntry,
) {
    let full = dirent.path();
    let os_name = dirent.file_name();
    let Some(name) = os_name.to_str() else {
        skip(listing, &full, SkipReason::NonUtf8Name);
        return;
    };
    if scanner.state_dir.as_deref() == Some(full.as_path())
        || (scanner.options.ignore_defaults && is_default_ignored(name))
    {
        listing.ignored.insert(name.to_owned());
        listing.ignored_count += 1;
        return;
    }
    let meta = match dirent.metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return skip(listing, &full, SkipReason::Unreadable(e.to_string())),
    };
    let Some(kind) = kind_of(&meta) else {
        return skip(listing, &full, SkipReason::UnsupportedType);
    };
    let rel = match &listing.dir.rel {
        Some(parent) => parent.join(name),
        None => RelPath::new(name),
    };
    let rel = match rel {
        Ok(rel) => rel,
        Err(e) => return skip(listing, &full, SkipReason::InvalidName(e.to_string())),
    };
    if listing
        .chain
        .is_ignored(rel.as_str(), kind == EntryKind::Dir)
    {
        listing.ignored.insert(rel.file_name().to_owned());
        listing.ignored_count += 1;
        return;
    }
    let key = rel.file_name().to_owned();
    if listing.on_disk.contains_key(&key) {
        return skip(listing, &full, SkipReason::NormalizationCollision);
    }
    if kind == EntryKind::Dir {
        listing.subdirs.push(PendingDir {
            rel: Some(rel.clone()),
            full: full.clone(),
            chain: listing.chain.clone(),
        });
    }
    let item = DiskItem {
        full,
        kind,
        stat: file_stat(&meta),
        parent: dir.cloned(),
    };
    listing.on_disk.insert(key, (rel, item));
}

fn skip(listing: &mut DirListing, full: &std::path::Path, reason: SkipReason) {
    listing.skipped.push(Skipped {
        path: full.display().to_string(),
        reason,
    });
}
