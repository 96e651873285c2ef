//! The local index: a replica's memory of its working tree, kept in SQLite.
//!
//! The [`Index`] records the replica's identity, one [`IndexedEntry`] per path (tombstones
//! included), file manifests, chunk reference counts, a history of versions per path and peer
//! cursors. Every recorded change goes through a [`Batch`] (one transaction), takes the next
//! local sequence number and bumps the replica's own counter in the entry's version vector.
//!
//! Opening is strict: a damaged database is [`ErrorKind::Corrupt`], one written by a newer
//! build is [`ErrorKind::Unsupported`], one held open by another process is
//! [`ErrorKind::Busy`]; an existing database is never re-created. The database is opened in
//! SQLite's exclusive locking mode (WAL journal), so the lock is held for as long as the
//! `Index` lives. This module never reads or writes the working tree; scanning and restoring
//! are [`crate::scan`]'s job.
//!
//! [`ErrorKind::Corrupt`]: crate::ErrorKind::Corrupt
//! [`ErrorKind::Unsupported`]: crate::ErrorKind::Unsupported
//! [`ErrorKind::Busy`]: crate::ErrorKind::Busy

mod chunks;
mod entries;
mod folds;
mod history;
mod journal;
mod open;
mod peers;
mod schema;
mod sql;
mod view;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use chunks::{GcReport, Usage};
pub use entries::{Batch, FileStat, IndexedEntry, LocalChange};
pub use history::Version;
pub use journal::Changes;
pub use schema::SCHEMA_VERSION;
pub use view::{AppliedBatch, PlanningView};

use crate::error::Result;
use crate::hash::HashAlgo;
use crate::sync::ReplicaId;

/// The file name of the database inside the state directory.
pub const DB_FILE_NAME: &str = "index.db";

/// The default state directory, relative to a replica's root.
pub const DEFAULT_STATE_DIR: &str = ".syncore";

/// How long versions are kept in history. The current version of a path is always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Keep at most this many versions per path (the current one included); `None`: no limit.
    pub max_versions: Option<u32>,
    /// Drop versions older than this (never the current one); `None`: no limit.
    pub max_age: Option<Duration>,
}

/// How an [`Index`] is opened and what limits it enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// The hash algorithm of every digest in this index; fixed when the index is created.
    pub algo: HashAlgo,
    /// History retention.
    pub retention: Retention,
    /// Maximum unique chunk bytes referenced by live and retained versions; `None`: no quota.
    pub quota_bytes: Option<u64>,
    /// How long to wait for a lock held by another connection before failing with `Busy`.
    pub busy_timeout: Duration,
    /// Check the database when opening: SQLite's `quick_check` (damaged pages; costs a full
    /// read) and its `foreign_key_check` (rows naming a manifest the index does not hold).
    pub check_integrity: bool,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            algo: HashAlgo::Blake3,
            retention: Retention::default(),
            quota_bytes: None,
            busy_timeout: Duration::from_millis(50),
            check_integrity: true,
        }
    }
}

/// A replica's local index, open with an exclusive lock on its database.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    db_path: PathBuf,
    replica: ReplicaId,
    options: IndexOptions,
}

impl Index {
    /// Opens (or creates) the index in `state_dir`, creating the directory if needed.
    pub fn open(state_dir: impl AsRef<Path>, options: IndexOptions) -> Result<Index> {
        open::open_index(state_dir.as_ref(), options)
    }

    /// This replica's id, created randomly once when the index was created.
    pub fn replica_id(&self) -> ReplicaId {
        self.replica
    }

    /// The hash algorithm of this index's digests.
    pub fn algo(&self) -> HashAlgo {
        self.options.algo
    }

    /// The options the index was opened with.
    pub fn options(&self) -> &IndexOptions {
        &self.options
    }

    /// Where the database file lives.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Changes the retention policy (applied by later batches and [`Index::prune_history`]).
    pub fn set_retention(&mut self, retention: Retention) {
        self.options.retention = retention;
    }

