//! Entries: one row per path, read back as [`IndexedEntry`] and written through a [`Batch`].
//!
//! This file owns the `entries` table: per-directory streaming reads (on the indexed
//! `parent` column, so a scan never loads the whole index), and the write path that turns a
//! [`LocalChange`] into a new version — next sequence number, bumped version vector, manifest
//! stored, superseded version moved into history, retention applied — inside one transaction.
//! It must never hand out an entry whose stored columns fail validation: those are
//! [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt).

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::chunks::{check_quota, reference_manifest, reference_stored_content};
use super::history::prune_path_versions;
use super::open::{read_meta_u64, write_meta};
use super::sql::{digest_from_blob, map_sql, stored_path, to_i64, to_u64};
use super::writer::{Statements, Stmt};
use super::{now_ns, Index};
use crate::entry::{Entry, EntryKind};
use crate::error::{Error, Result};
use crate::hash::HashAlgo;
use crate::manifest::FileManifest;
use crate::path::RelPath;
use crate::sync::VersionVector;

/// What a stat call says about a path: enough to tell "unchanged" without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStat {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
    /// Status-change time in nanoseconds (0 where the platform has none).
    pub ctime_ns: i64,
    /// The owner-executable bit.
    pub executable: bool,
}

impl FileStat {
    /// True if nothing a stat can see differs: size, mtime and the change token.
    pub fn same_as(&self, other: &FileStat) -> bool {
        self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && self.inode == other.inode
            && self.ctime_ns == other.ctime_ns
            && self.executable == other.executable
    }
}

/// An entry with the local-only facts the index keeps beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEntry {
    /// The entry as peers see it.
    pub entry: Entry,
    /// The stat the entry was recorded with.
    pub stat: FileStat,
    /// True if the file was modified so close to the scan that recorded it that a later
    /// change within the same timestamp tick would be invisible: re-hash it next time.
    pub racy: bool,
}

/// What a scan compares of a recorded entry before deciding to look at it in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordedStat {
    /// What the path was.
    pub kind: EntryKind,
    /// The stat it was recorded with.
    pub stat: FileStat,
    /// True for a tombstone.
    pub deleted: bool,
    /// See [`IndexedEntry::racy`].
    pub racy: bool,
}

/// A change observed locally, to be recorded as a new version of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalChange {
    /// The path that changed.
    pub path: RelPath,
    /// What the path now is (for a deletion: what it was).
    pub kind: EntryKind,
    /// Its stat (zeroed for a deletion).
    pub stat: FileStat,
    /// Where a symlink points.
    pub symlink_target: Option<String>,
    /// A file's content.
    pub manifest: Option<FileManifest>,
    /// True for a deletion (recorded as a tombstone).
    pub deleted: bool,
    /// See [`IndexedEntry::racy`].
    pub racy: bool,
}

impl LocalChange {
    /// A deletion of `path`, which was of kind `kind`.
    pub fn deletion(path: RelPath, kind: EntryKind) -> Self {
        LocalChange {
            path,
            kind,
            stat: FileStat::default(),
            symlink_target: None,
            manifest: None,
            deleted: true,
            racy: false,
        }
    }
}

pub(super) const ENTRY_COLUMNS: &str = "path, kind, size, mtime_ns, inode, ctime_ns, executable, \
     symlink_target, content_id, version, deleted, seq, racy";

/// Decodes one row selected with [`ENTRY_COLUMNS`].
pub(super) fn entry_from_row(row: &Row<'_>) -> Result<IndexedEntry> {
    let get = |e: rusqlite::Error| map_sql(e);
    // Text and blob columns are read in place (no copy but the path's own).
    let blob = |i: usize| -> Result<Option<&[u8]>> {
        row.get_ref(i)
            .map_err(get)?
            .as_blob_or_null()
            .map_err(|e| Error::corrupt(format!("index entry column {i}: {e}")))
    };
    let path = stored_path(row.get_ref(0).map_err(get)?)?;
    let kind: i64 = row.get(1).map_err(get)?;
    let kind = u8::try_from(kind)
        .ok()
        .and_then(EntryKind::from_code)
        .ok_or_else(|| Error::corrupt(format!("index entry {path} has unknown kind {kind}")))?;
    let size = to_u64(row.get(2).map_err(get)?)?;
    let mtime_ns: i64 = row.get(3).map_err(get)?;
    let inode = to_u64(row.get(4).map_err(get)?)?;
    let ctime_ns: i64 = row.get(5).map_err(get)?;
    let executable: bool = row.get(6).map_err(get)?;
    let symlink_target: Option<String> = row.get(7).map_err(get)?;
    let content_id = blob(8)?.map(digest_from_blob).transpose()?;
    let version =
        blob(9)?.ok_or_else(|| Error::corrupt(format!("index entry {path} has no version")))?;
    let version = VersionVector::decode(version)?;
    let deleted: bool = row.get(10).map_err(get)?;
    let seq = to_u64(row.get(11).map_err(get)?)?;
    let racy: bool = row.get(12).map_err(get)?;
    Ok(IndexedEntry {
        entry: Entry {
            path,
            kind,
            size,
            mtime_ns,
            executable,
            symlink_target,
            content_id,
            version,
            deleted,
            seq,
        },
        stat: FileStat {
            size,
            mtime_ns,
            inode,
            ctime_ns,
            executable,
        },
        racy,
    })
}

