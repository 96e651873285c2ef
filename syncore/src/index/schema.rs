//! The index's SQL schema and its numbered migrations.
//!
//! This file owns the DDL of every table, index and trigger, the list of migrations and the
//! `PRAGMA user_version` that says which of them a database has seen. Opening a database
//! whose version is newer than this build knows fails with
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported); an older one is migrated forward
//! in one transaction. It must never drop or re-create a table that holds data.
//!
//! Versions: a path's entry row is its current version, and `history` holds the versions it
//! superseded (since version 3; before, history held the current version too, which cost
//! every recorded version a second row).
//!
//! Reference counting: an entry or history row with a content id holds one reference to its
//! manifest, and each chunk position of a stored multi-chunk manifest (a `manifest_chunks`
//! row) one reference to its chunk, counted in `chunks`. A one-chunk manifest (its chunk named
//! in its `single_chunk` column) is itself its chunk's reference: its content id follows from
//! the chunk's id, so nothing else needs writing (since version 6; before, it also counted one
//! reference in `chunks`). References are taken by the writer (on the hot path,
//! as plain statements); superseding a version moves its entry row, reference and all, into
//! history; and triggers release references, so every way of deleting history keeps counts
//! right: a manifest that loses its last reference is deleted, and each of its chunk positions
//! drops one reference on its chunk (a one-chunk manifest's chunk is listed with `refs = 0`).
//! Chunks whose count reaches zero stay listed until garbage collection removes them, unless
//! a retained one-chunk manifest still consists of them.
//! Entry rows are never deleted (a deletion is a tombstone row without content).
//! The `REFERENCES` clauses document those links; SQLite enforces them per row only in debug
//! builds (a cross-check of the counts in every test), and an integrity check on open looks
//! for rows naming a missing manifest.

use rusqlite::Connection;

use super::sql::map_sql;
use crate::error::{Error, Result};

/// The schema version this build writes; `PRAGMA user_version` of a current database.
pub const SCHEMA_VERSION: u32 = 6;

/// Migration `n` (1-based) brings a database from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
];

