//! The index as the sync engine sees it: [`LocalView`] for planning, [`ApplyTarget`] for
//! applying.
//!
//! This file owns the queries reconciliation needs (batched entry lookups as one ordered range
//! walk, chunk availability, live counts, case-fold matches) and the write path of applied
//! remote changes: an [`AppliedBatch`] stores each applied entry with the version vector the
//! plan chose (never bumping it: an applied remote change is not a local change), the next
//! local sequence number, its manifest, a history row and the disk stat apply observed, so
//! the next scan sees the file as unchanged and does not echo it back. It also owns the one
//! conversion between the apply side's [`DiskStat`] and the scanner's [`FileStat`]. It never
//! reads or writes the working tree.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::chunks::chunk_locations;
use super::entries::{
    commit_batch, entry_from_row, write_version, FileStat, IndexedEntry, NewVersion, RowWrite,
};
use super::folds::CaseFolds;
use super::open::read_meta_u64;
use super::sql::{digest_from_blob, map_sql, to_u64};
use super::writer::Statements;
use super::{now_ns, Index};
use crate::apply::{ApplyTarget, ChunkLocation, ChunkLocator, DiskStat};
use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::hash::HashAlgo;
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::sync::{LocalView, ReplicaId, VersionVector};

const COLUMNS: &str = "path, kind, size, mtime_ns, inode, ctime_ns, executable, \
     symlink_target, content_id, version, deleted, seq, racy";

/// A range walk reads at most this many rows per looked-up path before falling back to
/// point lookups (the batch was too sparse for a walk to pay off).
const WALK_ROWS_PER_PATH: usize = 4;

impl From<DiskStat> for FileStat {
    /// The scanner's view of an apply-side stat: the same size, mtime, inode and ctime; the
    /// executable bit only for files.
    fn from(stat: DiskStat) -> Self {
        FileStat {
            size: stat.size,
            mtime_ns: stat.mtime_ns,
            inode: stat.inode,
            ctime_ns: stat.ctime_ns,
            executable: stat.executable && stat.kind == Some(EntryKind::File),
        }
    }
}

/// The apply side's view of what the index recorded for `entry`.
fn disk_stat_of(indexed: &IndexedEntry) -> Option<DiskStat> {
    if indexed.entry.deleted {
        return None;
    }
    let kind = indexed.entry.kind;
    Some(DiskStat {
        kind: Some(kind),
        size: if kind == EntryKind::File {
            indexed.stat.size
        } else {
            0
        },
        mtime_ns: indexed.stat.mtime_ns,
        ctime_ns: indexed.stat.ctime_ns,
        inode: indexed.stat.inode,
        executable: indexed.stat.executable,
    })
}

/// The columns planning reads in a walk: an [`Entry`]'s, without the scanner's stat columns.
const ENTRY_COLUMNS: &str =
    "path, kind, size, mtime_ns, executable, symlink_target, content_id, version, deleted, seq";

