//! Chunkers and chunking: buffers, files, and a push stream with a C callback.

use std::ffi::{c_char, c_int, c_void};

use syncore_core::chunk::ChunkStream;
use syncore_core::{Chunk, Chunker, ChunkerConfig, Error};

use crate::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle,
    out_ptr, Failure, FfiResult,
};
use crate::buffers::syncore_chunk_list;
use crate::hash::{algo_from_code, syncore_digest, syncore_hash_algo};
use crate::status::syncore_status;

/// One chunk of an input: its id (the digest of its bytes), where it starts and its length.
/// A plain value: copy it freely. The struct has tail padding: compare chunks field by field,
/// not with `memcmp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_chunk {
    /// Digest of the chunk's bytes.
    pub id: syncore_digest,
    /// Offset of the chunk's first byte in the input.
    pub offset: u64,
    /// Length in bytes; never 0 for a chunk the library produced.
    pub len: u32,
}

impl From<&Chunk> for syncore_chunk {
    fn from(c: &Chunk) -> Self {
        syncore_chunk {
            id: c.id.into(),
            offset: c.offset,
            len: c.len,
        }
    }
}

impl From<&syncore_chunk> for Chunk {
    fn from(c: &syncore_chunk) -> Self {
        Chunk {
            id: c.id.into(),
            offset: c.offset,
            len: c.len,
        }
    }
}

/// How a chunker cuts bytes: the `kind` field of `syncore_chunker_config`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_chunking {
    /// Content-defined chunking with FastCDC (2020), boundary-identical to the `fastcdc`
    /// crate: uses `min_size`, `avg_size`, `max_size` and `level`.
    Fastcdc = 1,
    /// Fixed-size blocks of `fixed_size` bytes (the last one may be shorter).
    Fixed = 2,
}

/// Parameters for `syncore_chunker_new`. Start from `syncore_chunker_config_default` and
/// change what you need; every value is validated when the chunker is made.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct syncore_chunker_config {
    /// A `syncore_chunking` value.
    pub kind: u8,
    /// FastCDC normalization level, 0..=3 (default 1).
    pub level: u8,
    /// A `syncore_hash_algo` value for chunk ids (default BLAKE3).
    pub algo: u8,
    /// FastCDC smallest chunk except the last, even, 64..=1 MiB (default 16 KiB).
    pub min_size: u32,
    /// FastCDC target average, even, 256..=4 MiB (default 64 KiB).
    pub avg_size: u32,
    /// FastCDC largest chunk, even, 1 KiB..=16 MiB (default 256 KiB).
    pub max_size: u32,
    /// Block size for `SYNCORE_CHUNKING_FIXED`, 1..=16 MiB (default 64 KiB).
    pub fixed_size: u32,
    /// Threads one call may use; 0 (the default) means one per core.
    pub threads: u32,
}

impl Default for syncore_chunker_config {
    fn default() -> Self {
        let (min_size, avg_size, max_size, level) = match ChunkerConfig::default() {
            ChunkerConfig::FastCdc {
                min_size,
                avg_size,
                max_size,
                level,
            } => (min_size, avg_size, max_size, level),
            ChunkerConfig::Fixed { .. } => (16 << 10, 64 << 10, 256 << 10, 1),
        };
        syncore_chunker_config {
            kind: syncore_chunking::Fastcdc as u8,
            level,
            algo: syncore_hash_algo::Blake3 as u8,
            min_size,
            avg_size,
            max_size,
            fixed_size: 64 << 10,
            threads: 0,
        }
    }
}

/// A validated chunker: cuts and hashes bytes. Immutable once made, so one chunker may be used
/// from several threads at once. Released with `syncore_chunker_free`.
pub struct syncore_chunker {
    pub(crate) inner: Chunker,
}

/// Writes the default configuration (FastCDC 16/64/256 KiB, level 1, BLAKE3, all cores) to
/// `*out` (written only on success).
#[no_mangle]
pub extern "C" fn syncore_chunker_config_default(
    out: *mut syncore_chunker_config,
) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write(syncore_chunker_config::default());
        Ok(())
    })
}

