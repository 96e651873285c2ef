//! Translation between SQLite and syncore's vocabulary.
//!
//! This file owns the mapping of `rusqlite` errors to [`Error`] kinds (busy and locked
//! databases become [`ErrorKind::Busy`](crate::ErrorKind::Busy), damaged ones
//! [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt)) and the conversion of stored columns
//! back into typed values, rejecting anything malformed as corrupt. It never runs queries of
//! its own.

use rusqlite::ErrorCode;

use crate::error::Error;
use crate::hash::Digest;

/// Maps a SQLite error to the syncore error of the matching kind.
pub fn map_sql(err: rusqlite::Error) -> Error {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => Error::Busy(format!(
            "the index database is in use by another process or connection ({err})"
        )),
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
            Error::Corrupt(format!("the index database is damaged ({err})"))
        }
        Some(ErrorCode::DiskFull) => Error::io_stream(std::io::Error::other(format!(
            "index database: disk full ({err})"
        ))),
        _ => Error::Io {
            path: None,
            source: std::io::Error::other(format!("index database: {err}")),
        },
    }
}

/// A digest read from a BLOB column.
pub fn digest_from_blob(bytes: &[u8]) -> Result<Digest, Error> {
    Digest::from_slice(bytes).map_err(|_| Error::corrupt("index holds a malformed digest"))
}

/// An optional digest read from a nullable BLOB column.
pub fn opt_digest(bytes: Option<Vec<u8>>) -> Result<Option<Digest>, Error> {
    bytes.as_deref().map(digest_from_blob).transpose()
}

/// A non-negative integer column as `u64`.
pub fn to_u64(value: i64) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| Error::corrupt("index holds a negative count"))
}

/// A `u64` as SQLite's signed integer, refusing values that do not fit.
pub fn to_i64(value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::invalid(format!("{value} is too large to index")))
}

/// A path read from a TEXT column, refusing anything that is not a valid replica path.
pub fn stored_path(value: rusqlite::types::ValueRef<'_>) -> Result<crate::path::RelPath, Error> {
    let text = value
        .as_str()
        .map_err(|_| Error::corrupt("index holds a path that is not text"))?;
    crate::path::RelPath::new(text)
        .map_err(|e| Error::corrupt(format!("index holds an invalid path: {e}")))
}
