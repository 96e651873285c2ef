//! One error type for the whole engine.
//!
//! Every fallible function in syncore returns [`Result<T>`], whose error is [`Error`]. Each
//! variant has a stable [`ErrorKind`] that the C API maps to a status code and the Python
//! package maps to an exception class, so callers can branch on the kind without parsing
//! messages. I/O errors carry the path they happened on whenever there is one. This module
//! never decides policy: it only describes what went wrong.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Shorthand for `std::result::Result<T, syncore::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable category of an [`Error`].
///
/// The numeric values are part of the C ABI and never change; new kinds are only appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorKind {
    /// An operating-system I/O operation failed.
    Io = 1,
    /// A named object (chunk, path, version, ...) does not exist.
    NotFound = 2,
    /// The caller passed a parameter or value that is not acceptable.
    InvalidInput = 3,
    /// Stored or received bytes failed validation (bad checksum, truncated, malformed).
    Corrupt = 4,
    /// Two replicas changed the same thing concurrently and policy refused to pick.
    Conflict = 5,
    /// The change would exceed the configured quota.
    QuotaExceeded = 6,
    /// A resource (database, lock) is held by someone else.
    Busy = 7,
    /// The data or request needs a feature or format version this build does not have.
    Unsupported = 8,
}

impl ErrorKind {
    /// A short lowercase name for the kind, e.g. `"corrupt"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Conflict => "conflict",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::Busy => "busy",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in syncore.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed, on `path` when the operation had one.
    #[error("{}: {source}", path.as_deref().map_or_else(|| "I/O error".to_owned(), |p| p.display().to_string()))]
    Io {
        /// The file or directory involved, if any.
        path: Option<PathBuf>,
        /// The underlying operating-system error.
        #[source]
        source: io::Error,
    },
    /// A named object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A caller-supplied parameter or value was rejected; the message names it.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Bytes failed validation; the message says what was wrong and where.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A concurrent change could not be resolved by the active policy.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The change would exceed the configured quota.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// A resource is held by someone else.
    #[error("busy: {0}")]
    Busy(String),
    /// A feature or format version this build does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl Error {
    /// The stable category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Corrupt(_) => ErrorKind::Corrupt,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::QuotaExceeded(_) => ErrorKind::QuotaExceeded,
            Error::Busy(_) => ErrorKind::Busy,
            Error::Unsupported(_) => ErrorKind::Unsupported,
        }
    }

    /// An I/O error that happened on `path`.
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            path: Some(path.as_ref().to_path_buf()),
            source,
        }
    }

    /// An I/O error on a stream that has no path (a reader or writer given by the caller).
    pub fn io_stream(source: io::Error) -> Self {
        Error::Io { path: None, source }
    }

    /// The path an I/O error happened on, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    /// The operating-system error number of an I/O error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    /// Shorthand for [`Error::Corrupt`].
    pub(crate) fn corrupt(msg: impl Into<String>) -> Self {
        Error::Corrupt(msg.into())
    }
}

/// Attaches a path to `std::io` results.
pub(crate) trait IoResultExt<T> {
    /// Converts an `io::Error` into [`Error::Io`] carrying `path`.
    fn at_path(self, path: &Path) -> Result<T>;
}

impl<T> IoResultExt<T> for io::Result<T> {
    fn at_path(self, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_their_path() {
        let err = Error::io("/data/a.txt", io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.path(), Some(Path::new("/data/a.txt")));
        assert!(err.to_string().starts_with("/data/a.txt: "), "{err}");
    }

    #[test]
    fn kinds_have_stable_codes_and_names() {
        assert_eq!(ErrorKind::Io as u8, 1);
        assert_eq!(ErrorKind::Unsupported as u8, 8);
        assert_eq!(Error::corrupt("x").kind().as_str(), "corrupt");
        assert_eq!(
            Error::invalid("min_size").to_string(),
            "invalid input: min_size"
        );
    }
}