/// A validated chunker for a C configuration.
pub(crate) fn chunker_from_config(c: &syncore_chunker_config) -> FfiResult<Chunker> {
    let config = match c.kind {
        1 => ChunkerConfig::FastCdc {
            min_size: c.min_size,
            avg_size: c.avg_size,
            max_size: c.max_size,
            level: c.level,
        },
        2 => ChunkerConfig::fixed(c.fixed_size),
        other => {
            return Err(Error::InvalidInput(format!(
                "kind: {other} is not a syncore_chunking (1 = FastCDC, 2 = fixed)"
            ))
            .into())
        }
    };
    let chunker = Chunker::new(config, algo_from_code(c.algo)?)?;
    Ok(match c.threads {
        0 => chunker,
        n => chunker.with_threads(n as usize)?,
    })
}

/// Makes a chunker from `*config` (NULL for the defaults) and writes it to `*out`; the caller
/// owns it and releases it with `syncore_chunker_free`. Invalid parameters fail with
/// `SYNCORE_STATUS_INVALID_INPUT` and a message naming the parameter. `*out` is written only
/// on success.
#[no_mangle]
pub extern "C" fn syncore_chunker_new(
    config: *const syncore_chunker_config,
    out: *mut *mut syncore_chunker,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a valid config struct.
        let config = unsafe { config.as_ref() }.copied().unwrap_or_default();
        let inner = chunker_from_config(&config)?;
        out.write(into_handle(syncore_chunker { inner }));
        Ok(())
    })
}

/// Releases `chunker`. NULL is a no-op. Streams made from it stay usable (they own a copy).
#[no_mangle]
pub extern "C" fn syncore_chunker_free(chunker: *mut syncore_chunker) {
    // SAFETY: NULL or a handle made by syncore_chunker_new and not yet freed.
    boundary_value((), || unsafe { free_handle(chunker) })
}

/// Chunks and hashes `len` bytes at `data` (NULL only when `len` is 0) on all the chunker's
/// threads, and writes the list of chunks, in order, to `*out`; the caller owns the list and
/// releases it with `syncore_chunk_list_free`. `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_chunker_chunk_buffer(
    chunker: *const syncore_chunker,
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_chunk_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        let items = chunker
            .inner
            .chunk_slice(data)
            .iter()
            .map(Into::into)
            .collect();
        out.write(into_handle(syncore_chunk_list { items }));
        Ok(())
    })
}

/// Chunks the file at the NUL-terminated UTF-8 `path` in bounded memory and writes the list
/// of its chunks to `*out` (owned by the caller, released with `syncore_chunk_list_free`).
/// `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_chunker_chunk_file(
    chunker: *const syncore_chunker,
    path: *const c_char,
    out: *mut *mut syncore_chunk_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { arg_str(path, "path") }?;
        let items = chunker
            .inner
            .chunk_file(path)?
            .iter()
            .map(Into::into)
            .collect();
        out.write(into_handle(syncore_chunk_list { items }));
        Ok(())
    })
}

/// Receives one chunk and its bytes.
///
/// `chunk` and `bytes` (`len` bytes, equal to `chunk->len`) belong to the library and are
/// valid only during the call; copy what you keep. Return 0 to go on, anything else to stop:
/// the call that invoked the callback then returns `SYNCORE_STATUS_ABORTED`.
pub type syncore_chunk_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        chunk: *const syncore_chunk,
        bytes: *const u8,
        len: usize,
    ) -> c_int,
>;

/// Adapts a C callback to the core's `on_chunk` closures.
fn call_back(
    callback: unsafe extern "C" fn(*mut c_void, *const syncore_chunk, *const u8, usize) -> c_int,
    userdata: *mut c_void,
    aborted: &mut Option<c_int>,
) -> impl FnMut(&Chunk, &[u8]) -> syncore_core::Result<()> + '_ {
    move |chunk, bytes| {
        let c = syncore_chunk::from(chunk);
        // SAFETY: the caller supplied a valid function; `c` and `bytes` outlive the call.
        let rc = unsafe { callback(userdata, &c, bytes.as_ptr(), bytes.len()) };
        if rc == 0 {
            Ok(())
        } else {
            *aborted = Some(rc);
            // The error only carries the stop out of the core; `aborted` decides the status.
            Err(Error::InvalidInput("on_chunk asked to stop".into()))
        }
    }
}

fn finish_callback<T>(result: syncore_core::Result<T>, aborted: Option<c_int>) -> FfiResult<T> {
    match (result, aborted) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(rc)) => Err(Failure::Aborted(format!("on_chunk returned {rc}"))),
        (Err(e), None) => Err(e.into()),
    }
}

