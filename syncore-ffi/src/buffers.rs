//! Library-owned results handed to C: byte buffers and lists, each freed by its `_free`.
//!
//! Also the one rule for caller-owned output buffers ([`copy_out`]): when the buffer is too
//! small the call fails with `SYNCORE_STATUS_BUFFER_TOO_SMALL` and still reports the size it
//! needs through its length out-parameter, so the caller can retry.

use crate::boundary::{boundary_value, free_handle, into_handle, Failure, FfiResult, Out};
use crate::chunk::syncore_chunk;
use crate::hash::syncore_digest;

/// Bytes owned by the library (an encoded manifest, a chunk's content, ...). Read them with
/// `syncore_bytes_data` and `syncore_bytes_len`; release them with `syncore_bytes_free`.
pub struct syncore_bytes {
    pub(crate) data: Vec<u8>,
}

/// A list of digests owned by the library (chunk ids to fetch, ids in a store, ...). Read it
/// with `syncore_digest_list_data` and `syncore_digest_list_len`; release it with
/// `syncore_digest_list_free`.
pub struct syncore_digest_list {
    pub(crate) items: Vec<syncore_digest>,
}

/// A list of chunks owned by the library, in input order. Read it with
/// `syncore_chunk_list_data` and `syncore_chunk_list_len`; release it with
/// `syncore_chunk_list_free`.
pub struct syncore_chunk_list {
    pub(crate) items: Vec<syncore_chunk>,
}

/// Pointer to a vector's elements, or NULL for an empty one (never dangling for C).
fn data_ptr<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        std::ptr::null()
    } else {
        items.as_ptr()
    }
}

/// Copies `data` into a caller buffer of `cap` bytes at `buf`, reporting `data.len()` through
/// `out_len` both on success and when the buffer is too small.
pub(crate) fn copy_out(
    data: &[u8],
    buf: *mut u8,
    cap: usize,
    out_len: Out<usize>,
    what: &'static str,
) -> FfiResult {
    let needed = data.len();
    out_len.write(needed);
    if cap < needed {
        return Err(Failure::TooSmall { what, needed });
    }
    if needed > 0 {
        if buf.is_null() {
            return Err(Failure::Null(what));
        }
        // SAFETY: `buf` is non-NULL and the caller promises `cap >= needed` writable bytes;
        // `data` is a Rust slice, so the two cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, needed) };
    }
    Ok(())
}

/// Hands `data` to the caller as a library-owned `syncore_bytes` written to `out` (released
/// with `syncore_bytes_free`).
pub(crate) fn bytes_out(out: Out<*mut syncore_bytes>, data: Vec<u8>) -> FfiResult {
    out.write(into_handle(syncore_bytes { data }));
    Ok(())
}

/// The first byte of `bytes` (NULL if `bytes` is NULL or empty). The memory belongs to
/// `bytes` and stays valid until `syncore_bytes_free(bytes)`.
#[no_mangle]
pub extern "C" fn syncore_bytes_data(bytes: *const syncore_bytes) -> *const u8 {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { bytes.as_ref() }.map_or(std::ptr::null(), |b| data_ptr(&b.data))
    })
}

/// The number of bytes in `bytes` (0 if `bytes` is NULL).
#[no_mangle]
pub extern "C" fn syncore_bytes_len(bytes: *const syncore_bytes) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { bytes.as_ref() }.map_or(0, |b| b.data.len())
    })
}

/// Releases `bytes`. NULL is a no-op; freeing twice is undefined behaviour.
#[no_mangle]
pub extern "C" fn syncore_bytes_free(bytes: *mut syncore_bytes) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(bytes) })
}

/// The first digest of `list` (NULL if `list` is NULL or empty); valid until
/// `syncore_digest_list_free(list)`.
#[no_mangle]
pub extern "C" fn syncore_digest_list_data(
    list: *const syncore_digest_list,
) -> *const syncore_digest {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { list.as_ref() }.map_or(std::ptr::null(), |l| data_ptr(&l.items))
    })
}

/// The number of digests in `list` (0 if `list` is NULL).
#[no_mangle]
pub extern "C" fn syncore_digest_list_len(list: *const syncore_digest_list) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// Releases `list`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_digest_list_free(list: *mut syncore_digest_list) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(list) })
}

/// The first chunk of `list` (NULL if `list` is NULL or empty); valid until
/// `syncore_chunk_list_free(list)`.
#[no_mangle]
pub extern "C" fn syncore_chunk_list_data(list: *const syncore_chunk_list) -> *const syncore_chunk {
    boundary_value(std::ptr::null(), || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { list.as_ref() }.map_or(std::ptr::null(), |l| data_ptr(&l.items))
    })
}

/// The number of chunks in `list` (0 if `list` is NULL).
#[no_mangle]
pub extern "C" fn syncore_chunk_list_len(list: *const syncore_chunk_list) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live handle made by this library.
        unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
    })
}

/// Releases `list`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_chunk_list_free(list: *mut syncore_chunk_list) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(list) })
}
