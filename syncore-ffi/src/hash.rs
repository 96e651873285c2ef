//! Digests, hex, hash algorithms and an incremental hasher.

use std::ffi::c_char;

use syncore_core::{Digest, Error, HashAlgo, Hasher};

use crate::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle,
    out_ptr, Failure,
};
use crate::status::syncore_status;

/// Length of a digest in bytes.
pub const SYNCORE_DIGEST_LEN: usize = 32;
/// Buffer size `syncore_digest_to_hex` needs: 64 hex characters and a NUL.
pub const SYNCORE_DIGEST_HEX_SIZE: usize = 65;

/// A 32-byte content digest (a chunk id, a content id). A plain value: copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct syncore_digest {
    /// The raw digest bytes.
    pub bytes: [u8; SYNCORE_DIGEST_LEN],
}

impl From<Digest> for syncore_digest {
    fn from(d: Digest) -> Self {
        syncore_digest {
            bytes: *d.as_bytes(),
        }
    }
}

impl From<syncore_digest> for Digest {
    fn from(d: syncore_digest) -> Self {
        Digest::from_bytes(d.bytes)
    }
}

/// Hash algorithms, with the same codes as syncore's binary formats. Functions take an
/// algorithm as a `uint8_t` holding one of these values and reject any other value with
/// `SYNCORE_STATUS_INVALID_INPUT`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_hash_algo {
    /// BLAKE3, the default.
    Blake3 = 1,
    /// SHA-256, for SHA-256 content-addressed systems.
    Sha256 = 2,
}

/// The core algorithm for a C algorithm code.
pub(crate) fn algo_from_code(code: u8) -> Result<HashAlgo, Failure> {
    HashAlgo::from_code(code).map_err(|_| {
        Failure::Core(Error::InvalidInput(format!(
            "algo: {code} is not a syncore_hash_algo (1 = BLAKE3, 2 = SHA-256)"
        )))
    })
}

/// The name of hash algorithm `algo`, `"blake3"` or `"sha256"`: a static string (never free
/// it), or NULL if `algo` is not a `syncore_hash_algo`.
#[no_mangle]
pub extern "C" fn syncore_hash_algo_name(algo: u8) -> *const c_char {
    boundary_value(std::ptr::null(), || match HashAlgo::from_code(algo) {
        Ok(HashAlgo::Blake3) => c"blake3".as_ptr(),
        Ok(HashAlgo::Sha256) => c"sha256".as_ptr(),
        Err(_) => std::ptr::null(),
    })
}

/// Hashes `len` bytes at `data` with `algo` and writes the digest to `*out`.
///
/// `data` may be NULL only when `len` is 0. `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_hash(
    algo: u8,
    data: *const u8,
    len: usize,
    out: *mut syncore_digest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let algo = algo_from_code(algo)?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        out.write(algo.digest(data).into());
        Ok(())
    })
}

/// Writes `digest` as 64 lowercase hex characters and a NUL into `out_hex`, which has room
/// for `out_hex_len` bytes (at least `SYNCORE_DIGEST_HEX_SIZE`, else
/// `SYNCORE_STATUS_BUFFER_TOO_SMALL` and nothing is written).
#[no_mangle]
pub extern "C" fn syncore_digest_to_hex(
    digest: *const syncore_digest,
    out_hex: *mut c_char,
    out_hex_len: usize,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a valid digest.
        let digest = unsafe { arg_ref(digest, "digest") }?;
        let out = out_ptr(out_hex, "out_hex")?;
        if out_hex_len < SYNCORE_DIGEST_HEX_SIZE {
            return Err(Failure::TooSmall {
                what: "out_hex",
                needed: SYNCORE_DIGEST_HEX_SIZE,
            });
        }
        let hex = Digest::from(*digest).to_hex();
        let dst = out.into_raw().cast::<u8>();
        // SAFETY: `dst` is non-NULL with room for SYNCORE_DIGEST_HEX_SIZE bytes (checked
        // above); `hex` is 64 bytes of our own memory.
        unsafe {
            std::ptr::copy_nonoverlapping(hex.as_ptr(), dst, hex.len());
            dst.add(hex.len()).write(0);
        }
        Ok(())
    })
}

/// Parses a NUL-terminated string of 64 hex characters (either case) into `*out`.
///
/// Fails with `SYNCORE_STATUS_INVALID_UTF8` or `SYNCORE_STATUS_INVALID_INPUT` for anything
/// else. `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_digest_from_hex(
    hex: *const c_char,
    out: *mut syncore_digest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a NUL-terminated string.
        let hex = unsafe { arg_str(hex, "hex") }?;
        out.write(Digest::from_hex(hex)?.into());
        Ok(())
    })
}

/// An incremental hasher: `syncore_hasher_new`, any number of `syncore_hasher_update`, then
/// `syncore_hasher_finalize` (which may be called again after more updates). Released with
/// `syncore_hasher_free`.
pub struct syncore_hasher {
    inner: Hasher,
}

/// Creates a hasher for `algo` and writes it to `*out`; the caller owns it and releases it with
/// `syncore_hasher_free`. `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_hasher_new(algo: u8, out: *mut *mut syncore_hasher) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let algo = algo_from_code(algo)?;
        out.write(into_handle(syncore_hasher {
            inner: algo.hasher(),
        }));
        Ok(())
    })
}

/// Feeds `len` bytes at `data` (NULL only when `len` is 0) to `hasher`.
#[no_mangle]
pub extern "C" fn syncore_hasher_update(
    hasher: *mut syncore_hasher,
    data: *const u8,
    len: usize,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live hasher, not used concurrently (documented in the header).
        let hasher = unsafe { arg_mut(hasher, "hasher") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        hasher.inner.update(data);
        Ok(())
    })
}

/// Writes the digest of everything fed so far to `*out` (written only on success).
#[no_mangle]
pub extern "C" fn syncore_hasher_finalize(
    hasher: *const syncore_hasher,
    out: *mut syncore_digest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live hasher.
        let hasher = unsafe { arg_ref(hasher, "hasher") }?;
        out.write(hasher.inner.finalize().into());
        Ok(())
    })
}

/// Releases `hasher`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_hasher_free(hasher: *mut syncore_hasher) {
    // SAFETY: NULL or a handle made by syncore_hasher_new and not yet freed.
    boundary_value((), || unsafe { free_handle(hasher) })
}
