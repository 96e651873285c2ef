//! Opening an index database strictly: header check, exclusive lock, integrity, migrations.
//!
//! This file owns the order of checks done before an [`Index`] is handed out and the
//! identity rows written once when a database is created. It must never delete, truncate or
//! re-create an existing database file, whatever state it is in.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::schema;
use super::sql::map_sql;
use super::{Index, IndexOptions, DB_FILE_NAME};
use crate::error::{Error, IoResultExt, Result};
use crate::hash::HashAlgo;
use crate::sync::ReplicaId;

/// SQLite page cache size, in KiB.
const CACHE_KIB: i64 = 32 * 1024;

/// Page size of a new index database. Rows keyed by digests land at random places in their
/// B-trees; 16 KiB pages keep those trees a level shallower than SQLite's default 4 KiB and
/// split less often. Measured on a 100,000-file first sync: the same bytes through the WAL in
/// a quarter of the writes, and about 3% fewer instructions on the indexing threads.
const PAGE_SIZE: i64 = 16 * 1024;

/// WAL bytes between automatic checkpoints.
const WAL_CHECKPOINT_BYTES: i64 = 32 << 20;

/// Whether SQLite checks every reference as rows are written (debug builds only).
const ENFORCE_REFERENCES_PER_ROW: bool = cfg!(debug_assertions);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

pub(super) fn open_index(state_dir: &Path, options: IndexOptions) -> Result<Index> {
    std::fs::create_dir_all(state_dir).at_path(state_dir)?;
    let db_path = state_dir.join(DB_FILE_NAME);
    check_header(&db_path)?;
    let mut conn = Connection::open_with_flags(
        &db_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(map_sql)?;
    conn.busy_timeout(options.busy_timeout).map_err(map_sql)?;
    // Only a new, empty database takes this; an existing one keeps the page size it has.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(map_sql)?;
    take_exclusive_lock(&conn)?;
    if options.check_integrity {
        check_integrity(&conn)?;
    }
    schema::migrate(&mut conn)?;
    let replica = load_identity(&conn, options.algo)?;
    Ok(Index {
        conn,
        db_path,
        replica,
        options,
    })
}

/// A non-empty file that does not start with the SQLite header is not ours to open.
fn check_header(db_path: &Path) -> Result<()> {
    let mut file = match File::open(db_path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(db_path, e)),
    };
    let mut header = [0u8; 16];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]).at_path(db_path)? {
            0 => break,
            n => filled += n,
        }
    }
    if filled == 0 || header == *SQLITE_HEADER {
        return Ok(());
    }
    Err(Error::corrupt(format!(
        "{} is not an SQLite database (bad header)",
        db_path.display()
    )))
}

