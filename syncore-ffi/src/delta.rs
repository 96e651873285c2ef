//! rsync-style deltas in librsync's formats (interoperable with `rdiff`): signatures, deltas
//! and patches, for buffers and for files.

use std::ffi::c_char;
use std::path::Path;

use syncore_core::delta::{self, DeltaStats, Signature, SignatureMagic, SignatureOptions};

use crate::boundary::{
    arg_bytes, arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle, out_ptr,
    write_opt, FfiResult,
};
use crate::buffers::{bytes_out, copy_out, syncore_bytes};
use crate::status::syncore_status;

/// How to build a signature. Zeroed fields mean "the default", so `{0}` is `rdiff signature`'s
/// behaviour.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_signature_options {
    /// The librsync signature magic naming the format: 0 for the default (RabinKarp +
    /// BLAKE2b, `0x72730147`), or `0x72730137` (rollsum + BLAKE2b), `0x72730136` (rollsum +
    /// MD4, the original format) or `0x72730146` (RabinKarp + MD4).
    pub magic: u32,
    /// Block length in bytes; 0 picks librsync's recommendation for the basis size.
    pub block_len: u32,
    /// Strong-sum length in bytes; 0 keeps the whole hash.
    pub strong_len: u32,
}

fn signature_options(o: *const syncore_signature_options) -> FfiResult<SignatureOptions> {
    // SAFETY: NULL or a valid options struct, per the header.
    let o = unsafe { o.as_ref() }.copied().unwrap_or_default();
    Ok(SignatureOptions {
        magic: match o.magic {
            0 => SignatureMagic::default(),
            m => SignatureMagic::from_u32(m)?,
        },
        block_len: (o.block_len != 0).then_some(o.block_len),
        strong_len: (o.strong_len != 0).then_some(o.strong_len),
    })
}

/// The signature of a basis: per-block weak and strong sums, indexed for delta generation.
/// Immutable; may be shared between threads. Released with `syncore_signature_free`.
pub struct syncore_signature {
    inner: Signature,
}

/// What a delta generation did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_delta_stats {
    /// Bytes read from the new file.
    pub new_len: u64,
    /// Bytes of delta written, header and end marker included.
    pub delta_len: u64,
    /// New-file bytes sent as literals.
    pub literal_bytes: u64,
    /// New-file bytes expressed as copies from the basis.
    pub copy_bytes: u64,
}

impl From<DeltaStats> for syncore_delta_stats {
    fn from(s: DeltaStats) -> Self {
        syncore_delta_stats {
            new_len: s.new_len,
            delta_len: s.delta_len,
            literal_bytes: s.literal_bytes,
            copy_bytes: s.copy_bytes,
        }
    }
}

/// Computes the signature of the `len` bytes of basis at `basis` (NULL only when `len` is 0)
/// under `*options` (NULL: defaults) and writes it to `*out` (owned by the caller, released
/// with `syncore_signature_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_signature_new(
    basis: *const u8,
    len: usize,
    options: *const syncore_signature_options,
    out: *mut *mut syncore_signature,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes at `basis`.
        let basis = unsafe { arg_bytes(basis, len, "basis") }?;
        let options = signature_options(options)?;
        out.write(into_handle(syncore_signature {
            inner: delta::signature_of(basis, &options)?,
        }));
        Ok(())
    })
}

/// Decodes a signature in librsync's format (as written by `rdiff signature` or
/// `syncore_signature_encode`) from `len` bytes at `data`. Damaged input fails with
/// `SYNCORE_STATUS_CORRUPT` and never crashes. The caller owns `*out` (written only on
/// success).
#[no_mangle]
pub extern "C" fn syncore_signature_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_signature,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        out.write(into_handle(syncore_signature {
            inner: Signature::decode(data)?,
        }));
        Ok(())
    })
}

/// Encodes `signature` in librsync's format into the caller's buffer `buf` of `buf_len`
/// bytes. `*out_len` receives the encoded size on success and with
/// `SYNCORE_STATUS_BUFFER_TOO_SMALL` (then `buf` is untouched); `out_len` must not be NULL.
#[no_mangle]
pub extern "C" fn syncore_signature_encode(
    signature: *const syncore_signature,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> syncore_status {
    boundary(|| {
        let out_len = out_ptr(out_len, "out_len")?;
        // SAFETY: NULL or a live signature.
        let signature = unsafe { arg_ref(signature, "signature") }?;
        copy_out(&signature.inner.encode(), buf, buf_len, out_len, "buf")
    })
}

/// The block length of `signature` in bytes (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_signature_block_len(signature: *const syncore_signature) -> u32 {
    boundary_value(0, || {
        // SAFETY: NULL or a live signature.
        unsafe { signature.as_ref() }.map_or(0, |s| s.inner.block_len())
    })
}