/// Chunks the file at `path` in bounded memory, calling `on_chunk(userdata, ...)` with each
/// chunk and its bytes in order, then writes the file's length to `*out_size` (which may be
/// NULL). A non-zero return from `on_chunk` stops the call with `SYNCORE_STATUS_ABORTED`.
#[no_mangle]
pub extern "C" fn syncore_chunker_chunk_file_with(
    chunker: *const syncore_chunker,
    path: *const c_char,
    on_chunk: syncore_chunk_callback,
    userdata: *mut c_void,
    out_size: *mut u64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { arg_str(path, "path") }?;
        let callback = on_chunk.ok_or(Failure::Null("on_chunk"))?;
        let mut aborted = None;
        let result = chunker
            .inner
            .chunk_file_with(path, call_back(callback, userdata, &mut aborted));
        let size = finish_callback(result, aborted)?;
        crate::boundary::write_opt(out_size, size);
        Ok(())
    })
}

/// An incremental chunker: push bytes in pieces, receive each chunk through a callback as
/// soon as its boundary is certain; the chunks are the same as for the whole input at once.
/// Holds at most a few MiB whatever the input's length. Not for concurrent use. Released
/// with `syncore_chunk_stream_free`.
pub struct syncore_chunk_stream {
    inner: Option<ChunkStream<'static>>,
}

/// Starts a stream that chunks like `chunker` (it keeps its own copy, so `chunker` may be
/// freed first) and writes it to `*out`; the caller owns it and releases it with
/// `syncore_chunk_stream_free`. `*out` is written only on success.
#[no_mangle]
pub extern "C" fn syncore_chunk_stream_new(
    chunker: *const syncore_chunker,
    out: *mut *mut syncore_chunk_stream,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live chunker.
        let chunker = unsafe { arg_ref(chunker, "chunker") }?;
        out.write(into_handle(syncore_chunk_stream {
            inner: Some(chunker.inner.clone().into_stream()),
        }));
        Ok(())
    })
}

/// Pushes `len` bytes at `data` (NULL only when `len` is 0); `on_chunk(userdata, ...)` is
/// called for every chunk now certain, in stream order. A non-zero return from `on_chunk`
/// stops the push with `SYNCORE_STATUS_ABORTED`; the chunks not yet reported stay buffered.
/// Fails with `SYNCORE_STATUS_INVALID_INPUT` after `syncore_chunk_stream_finish`.
#[no_mangle]
pub extern "C" fn syncore_chunk_stream_push(
    stream: *mut syncore_chunk_stream,
    data: *const u8,
    len: usize,
    on_chunk: syncore_chunk_callback,
    userdata: *mut c_void,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live stream not used concurrently (documented).
        let stream = unsafe { arg_mut(stream, "stream") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        let callback = on_chunk.ok_or(Failure::Null("on_chunk"))?;
        let inner = stream
            .inner
            .as_mut()
            .ok_or_else(|| Error::InvalidInput("stream: already finished".into()))?;
        let mut aborted = None;
        let result = inner.push(data, call_back(callback, userdata, &mut aborted));
        finish_callback(result, aborted)
    })
}

/// Ends the stream: reports the remaining chunks to `on_chunk(userdata, ...)` and writes the
/// stream's total length to `*out_total` (which may be NULL). The stream cannot be pushed to
/// afterwards, even if this call fails; it must still be released with
/// `syncore_chunk_stream_free`.
#[no_mangle]
pub extern "C" fn syncore_chunk_stream_finish(
    stream: *mut syncore_chunk_stream,
    on_chunk: syncore_chunk_callback,
    userdata: *mut c_void,
    out_total: *mut u64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live stream not used concurrently (documented).
        let stream = unsafe { arg_mut(stream, "stream") }?;
        let callback = on_chunk.ok_or(Failure::Null("on_chunk"))?;
        let inner = stream
            .inner
            .take()
            .ok_or_else(|| Error::InvalidInput("stream: already finished".into()))?;
        let mut aborted = None;
        let result = inner.finish(call_back(callback, userdata, &mut aborted));
        let total = finish_callback(result, aborted)?;
        crate::boundary::write_opt(out_total, total);
        Ok(())
    })
}

/// Releases `stream`, finished or not. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_chunk_stream_free(stream: *mut syncore_chunk_stream) {
    // SAFETY: NULL or a handle made by syncore_chunk_stream_new and not yet freed.
    boundary_value((), || unsafe { free_handle(stream) })
}
