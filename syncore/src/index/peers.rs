//! Peer cursors: how far each peer has read this replica's journal.
//!
//! This file owns the `peers` table. A cursor is a local sequence number; it only moves
//! forward. It never interprets what a peer does with the changes.

use rusqlite::params;

use super::sql::{map_sql, to_i64, to_u64};
use super::{now_ns, Index};
use crate::error::Result;

impl Index {
    /// The cursor stored for `peer` (0 if none).
    pub fn peer_cursor(&self, peer: &str) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT cursor FROM peers WHERE peer = ?1")
            .map_err(map_sql)?;
        let mut rows = stmt.query([peer]).map_err(map_sql)?;
        match rows.next().map_err(map_sql)? {
            Some(row) => to_u64(row.get(0).map_err(map_sql)?),
            None => Ok(0),
        }
    }

    /// Stores `cursor` for `peer`; a cursor never moves backwards.
    pub fn set_peer_cursor(&mut self, peer: &str, cursor: u64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO peers (peer, cursor, updated_ns) VALUES (?1, ?2, ?3)
                 ON CONFLICT (peer) DO UPDATE SET cursor = MAX(cursor, excluded.cursor),
                     updated_ns = excluded.updated_ns",
                params![peer, to_i64(cursor)?, now_ns()],
            )
            .map_err(map_sql)?;
        Ok(())
    }

    /// Every known peer and its cursor, by name.
    pub fn peers(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT peer, cursor FROM peers ORDER BY peer")
            .map_err(map_sql)?;
        let mut rows = stmt.query([]).map_err(map_sql)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_sql)? {
            out.push((
                row.get(0).map_err(map_sql)?,
                to_u64(row.get(1).map_err(map_sql)?)?,
            ));
        }
        Ok(out)
    }
}
