//! Byte input from Python: `bytes` and anything else that exports a contiguous buffer.
//!
//! [`BytesLike`] borrows the object's memory without copying, so the core can hash it with the
//! GIL released. A `bytes` object is immutable; a mutable buffer (`bytearray`, a writable
//! `memoryview`, a NumPy array) must not be written to by another thread while a call that was
//! given it runs, exactly as with `hashlib` and `blake3`. Resizing it is refused by Python while
//! the buffer is held.

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A read-only view of a Python object's bytes, valid while this value lives.
pub(crate) enum BytesLike<'py> {
    /// A `bytes` object (immutable).
    Bytes(Bound<'py, PyBytes>),
    /// Any other object exporting a C-contiguous buffer.
    Buffer(PyUntypedBuffer),
}

impl BytesLike<'_> {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            BytesLike::Bytes(b) => b.as_bytes(),
            BytesLike::Buffer(buf) => {
                let len = buf.len_bytes();
                if len == 0 {
                    return &[];
                }
                // SAFETY: the buffer was checked to be C-contiguous when it was acquired, so
                // `len_bytes` bytes start at `buf_ptr`; the export is held (and the memory kept
                // alive and unresized) until `buf` is dropped, which outlives the borrow.
                unsafe { std::slice::from_raw_parts(buf.buf_ptr().cast::<u8>(), len) }
            }
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for BytesLike<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(BytesLike::Bytes(bytes.to_owned()));
        }
        let buf = PyUntypedBuffer::get(&obj).map_err(|_| {
            PyTypeError::new_err(format!(
                "a bytes-like object is required, not '{}'",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })?;
        if !buf.is_c_contiguous() {
            return Err(PyTypeError::new_err(
                "a C-contiguous buffer is required (use bytes(...) to copy it)",
            ));
        }
        Ok(BytesLike::Buffer(buf))
    }
}