/// The parent column of `path`: its parent directory, or `""` at the top level.
pub(super) fn parent_key(path: &RelPath) -> String {
    path.parent()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default()
}

impl Index {
    /// The entry recorded for `path` (a tombstone if it was deleted), if any.
    pub fn entry(&self, path: &RelPath) -> Result<Option<IndexedEntry>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE path = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let row = stmt
            .query_row([path.as_str()], |row| Ok(entry_from_row(row)))
            .optional()
            .map_err(map_sql)?;
        row.transpose()
    }

    /// Calls `visit` for each entry (tombstones included) directly inside directory `dir`
    /// (`None`: the root), streaming rows without collecting them.
    pub fn for_each_in_dir<F>(&self, dir: Option<&RelPath>, mut visit: F) -> Result<()>
    where
        F: FnMut(IndexedEntry) -> Result<()>,
    {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE parent = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt
            .query([dir.map_or("", RelPath::as_str)])
            .map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            visit(entry_from_row(row)?)?;
        }
        Ok(())
    }

    /// Calls `visit` with the file name and recorded stat of each entry (tombstones included)
    /// directly inside directory `dir` (`None`: the root). Reads only the covering
    /// `entries_by_parent` index and decodes nothing else, so a scan can pass over unchanged
    /// entries cheaply and look up the few it must compare in full.
    pub(crate) fn for_each_stat_in_dir<F>(&self, dir: Option<&RelPath>, mut visit: F) -> Result<()>
    where
        F: FnMut(&str, RecordedStat) -> Result<()>,
    {
        let parent = dir.map_or("", RelPath::as_str);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, kind, size, mtime_ns, inode, ctime_ns, executable, deleted, racy
                 FROM entries INDEXED BY entries_by_parent WHERE parent = ?1",
            )
            .map_err(map_sql)?;
        let mut rows = stmt.query([parent]).map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            let path = row
                .get_ref(0)
                .map_err(map_sql)?
                .as_str()
                .map_err(|_| Error::corrupt("index holds a path that is not text"))?;
            let name = match parent {
                "" => Some(path),
                _ => path
                    .strip_prefix(parent)
                    .and_then(|rest| rest.strip_prefix('/')),
            }
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| {
                Error::corrupt(format!("index entry {path:?} is filed under {parent:?}"))
            })?;
            let kind: i64 = row.get(1).map_err(map_sql)?;
            let recorded = RecordedStat {
                kind: u8::try_from(kind)
                    .ok()
                    .and_then(EntryKind::from_code)
                    .ok_or_else(|| {
                        Error::corrupt(format!("index entry {path:?} has unknown kind {kind}"))
                    })?,
                stat: FileStat {
                    size: to_u64(row.get(2).map_err(map_sql)?)?,
                    mtime_ns: row.get(3).map_err(map_sql)?,
                    inode: to_u64(row.get(4).map_err(map_sql)?)?,
                    ctime_ns: row.get(5).map_err(map_sql)?,
                    executable: row.get(6).map_err(map_sql)?,
                },
                deleted: row.get(7).map_err(map_sql)?,
                racy: row.get(8).map_err(map_sql)?,
            };
            visit(name, recorded)?;
        }
        Ok(())
    }

    /// Calls `visit` for each live (not deleted) entry strictly below directory `dir`.
    pub fn for_each_live_below<F>(&self, dir: &RelPath, mut visit: F) -> Result<()>
    where
        F: FnMut(IndexedEntry) -> Result<()>,
    {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries
             WHERE path > ?1 || '/' AND path < ?1 || '0' AND deleted = 0"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt.query([dir.as_str()]).map_err(map_sql)?;
        while let Some(row) = rows.next().map_err(map_sql)? {
            visit(entry_from_row(row)?)?;
        }
        Ok(())
    }

    /// The number of live (not deleted) entries.
    pub fn live_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM entries WHERE deleted = 0", [], |r| {
                r.get(0)
            })
            .map_err(map_sql)?;
        to_u64(n)
    }

    /// The highest sequence number recorded so far (0 for an empty index).
    pub fn last_seq(&self) -> Result<u64> {
        Ok(read_meta_u64(&self.conn, "next_seq")?.saturating_sub(1))
    }

    /// Starts a batch of writes: one transaction, committed by [`Batch::commit`] and rolled
    /// back if dropped uncommitted.
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        self.shared_batch()
    }

    /// A batch that leaves the index readable through `&self` while it is open (the scanner
    /// reads directories between writes). Only one batch may be open at a time; a second
    /// fails with an error from SQLite.
    pub(crate) fn shared_batch(&self) -> Result<Batch<'_>> {
        let tx = self.conn.unchecked_transaction().map_err(map_sql)?;
        let next_seq = read_meta_u64(&tx, "next_seq")?.max(1);
        Ok(Batch {
            statements: Statements::new(&self.conn),
            tx,
            replica: self.replica,
            options: &self.options,
            next_seq,
            time_ns: now_ns(),
            recorded: 0,
        })
    }
}

