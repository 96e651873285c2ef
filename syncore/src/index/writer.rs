//! The write path's statements, prepared once per batch.
//!
//! A scan or an apply records thousands of versions in one transaction, each with the same
//! handful of statements. A [`Statements`] set holds them for the length of a batch, so a
//! version costs the statements' own work rather than a lookup in (and a return to) the
//! connection's statement cache for every statement it runs. This file owns the text of those
//! statements and nothing else: which of them run, and in what order, is decided by the
//! version write path ([`write_version`](super::entries::write_version)) and its helpers.

use rusqlite::{CachedStatement, Connection};

use super::sql::map_sql;
use crate::error::{Error, Result};

/// One statement of the write path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stmt {
    /// Stores a manifest with one reference, unless stored already.
    InsertManifest,
    /// Takes one more reference on a stored manifest.
    ReferenceManifest,
    /// Records a chunk's position in a multi-chunk manifest.
    InsertPosition,
    /// Counts one more use of a chunk.
    CountChunk,
    /// Writes a new entry row.
    InsertEntry,
    /// Moves a path's current version (with its content reference) into its history, just
    /// before its entry row is rewritten.
    ArchiveEntry,
    /// Rewrites an existing entry row.
    UpdateEntry,
    /// The version vector of a path's entry.
    PreviousVersion,
    /// Updates the stat columns of an unchanged entry.
    RefreshStat,
}

impl Stmt {
    const COUNT: usize = 9;

    fn sql(self) -> &'static str {
        match self {
            Stmt::InsertManifest => {
                "INSERT INTO manifests (content_id, size, refs, encoded, single_chunk)
                 VALUES (?1, ?2, 1, ?3, ?4)
                 ON CONFLICT (content_id) DO NOTHING"
            }
            Stmt::ReferenceManifest => "UPDATE manifests SET refs = refs + 1 WHERE content_id = ?1",
            Stmt::InsertPosition => {
                "INSERT INTO manifest_chunks (chunk_id, content_id, idx, offset, len)
                 VALUES (?1, ?2, ?3, ?4, ?5)"
            }
            Stmt::CountChunk => {
                "INSERT INTO chunks (chunk_id, len, refs) VALUES (?1, ?2, 1)
                 ON CONFLICT (chunk_id) DO UPDATE SET refs = refs + 1"
            }
            Stmt::InsertEntry => {
                "INSERT INTO entries (path, parent, kind, size, mtime_ns, inode, ctime_ns,
                     executable, symlink_target, content_id, version, deleted, seq, racy, time_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            }
            Stmt::ArchiveEntry => {
                "INSERT INTO history (path, seq, time_ns, kind, size, executable,
                     symlink_target, content_id, version, deleted)
                 SELECT path, seq, time_ns, kind, size, executable,
                     symlink_target, content_id, version, deleted
                 FROM entries WHERE path = ?1"
            }
            Stmt::UpdateEntry => {
                "UPDATE entries SET parent = ?2, kind = ?3, size = ?4, mtime_ns = ?5, inode = ?6,
                     ctime_ns = ?7, executable = ?8, symlink_target = ?9, content_id = ?10,
                     version = ?11, deleted = ?12, seq = ?13, racy = ?14, time_ns = ?15
                 WHERE path = ?1"
            }
            Stmt::PreviousVersion => "SELECT version FROM entries WHERE path = ?1",
            Stmt::RefreshStat => {
                "UPDATE entries SET size = ?2, mtime_ns = ?3, inode = ?4, ctime_ns = ?5, racy = ?6
                 WHERE path = ?1"
            }
        }
    }
}

/// The write path's statements on one connection, each prepared on first use and kept until
/// the set is dropped (at the end of its batch).
pub(super) struct Statements<'c> {
    conn: &'c Connection,
    prepared: [Option<CachedStatement<'c>>; Stmt::COUNT],
}

impl<'c> Statements<'c> {
    /// No statements prepared yet.
    pub fn new(conn: &'c Connection) -> Self {
        Statements {
            conn,
            prepared: std::array::from_fn(|_| None),
        }
    }

    /// The connection the statements run on (for the write path's rarer statements).
    pub fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// Statement `which`, prepared if this is its first use.
    pub fn get(&mut self, which: Stmt) -> Result<&mut CachedStatement<'c>> {
        let slot = &mut self.prepared[which as usize];
        if slot.is_none() {
            *slot = Some(self.conn.prepare_cached(which.sql()).map_err(map_sql)?);
        }
        slot.as_mut()
            .ok_or_else(|| Error::invalid("index: a prepared statement went missing"))
    }
}

impl std::fmt::Debug for Statements<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prepared = self.prepared.iter().filter(|s| s.is_some()).count();
        f.debug_struct("Statements")
            .field("prepared", &prepared)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_prepares_against_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let index = super::super::Index::open(dir.path(), Default::default()).unwrap();
        let mut statements = Statements::new(&index.conn);
        let all = [
            Stmt::InsertManifest,
            Stmt::ReferenceManifest,
            Stmt::InsertPosition,
            Stmt::CountChunk,
            Stmt::InsertEntry,
            Stmt::ArchiveEntry,
            Stmt::UpdateEntry,
            Stmt::PreviousVersion,
            Stmt::RefreshStat,
        ];
        assert_eq!(all.len(), Stmt::COUNT);
        for which in all {
            statements.get(which).unwrap();
            // The second use is the same prepared statement.
            statements.get(which).unwrap();
        }
    }
}
