//! The thread-local message describing the last failed call.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::boundary::boundary_value;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error (NUL bytes are replaced).
pub(crate) fn set_last_error(message: String) {
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = message);
}

/// The message describing the most recent call on this thread that returned a status other
/// than `SYNCORE_STATUS_OK` (an empty string if there was none), e.g. `"corrupt data: manifest
/// checksum mismatch"` or `"null argument: data"`.
///
/// The string is owned by the library and stays valid, unchanged, until the next call on the
/// same thread fails (or the thread exits); copy it to keep it. Never free it. Successful
/// calls leave it as it was. Never returns NULL.
#[no_mangle]
pub extern "C" fn syncore_last_error_message() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    boundary_value(EMPTY.as_ptr().cast(), || {
        // The CString lives in a thread-local and is only replaced by `set_last_error`, so the
        // pointer stays valid until the next failing call on this thread.
        LAST_ERROR.with(|slot| slot.borrow().as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn messages_are_per_thread_and_nul_safe() {
        set_last_error("bad\0thing".into());
        // SAFETY: the pointer is valid until the next failing call on this thread.
        let msg = unsafe { CStr::from_ptr(syncore_last_error_message()) };
        assert_eq!(msg.to_str().unwrap(), "bad\\0thing");
        std::thread::spawn(|| {
            // SAFETY: as above, on the other thread.
            let msg = unsafe { CStr::from_ptr(syncore_last_error_message()) };
            assert!(msg.to_bytes().is_empty());
        })
        .join()
        .unwrap();
    }
}