/// Exclusive locking mode plus WAL: the first write takes the lock and keeps it until close,
/// so a second opener (another process or connection) gets `SQLITE_BUSY` → `Busy`.
fn take_exclusive_lock(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(map_sql)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(map_sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Unsupported(format!(
            "the index database could not switch to WAL (journal mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(map_sql)?;
    // Scans insert digests (random keys) into several B-trees: a page cache of a few tens of
    // MiB keeps that in memory; it bounds RSS whatever the index size.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(map_sql)?;
    // Checkpoint (and fsync) every few tens of MiB of WAL rather than every 1,000 pages,
    // whatever page size the database has.
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .map_err(map_sql)?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_CHECKPOINT_BYTES / page_size.max(512),
    )
    .map_err(map_sql)?;
    // Statement journals (needed by triggers and upserts) stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(map_sql)?;
    // References are counted by the write path and released by triggers (see the schema);
    // SQLite's per-row foreign-key check repeats a lookup the writer has just made. Debug
    // builds (every test and the simulation) keep it as a cross-check of those counts;
    // release builds skip it, and `check_integrity` verifies the references on open instead.
    conn.pragma_update(None, "foreign_keys", ENFORCE_REFERENCES_PER_ROW)
        .map_err(map_sql)?;
    // Query-planner stability: without it SQLite re-parses a statement every time a new value
    // is bound to a parameter its plan looked at (every `LIMIT ?`), on the hot paths.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(map_sql)?;
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(map_sql)
}

/// SQLite's `quick_check` (damaged pages), then `foreign_key_check` (an entry or history row
/// naming a manifest the index does not hold).
fn check_integrity(conn: &Connection) -> Result<()> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
        .map_err(map_sql)?;
    if verdict != "ok" {
        return Err(Error::corrupt(format!(
            "the index database failed its integrity check: {verdict}"
        )));
    }
    let dangling: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .optional()
        .map_err(map_sql)?;
    match dangling {
        None => Ok(()),
        Some(table) => Err(Error::corrupt(format!(
            "the index database failed its integrity check: a row of {table} names a \
             manifest the index does not hold"
        ))),
    }
}

/// Reads the replica id and hash algorithm, writing them the first time.
fn load_identity(conn: &Connection, algo: HashAlgo) -> Result<ReplicaId> {
    let stored_algo = read_meta(conn, "hash_algo")?;
    match stored_algo {
        Some(code) if code.as_slice() != [algo.code()] => {
            let stored = code
                .first()
                .and_then(|c| HashAlgo::from_code(*c).ok())
                .map_or_else(|| "an unknown algorithm".to_owned(), |a| a.to_string());
            return Err(Error::invalid(format!(
                "the index uses {stored}, but {algo} was requested"
            )));
        }
        Some(_) => {}
        None => write_meta(conn, "hash_algo", &[algo.code()])?,
    }
    match read_meta(conn, "replica_id")? {
        Some(bytes) => {
            let bytes: [u8; 16] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| Error::corrupt("the index holds a malformed replica id"))?;
            Ok(ReplicaId::from_bytes(bytes))
        }
        None => {
            let id = ReplicaId::random();
            write_meta(conn, "replica_id", id.as_bytes())?;
            write_meta(conn, "next_seq", &1u64.to_le_bytes())?;
            Ok(id)
        }
    }
}

/// One value of the `meta` table.
pub(super) fn read_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .optional()
    .map_err(map_sql)
}

/// Sets one value of the `meta` table.
pub(super) fn write_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )
    .map_err(map_sql)
    .map(drop)
}

/// Reads a little-endian `u64` from the `meta` table (0 when absent).
pub(super) fn read_meta_u64(conn: &Connection, key: &str) -> Result<u64> {
    match read_meta(conn, key)? {
        None => Ok(0),
        Some(bytes) => bytes
            .as_slice()
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| Error::corrupt(format!("the index holds a malformed {key}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;
    use crate::index::{FileStat, LocalChange};
    use crate::manifest::FileManifest;
    use crate::path::RelPath;
    use crate::Chunker;

    #[test]
    fn references_are_enforced_per_row_in_debug_builds_and_checked_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut index = open_index(dir.path(), IndexOptions::default()).unwrap();
            let enforced: bool = index
                .conn
                .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
                .unwrap();
            assert_eq!(enforced, cfg!(debug_assertions));
            let pragma = |name: &str| -> i64 {
                let sql = format!("PRAGMA {name}");
                index.conn.query_row(&sql, [], |row| row.get(0)).unwrap()
            };
            assert_eq!(pragma("page_size"), PAGE_SIZE);
            assert_eq!(
                pragma("wal_autocheckpoint"),
                WAL_CHECKPOINT_BYTES / PAGE_SIZE
            );
            let mut batch = index.batch().unwrap();
            batch
                .record(&LocalChange {
                    path: RelPath::new("a").unwrap(),
                    kind: EntryKind::File,
                    stat: FileStat::default(),
                    symlink_target: None,
                    manifest: Some(FileManifest::of_slice(&Chunker::default(), b"a")),
                    deleted: false,
                    racy: false,
                })
                .unwrap();
            batch.commit().unwrap();
            // A damaged index: the entry's manifest row is gone.
            index
                .conn
                .execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM manifests;")
                .unwrap();
        }
        let unchecked = IndexOptions {
            check_integrity: false,
            ..IndexOptions::default()
        };
        drop(open_index(dir.path(), unchecked).unwrap());
        let err = open_index(dir.path(), IndexOptions::default()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
        assert!(
            err.to_string()
                .contains("a row of entries names a manifest"),
            "{err}"
        );
    }
}