const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE manifests (
    content_id BLOB PRIMARY KEY,
    size       INTEGER NOT NULL,
    refs       INTEGER NOT NULL DEFAULT 0,
    encoded    BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE manifest_chunks (
    chunk_id   BLOB NOT NULL,
    content_id BLOB NOT NULL,
    idx        INTEGER NOT NULL,
    offset     INTEGER NOT NULL,
    len        INTEGER NOT NULL,
    PRIMARY KEY (chunk_id, content_id, idx)
) WITHOUT ROWID;

CREATE TABLE chunks (
    chunk_id BLOB PRIMARY KEY,
    len      INTEGER NOT NULL,
    refs     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE entries (
    path           TEXT PRIMARY KEY,
    parent         TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    mtime_ns       INTEGER NOT NULL,
    inode          INTEGER NOT NULL,
    ctime_ns       INTEGER NOT NULL,
    executable     INTEGER NOT NULL,
    symlink_target TEXT,
    content_id     BLOB REFERENCES manifests(content_id),
    version        BLOB NOT NULL,
    deleted        INTEGER NOT NULL,
    seq            INTEGER NOT NULL UNIQUE,
    racy           INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX entries_by_parent ON entries(parent);
CREATE INDEX entries_by_content ON entries(content_id) WHERE deleted = 0;

CREATE TABLE history (
    path           TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    time_ns        INTEGER NOT NULL,
    kind           INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    executable     INTEGER NOT NULL,
    symlink_target TEXT,
    content_id     BLOB REFERENCES manifests(content_id),
    version        BLOB NOT NULL,
    deleted        INTEGER NOT NULL,
    PRIMARY KEY (path, seq)
) WITHOUT ROWID;

CREATE TABLE peers (
    peer       TEXT PRIMARY KEY,
    cursor     INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER history_unrefs_manifest AFTER DELETE ON history
WHEN OLD.content_id IS NOT NULL
BEGIN
    UPDATE manifests SET refs = refs - 1 WHERE content_id = OLD.content_id;
    DELETE FROM manifests WHERE content_id = OLD.content_id AND refs <= 0;
END;

CREATE TRIGGER manifest_deleted AFTER DELETE ON manifests
BEGIN
    DELETE FROM manifest_chunks WHERE content_id = OLD.content_id;
END;

CREATE TRIGGER manifest_chunk_unrefs AFTER DELETE ON manifest_chunks
BEGIN
    UPDATE chunks SET refs = refs - 1 WHERE chunk_id = OLD.chunk_id;
END;
";

/// Version 2: scans read a directory's rows from one covering index, and a one-chunk manifest
/// names its chunk in its own row instead of a `manifest_chunks` row (fewer B-tree writes per
/// small file). Existing one-chunk manifests are converted with their chunk counts unchanged.
const MIGRATION_2: &str = "
DROP INDEX entries_by_parent;
CREATE INDEX entries_by_parent ON entries(
    parent, path, kind, size, mtime_ns, inode, ctime_ns, executable, deleted, racy);

ALTER TABLE manifests ADD COLUMN single_chunk BLOB;
DROP TRIGGER manifest_chunk_unrefs;
UPDATE manifests SET single_chunk = (
    SELECT mc.chunk_id FROM manifest_chunks mc WHERE mc.content_id = manifests.content_id)
WHERE (SELECT COUNT(*) FROM manifest_chunks mc WHERE mc.content_id = manifests.content_id) = 1;
DELETE FROM manifest_chunks
WHERE content_id IN (SELECT content_id FROM manifests WHERE single_chunk IS NOT NULL);
CREATE TRIGGER manifest_chunk_unrefs AFTER DELETE ON manifest_chunks
BEGIN
    UPDATE chunks SET refs = refs - 1 WHERE chunk_id = OLD.chunk_id;
END;

DROP TRIGGER manifest_deleted;
CREATE TRIGGER manifest_deleted AFTER DELETE ON manifests
BEGIN
    DELETE FROM manifest_chunks WHERE content_id = OLD.content_id;
    UPDATE chunks SET refs = refs - 1 WHERE chunk_id = OLD.single_chunk;
END;
";

/// Version 3: the entry row is a path's current version (with the time it was recorded) and
/// holds its manifest reference; history keeps only superseded versions. Each current version's
/// history row goes, its reference moving to the entry row: counts are raised by the entry rows
/// first, then the delete trigger takes back one per history row removed.
const MIGRATION_3: &str = "
ALTER TABLE entries ADD COLUMN time_ns INTEGER NOT NULL DEFAULT 0;
UPDATE entries SET time_ns = COALESCE(
    (SELECT h.time_ns FROM history h WHERE h.path = entries.path AND h.seq = entries.seq), 0);
UPDATE manifests SET refs = refs + (
    SELECT COUNT(*) FROM entries e WHERE e.content_id = manifests.content_id);
DELETE FROM history WHERE EXISTS (
    SELECT 1 FROM entries e WHERE e.path = history.path AND e.seq = history.seq);
";

/// Version 4: a one-chunk manifest in the index's own hash algorithm may be stored with an
/// empty `encoded` column, its encoding being a function of its size and `single_chunk`.
/// Nothing to convert (stored encodings stay valid); the version only keeps builds that would
/// read an empty encoding as corrupt from opening such a database.
const MIGRATION_4: &str = "-- format change only: one-chunk manifests may omit their encoding";

/// Version 5: a peer's row also names the stretch `(echo_from, echo_to]` of this replica's
/// journal that holds only versions that peer sent, as it sent them (see
/// [`Index::note_echoes`](crate::index::Index::note_echoes)). Existing rows get an empty
/// stretch: nothing is left out of a change set until the next exchange notes one.
const MIGRATION_5: &str = "
ALTER TABLE peers ADD COLUMN echo_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE peers ADD COLUMN echo_to INTEGER NOT NULL DEFAULT 0;
";

/// Version 6: one-chunk content is named by its chunk's id alone (manifest format 2), and such
/// a manifest no longer counts a reference on its chunk in `chunks` (the manifest row is the
/// reference, found through the content id the chunk id gives). Each such count is taken
/// back, rows left at zero by that alone are dropped (their manifest keeps the chunk), and
/// deleting a one-chunk manifest lists its chunk with no references (unless positions still
/// count it) for garbage collection. After this SQL,
/// [`rename_one_chunk_contents`](super::chunks::rename_one_chunk_contents) gives every stored
/// one-chunk manifest, and the entry and history rows naming it, its new content id.
/// A chunk is the single chunk of at most one manifest per algorithm.
const MIGRATION_6: &str = "
UPDATE chunks SET refs = refs - 1
WHERE chunk_id IN (SELECT single_chunk FROM manifests WHERE single_chunk IS NOT NULL);
DELETE FROM chunks
WHERE refs <= 0
  AND chunk_id IN (SELECT single_chunk FROM manifests WHERE single_chunk IS NOT NULL);

DROP TRIGGER manifest_deleted;
CREATE TRIGGER manifest_deleted AFTER DELETE ON manifests
BEGIN
    DELETE FROM manifest_chunks WHERE content_id = OLD.content_id;
    INSERT INTO chunks (chunk_id, len, refs)
    SELECT OLD.single_chunk, OLD.size, 0 WHERE OLD.single_chunk IS NOT NULL
    ON CONFLICT (chunk_id) DO NOTHING;
END;
";

/// Brings `conn` to [`SCHEMA_VERSION`], or refuses a database from a newer build.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings `conn` to version `target` (at most [`SCHEMA_VERSION`]; tests stop earlier to set
/// up an older database).
fn migrate_to(conn: &mut Connection, target: u32) -> Result<()> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::Unsupported(format!(
            "index schema version {found} is newer than this build supports ({SCHEMA_VERSION})"
        )));
    }
    let tx = conn.transaction().map_err(map_sql)?;
    let pending = MIGRATIONS.iter().enumerate().take(target as usize);
    for (number, ddl) in pending.skip(found as usize) {
        tx.execute_batch(ddl).map_err(map_sql)?;
        after_migration(&tx, number as u32 + 1)?;
        tx.pragma_update(None, "user_version", number as u32 + 1)
            .map_err(map_sql)?;
    }
    tx.commit().map_err(map_sql)
}

/// What migration `version` does beyond its SQL, in the same transaction.
fn after_migration(conn: &Connection, version: u32) -> Result<()> {
    match version {
        6 => super::chunks::rename_one_chunk_contents(conn),
        _ => Ok(()),
    }
}

/// The database's `PRAGMA user_version`.
pub fn user_version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        .map_err(map_sql)
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn version_2_moves_one_chunk_manifests_into_their_row_keeping_counts() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // A one-chunk manifest "s" (chunk 1) and a two-chunk manifest "m" (chunks 1, 2).
        conn.execute_batch(
            "INSERT INTO manifests VALUES (x'aa', 5, 1, x'00'), (x'bb', 9, 1, x'00');
             INSERT INTO chunks VALUES (x'01', 5, 2), (x'02', 4, 1);
             INSERT INTO manifest_chunks VALUES (x'01', x'aa', 0, 0, 5),
                 (x'01', x'bb', 0, 0, 5), (x'02', x'bb', 1, 5, 4);",
        )
        .unwrap();
        migrate_to(&mut conn, 2).unwrap();
        let refs = |conn: &Connection, id: &str| -> i64 {
            conn.query_row(
                &format!("SELECT refs FROM chunks WHERE chunk_id = x'{id}'"),
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let single: Option<Vec<u8>> = conn
            .query_row(
                "SELECT single_chunk FROM manifests WHERE content_id = x'aa'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(single, Some(vec![1]));
        let positions: i64 = conn
            .query_row("SELECT COUNT(*) FROM manifest_chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            positions, 2,
            "only the two-chunk manifest keeps position rows"
        );
        assert_eq!(
            (refs(&conn, "01"), refs(&conn, "02")),
            (2, 1),
            "counts unchanged"
        );
        conn.execute("DELETE FROM manifests WHERE content_id = x'aa'", [])
            .unwrap();
        assert_eq!(
            refs(&conn, "01"),
            1,
            "deleting the one-chunk manifest releases its chunk"
        );
        conn.execute("DELETE FROM manifests WHERE content_id = x'bb'", [])
            .unwrap();
        assert_eq!((refs(&conn, "01"), refs(&conn, "02")), (0, 0));
    }

    #[test]
    fn version_3_moves_current_versions_out_of_history_keeping_counts() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATION_1).unwrap();
        conn.execute_batch(MIGRATION_2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        // "f" was x'aa' (seq 1), then x'bb' (seq 2, current); "g" is x'bb' (seq 3, current);
        // "d" was deleted (seq 4, current tombstone) after holding x'aa' (seq 0).
        conn.execute_batch(
            "INSERT INTO chunks VALUES (x'01', 5, 1), (x'02', 9, 1);
             INSERT INTO manifests VALUES (x'aa', 5, 2, x'00', x'01'), (x'bb', 9, 2, x'00', x'02');
             INSERT INTO entries VALUES
                 ('f', '', 0, 9, 0, 0, 0, 0, NULL, x'bb', x'00', 0, 2, 0),
                 ('g', '', 0, 9, 0, 0, 0, 0, NULL, x'bb', x'00', 0, 3, 0),
                 ('d', '', 0, 0, 0, 0, 0, 0, NULL, NULL, x'00', 1, 4, 0);
             INSERT INTO history VALUES
                 ('f', 1, 100, 0, 5, 0, NULL, x'aa', x'00', 0),
                 ('f', 2, 200, 0, 9, 0, NULL, x'bb', x'00', 0),
                 ('g', 3, 300, 0, 9, 0, NULL, x'bb', x'00', 0),
                 ('d', 0, 50, 0, 5, 0, NULL, x'aa', x'00', 0),
                 ('d', 4, 400, 0, 0, 0, NULL, NULL, x'00', 1);",
        )
        .unwrap();
        migrate_to(&mut conn, 3).unwrap();
        let number = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            number("SELECT COUNT(*) FROM history"),
            2,
            "only superseded versions stay"
        );
        assert_eq!(
            number("SELECT COUNT(*) FROM history WHERE seq IN (1, 0)"),
            2
        );
        assert_eq!(number("SELECT time_ns FROM entries WHERE path = 'f'"), 200);
        assert_eq!(number("SELECT time_ns FROM entries WHERE path = 'd'"), 400);
        assert_eq!(
            (
                number("SELECT refs FROM manifests WHERE content_id = x'aa'"),
                number("SELECT refs FROM manifests WHERE content_id = x'bb'")
            ),
            (2, 2),
            "every reference kept: two history rows hold x'aa', two entry rows x'bb'"
        );
        conn.execute("DELETE FROM history", []).unwrap();
        assert_eq!(
            number("SELECT COUNT(*) FROM manifests"),
            1,
            "x'aa' released"
        );
        assert_eq!(number("SELECT refs FROM chunks WHERE chunk_id = x'01'"), 0);
        assert_eq!(number("SELECT refs FROM chunks WHERE chunk_id = x'02'"), 1);
    }

    /// A version 5 index holding a one-chunk file "a" (with an older version in history), a
    /// SHA-256 one-chunk file "f" stored with its format 1 encoding, and a two-chunk file "m"
    /// sharing "a"'s chunk, each counted the version 5 way.
    #[test]
    fn version_6_renames_one_chunk_content_and_takes_back_its_counts() {
        use crate::chunk::{Chunk, Chunker};
        use crate::hash::HashAlgo;
        use crate::manifest::FileManifest;
        use rusqlite::params;

        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        migrate_to(&mut conn, 5).unwrap();
        let one = FileManifest::of_slice(&Chunker::default(), b"one");
        let sha = Chunker::new(Default::default(), HashAlgo::Sha256).unwrap();
        let foreign = FileManifest::of_slice(&sha, b"foreign");
        let [c1, cf] = [&one, &foreign].map(|m| m.chunks()[0]);
        let c2 = Chunk {
            id: HashAlgo::Blake3.digest(b"two"),
            offset: 3,
            len: 3,
        };
        let many = FileManifest::from_chunks(HashAlgo::Blake3, vec![c1, c2]).unwrap();
        let blob = |id: &crate::Digest| id.as_bytes().to_vec();
        let [old_one, old_foreign] = [&one, &foreign].map(|m| blob(&m.format_1_content_id()));
        let many_id = blob(&many.content_id());
        conn.execute("INSERT INTO meta VALUES ('hash_algo', x'01')", [])
            .unwrap();
        let manifest = "INSERT INTO manifests (content_id, size, refs, encoded, single_chunk)
                        VALUES (?1, ?2, ?3, ?4, ?5)";
        let empty: &[u8] = &[];
        conn.execute(manifest, params![old_one, 3, 2, empty, blob(&c1.id)])
            .unwrap();
        let old_encoding = foreign.encode_format_1();
        conn.execute(
            manifest,
            params![old_foreign, 7, 1, old_encoding, blob(&cf.id)],
        )
        .unwrap();
        conn.execute(
            manifest,
            params![many_id, 6, 1, many.encode(), None::<Vec<u8>>],
        )
        .unwrap();
        let chunk = "INSERT INTO chunks (chunk_id, len, refs) VALUES (?1, ?2, ?3)";
        for (id, len, refs) in [(&c1.id, 3, 2), (&c2.id, 3, 1), (&cf.id, 7, 1)] {
            conn.execute(chunk, params![blob(id), len, refs]).unwrap();
        }
        let position = "INSERT INTO manifest_chunks VALUES (?1, ?2, ?3, ?4, 3)";
        for (idx, id) in [c1.id, c2.id].iter().enumerate() {
            let offset = 3 * idx as i64;
            conn.execute(position, params![blob(id), many_id, idx as i64, offset])
                .unwrap();
        }
        let entry = "INSERT INTO entries (path, parent, kind, size, mtime_ns, inode, ctime_ns,
                         executable, content_id, version, deleted, seq)
                     VALUES (?1, '', 0, ?2, 0, 0, 0, 0, ?3, x'00', 0, ?4)";
        for (seq, (path, size, id)) in [
            ("a", 3, &old_one),
            ("f", 7, &old_foreign),
            ("m", 6, &many_id),
        ]
        .into_iter()
        .enumerate()
        {
            conn.execute(entry, params![path, size, id, seq as i64 + 1])
                .unwrap();
        }
        conn.execute(
            "INSERT INTO history VALUES ('a', 0, 0, 0, 3, 0, NULL, ?1, x'00', 0)",
            [&old_one],
        )
        .unwrap();

        migrate(&mut conn).unwrap();
        let ids = |sql: &str| -> Vec<Vec<u8>> {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.map(Result::unwrap).collect()
        };
        let [new_one, new_foreign] = [&one, &foreign].map(|m| blob(&m.content_id()));
        assert_eq!(
            ids("SELECT content_id FROM entries ORDER BY path"),
            [new_one.clone(), new_foreign.clone(), many_id.clone()]
        );
        assert_eq!(
            ids("SELECT content_id FROM history"),
            std::slice::from_ref(&new_one)
        );
        let mut stored = ids("SELECT content_id FROM manifests");
        stored.sort();
        let mut expected = vec![new_one, new_foreign.clone(), many_id];
        expected.sort();
        assert_eq!(stored, expected);
        let encoding: Vec<u8> = conn
            .query_row(
                "SELECT encoded FROM manifests WHERE content_id = ?1",
                [&new_foreign],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            encoding,
            foreign.encode(),
            "re-encoded in the current format"
        );
        let refs = |id: &crate::Digest| -> Option<i64> {
            conn.query_row(
                "SELECT refs FROM chunks WHERE chunk_id = ?1",
                [blob(id)],
                |r| r.get(0),
            )
            .ok()
        };
        assert_eq!(
            [refs(&c1.id), refs(&c2.id), refs(&cf.id)],
            [Some(1), Some(1), None],
            "positions keep their counts; a chunk only one-chunk content held is not listed"
        );
        let dangling: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0, "every row names a stored manifest");
        // Deleting a one-chunk manifest lists its chunk for collection, once nothing counts it.
        conn.execute("DELETE FROM history", []).unwrap();
        conn.execute_batch(
            "DELETE FROM entries WHERE path = 'f'; DELETE FROM manifests WHERE refs = 0",
        )
        .unwrap();
        conn.execute(
            "DELETE FROM manifests WHERE content_id = ?1",
            [&new_foreign],
        )
        .unwrap();
        assert_eq!(refs(&cf.id), Some(0));
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    }
}
