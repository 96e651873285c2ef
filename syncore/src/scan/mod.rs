//! Finding out what changed on disk and recording it in the index.
//!
//! A [`Scanner`] walks a replica's root without following symlinks and without leaving the
//! root, skips the state directory, default temporary/system names and `.syncoreignore`
//! matches, compares each path's stat with the index one directory at a time (so memory stays
//! bounded by the largest directory and the batch size, never by the index), and chunks and
//! hashes only files whose stat changed or whose mtime was too close to the previous scan to
//! be trusted ("racy", as git calls it). Hashing runs on every core. Changes are recorded in
//! batched transactions; the result is a [`ScanReport`]. [`Scanner::rescan`] does the same
//! for given paths only, for file watchers. [`restore`] brings a retained version back.
//! The [`EventCoalescer`] is the sans-IO front door for filesystem watchers: it takes raw
//! watcher events and a clock value and says which paths have settled and how to rescan them.
//!
//! The scanner never writes the working tree (restore does, only through
//! [`AtomicFile`](crate::apply::AtomicFile)) and never records a file that changed while it
//! was being read.

mod coalescer;
mod hashing;
mod ignore;
mod listing;
mod page;
mod report;
mod restore;
mod stat;
mod walk;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use coalescer::{
    CoalescerConfig, EventCoalescer, SettledChange, WatchEvent, WatchEventKind,
    DEFAULT_IGNORED_NAMES, DEFAULT_STATE_DIR, DEFAULT_TRASH_NAMES,
};
pub use ignore::{is_default_ignored, IGNORE_FILE_NAME};
pub use page::{RecordedVersion, ScanPage};
pub use report::{Move, Retry, ScanReport, SkipReason, Skipped};
pub use restore::{restore, RestoreSource};

use crate::chunk::Chunker;
use crate::error::{Error, IoResultExt, Result};
use crate::index::Index;
use crate::path::RelPath;

/// A function called with a file's path after it was hashed and before its stat is checked
/// again; tests use it to change a file "while it is being hashed".
pub type HashHook = Arc<dyn Fn(&Path) + Send + Sync>;

/// How a scan runs.
#[derive(Clone)]
pub struct ScanOptions {
    /// Chunking parameters and hash algorithm (must match the index's algorithm).
    pub chunker: Chunker,
    /// Skip default temporary/system names (see [`is_default_ignored`]).
    pub ignore_defaults: bool,
    /// The filesystem's timestamp tick: files whose mtime is within this of the scan's start
    /// are re-hashed by the next scan (whole-second mtimes always get at least 2 s). The
    /// default, 20 ms, covers Linux's coarse kernel clock on nanosecond filesystems.
    pub timestamp_granularity: Duration,
    /// Changes per transaction, and files per hashing round.
    pub batch_size: usize,
    /// Hashing threads (default: the number of cores).
    pub threads: usize,
    /// See [`HashHook`].
    pub hash_hook: Option<HashHook>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            chunker: Chunker::default(),
            ignore_defaults: true,
            timestamp_granularity: Duration::from_millis(20),
            batch_size: 8192,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hash_hook: None,
        }
    }
}

impl fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanOptions")
            .field("chunker", &self.chunker)
            .field("ignore_defaults", &self.ignore_defaults)
            .field("timestamp_granularity", &self.timestamp_granularity)
            .field("batch_size", &self.batch_size)
            .field("threads", &self.threads)
            .field("hash_hook", &self.hash_hook.as_ref().map(|_| "Fn(&Path)"))
            .finish()
    }
}

/// Scans one replica root into an [`Index`].
#[derive(Debug, Clone)]
pub struct Scanner {
    root: PathBuf,
    state_dir: Option<PathBuf>,
    options: ScanOptions,
}

impl Scanner {
    /// A scanner for `root`, skipping `state_dir` if it lies inside the root.
    pub fn new(root: impl AsRef<Path>, state_dir: &Path, options: ScanOptions) -> Result<Self> {
        let root = root.as_ref();
        let root = root.canonicalize().at_path(root)?;
        if !root.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        if options.batch_size == 0 || options.threads == 0 {
            return Err(Error::invalid("batch_size and threads must be at least 1"));
        }
        let state_dir = state_dir
            .canonicalize()
            .ok()
            .filter(|d| d.starts_with(&root));
        Ok(Scanner {
            root,
            state_dir,
            options,
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state directory, if it lies inside the root (scans skip it).
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// The scan options.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// The scan options, to adjust between scans (e.g. to install a [`HashHook`]).
    pub fn options_mut(&mut self) -> &mut ScanOptions {
        &mut self.options
    }

    /// Scans the whole tree and records every change in `index`.
    ///
    /// Changes are written in one transaction per 100,000 changes. With a quota set, a
    /// transaction whose changes would exceed it is rolled back whole and the scan fails with
    /// [`ErrorKind::QuotaExceeded`](crate::ErrorKind::QuotaExceeded): nothing of it is recorded.
    pub fn scan(&self, index: &mut Index) -> Result<ScanReport> {
        self.check_algo(index)?;
        walk::Walk::new(self, index)?.run_full()
    }

    /// [`scan`](Scanner::scan), committing pages of at most `page` recorded changes and
    /// calling `on_page` after each commit (the last one included) on the scanning thread with a
    /// [`ScanPage`]: the index holding everything committed so far, and the versions the page
    /// recorded. A caller can turn each page into a change set there (e.g. with a
    /// [`PageSender`](crate::replica_pages::PageSender)) and hand it to a peer while the scan
    /// goes on; only committed changes are
    /// ever visible, so a page never shows a change the index could still roll back. An
    /// error from `on_page` stops the scan (committed pages stay recorded).
    ///
    /// Pages start small and grow: the first holds a sixteenth of `page` changes and each next
    /// one twice as many as the last, up to `page`, so a receiver can start within moments.
    /// Small pages cost the scan more commits, each rewriting the index pages it dirtied. A
    /// quota failure rolls back only the page that exceeded it. Deletions are recorded as the
    /// walk finds them, so a page may hold only part of a scan's deletions: a receiver that
    /// guards against mass deletion must not apply deletions page by page (see
    /// [`Replica::scan_in_pages`](crate::Replica::scan_in_pages)).
    pub fn scan_in_pages(
        &self,
        index: &mut Index,
        page: usize,
        on_page: &mut dyn FnMut(ScanPage<'_>) -> Result<()>,
    ) -> Result<ScanReport> {
        self.check_algo(index)?;
        if page == 0 {
            return Err(Error::invalid(
                "scan_in_pages: a page must hold at least one change",
            ));
        }
        walk::Walk::paged(self, index, page, Some(on_page))?.run_full()
    }

    /// Scans only `paths` (a directory path covers its whole subtree) and records their
    /// changes; a path that no longer exists becomes a tombstone.
    pub fn rescan(&self, index: &mut Index, paths: &[RelPath]) -> Result<ScanReport> {
        self.check_algo(index)?;
        walk::Walk::new(self, index)?.run_paths(paths)
    }

    fn check_algo(&self, index: &Index) -> Result<()> {
        if index.algo() != self.options.chunker.algo() {
            return Err(Error::invalid(format!(
                "the chunker hashes with {}, the index uses {}",
                self.options.chunker.algo(),
                index.algo()
            )));
        }
        Ok(())
    }
}
