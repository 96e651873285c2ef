//! The façade that ties a replica's root, index, chunker and options together.
//!
//! A [`Replica`] owns an open [`Index`] and a [`Scanner`] for one root and forwards to them;
//! it holds no logic of its own beyond choosing defaults (state directory `.syncore/` inside
//! the root) and applying history retention after each scan. Reconciliation with peers is
//! layered on top elsewhere. It must never bypass the index or the scanner.
//!
//! ```
//! use syncore::{Replica, ReplicaOptions};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::write(root.path().join("hello.txt"), b"hello")?;
//! let mut replica = Replica::open(root.path(), ReplicaOptions::default())?;
//! let report = replica.scan()?;
//! assert_eq!(report.added.len(), 1);
//! let changes = replica.changes_since(0)?;
//! assert_eq!(changes.entries[0].path.as_str(), "hello.txt");
//! assert!(replica.changes_since(changes.cursor)?.entries.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::chunk::{Chunker, ChunkerConfig};
use crate::entry::Entry;
use crate::error::Result;
use crate::hash::HashAlgo;
use crate::index::DEFAULT_STATE_DIR;
use crate::index::{Changes, GcReport, Index, IndexOptions, Retention, Usage, Version};
use crate::path::RelPath;
use crate::scan::{self, RestoreSource, ScanOptions, ScanPage, ScanReport, Scanner};
use crate::store::ChunkStore;
use crate::sync::ReplicaId;

/// Everything a [`Replica`] can be configured with.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// How files are cut into chunks.
    pub chunker: ChunkerConfig,
    /// How chunks and files are hashed (fixed when the index is created).
    pub hash: HashAlgo,
    /// Where the index lives; default `<root>/.syncore`.
    pub state_dir: Option<PathBuf>,
    /// How long history is kept.
    pub retention: Retention,
    /// Maximum unique chunk bytes across live and retained versions.
    pub quota_bytes: Option<u64>,
    /// Skip default temporary/system names.
    pub ignore_defaults: bool,
    /// Hashing threads; `None`: the number of cores.
    pub threads: Option<usize>,
    /// Files modified within this of a scan's start are re-hashed by the next scan.
    pub timestamp_granularity: Duration,
    /// Check the index database on open (damaged pages, dangling manifest references).
    pub check_integrity: bool,
    /// Remove the temp files a crashed apply left under the root when opening (default on;
    /// the state directory is left alone). It walks the directories of the tree once; turn
    /// it off to open a very large replica quickly and call
    /// [`Replica::remove_stale_temp_files`] at a time of your choosing.
    pub remove_stale_temp_files: bool,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        let scan = ScanOptions::default();
        ReplicaOptions {
            chunker: ChunkerConfig::default(),
            hash: HashAlgo::Blake3,
            state_dir: None,
            retention: Retention::default(),
            quota_bytes: None,
            ignore_defaults: true,
            threads: None,
            timestamp_granularity: scan.timestamp_granularity,
            check_integrity: true,
            remove_stale_temp_files: true,
        }
    }
}

/// One replica: a root directory and its index.
#[derive(Debug)]
pub struct Replica {
    root: PathBuf,
    index: Index,
    scanner: Scanner,
}

impl Replica {
    /// Opens the replica rooted at `root`, creating its index on first use.
    pub fn open(root: impl AsRef<Path>, options: ReplicaOptions) -> Result<Replica> {
        let root = root.as_ref();
        let state_dir = options
            .state_dir
            .clone()
            .unwrap_or_else(|| root.join(DEFAULT_STATE_DIR));
        let index = Index::open(
            &state_dir,
            IndexOptions {
                algo: options.hash,
                retention: options.retention,
                quota_bytes: options.quota_bytes,
                check_integrity: options.check_integrity,
                ..IndexOptions::default()
            },
        )?;
        let mut chunker = Chunker::new(options.chunker, options.hash)?;
        if let Some(threads) = options.threads {
            chunker = chunker.with_threads(threads)?;
        }
        let defaults = ScanOptions::default();
        let scan_options = ScanOptions {
            chunker,
            ignore_defaults: options.ignore_defaults,
            timestamp_granularity: options.timestamp_granularity,
            threads: options.threads.unwrap_or(defaults.threads),
            ..defaults
        };
        let scanner = Scanner::new(root, &state_dir, scan_options)?;
        let replica = Replica {
            root: scanner.root().to_path_buf(),
            index,
            scanner,
        };
        // The index is held exclusively now, so no apply of this replica is writing.
        if options.remove_stale_temp_files {
            replica.remove_stale_temp_files()?;
        }
        Ok(replica)
    }

    /// This replica's id.
    pub fn replica_id(&self) -> ReplicaId {
        self.index.replica_id()
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index, for queries the façade does not forward.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The index, mutably (peer cursors, retention, quota).
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// The scanner (its root and state directory).
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// The scanner, to adjust its options between scans (e.g. to set a hash hook).
    pub fn scanner_mut(&mut self) -> &mut Scanner {
        &mut self.scanner
    }

    /// Scans the whole tree, records changes, then applies history retention.
    pub fn scan(&mut self) -> Result<ScanReport> {
        let report = self.scanner.scan(&mut self.index)?;
        self.apply_retention()?;
        Ok(report)
    }

    /// Scans the whole tree like [`scan`](Replica::scan), committing pages of at most `page`
    /// recorded changes (small at first, see [`Scanner::scan_in_pages`]) and calling `on_page` after each commit (the last one included) with the index
    /// and the versions the page recorded, on the scanning thread: see
    /// [`Scanner::scan_in_pages`], and
    /// [`replica_pages`](crate::replica_pages) for streaming the pages to a peer.
    pub fn scan_in_pages(
        &mut self,
        page: usize,
        mut on_page: impl FnMut(ScanPage<'_>) -> Result<()>,
    ) -> Result<ScanReport> {
        let report = self
            .scanner
            .scan_in_pages(&mut self.index, page, &mut on_page)?;
        self.apply_retention()?;
        Ok(report)
    }

    /// Scans only `paths` (directories recursively), e.g. those a watcher reported.
    pub fn rescan(&mut self, paths: &[RelPath]) -> Result<ScanReport> {
        let report = self.scanner.rescan(&mut self.index, paths)?;
        self.apply_retention()?;
        Ok(report)
    }

    /// Every entry changed after `cursor`, tombstones included, and the next cursor.
    pub fn changes_since(&self, cursor: u64) -> Result<Changes> {
        self.index.changes_since(cursor)
    }

    /// Every retained version of `path`, newest first.
    pub fn history(&self, path: &RelPath) -> Result<Vec<Version>> {
        self.index.history(path)
    }

    /// Brings version `seq` of `path` back into the working tree and records it.
    pub fn restore(
        &mut self,
        path: &RelPath,
        seq: u64,
        source: RestoreSource<'_>,
    ) -> Result<Entry> {
        scan::restore(&self.root, &mut self.index, path, seq, source)
    }

    /// Logical and deduplicated sizes.
    pub fn usage(&self) -> Result<Usage> {
        self.index.usage()
    }

    /// Lists unreferenced chunks, deleting them from `store` if one is given.
    pub fn gc(&mut self, store: Option<&dyn ChunkStore>) -> Result<GcReport> {
        self.index.gc(store)
    }

    fn apply_retention(&mut self) -> Result<()> {
        if self.index.options().retention.max_age.is_some() {
            self.index.prune_history()?;
        }
        Ok(())
    }
}
