//! The panic boundary and argument checks every exported function goes through.
//!
//! [`boundary`] runs a function body under `catch_unwind`, turns its [`Failure`] into a
//! status code and the thread's last error message, and turns a panic into
//! `SYNCORE_STATUS_PANIC`. The `arg_*` helpers turn raw pointers from C into references,
//! failing with `SYNCORE_STATUS_NULL_ARGUMENT` (naming the parameter) instead of
//! dereferencing NULL. Out-parameters are checked up front with [`out_ptr`] and written only
//! after the work has succeeded, so a failed call leaves them untouched.

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use syncore_core::Error;

use crate::error::set_last_error;
use crate::status::syncore_status;

/// Why an exported function failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The core returned an error.
    Core(Error),
    /// A required pointer was NULL; names the parameter.
    Null(&'static str),
    /// An output buffer was too small.
    TooSmall {
        /// The parameter.
        what: &'static str,
        /// The size it needs, in bytes.
        needed: usize,
    },
    /// A string parameter was not UTF-8.
    Utf8(&'static str),
    /// A caller's callback asked to stop.
    Aborted(String),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::Core(err)
    }
}

impl Failure {
    fn status(&self) -> syncore_status {
        match self {
            Failure::Core(err) => syncore_status::from_kind(err.kind()),
            Failure::Null(_) => syncore_status::NullArgument,
            Failure::TooSmall { .. } => syncore_status::BufferTooSmall,
            Failure::Utf8(_) => syncore_status::InvalidUtf8,
            Failure::Aborted(_) => syncore_status::Aborted,
        }
    }

    fn message(self) -> String {
        match self {
            Failure::Core(err) => err.to_string(),
            Failure::Null(name) => format!("null argument: {name}"),
            Failure::TooSmall { what, needed } => {
                format!("buffer too small: {what} needs {needed} bytes")
            }
            Failure::Utf8(name) => format!("invalid UTF-8 in {name}"),
            Failure::Aborted(what) => format!("aborted: {what}"),
        }
    }
}

/// Result of an exported function's body.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

/// Runs `body` behind the panic boundary and converts its outcome to a status code, leaving
/// a message for `syncore_last_error_message` when it is not OK.
pub(crate) fn boundary(body: impl FnOnce() -> FfiResult) -> syncore_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => syncore_status::Ok,
        Ok(Err(failure)) => {
            let status = failure.status();
            set_last_error(failure.message());
            status
        }
        Err(payload) => {
            set_last_error(format!("panic in syncore: {}", panic_message(&*payload)));
            syncore_status::Panic
        }
    }
}

/// Runs an infallible `body` (a getter, a destructor) behind the panic boundary, returning
/// `on_panic` if it panics.
pub(crate) fn boundary_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        set_last_error(format!("panic in syncore: {}", panic_message(&*payload)));
        on_panic
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// A shared reference from a pointer that C says is valid or NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live, properly aligned `T` that is not mutated for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &'static str) -> FfiResult<&'a T> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid; `as_ref` handles NULL.
    unsafe { ptr.as_ref() }.ok_or(Failure::Null(name))
}

/// A mutable reference from a pointer that C says is valid or NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live, properly aligned `T` not otherwise accessed for `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &'static str) -> FfiResult<&'a mut T> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid and unaliased; `as_mut` handles NULL.
    unsafe { ptr.as_mut() }.ok_or(Failure::Null(name))
}

/// A byte slice from a pointer and a length; NULL is accepted when `len` is 0.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` readable bytes that live and stay unchanged for `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A slice of `T` from a pointer and a count; NULL is accepted when `len` is 0.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` initialized `T`s that live and stay unchanged for `'a`.
pub(crate) unsafe fn arg_slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` valid `T`s at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A UTF-8 string from a NUL-terminated C string.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &'static str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string.
    let cstr = unsafe { CStr::from_ptr(ptr) };
    cstr.to_str().map_err(|_| Failure::Utf8(name))
}

/// Checks an out-parameter before any work is done; write it with [`Out::write`] on success.
pub(crate) fn out_ptr<T>(ptr: *mut T, name: &'static str) -> FfiResult<Out<T>> {
    if ptr.is_null() {
        Err(Failure::Null(name))
    } else {
        Ok(Out(ptr))
    }
}

/// An out-parameter known not to be NULL.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// The raw pointer, for out-buffers that are filled piecewise.
    pub(crate) fn into_raw(self) -> *mut T {
        self.0
    }

    /// Writes the result (without reading or dropping what was there).
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL (checked by `out_ptr`), and every exported function documents that
        // its out-parameters point to writable storage for a `T`.
        unsafe { self.0.write(value) }
    }
}

/// An optional out-parameter: written on success when not NULL.
pub(crate) fn write_opt<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL, and the caller documents writable storage for a `T` when non-NULL.
        unsafe { ptr.write(value) }
    }
}

/// Moves `value` to the heap and hands ownership to C as an opaque handle.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or a handle of type `T` made by [`into_handle`] and not yet freed.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller guarantees the pointer came from `Box::into_raw` in `into_handle`
        // and is freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status() {
        let status = boundary(|| panic!("boom"));
        assert_eq!(status, syncore_status::Panic);
        // SAFETY: the message pointer is valid until the next failing call.
        let msg = unsafe { CStr::from_ptr(crate::error::syncore_last_error_message()) };
        assert!(msg.to_str().unwrap().contains("boom"));
        assert_eq!(boundary_value(7, || panic!("again")), 7);
    }

    #[test]
    fn null_arguments_are_named() {
        let status = boundary(|| {
            // SAFETY: NULL is always acceptable to arg_ref.
            unsafe { arg_ref::<u8>(std::ptr::null(), "store") }?;
            Ok(())
        });
        assert_eq!(status, syncore_status::NullArgument);
        // SAFETY: as above.
        let msg = unsafe { CStr::from_ptr(crate::error::syncore_last_error_message()) };
        assert_eq!(msg.to_str().unwrap(), "null argument: store");
    }
}