/// Fills `slot` from a row selected with [`ENTRY_COLUMNS`] whose path column is known to
/// equal `path`, reusing the slot's buffers (skips re-validating a path the caller already
/// holds as a [`RelPath`]).
fn fill_entry<'e>(
    row: &rusqlite::Row<'_>,
    path: &RelPath,
    slot: &'e mut Option<Entry>,
) -> Result<&'e Entry> {
    let kind: i64 = row.get(1).map_err(map_sql)?;
    let kind = u8::try_from(kind)
        .ok()
        .and_then(EntryKind::from_code)
        .ok_or_else(|| Error::corrupt(format!("index entry {path} has unknown kind {kind}")))?;
    let content_id = match row.get_ref(6).map_err(map_sql)? {
        ValueRef::Null => None,
        ValueRef::Blob(bytes) => Some(digest_from_blob(bytes)?),
        _ => {
            return Err(Error::corrupt(
                "index holds a content id that is not a blob",
            ))
        }
    };
    let version = row
        .get_ref(7)
        .map_err(map_sql)?
        .as_blob()
        .map_err(|_| Error::corrupt("index holds a version that is not a blob"))?;
    let version = VersionVector::decode(version)?;
    let entry = slot.get_or_insert_with(|| Entry {
        path: path.clone(),
        kind,
        size: 0,
        mtime_ns: 0,
        executable: false,
        symlink_target: None,
        content_id: None,
        version: VersionVector::new(),
        deleted: false,
        seq: 0,
    });
    entry.path.clone_from(path);
    entry.kind = kind;
    entry.size = to_u64(row.get(2).map_err(map_sql)?)?;
    entry.mtime_ns = row.get(3).map_err(map_sql)?;
    entry.executable = row.get(4).map_err(map_sql)?;
    entry.symlink_target = row.get(5).map_err(map_sql)?;
    entry.content_id = content_id;
    entry.version = version;
    entry.deleted = row.get(8).map_err(map_sql)?;
    entry.seq = to_u64(row.get(9).map_err(map_sql)?)?;
    Ok(entry)
}

fn entry_at(conn: &Connection, path: &RelPath) -> Result<Option<IndexedEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM entries WHERE path = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(map_sql)?;
    stmt.query_row([path.as_str()], |row| Ok(entry_from_row(row)))
        .optional()
        .map_err(map_sql)?
        .transpose()
}

impl Index {
    /// Calls `f(i, entry)` with the recorded entry at `paths[i]` (tombstones included), for
    /// every `i` in increasing order: see [`LocalView::visit_entries_at`]. Sorted paths are
    /// looked up as they are read; others are sorted first and their entries kept until the
    /// walk is done.
    pub fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        if paths.windows(2).all(|w| w[0] <= w[1]) {
            return self.walk_sorted(paths, f);
        }
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by(|&a, &b| paths[a].cmp(paths[b]));
        let sorted: Vec<&RelPath> = order.iter().map(|&i| paths[i]).collect();
        let mut found: Vec<Option<Entry>> = vec![None; paths.len()];
        self.walk_sorted(&sorted, &mut |k, entry| {
            found[order[k]] = entry.cloned();
            Ok(())
        })?;
        for (i, entry) in found.iter().enumerate() {
            f(i, entry.as_ref())?;
        }
        Ok(())
    }

    /// [`visit_entries_at`](Self::visit_entries_at) for sorted `paths`: one ordered range
    /// walk over the span the paths cover when they are dense enough, point lookups for
    /// whatever the walk did not reach. Every entry the walk finds is decoded into one reused
    /// slot.
    fn walk_sorted(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (paths.first(), paths.last()) else {
            return Ok(());
        };
        let limit = paths.len().saturating_mul(WALK_ROWS_PER_PATH).max(64);
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE path >= ?1 AND path <= ?2 \
             ORDER BY path LIMIT ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt
            .query(params![
                first.as_str(),
                last.as_str(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ])
            .map_err(map_sql)?;
        // Merge walk: `next` is the first position not yet visited.
        let mut next = 0;
        let mut read = 0usize;
        let mut slot = None;
        while let Some(row) = rows.next().map_err(map_sql)? {
            read += 1;
            let path = row.get_ref(0).map_err(map_sql)?;
            let path = path
                .as_str()
                .map_err(|_| Error::corrupt("index holds a non-text path"))?;
            while next < paths.len() && paths[next].as_str() < path {
                f(next, None)?;
                next += 1;
            }
            while next < paths.len() && paths[next].as_str() == path {
                f(next, Some(fill_entry(row, paths[next], &mut slot)?))?;
                next += 1;
            }
            if next == paths.len() {
                break;
            }
        }
        drop(rows);
        // If the walk stopped early, every path not yet passed sorts after the last row read:
        // look those up one by one. Otherwise the index holds none of them.
        let walked_all = read < limit;
        for (i, path) in paths.iter().enumerate().skip(next) {
            let entry = if walked_all {
                None
            } else {
                entry_at(&self.conn, path)?.map(|e| e.entry)
            };
            f(i, entry.as_ref())?;
        }
        Ok(())
    }

    /// Whether a live local file holds chunk `id` (so a plan need not fetch it).
    pub fn has_live_chunk(&self, id: &Digest) -> Result<bool> {
        Ok(!chunk_locations(&self.conn, self.options.algo, id, 1)?.is_empty())
    }

    /// Whether any stored manifest (live or retained in history) references chunk `id`.
    pub fn has_referenced_chunk(&self, id: &Digest) -> Result<bool> {
        Ok(self.chunk_refs(id)? > 0)
    }

    /// Starts recording applied remote changes in one transaction; see [`AppliedBatch`].
    pub fn applied_batch(&mut self) -> Result<AppliedBatch<'_>> {
        // `&mut self` keeps the batch the index's only user while it is open.
        self.shared_applied_batch()
    }

    /// An applied batch that leaves the index readable through `&self` while it is open, on
    /// the same thread (a streamed intake plans its next page while this one's files are
    /// placed; reads see what the batch recorded so far). Only one batch may be open at a
    /// time; a second fails with an error from SQLite.
    pub(crate) fn shared_applied_batch(&self) -> Result<AppliedBatch<'_>> {
        let conn = &self.conn;
        let tx = conn.unchecked_transaction().map_err(map_sql)?;
        let next_seq = read_meta_u64(&tx, "next_seq")?.max(1);
        Ok(AppliedBatch {
            statements: Statements::new(conn),
            tx,
            algo: self.options.algo,
            retention: self.options.retention.max_versions,
            quota: self.options.quota_bytes,
            next_seq,
            time_ns: now_ns(),
            recorded: 0,
        })
    }
}

