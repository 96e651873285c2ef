//! The library version, as macros in the header and as a string at run time.

use std::ffi::c_char;

use crate::boundary::boundary_value;

/// Major version of the library this header belongs to.
pub const SYNCORE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const SYNCORE_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const SYNCORE_VERSION_PATCH: u32 = 0;

/// The version of the linked library, e.g. `"0.1.0"`: a static NUL-terminated string owned by
/// the library; never free it. Compare with the `SYNCORE_VERSION_*` macros to detect a header
/// and library mismatch.
#[no_mangle]
pub extern "C" fn syncore_version() -> *const c_char {
    boundary_value(std::ptr::null(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_constants_match_the_crate_version() {
        let version =
            format!("{SYNCORE_VERSION_MAJOR}.{SYNCORE_VERSION_MINOR}.{SYNCORE_VERSION_PATCH}");
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        // SAFETY: syncore_version returns a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(syncore_version()) };
        assert_eq!(s.to_str().unwrap(), version);
    }
}