    /// Changes the quota (checked by later batches).
    pub fn set_quota(&mut self, quota_bytes: Option<u64>) {
        self.options.quota_bytes = quota_bytes;
    }
}

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;
    use crate::manifest::FileManifest;
    use crate::path::RelPath;
    use crate::Chunker;
    use rusqlite::OptionalExtension;

    fn file_change(path: &str, data: &[u8]) -> LocalChange {
        let manifest = FileManifest::of_slice(&Chunker::default(), data);
        LocalChange {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::File,
            stat: FileStat {
                size: data.len() as u64,
                mtime_ns: 1,
                inode: 2,
                ctime_ns: 3,
                executable: false,
            },
            symlink_target: None,
            manifest: Some(manifest),
            deleted: false,
            racy: false,
        }
    }

    #[test]
    fn each_change_takes_the_next_seq_and_bumps_the_own_counter() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let me = index.replica_id();
        let mut batch = index.batch().unwrap();
        let first = batch.record(&file_change("a", b"one")).unwrap();
        let second = batch.record(&file_change("a", b"two")).unwrap();
        let other = batch.record(&file_change("b", b"two")).unwrap();
        batch.commit().unwrap();
        assert_eq!((first.seq, second.seq, other.seq), (1, 2, 3));
        assert_eq!(second.version.get(&me), 2);
        assert_eq!(other.version.get(&me), 1);
        assert_eq!(index.last_seq().unwrap(), 3);
        assert_eq!(index.history(&first.path).unwrap().len(), 2);
    }

    #[test]
    fn an_uncommitted_batch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        {
            let mut batch = index.batch().unwrap();
            batch.record(&file_change("a", b"one")).unwrap();
        }
        assert_eq!(index.last_seq().unwrap(), 0);
        assert!(index.changes_since(0).unwrap().entries.is_empty());
        let usage = index.usage().unwrap();
        assert_eq!(usage.unique_chunks, 0);
    }

    #[test]
    fn shared_content_is_stored_once_and_released_with_its_last_version() {
        let dir = tempfile::tempdir().unwrap();
        let options = IndexOptions {
            retention: Retention {
                max_versions: Some(1),
                max_age: None,
            },
            ..IndexOptions::default()
        };
        let mut index = Index::open(dir.path(), options).unwrap();
        let a = file_change("a", b"same bytes");
        let chunk = a.manifest.as_ref().unwrap().chunks()[0].id;
        let mut batch = index.batch().unwrap();
        batch.record(&a).unwrap();
        batch.record(&file_change("b", b"same bytes")).unwrap();
        batch.commit().unwrap();
        assert_eq!(index.chunk_refs(&chunk).unwrap(), 1, "one manifest");
        let usage = index.usage().unwrap();
        assert_eq!(usage.logical_bytes, 20);
        assert_eq!(usage.unique_chunk_bytes, 10);
        let mut batch = index.batch().unwrap();
        batch
            .record(&LocalChange::deletion(a.path.clone(), EntryKind::File))
            .unwrap();
        batch
            .record(&LocalChange::deletion(
                RelPath::new("b").unwrap(),
                EntryKind::File,
            ))
            .unwrap();
        batch.commit().unwrap();
        assert_eq!(index.chunk_refs(&chunk).unwrap(), 0);
        assert_eq!(index.gc(None).unwrap().unreferenced, vec![chunk]);
        // The same content once more: its chunk is still listed with no position, but the
        // one-chunk manifest references it, and collection keeps it.
        let mut batch = index.batch().unwrap();
        batch.record(&file_change("c", b"same bytes")).unwrap();
        batch.commit().unwrap();
        assert_eq!(index.chunk_refs(&chunk).unwrap(), 1);
        use crate::store::{ChunkStore, MemStore};
        let store = MemStore::new(crate::HashAlgo::Blake3);
        store.put_data(b"same bytes").unwrap();
        let report = index.gc(Some(&store)).unwrap();
        assert!(report.unreferenced.is_empty(), "{report:?}");
        assert!(store.has(&chunk).unwrap());
        assert_eq!(index.chunk_locations(&chunk).unwrap().len(), 1);
        let usage = index.usage().unwrap();
        assert_eq!((usage.unique_chunks, usage.unique_chunk_bytes), (1, 10));
    }

    #[test]
    fn history_holds_only_superseded_versions_and_keeps_their_references() {
        let dir = tempfile::tempdir().unwrap();
        let options = IndexOptions {
            retention: Retention {
                max_versions: Some(3),
                max_age: None,
            },
            ..IndexOptions::default()
        };
        let mut index = Index::open(dir.path(), options).unwrap();
        let rows = |index: &Index, table: &str| -> i64 {
            index
                .conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        let manifest_refs = |index: &Index, data: &[u8]| -> Option<i64> {
            let id = file_change("x", data).manifest.unwrap().content_id();
            index
                .conn
                .query_row(
                    "SELECT refs FROM manifests WHERE content_id = ?1",
                    [id.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()
                .unwrap()
        };
        let mut batch = index.batch().unwrap();
        let first = batch.record(&file_change("a", b"v1")).unwrap();
        batch.commit().unwrap();
        assert_eq!(
            rows(&index, "history"),
            0,
            "a new path costs no history row"
        );
        assert_eq!(index.history(&first.path).unwrap().len(), 1);
        assert_eq!(
            index.version(&first.path, first.seq).unwrap().unwrap().seq,
            1
        );
        assert_eq!(manifest_refs(&index, b"v1"), Some(1));

        let mut batch = index.batch().unwrap();
        for data in [b"v2", b"v1", b"v3", b"v1"] {
            batch.record(&file_change("a", data)).unwrap();
        }
        batch.commit().unwrap();
        let seqs: Vec<u64> = index
            .history(&first.path)
            .unwrap()
            .iter()
            .map(|v| v.seq)
            .collect();
        assert_eq!(seqs, [5, 4, 3], "current first, at most three versions");
        assert_eq!(rows(&index, "history"), 2);
        // v1 is current (seq 5) and retained (seq 3); v3 retained; v2 pruned and released.
        assert_eq!(manifest_refs(&index, b"v1"), Some(2));
        assert_eq!(manifest_refs(&index, b"v3"), Some(1));
        assert_eq!(manifest_refs(&index, b"v2"), None);
        assert_eq!(index.usage().unwrap().logical_bytes, 6);

        index.set_retention(Retention {
            max_versions: Some(1),
            max_age: None,
        });
        assert_eq!(index.prune_history().unwrap(), 2);
        assert_eq!(rows(&index, "history"), 0);
        assert_eq!(index.history(&first.path).unwrap().len(), 1);
        assert_eq!(
            manifest_refs(&index, b"v1"),
            Some(1),
            "the current version's"
        );
        assert_eq!(manifest_refs(&index, b"v3"), None);
    }
}