impl LocalView for Index {
    fn replica_id(&self) -> ReplicaId {
        self.replica
    }

    fn entry(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(entry_at(&self.conn, path)?.map(|e| e.entry))
    }

    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        Index::visit_entries_at(self, paths, f)
    }

    fn has_chunk(&self, id: &Digest) -> Result<bool> {
        self.has_live_chunk(id)
    }

    fn live_entry_count(&self) -> Result<u64> {
        self.live_count()
    }

    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>> {
        let mut out = Vec::new();
        self.for_each_live_below(dir, |e| {
            out.push(e.entry.path);
            Ok(())
        })?;
        Ok(out)
    }

    /// A full walk of the live entries; planners that ask often wrap the index in a view
    /// that caches the case-fold keys (as [`Replica::plan`](crate::Replica::plan) does).
    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        CaseFolds::of_live_paths(&self.conn)?.matches(path)
    }

    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()> {
        let sql = format!("SELECT {COLUMNS} FROM entries");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt.query([]).map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            f(&entry_from_row(row)?.entry)?;
        }
        Ok(())
    }
}

impl ChunkLocator for Index {
    fn locate(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        chunk_locations(&self.conn, self.options.algo, id, 8)
    }
}

/// Applied remote changes recorded in one transaction: [`AppliedBatch::commit`] makes them
/// durable together; dropping the batch uncommitted records none of them (the files they
/// describe are then seen by the next scan, with the same content, and merge silently).
#[derive(Debug)]
pub struct AppliedBatch<'a> {
    /// Declared before `tx`: the statements are returned to the cache before the transaction
    /// ends.
    statements: Statements<'a>,
    tx: Transaction<'a>,
    algo: HashAlgo,
    retention: Option<u32>,
    quota: Option<u64>,
    next_seq: u64,
    time_ns: i64,
    recorded: usize,
}

impl AppliedBatch<'_> {
    /// How many entries this batch recorded.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// Checks the quota and commits every recorded entry. On
    /// [`ErrorKind::QuotaExceeded`](crate::ErrorKind::QuotaExceeded) nothing of this batch is
    /// recorded.
    pub fn commit(self) -> Result<()> {
        let AppliedBatch {
            statements,
            tx,
            quota,
            next_seq,
            ..
        } = self;
        drop(statements);
        commit_batch(tx, quota, next_seq)
    }
}