/// One transaction's worth of index writes.
#[derive(Debug)]
pub struct Batch<'a> {
    /// Declared before `tx`: the statements are returned to the cache before the transaction
    /// ends.
    statements: Statements<'a>,
    tx: Transaction<'a>,
    replica: crate::sync::ReplicaId,
    options: &'a super::IndexOptions,
    next_seq: u64,
    time_ns: i64,
    recorded: usize,
}

impl Batch<'_> {
    /// Records `change` as a new version: next seq, own counter bumped in the version vector
    /// (continuing the path's previous vector), manifest stored, history appended.
    pub fn record(&mut self, change: &LocalChange) -> Result<Entry> {
        let previous = self.previous_version(&change.path)?;
        let row = match previous {
            Some(_) => RowWrite::Update,
            None => RowWrite::Insert,
        };
        self.record_version(change, previous.unwrap_or_default(), row)
    }

    /// [`Batch::record`] for a path the caller knows the index has no row for (not even a
    /// tombstone), as a scan does for names it found no row for: skips the lookup of a
    /// previous version. Recording a path that does have a row fails.
    pub fn record_new(&mut self, change: &LocalChange) -> Result<Entry> {
        self.record_version(change, VersionVector::default(), RowWrite::Insert)
    }

    fn record_version(
        &mut self,
        change: &LocalChange,
        mut version: VersionVector,
        row: RowWrite,
    ) -> Result<Entry> {
        version.bump(self.replica);
        let seq = self.next_seq;
        self.next_seq += 1;
        let manifest = change.manifest.as_ref().filter(|_| !change.deleted);
        let entry = Entry {
            path: change.path.clone(),
            kind: change.kind,
            size: if change.deleted { 0 } else { change.stat.size },
            mtime_ns: change.stat.mtime_ns,
            executable: change.stat.executable && !change.deleted,
            symlink_target: change.symlink_target.clone().filter(|_| !change.deleted),
            content_id: manifest.map(FileManifest::content_id),
            version,
            deleted: change.deleted,
            seq,
        };
        let version = NewVersion {
            entry: &entry,
            manifest,
            stat: &change.stat,
            racy: change.racy,
        };
        write_version(
            &mut self.statements,
            &version,
            row,
            self.options.retention.max_versions,
            self.time_ns,
            self.options.algo,
        )?;
        self.recorded += 1;
        Ok(entry)
    }

    /// Updates the stat of an entry whose content did not change (no new version).
    pub fn refresh(&mut self, path: &RelPath, stat: &FileStat, racy: bool) -> Result<()> {
        let stmt = self.statements.get(Stmt::RefreshStat)?;
        stmt.execute(params![
            path.as_str(),
            to_i64(stat.size)?,
            stat.mtime_ns,
            to_i64(stat.inode)?,
            stat.ctime_ns,
            racy
        ])
        .map_err(map_sql)?;
        Ok(())
    }

    /// How many changes this batch has recorded so far.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// Checks the quota and commits. On [`ErrorKind::QuotaExceeded`] nothing of this batch is
    /// written.
    ///
    /// [`ErrorKind::QuotaExceeded`]: crate::ErrorKind::QuotaExceeded
    pub fn commit(self) -> Result<()> {
        let Batch {
            statements,
            tx,
            options,
            next_seq,
            ..
        } = self;
        drop(statements);
        commit_batch(tx, options.quota_bytes, next_seq)
    }

    fn previous_version(&mut self, path: &RelPath) -> Result<Option<VersionVector>> {
        let stmt = self.statements.get(Stmt::PreviousVersion)?;
        let blob: Option<Vec<u8>> = stmt
            .query_row([path.as_str()], |row| row.get(0))
            .optional()
            .map_err(map_sql)?;
        blob.map(|b| VersionVector::decode(&b)).transpose()
    }
}

