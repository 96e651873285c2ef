//! Peer cursors and echoes: how far this replica has read each peer's journal, and which
//! stretch of its own journal holds nothing but that peer's versions.
//!
//! This file owns the `peers` table. A cursor is the peer's sequence number; it only moves
//! forward. An echo stretch `(from, to]` is a range of this replica's sequence numbers whose
//! versions were all taken from the peer exactly as the peer sent them, so the peer already
//! holds each of them (or a later version): a change set for that peer can start after the
//! stretch. It never interprets what a peer does with the changes.

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

    /// Notes that this replica's journal `(from, to]` holds only versions `peer` sent, as it
    /// sent them (the entries of one complete apply of that peer's changes). A stretch that
    /// continues the one stored (`from` is its end) extends it; any other replaces it, so the
    /// stored stretch never spans a version the peer has not seen.
    pub fn note_echoes(&mut self, peer: &str, from: u64, to: u64) -> Result<()> {
        if to <= from {
            return Ok(());
        }
        self.conn
            .execute(
                "INSERT INTO peers (peer, cursor, updated_ns, echo_from, echo_to)
                 VALUES (?1, 0, ?2, ?3, ?4)
                 ON CONFLICT (peer) DO UPDATE SET
                     echo_from = CASE WHEN echo_to = excluded.echo_from
                         THEN echo_from ELSE excluded.echo_from END,
                     echo_to = excluded.echo_to,
                     updated_ns = excluded.updated_ns",
                params![peer, now_ns(), to_i64(from)?, to_i64(to)?],
            )
            .map_err(map_sql)?;
        Ok(())
    }

    /// Where a change set for `peer`, which has read this journal up to `cursor`, starts:
    /// after the noted echo stretch if `cursor` lies within it (the peer holds everything up
    /// to its start, and the stretch is its own versions), at `cursor` otherwise.
    pub fn skip_echoes(&self, peer: &str, cursor: u64) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT echo_from, echo_to FROM peers WHERE peer = ?1")
            .map_err(map_sql)?;
        let mut rows = stmt.query([peer]).map_err(map_sql)?;
        let Some(row) = rows.next().map_err(map_sql)? else {
            return Ok(cursor);
        };
        let from = to_u64(row.get(0).map_err(map_sql)?)?;
        let to = to_u64(row.get(1).map_err(map_sql)?)?;
        Ok(if (from..to).contains(&cursor) {
            to
        } else {
            cursor
        })
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

#[cfg(test)]
mod tests {
    use crate::index::{Index, IndexOptions};

    #[test]
    fn an_echo_stretch_grows_when_contiguous_and_is_replaced_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let skip = |index: &Index, cursor| index.skip_echoes("p", cursor).unwrap();
        assert_eq!(skip(&index, 0), 0, "an unknown peer starts where it asks");
        index.note_echoes("p", 0, 10).unwrap();
        index.note_echoes("p", 10, 25).unwrap();
        assert_eq!(skip(&index, 0), 25, "(0, 10] and (10, 25] make one stretch");
        assert_eq!(skip(&index, 24), 25);
        assert_eq!(skip(&index, 25), 25);
        assert_eq!(skip(&index, 30), 30, "past the stretch: nothing to skip");
        // Local changes took 26..=40; a later stretch cannot cover them.
        index.note_echoes("p", 40, 50).unwrap();
        assert_eq!(skip(&index, 0), 0, "the peer has not seen 26..=40");
        assert_eq!(skip(&index, 39), 39);
        assert_eq!(skip(&index, 40), 50);
        index.note_echoes("p", 50, 50).unwrap();
        assert_eq!(skip(&index, 40), 50, "an empty stretch changes nothing");
        // The cursor and the stretch of a peer live side by side.
        index.set_peer_cursor("p", 7).unwrap();
        assert_eq!(index.peer_cursor("p").unwrap(), 7);
        assert_eq!(skip(&index, 45), 50);
        drop(index);
        let index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        assert_eq!(skip(&index, 45), 50, "kept across reopening");
    }
}