impl ApplyTarget for AppliedBatch<'_> {
    fn recorded_stat(&self, path: &RelPath) -> Result<Option<DiskStat>> {
        Ok(entry_at(&self.tx, path)?.as_ref().and_then(disk_stat_of))
    }

    fn record_applied(
        &mut self,
        entry: &Entry,
        manifest: Option<&FileManifest>,
        stat: Option<&DiskStat>,
    ) -> Result<()> {
        let mut entry = entry.clone();
        if entry.deleted {
            entry.content_id = None;
            entry.size = 0;
            entry.symlink_target = None;
            entry.executable = false;
        }
        if let (Some(manifest), false) = (manifest, entry.deleted) {
            if entry.content_id != Some(manifest.content_id()) {
                return Err(Error::invalid(format!(
                    "{}: applied entry and manifest describe different content",
                    entry.path
                )));
            }
        }
        entry.seq = self.next_seq;
        self.next_seq += 1;
        // The stat columns: what apply observed, so the next scan sees the file unchanged.
        // Size and mtime are shared with the entry; a file's observed size is its content's.
        let file_stat = stat.map(|s| FileStat::from(*s)).unwrap_or(FileStat {
            size: entry.size,
            mtime_ns: entry.mtime_ns,
            inode: 0,
            ctime_ns: 0,
            executable: entry.executable,
        });
        if entry.kind == EntryKind::File && stat.is_some() {
            entry.mtime_ns = file_stat.mtime_ns;
        }
        let version = NewVersion {
            entry: &entry,
            manifest: manifest.filter(|_| !entry.deleted),
            stat: &file_stat,
            racy: false,
        };
        write_version(
            &mut self.statements,
            &version,
            RowWrite::Either,
            self.retention,
            self.time_ns,
            self.algo,
        )?;
        self.recorded += 1;
        Ok(())
    }

    fn locate_chunk(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        chunk_locations(&self.tx, self.algo, id, 8)
    }
}

impl ApplyTarget for Index {
    fn recorded_stat(&self, path: &RelPath) -> Result<Option<DiskStat>> {
        Ok(entry_at(&self.conn, path)?.as_ref().and_then(disk_stat_of))
    }

    /// Records one applied change in its own transaction (see [`AppliedBatch`] for many).
    fn record_applied(
        &mut self,
        entry: &Entry,
        manifest: Option<&FileManifest>,
        stat: Option<&DiskStat>,
    ) -> Result<()> {
        let mut batch = self.applied_batch()?;
        batch.record_applied(entry, manifest, stat)?;
        batch.commit()
    }

    fn locate_chunk(&self, id: &Digest) -> Result<Vec<ChunkLocation>> {
        chunk_locations(&self.conn, self.options.algo, id, 8)
    }
}

/// The index for one planning run, with the live paths' case-fold keys loaded once (on the
/// first [`LocalView::case_fold_matches`] call) instead of walking the index per new path,
/// and whether the index counts any chunk at all asked once (an empty replica taking in a
/// whole tree then needs no lookup per chunk to know it has none of them).
#[derive(Debug)]
pub struct PlanningView<'a> {
    index: &'a Index,
    folds: std::cell::OnceCell<CaseFolds>,
    counts_chunks: std::cell::OnceCell<bool>,
}

impl<'a> PlanningView<'a> {
    /// A view of `index` for one planning run.
    pub fn new(index: &'a Index) -> Self {
        PlanningView {
            index,
            folds: std::cell::OnceCell::new(),
            counts_chunks: std::cell::OnceCell::new(),
        }
    }

