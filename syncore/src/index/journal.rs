//! The change journal: what changed after a cursor, tombstones included, each change once.
//!
//! Every recorded change carries the next local sequence number and overwrites its path's
//! entry, so "entries with `seq > cursor`" is exactly the set of paths changed since the
//! cursor, each at its latest state. A deletion has its own sequence number: it is returned to
//! a cursor below it and never again once the cursor has passed it. A change set reads the
//! same journal together with the manifest of every live file in it, in one query
//! ([`Index::journal_with_manifests`]). This file never writes.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;

use super::chunks::StoredManifest;
use super::entries::{entry_from_row, ENTRY_COLUMNS};
use super::sql::{map_sql, to_i64};
use super::Index;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::hash::Digest;
use crate::sync::manifests_in_order;

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

/// The journal after a cursor, by path, with the manifests its live files name: what a change
/// set is made of.
pub(crate) struct JournalRead {
    /// Changed entries sorted by path, tombstones included.
    pub entries: Vec<Entry>,
    /// The cursor to use next time.
    pub cursor: u64,
    /// Each content id a live entry names, once, in order of first use, with its manifest row.
    pub manifests: Vec<(Digest, StoredManifest)>,
}

impl Index {
    /// Every entry changed after `cursor` sorted by path, with the stored manifest of each
    /// distinct live content, read in one pass: from a cursor at or below half the journal
    /// (a first sync, a peer far behind) the whole table is read in path order, which costs
    /// less than reaching each changed row through the sequence index and sorting them; from
    /// a later cursor only the changed rows are read.
    pub(crate) fn journal_with_manifests(&self, cursor: u64) -> Result<JournalRead> {
        let last = self.last_seq()?;
        let most_changed = cursor <= last / 2;
        let sql = journal_sql(most_changed);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_sql)?;
        let mut rows = stmt.query([to_i64(cursor)?]).map_err(map_sql)?;
        let first_manifest_column = ENTRY_COLUMNS.split(", ").count();
        // Each distinct content is decoded once, from the first row that names it.
        let mut stored: HashMap<Digest, StoredManifest, foldhash::fast::RandomState> =
            HashMap::default();
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(map_sql)? {
            let entry = entry_from_row(row)?.entry;
            if let Some(content_id) = entry.content_id.filter(|_| !entry.deleted) {
                if let Slot::Vacant(slot) = stored.entry(content_id) {
                    slot.insert(manifest_columns(
                        row,
                        first_manifest_column,
                        self.options.algo,
                        &entry,
                        &content_id,
                    )?);
                }
            }
            entries.push(entry);
        }
        // Already in path order when the table was read whole: then this is one pass.
        entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        // Every live content was stored above, from the first row naming it.
        let manifests = manifests_in_order(&entries, |id, _| {
            stored.remove(&id).map(|manifest| (id, manifest))
        })
        .ok_or_else(|| Error::invalid("journal: a live content's manifest went missing"))?;
        Ok(JournalRead {
            entries,
            cursor: last.max(cursor),
            manifests,
        })
    }

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

/// The query of [`Index::journal_with_manifests`]: the entry columns ([`ENTRY_COLUMNS`]), then
/// the manifest row's `encoded, size, single_chunk`. With `whole_table` the table itself is
/// read in path order (`+e.seq` keeps SQLite from the sequence index); otherwise the changed
/// rows are found through the sequence index.
fn journal_sql(whole_table: bool) -> String {
    let columns: Vec<String> = ENTRY_COLUMNS
        .split(", ")
        .map(|column| format!("e.{column}"))
        .collect();
    format!(
        "SELECT {}, m.encoded, m.size, m.single_chunk
         FROM entries e LEFT JOIN manifests m
             ON m.content_id = e.content_id AND e.deleted = 0
         WHERE {}e.seq > ?1",
        columns.join(", "),
        if whole_table { "+" } else { "" }
    )
}

/// The manifest row joined to a live file's `entry` (content `content_id`), from the columns
/// starting at `first`: `encoded, size, single_chunk`, all null if the row is missing.
fn manifest_columns(
    row: &rusqlite::Row<'_>,
    first: usize,
    algo: crate::hash::HashAlgo,
    entry: &Entry,
    content_id: &Digest,
) -> Result<StoredManifest> {
    let column = |i: usize| row.get_ref(first + i).map_err(map_sql);
    let encoded = column(0)?;
    if encoded.data_type() == rusqlite::types::Type::Null {
        return Err(Error::corrupt(format!(
            "index: {}: no manifest for its content",
            entry.path
        )));
    }
    StoredManifest::from_columns(
        algo,
        content_id,
        encoded.as_blob().map_err(map_sql_value)?.to_vec(),
        column(1)?.as_i64().map_err(map_sql_value)?,
        column(2)?.as_blob_or_null().map_err(map_sql_value)?,
    )
}