/// How [`write_version`] writes a path's entry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowWrite {
    /// The path has no row yet.
    Insert,
    /// The path has a row.
    Update,
    /// Not known: the row is inserted, and only if the path has one already (the insert
    /// fails on the key, writing nothing) is its current version moved into history and the
    /// row rewritten. Cheaper than an upsert, which needs a statement journal, and than
    /// looking first, since most applied versions are of new paths.
    Either,
}

/// Checks `quota` (if any), stores the next sequence number and commits `tx`: how every
/// batch of versions ends.
pub(super) fn commit_batch(tx: Transaction<'_>, quota: Option<u64>, next_seq: u64) -> Result<()> {
    if let Some(quota) = quota {
        check_quota(&tx, quota)?;
    }
    write_meta(&tx, "next_seq", &next_seq.to_le_bytes())?;
    tx.commit().map_err(map_sql)
}

/// A new version of a path, as [`write_version`] records it.
pub(super) struct NewVersion<'a> {
    /// The entry, with its sequence number and version vector already assigned.
    pub entry: &'a Entry,
    /// The file's manifest, if the index may not store its content yet.
    pub manifest: Option<&'a FileManifest>,
    /// The stat it was seen with (its change token is kept beside the entry).
    pub stat: &'a FileStat,
    /// See [`IndexedEntry::racy`].
    pub racy: bool,
}

/// Records `version` as the current version of its path: takes its entry row's reference on
/// its content (storing the manifest if new), moves the version it supersedes (if any) into
/// history, writes the entry row and keeps at most `max_versions` versions of the path, the
/// current one included. The one write path of the scanner's [`Batch`] and of applied
/// changes.
pub(super) fn write_version(
    statements: &mut Statements<'_>,
    version: &NewVersion<'_>,
    row: RowWrite,
    max_versions: Option<u32>,
    time_ns: i64,
    index_algo: HashAlgo,
) -> Result<()> {
    let entry = version.entry;
    if let Some(content_id) = entry.content_id.as_ref().filter(|_| !entry.deleted) {
        match version.manifest {
            Some(manifest) => reference_manifest(statements, manifest, index_algo)?,
            None => reference_stored_content(statements, content_id)?,
        }
    }
    let update = match row {
        RowWrite::Insert => {
            write_entry_row(statements, Stmt::InsertEntry, version, time_ns)?.map_err(map_sql)?;
            false
        }
        RowWrite::Either => {
            match write_entry_row(statements, Stmt::InsertEntry, version, time_ns)? {
                Ok(()) => false,
                Err(e) if is_key_conflict(&e) => {
                    archive_and_rewrite(statements, version, time_ns)?;
                    true
                }
                Err(e) => return Err(map_sql(e)),
            }
        }
        RowWrite::Update => {
            archive_and_rewrite(statements, version, time_ns)?;
            true
        }
    };
    if let (true, Some(max)) = (update, max_versions) {
        prune_path_versions(statements.conn(), &entry.path, max)?;
    }
    Ok(())
}

/// Moves the path's current version into history and rewrites its row with `version`.
fn archive_and_rewrite(
    statements: &mut Statements<'_>,
    version: &NewVersion<'_>,
    time_ns: i64,
) -> Result<()> {
    let path = &version.entry.path;
    let archived = statements
        .get(Stmt::ArchiveEntry)?
        .execute([path.as_str()])
        .map_err(map_sql)?;
    if archived == 0 {
        return Err(Error::invalid(format!(
            "{path}: no current version to supersede"
        )));
    }
    write_entry_row(statements, Stmt::UpdateEntry, version, time_ns)?.map_err(map_sql)
}

/// Runs `which` (the entry row's insert or rewrite, which take the same parameters) for
/// `version`; the statement's own outcome is returned as is, for the caller to interpret.
fn write_entry_row(
    statements: &mut Statements<'_>,
    which: Stmt,
    version: &NewVersion<'_>,
    time_ns: i64,
) -> Result<rusqlite::Result<()>> {
    let entry = version.entry;
    let (size, inode, seq) = (
        to_i64(entry.size)?,
        to_i64(version.stat.inode)?,
        to_i64(entry.seq)?,
    );
    let outcome = statements.get(which)?.execute(params![
        entry.path.as_str(),
        parent_key(&entry.path),
        entry.kind.code(),
        size,
        entry.mtime_ns,
        inode,
        version.stat.ctime_ns,
        entry.executable,
        entry.symlink_target,
        entry.content_id.as_ref().map(|d| d.as_bytes().as_slice()),
        entry.version.encode(),
        entry.deleted,
        seq,
        version.racy && !entry.deleted,
        time_ns
    ]);
    Ok(outcome.map(|_| ()))
}

/// Whether `err` is an insert refused because the row's key exists.
fn is_key_conflict(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
