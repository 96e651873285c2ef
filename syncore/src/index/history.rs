//! History: every recorded version of every path, until retention prunes it.
//!
//! This file owns the `history` table: the versions each path's current version (its entry
//! row) superseded, moved there by the write path. It lists a path's versions, current one
//! first and deletions included, and prunes by count or age. The current version is never
//! pruned. Removing a row releases its manifest reference (schema triggers do the counting).
//! It must never write entries or touch the working tree.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::sql::{map_sql, opt_digest, to_i64, to_u64};
use super::{now_ns, Index};
use crate::entry::EntryKind;
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::path::RelPath;
use crate::sync::VersionVector;

/// One retained version of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The local sequence number of the change; identifies the version for restore.
    pub seq: u64,
    /// When it was recorded, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// What the path was.
    pub kind: EntryKind,
    /// Size in bytes (files).
    pub size: u64,
    /// The owner-executable bit.
    pub executable: bool,
    /// Where a symlink pointed.
    pub symlink_target: Option<String>,
    /// The content id of a file's manifest.
    pub content_id: Option<Digest>,
    /// The version vector of this version.
    pub version: VersionVector,
    /// True if this version is a deletion.
    pub deleted: bool,
}

const VERSION_COLUMNS: &str =
    "seq, time_ns, kind, size, executable, symlink_target, content_id, version, deleted";

fn version_from_row(row: &Row<'_>) -> Result<Version> {
    let get = |e: rusqlite::Error| map_sql(e);
    let kind: i64 = row.get(2).map_err(get)?;
    let kind = u8::try_from(kind)
        .ok()
        .and_then(EntryKind::from_code)
        .ok_or_else(|| Error::corrupt(format!("history row has unknown kind {kind}")))?;
    let version: Vec<u8> = row.get(7).map_err(get)?;
    Ok(Version {
        seq: to_u64(row.get(0).map_err(get)?)?,
        time_ns: row.get(1).map_err(get)?,
        kind,
        size: to_u64(row.get(3).map_err(get)?)?,
        executable: row.get(4).map_err(get)?,
        symlink_target: row.get(5).map_err(get)?,
        content_id: opt_digest(row.get(6).map_err(get)?)?,
        version: VersionVector::decode(&version)?,
        deleted: row.get(8).map_err(get)?,
    })
}

/// Keeps only the `max` newest versions of `path` (at least one: the current version, which
/// is its entry row; history holds the `max - 1` before it).
pub(super) fn prune_path_versions(conn: &Connection, path: &RelPath, max: u32) -> Result<u64> {
    let superseded_kept = i64::from(max.max(1) - 1);
    let mut stmt = conn
        .prepare_cached(
            "DELETE FROM history WHERE path = ?1 AND seq NOT IN (
                 SELECT seq FROM history WHERE path = ?1 ORDER BY seq DESC LIMIT ?2)",
        )
        .map_err(map_sql)?;
    let removed = stmt
        .execute(params![path.as_str(), superseded_kept])
        .map_err(map_sql)?;
    Ok(removed as u64)
}

impl Index {
    /// Every retained version of `path`, newest first (the current one, then those it
    /// superseded); deletions included.
    pub fn history(&self, path: &RelPath) -> Result<Vec<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM entries WHERE path = ?1
             UNION ALL SELECT {VERSION_COLUMNS} FROM history WHERE path = ?1
             ORDER BY seq DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt.query([path.as_str()]).map_err(map_sql)?;
        let mut versions = Vec::new();
        while let Some(row) = rows.next().map_err(map_sql)? {
            versions.push(version_from_row(row)?);
        }
        Ok(versions)
    }

    /// The version of `path` recorded with sequence number `seq`, if retained.
    pub fn version(&self, path: &RelPath, seq: u64) -> Result<Option<Version>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM entries WHERE path = ?1 AND seq = ?2
             UNION ALL SELECT {VERSION_COLUMNS} FROM history WHERE path = ?1 AND seq = ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let row = stmt
            .query_row(params![path.as_str(), to_i64(seq)?], |row| {
                Ok(version_from_row(row))
            })
            .optional()
            .map_err(map_sql)?;
        row.transpose()
    }

    /// Applies the retention policy to all history now: versions beyond the per-path count
    /// and versions older than the maximum age go, never a path's current version. Returns
    /// how many versions were removed.
    pub fn prune_history(&mut self) -> Result<u64> {
        let retention = self.options.retention;
        let tx = self.conn.transaction().map_err(map_sql)?;
        let mut removed = 0;
        if let Some(max_age) = retention.max_age {
            removed += prune_older_than(&tx, now_ns(), max_age)?;
        }
        if let Some(max) = retention.max_versions {
            let paths: Vec<String> = {
                // History holds what the current versions superseded: `max - 1` may stay.
                let mut stmt = tx
                    .prepare("SELECT path FROM history GROUP BY path HAVING COUNT(*) > ?1")
                    .map_err(map_sql)?;
                let rows = stmt
                    .query_map([i64::from(max.max(1) - 1)], |row| row.get(0))
                    .map_err(map_sql)?;
                rows.collect::<rusqlite::Result<_>>().map_err(map_sql)?
            };
            for path in paths {
                let path = RelPath::new(&path)
                    .map_err(|e| Error::corrupt(format!("history holds an invalid path: {e}")))?;
                removed += prune_path_versions(&tx, &path, max)?;
            }
        }
        tx.commit().map_err(map_sql)?;
        Ok(removed)
    }
}

fn prune_older_than(conn: &Connection, now_ns: i64, max_age: Duration) -> Result<u64> {
    let age = i64::try_from(max_age.as_nanos()).unwrap_or(i64::MAX);
    let cutoff = now_ns.saturating_sub(age);
    // Current versions are entry rows, never history rows: age alone decides.
    let removed = conn
        .execute("DELETE FROM history WHERE time_ns < ?1", [cutoff])
        .map_err(map_sql)?;
    Ok(removed as u64)
}
