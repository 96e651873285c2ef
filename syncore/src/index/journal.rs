//! The change journal: what changed after a cursor, tombstones included, each change once.
//!
//! Every recorded change carries the next local sequence number and overwrites its path's
//! entry, so "entries with `seq > cursor`" is exactly the set of paths changed since the
//! cursor, each at its latest state. A deletion has its own sequence number: it is returned to
//! a cursor below it and never again once the cursor has passed it. This file never writes.

use super::entries::entry_from_row;
use super::sql::{map_sql, to_i64};
use super::Index;
use crate::entry::Entry;
use crate::error::Result;

/// The entries changed after a cursor and the cursor to use next time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Changed entries in sequence order, tombstones included.
    pub entries: Vec<Entry>,
    /// Pass this to the next call to get only later changes.
    pub cursor: u64,
    /// True if a limit cut the list short: call again with `cursor` for the rest.
    pub more: bool,
}

impl Index {
    /// Every entry changed after `cursor` (sequence number > `cursor`), with the new cursor.
    pub fn changes_since(&self, cursor: u64) -> Result<Changes> {
        self.changes_page(cursor, usize::MAX)
    }

    /// At most `limit` entries changed after `cursor`, oldest first, for bounded memory.
    pub fn changes_page(&self, cursor: u64, limit: usize) -> Result<Changes> {
        let last = self.last_seq()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = "SELECT path, kind, size, mtime_ns, inode, ctime_ns, executable,
                   symlink_target, content_id, version, deleted, seq, racy
                   FROM entries WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_sql)?;
        let mut rows = stmt
            .query(rusqlite::params![to_i64(cursor)?, limit])
            .map_err(map_sql)?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(map_sql)? {
            entries.push(entry_from_row(row)?.entry);
        }
        let more = i64::try_from(entries.len()).unwrap_or(i64::MAX) >= limit
            && entries.last().is_some_and(|e| e.seq < last);
        let cursor = match entries.last() {
            Some(e) if more => e.seq,
            _ => last.max(cursor),
        };
        Ok(Changes {
            entries,
            cursor,
            more,
        })
    }
}