    /// Whether any retained version references a chunk, through a position or as a one-chunk
    /// manifest (if none does, no live file holds one).
    fn counts_chunks(&self) -> Result<bool> {
        if let Some(&counts) = self.counts_chunks.get() {
            return Ok(counts);
        }
        let counts = self
            .index
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM chunks WHERE refs > 0)
                     OR EXISTS (SELECT 1 FROM manifests WHERE single_chunk IS NOT NULL)",
                [],
                |row| row.get(0),
            )
            .map_err(map_sql)?;
        Ok(*self.counts_chunks.get_or_init(|| counts))
    }

    fn folds(&self) -> Result<&CaseFolds> {
        if let Some(folds) = self.folds.get() {
            return Ok(folds);
        }
        let folds = CaseFolds::of_live_paths(&self.index.conn)?;
        Ok(self.folds.get_or_init(|| folds))
    }
}

impl LocalView for PlanningView<'_> {
    fn replica_id(&self) -> ReplicaId {
        self.index.replica
    }
    fn entry(&self, path: &RelPath) -> Result<Option<Entry>> {
        LocalView::entry(self.index, path)
    }
    fn visit_entries_at(
        &self,
        paths: &[&RelPath],
        f: &mut dyn FnMut(usize, Option<&Entry>) -> Result<()>,
    ) -> Result<()> {
        self.index.visit_entries_at(paths, f)
    }
    fn has_chunk(&self, id: &Digest) -> Result<bool> {
        Ok(self.counts_chunks()? && self.index.has_live_chunk(id)?)
    }
    fn live_entry_count(&self) -> Result<u64> {
        self.index.live_count()
    }
    fn live_under(&self, dir: &RelPath) -> Result<Vec<RelPath>> {
        LocalView::live_under(self.index, dir)
    }
    fn case_fold_matches(&self, path: &RelPath) -> Result<Vec<RelPath>> {
        self.folds()?.matches(path)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&Entry) -> Result<()>) -> Result<()> {
        LocalView::for_each_entry(self.index, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexOptions;

    fn dir_entry(path: &str, version: &VersionVector) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::Dir,
            size: 0,
            mtime_ns: 5,
            executable: false,
            symlink_target: None,
            content_id: None,
            version: version.clone(),
            deleted: false,
            seq: 0,
        }
    }

    #[test]
    fn batched_lookups_match_point_lookups_dense_or_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let mut version = VersionVector::new();
        version.bump(ReplicaId::from_bytes([3; 16]));
        let mut batch = index.applied_batch().unwrap();
        for i in 0..1000 {
            batch
                .record_applied(&dir_entry(&format!("p{i:04}"), &version), None, None)
                .unwrap();
        }
        batch.commit().unwrap();
        // The applied version is stored as given, not bumped.
        let stored = LocalView::entry(&index, &RelPath::new("p0001").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, version);
        let probe = |names: &[&str]| {
            let paths: Vec<RelPath> = names.iter().map(|n| RelPath::new(n).unwrap()).collect();
            let refs: Vec<&RelPath> = paths.iter().collect();
            let mut batched = Vec::new();
            index
                .visit_entries_at(&refs, &mut |i, e| {
                    assert_eq!(i, batched.len());
                    batched.push(e.cloned());
                    Ok(())
                })
                .unwrap();
            let single: Vec<Option<Entry>> = refs
                .iter()
                .map(|p| LocalView::entry(&index, p).unwrap())
                .collect();
            assert_eq!(batched, single);
            batched.iter().filter(|e| e.is_some()).count()
        };
        // Dense and in order: one walk.
        let dense: Vec<String> = (100..200).map(|i| format!("p{i:04}")).collect();
        let dense: Vec<&str> = dense.iter().map(String::as_str).collect();
        assert_eq!(probe(&dense), 100);
        // Sparse, unordered, with misses and duplicates: the walk stops early, point lookups
        // finish the batch.
        assert_eq!(probe(&["p0999", "p0000", "zzz", "p0500", "a", "p0500"]), 4);
        assert_eq!(probe(&[]), 0);
    }

    #[test]
    fn a_planning_view_finds_live_chunks_and_asks_an_index_without_chunks_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let manifest = FileManifest::of_slice(&crate::Chunker::default(), b"held here");
        let chunk = manifest.chunks()[0].id;
        let elsewhere = crate::HashAlgo::Blake3.digest(b"not held");
        {
            let empty = PlanningView::new(&index);
            assert!(!empty.has_chunk(&chunk).unwrap());
            assert_eq!(empty.counts_chunks.get(), Some(&false));
        }
        let mut version = VersionVector::new();
        version.bump(ReplicaId::from_bytes([3; 16]));
        let file = Entry {
            kind: EntryKind::File,
            size: manifest.size(),
            content_id: Some(manifest.content_id()),
            ..dir_entry("file", &version)
        };
        let mut batch = index.applied_batch().unwrap();
        batch.record_applied(&file, Some(&manifest), None).unwrap();
        batch.commit().unwrap();
        let view = PlanningView::new(&index);
        assert!(view.has_chunk(&chunk).unwrap());
        assert!(!view.has_chunk(&elsewhere).unwrap());
        // A deleted file's chunk is still counted (history keeps it) but held by no live file.
        version.bump(ReplicaId::from_bytes([3; 16]));
        let deleted = Entry {
            deleted: true,
            content_id: None,
            ..file.clone()
        };
        let mut batch = index.applied_batch().unwrap();
        batch.record_applied(&deleted, None, None).unwrap();
        batch.commit().unwrap();
        let view = PlanningView::new(&index);
        assert!(!view.has_chunk(&chunk).unwrap());
        assert_eq!(view.counts_chunks.get(), Some(&true));
    }

    #[test]
    fn applied_versions_insert_new_paths_and_supersede_existing_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let chunker = crate::Chunker::default();
        let (first, second) = (
            FileManifest::of_slice(&chunker, b"first"),
            FileManifest::of_slice(&chunker, b"second version"),
        );
        let path = RelPath::new("f").unwrap();
        let mut version = VersionVector::new();
        let apply = |index: &mut Index, entry: &Entry, manifest: Option<&FileManifest>| {
            let mut batch = index.applied_batch().unwrap();
            batch.record_applied(entry, manifest, None).unwrap();
            batch.commit().unwrap();
        };
        let file = |manifest: &FileManifest, version: &VersionVector| Entry {
            kind: EntryKind::File,
            size: manifest.size(),
            content_id: Some(manifest.content_id()),
            ..dir_entry("f", version)
        };
        // New path, then a new version of it, then a tombstone, then the path again.
        let steps = [
            file(&first, &version),
            file(&second, &version),
            Entry {
                deleted: true,
                content_id: None,
                size: 0,
                ..file(&second, &version)
            },
            file(&first, &version),
        ];
        for (i, step) in steps.iter().enumerate() {
            version.bump(ReplicaId::from_bytes([3; 16]));
            let entry = Entry {
                version: version.clone(),
                ..step.clone()
            };
            let manifest = match entry.content_id {
                Some(id) if id == first.content_id() => Some(&first),
                Some(_) => Some(&second),
                None => None,
            };
            apply(&mut index, &entry, manifest);
            let stored = LocalView::entry(&index, &path).unwrap().unwrap();
            assert_eq!(
                (stored.deleted, stored.content_id, &stored.version),
                (entry.deleted, entry.content_id, &entry.version),
                "step {i}"
            );
            // Every superseded version went to history, the current one stays in its row.
            assert_eq!(index.history(&path).unwrap().len(), i + 1, "step {i}");
        }
        // The first content is referenced again, the second only by history.
        assert!(index.has_live_chunk(&first.chunks()[0].id).unwrap());
        assert!(!index.has_live_chunk(&second.chunks()[0].id).unwrap());
        assert!(index.has_referenced_chunk(&second.chunks()[0].id).unwrap());
    }
}
