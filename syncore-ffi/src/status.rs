//! `syncore_status`: the result code every fallible C function returns.

use std::ffi::{c_char, c_int};

use syncore_core::ErrorKind;

use crate::boundary::boundary_value;

/// The result of a C API call.
///
/// Codes come in numbered blocks: `SYNCORE_STATUS_OK` is 0; 1..=99 are the core's error kinds,
/// with the same stable numbers as `syncore::ErrorKind`; 100 and up are errors of the C API
/// itself. Numbers never change; new codes are only appended to a block. Whenever a call
/// returns anything but `SYNCORE_STATUS_OK`, `syncore_last_error_message()` describes it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum syncore_status {
    /// Success; out-parameters were written.
    Ok = 0,
    /// An operating-system I/O operation failed (the message names the path).
    Io = 1,
    /// A named object (chunk, path, ...) does not exist.
    NotFound = 2,
    /// An argument or value was not acceptable (the message names it).
    InvalidInput = 3,
    /// Bytes failed validation: bad checksum, truncated or malformed data, a chunk whose
    /// bytes do not hash to its id.
    Corrupt = 4,
    /// A concurrent change could not be resolved by the active policy.
    Conflict = 5,
    /// The change would exceed the configured quota.
    QuotaExceeded = 6,
    /// A resource (database, lock) is held by someone else.
    Busy = 7,
    /// The data or request needs a feature or format version this build lacks.
    Unsupported = 8,
    /// A required pointer argument was NULL (the message names it).
    NullArgument = 100,
    /// A caller-supplied output buffer is too small; the call reports the size it needs.
    BufferTooSmall = 101,
    /// A string argument (a path, a hex digest) is not valid UTF-8.
    InvalidUtf8 = 102,
    /// A callback supplied by the caller returned non-zero and the operation stopped.
    Aborted = 103,
    /// The library panicked; this is a bug in syncore. The handles involved should be freed
    /// and not used further.
    Panic = 104,
}

impl syncore_status {
    /// The status for a core error kind.
    pub fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Io => Self::Io,
            ErrorKind::NotFound => Self::NotFound,
            ErrorKind::InvalidInput => Self::InvalidInput,
            ErrorKind::Corrupt => Self::Corrupt,
            ErrorKind::Conflict => Self::Conflict,
            ErrorKind::QuotaExceeded => Self::QuotaExceeded,
            ErrorKind::Busy => Self::Busy,
            ErrorKind::Unsupported => Self::Unsupported,
        }
    }

    /// The core error kind a status stands for, if it is one of the 1..=99 block.
    pub fn to_kind(code: c_int) -> Option<ErrorKind> {
        Some(match code {
            1 => ErrorKind::Io,
            2 => ErrorKind::NotFound,
            3 => ErrorKind::InvalidInput,
            4 => ErrorKind::Corrupt,
            5 => ErrorKind::Conflict,
            6 => ErrorKind::QuotaExceeded,
            7 => ErrorKind::Busy,
            8 => ErrorKind::Unsupported,
            _ => return None,
        })
    }

    fn name(code: c_int) -> Option<&'static str> {
        Some(match code {
            0 => "ok\0",
            100 => "null_argument\0",
            101 => "buffer_too_small\0",
            102 => "invalid_utf8\0",
            103 => "aborted\0",
            104 => "panic\0",
            other => match Self::to_kind(other)? {
                ErrorKind::Io => "io\0",
                ErrorKind::NotFound => "not_found\0",
                ErrorKind::InvalidInput => "invalid_input\0",
                ErrorKind::Corrupt => "corrupt\0",
                ErrorKind::Conflict => "conflict\0",
                ErrorKind::QuotaExceeded => "quota_exceeded\0",
                ErrorKind::Busy => "busy\0",
                ErrorKind::Unsupported => "unsupported\0",
            },
        })
    }
}

/// A short lowercase name for a status code, e.g. `"corrupt"` for `SYNCORE_STATUS_CORRUPT`:
/// a static string owned by the library (never free it), or NULL for a number that is not a
/// status code. Takes an `int` so that any value is safe to pass.
#[no_mangle]
pub extern "C" fn syncore_status_name(status: c_int) -> *const c_char {
    boundary_value(std::ptr::null(), || {
        syncore_status::name(status).map_or(std::ptr::null(), |s| s.as_ptr().cast())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_core_numbers() {
        for code in 1..=8 {
            let kind = syncore_status::to_kind(code).unwrap();
            assert_eq!(kind as u8 as c_int, code);
            assert_eq!(syncore_status::from_kind(kind) as c_int, code);
            let name = syncore_status::name(code).unwrap();
            assert_eq!(name.trim_end_matches('\0'), kind.as_str());
        }
        assert!(syncore_status::name(9).is_none());
        assert!(syncore_status_name(-1).is_null());
    }
}
