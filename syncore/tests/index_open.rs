//! Opening the index strictly: corrupt, newer-schema and locked databases are refused with
//! the right error kind and are never re-created.

use std::fs;

use syncore::index::{Index, IndexOptions, DB_FILE_NAME, SCHEMA_VERSION};
use syncore::ErrorKind;

#[test]
fn creates_once_and_keeps_the_replica_id() {
    let dir = tempfile::tempdir().unwrap();
    let id = Index::open(dir.path(), IndexOptions::default())
        .unwrap()
        .replica_id();
    let again = Index::open(dir.path(), IndexOptions::default()).unwrap();
    assert_eq!(again.replica_id(), id);
    assert_eq!(again.last_seq().unwrap(), 0);
}

#[test]
fn garbage_file_is_corrupt_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE_NAME);
    fs::write(&db, b"this is not a database at all, just some bytes").unwrap();
    let err = Index::open(dir.path(), IndexOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(
        fs::read(&db).unwrap(),
        b"this is not a database at all, just some bytes"
    );
}

#[test]
fn damaged_pages_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
        for i in 0..50 {
            index
                .set_peer_cursor(&format!("peer-{i:04}-{}", "x".repeat(200)), i)
                .unwrap();
        }
    }
    let db = dir.path().join(DB_FILE_NAME);
    let mut bytes = fs::read(&db).unwrap();
    assert!(bytes.len() > 8192, "{}", bytes.len());
    // Keep the 100-byte header, smash the rest of page 1 and all of page 2 onwards.
    for b in bytes.iter_mut().skip(100) {
        *b = 0xA5;
    }
    fs::write(&db, &bytes).unwrap();
    let err = Index::open(dir.path(), IndexOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    assert_eq!(
        fs::read(&db).unwrap(),
        bytes,
        "a corrupt database is never rewritten"
    );
}

#[test]
fn newer_schema_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    drop(Index::open(dir.path(), IndexOptions::default()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Index::open(dir.path(), IndexOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

#[test]
fn second_open_is_busy_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = Index::open(dir.path(), IndexOptions::default()).unwrap();
    let err = Index::open(dir.path(), IndexOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    let raw = rusqlite::Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    let read = raw.query_row("SELECT COUNT(*) FROM entries", [], |r| r.get::<_, i64>(0));
    assert!(
        read.is_err(),
        "another connection must not read a locked index"
    );
    drop(raw);
    drop(first);
    Index::open(dir.path(), IndexOptions::default()).unwrap();
}

#[test]
fn a_different_hash_algorithm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Index::open(dir.path(), IndexOptions::default()).unwrap());
    let options = IndexOptions {
        algo: syncore::HashAlgo::Sha256,
        ..IndexOptions::default()
    };
    let err = Index::open(dir.path(), options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn peer_cursors_only_move_forward() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::open(dir.path(), IndexOptions::default()).unwrap();
    assert_eq!(index.peer_cursor("b").unwrap(), 0);
    index.set_peer_cursor("b", 7).unwrap();
    index.set_peer_cursor("b", 3).unwrap();
    assert_eq!(index.peer_cursor("b").unwrap(), 7);
    assert_eq!(index.peers().unwrap(), vec![("b".to_owned(), 7)]);
}

/// Set in the child process of [`an_index_held_by_another_process_is_busy`]: the state
/// directory whose index the child holds open until its stdin closes.
const HOLDER_ENV: &str = "SYNCORE_TEST_HOLD_INDEX";

#[test]
fn an_index_held_by_another_process_is_busy() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    if let Some(dir) = std::env::var_os(HOLDER_ENV) {
        // The child: hold the index until the parent closes our stdin.
        let _held = Index::open(&dir, IndexOptions::default()).unwrap();
        println!("holding");
        std::io::stdout().flush().unwrap();
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let id = Index::open(dir.path(), IndexOptions::default())
        .unwrap()
        .replica_id();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_index_held_by_another_process_is_busy",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLDER_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("holding") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the holder exited early"
        );
    }
    let err = Index::open(dir.path(), IndexOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    assert!(err.to_string().contains("in use"), "{err}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // Released with the process: the index opens again, nothing was re-created.
    let again = Index::open(dir.path(), IndexOptions::default()).unwrap();
    assert_eq!(again.replica_id(), id);
}
