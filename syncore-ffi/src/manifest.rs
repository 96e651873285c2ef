//! File manifests: build, inspect, encode, decode, diff.

use std::ffi::c_char;

use syncore_core::{Chunk, FileManifest};

use crate::boundary::{
    arg_bytes, arg_ref, arg_slice, arg_str, boundary, boundary_value, free_handle, into_handle,
    out_ptr,
};
use crate::buffers::{bytes_out, copy_out, syncore_bytes, syncore_chunk_list, syncore_digest_list};
use crate::chunk::{syncore_chunk, syncore_chunker};
use crate::hash::{algo_from_code, syncore_digest};
use crate::status::syncore_status;

/// What a file is made of: its size, content id and ordered chunks. Immutable; released with
/// `syncore_manifest_free`.
pub struct syncore_manifest {
    pub(crate) inner: FileManifest,
}

fn manifest_out(out: crate::boundary::Out<*mut syncore_manifest>, inner: FileManifest) {
    out.write(into_handle(syncore_manifest { inner }));
}

/// Builds a manifest from `count` chunks at `chunks` (NULL only when `count` is 0) whose ids
/// were made with `algo`. The chunks must tile the file in order from offset 0 with no
/// empty chunk, else `SYNCORE_STATUS_INVALID_INPUT`. The caller owns `*out` (release with
/// `syncore_manifest_free`); it is written only on success.
#[no_mangle]
pub extern "C" fn syncore_manifest_from_chunks(
    algo: u8,
    chunks: *const syncore_chunk,
    count: usize,
    out: *mut *mut syncore_manifest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let algo = algo_from_code(algo)?;
        // SAFETY: the caller passes `count` chunks at `chunks`.
        let chunks = unsafe { arg_slice(chunks, count, "chunks") }?;
        let chunks: Vec<Chunk> = chunks.iter().map(Into::into).collect();
        manifest_out(out, FileManifest::from_chunks(algo, chunks)?);
        Ok(())
    })
}

/// Chunks `len` bytes at `data` (NULL only when `len` is 0) with `chunker` and writes their
/// manifest to `*out` (owned by the caller; written only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_of_buffer(
    chunker: *const syncore_chunker,
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_manifest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        manifest_out(out, FileManifest::of_slice(&chunker.inner, data));
        Ok(())
    })
}

/// Chunks the file at the NUL-terminated UTF-8 `path` with `chunker`, in bounded memory, and
/// writes its manifest to `*out` (owned by the caller; written only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_of_file(
    chunker: *const syncore_chunker,
    path: *const c_char,
    out: *mut *mut syncore_manifest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { arg_str(path, "path") }?;
        manifest_out(out, FileManifest::of_file(&chunker.inner, path)?);
        Ok(())
    })
}

/// The file size `manifest` describes, in bytes (0 if `manifest` is NULL).
#[no_mangle]
pub extern "C" fn syncore_manifest_size(manifest: *const syncore_manifest) -> u64 {
    boundary_value(0, || {
        // SAFETY: NULL or a live manifest.
        unsafe { manifest.as_ref() }.map_or(0, |m| m.inner.size())
    })
}

/// The number of chunks in `manifest` (0 if `manifest` is NULL).
#[no_mangle]
pub extern "C" fn syncore_manifest_chunk_count(manifest: *const syncore_manifest) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live manifest.
        unsafe { manifest.as_ref() }.map_or(0, |m| m.inner.chunks().len())
    })
}

/// The `syncore_hash_algo` of `manifest`'s ids (0 if `manifest` is NULL).
#[no_mangle]
pub extern "C" fn syncore_manifest_algo(manifest: *const syncore_manifest) -> u8 {
    boundary_value(0, || {
        // SAFETY: NULL or a live manifest.
        unsafe { manifest.as_ref() }.map_or(0, |m| m.inner.algo().code())
    })
}

/// Writes the content id of the file `manifest` describes to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_content_id(
    manifest: *const syncore_manifest,
    out: *mut syncore_digest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live manifest.
        let manifest = unsafe { arg_ref(manifest, "manifest") }?;
        out.write(manifest.inner.content_id().into());
        Ok(())
    })
}

/// Writes a copy of `manifest`'s chunks, in file order, to `*out` (owned by the caller,
/// released with `syncore_chunk_list_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_chunks(
    manifest: *const syncore_manifest,
    out: *mut *mut syncore_chunk_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live manifest.
        let manifest = unsafe { arg_ref(manifest, "manifest") }?;
        let items = manifest.inner.chunks().iter().map(Into::into).collect();
        out.write(into_handle(syncore_chunk_list { items }));
        Ok(())
    })
}

/// Encodes `manifest` (versioned, checksummed bytes) into the caller's buffer `buf` of
/// `buf_len` bytes.
///
/// `*out_len` receives the encoded size both on success and when the call fails with
/// `SYNCORE_STATUS_BUFFER_TOO_SMALL` (then nothing is written to `buf`), so a first call with
/// `buf = NULL, buf_len = 0` asks for the size. `out_len` must not be NULL.
#[no_mangle]
pub extern "C" fn syncore_manifest_encode(
    manifest: *const syncore_manifest,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> syncore_status {
    boundary(|| {
        let out_len = out_ptr(out_len, "out_len")?;
        // SAFETY: NULL or a live manifest.
        let manifest = unsafe { arg_ref(manifest, "manifest") }?;
        copy_out(&manifest.inner.encode(), buf, buf_len, out_len, "buf")
    })
}

/// Encodes `manifest` into a library-owned buffer written to `*out` (released with
/// `syncore_bytes_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_encode_bytes(
    manifest: *const syncore_manifest,
    out: *mut *mut syncore_bytes,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live manifest.
        let manifest = unsafe { arg_ref(manifest, "manifest") }?;
        bytes_out(out, manifest.inner.encode())
    })
}

/// Decodes a manifest from `len` bytes at `data` (as made by `syncore_manifest_encode`).
/// Damaged or truncated input fails with `SYNCORE_STATUS_CORRUPT`, an unknown format version
/// with `SYNCORE_STATUS_UNSUPPORTED`; no input crashes. The caller owns `*out` (written only
/// on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_manifest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        manifest_out(out, FileManifest::decode(data)?);
        Ok(())
    })
}

/// The ids of the chunks a replica holding `older` must fetch to build `newer`: each id of
/// `newer` that `older` lacks, once, in `newer`'s order. Written to `*out` (owned by the
/// caller, released with `syncore_digest_list_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_manifest_diff(
    older: *const syncore_manifest,
    newer: *const syncore_manifest,
    out: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or live manifests.
        let older = unsafe { arg_ref(older, "older") }?;
        // SAFETY: as above.
        let newer = unsafe { arg_ref(newer, "newer") }?;
        let items = older
            .inner
            .diff(&newer.inner)
            .into_iter()
            .map(Into::into)
            .collect();
        out.write(into_handle(syncore_digest_list { items }));
        Ok(())
    })
}

/// Releases `manifest`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_manifest_free(manifest: *mut syncore_manifest) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(manifest) })
}