/// The number of blocks `signature` describes (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_signature_block_count(signature: *const syncore_signature) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live signature.
        unsafe { signature.as_ref() }.map_or(0, |s| s.inner.block_count())
    })
}

/// Releases `signature`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_signature_free(signature: *mut syncore_signature) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(signature) })
}

/// Computes the delta (librsync format) that turns the basis described by `signature` into
/// the `len` bytes at `data`, and writes it to `*out` (owned by the caller, released with
/// `syncore_bytes_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_delta_new(
    signature: *const syncore_signature,
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_bytes,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live signature.
        let signature = unsafe { arg_ref(signature, "signature") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        bytes_out(out, delta::delta(&signature.inner, data)?)
    })
}

/// Rebuilds the new file from the `basis_len` bytes at `basis` and the `delta_len` bytes of
/// delta at `delta`, refusing to produce more than `limit` bytes (`UINT64_MAX`: no limit), and
/// writes it to `*out` (owned by the caller; written only on success). A damaged delta, or a
/// COPY outside the basis, fails with `SYNCORE_STATUS_CORRUPT`; going over `limit` with
/// `SYNCORE_STATUS_INVALID_INPUT`.
#[no_mangle]
pub extern "C" fn syncore_delta_patch(
    basis: *const u8,
    basis_len: usize,
    delta: *const u8,
    delta_len: usize,
    limit: u64,
    out: *mut *mut syncore_bytes,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `basis_len` readable bytes at `basis`.
        let basis = unsafe { arg_bytes(basis, basis_len, "basis") }?;
        // SAFETY: the caller passes `delta_len` readable bytes at `delta`.
        let delta_bytes = unsafe { arg_bytes(delta, delta_len, "delta") }?;
        let limit = (limit != u64::MAX).then_some(limit);
        bytes_out(out, delta::patch(basis, delta_bytes, limit)?)
    })
}

fn path_arg<'a>(ptr: *const c_char, name: &'static str) -> FfiResult<&'a Path> {
    // SAFETY: NULL or a NUL-terminated string, per the header.
    Ok(Path::new(unsafe { arg_str(ptr, name) }?))
}

/// Writes the signature of the file at `basis_path` to the file at `signature_path`, like
/// `rdiff signature` (`options` NULL: its defaults), streaming in bounded memory. On success
/// writes the signature's size to `*out_len` (may be NULL).
#[no_mangle]
pub extern "C" fn syncore_signature_file(
    basis_path: *const c_char,
    options: *const syncore_signature_options,
    signature_path: *const c_char,
    out_len: *mut u64,
) -> syncore_status {
    boundary(|| {
        let basis = path_arg(basis_path, "basis_path")?;
        let signature = path_arg(signature_path, "signature_path")?;
        let options = signature_options(options)?;
        write_opt(out_len, delta::signature_file(basis, &options, signature)?);
        Ok(())
    })
}

/// Writes the delta of the file at `new_path` against the signature file at `signature_path`
/// to the file at `delta_path`, like `rdiff delta`. On success writes what it did to
/// `*out_stats` (may be NULL).
#[no_mangle]
pub extern "C" fn syncore_delta_file(
    signature_path: *const c_char,
    new_path: *const c_char,
    delta_path: *const c_char,
    out_stats: *mut syncore_delta_stats,
) -> syncore_status {
    boundary(|| {
        let signature = path_arg(signature_path, "signature_path")?;
        let new = path_arg(new_path, "new_path")?;
        let delta_out = path_arg(delta_path, "delta_path")?;
        write_opt(
            out_stats,
            delta::delta_file(signature, new, delta_out)?.into(),
        );
        Ok(())
    })
}

/// Rebuilds the file at `out_path` from the file at `basis_path` and the delta file at
/// `delta_path`, like `rdiff patch`, producing at most `limit` bytes (`UINT64_MAX`: no
/// limit). On success writes the new file's size to `*out_len` (may be NULL).
#[no_mangle]
pub extern "C" fn syncore_delta_patch_file(
    basis_path: *const c_char,
    delta_path: *const c_char,
    out_path: *const c_char,
    limit: u64,
    out_len: *mut u64,
) -> syncore_status {
    boundary(|| {
        let basis = path_arg(basis_path, "basis_path")?;
        let delta_in = path_arg(delta_path, "delta_path")?;
        let out = path_arg(out_path, "out_path")?;
        let limit = (limit != u64::MAX).then_some(limit);
        write_opt(out_len, delta::patch_file(basis, delta_in, out, limit)?);
        Ok(())
    })
}