/// A column of the wrong type is a corrupt index.
fn map_sql_value(e: rusqlite::types::FromSqlError) -> Error {
    Error::corrupt(format!("index manifest row: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;
    use crate::index::{FileStat, IndexOptions, LocalChange};
    use crate::manifest::FileManifest;
    use crate::path::RelPath;
    use crate::Chunker;

    fn change(path: &str, data: Option<&[u8]>) -> LocalChange {
        let path = RelPath::new(path).unwrap();
        let Some(data) = data else {
            return LocalChange::deletion(path, EntryKind::File);
        };
        LocalChange {
            path,
            kind: EntryKind::File,
            stat: FileStat {
                size: data.len() as u64,
                ..FileStat::default()
            },
            symlink_target: None,
            manifest: Some(FileManifest::of_slice(&Chunker::default(), data)),
            deleted: false,
            racy: false,
        }
    }

    fn record(index: &mut Index, changes: &[LocalChange]) {
        let mut batch = index.batch().unwrap();
        for change in changes {
            batch.record(change).unwrap();
        }
        batch.commit().unwrap();
    }

    fn paths(read: &JournalRead) -> Vec<&str> {
        read.entries.iter().map(|e| e.path.as_str()).collect()
    }

    fn manifest_ids(read: &JournalRead) -> Vec<Digest> {
        read.manifests.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn a_read_is_by_path_with_each_live_content_once_from_any_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| ((i * 7919) >> 5) as u8).collect();
        record(
            &mut index,
            &[
                change("z", Some(b"same")),
                change("m/big", Some(&big)),
                change("a", Some(b"same")),
                change("gone", Some(b"soon deleted")),
                change("b", Some(b"other")),
            ],
        );
        record(&mut index, &[change("gone", None)]);
        let same = FileManifest::of_slice(&Chunker::default(), b"same").content_id();
        let other = FileManifest::of_slice(&Chunker::default(), b"other").content_id();
        let big_id = FileManifest::of_slice(&Chunker::default(), &big).content_id();

        // From 0 the whole table is read in path order.
        let all = index.journal_with_manifests(0).unwrap();
        assert_eq!(paths(&all), ["a", "b", "gone", "m/big", "z"]);
        assert_eq!(all.cursor, 6);
        assert_eq!(manifest_ids(&all), [same, other, big_id]);
        assert!(all.entries[2].deleted);

        // From a late cursor only the changed rows, still by path.
        record(
            &mut index,
            &[change("y", Some(b"new")), change("c", Some(b"same"))],
        );
        let late = index.journal_with_manifests(6).unwrap();
        assert_eq!(paths(&late), ["c", "y"]);
        assert_eq!(late.cursor, 8);
        let new = FileManifest::of_slice(&Chunker::default(), b"new").content_id();
        assert_eq!(manifest_ids(&late), [same, new]);

        // Both ways agree with the journal itself, and manifests read back whole.
        for cursor in 0..=8 {
            let read = index.journal_with_manifests(cursor).unwrap();
            let mut expected = index.changes_since(cursor).unwrap().entries;
            expected.sort_by(|a, b| a.path.cmp(&b.path));
            assert_eq!(read.entries, expected, "cursor {cursor}");
            for (id, stored) in read.manifests {
                assert_eq!(stored.into_manifest(&id).unwrap().content_id(), id);
            }
        }
    }

    #[test]
    fn the_whole_table_is_scanned_and_a_few_changes_are_found_by_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        let plan = |whole_table: bool| -> String {
            let sql = format!("EXPLAIN QUERY PLAN {}", journal_sql(whole_table));
            let mut stmt = index.conn.prepare(&sql).unwrap();
            let rows = stmt.query_map([0], |row| row.get::<_, String>(3)).unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let whole = plan(true);
        assert!(whole.starts_with("SCAN e"), "{whole}");
        let few = plan(false);
        assert!(few.starts_with("SEARCH e USING INDEX"), "{few}");
        for plan in [whole, few] {
            assert!(plan.contains("SEARCH m USING PRIMARY KEY"), "{plan}");
        }
    }

    #[test]
    fn a_live_file_without_its_manifest_row_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        record(&mut index, &[change("a", Some(b"content"))]);
        index
            .conn
            .execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM manifests;")
            .unwrap();
        let err = index.journal_with_manifests(0).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
        assert!(err.to_string().contains("a: no manifest"), "{err}");
    }
}
