//! Chunk stores: in-memory, directory, replicated, and stores implemented by the C
//! application through callbacks.

use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::sync::Arc;

use syncore_core::store::{ChunkIds, VerifyingStore};
use syncore_core::{
    ChunkStore, Digest, Error, ErrorKind, FsStore, HashAlgo, MemStore, ReplicatedStore, StoreStats,
};

use crate::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_slice, arg_str, boundary, boundary_value, free_handle,
    into_handle, out_ptr, write_opt, Failure, FfiResult, Out,
};
use crate::buffers::{bytes_out, copy_out, syncore_bytes, syncore_digest_list};
use crate::hash::{algo_from_code, syncore_digest};
use crate::status::syncore_status;

/// A chunk store: maps chunk ids to the bytes that hash to them. Every store verifies what it
/// is given and what it returns. A store handle may be used from several threads at once
/// (callback stores only if their callbacks allow it). Released with `syncore_store_free`;
/// stores built on top of it (replicated stores) keep their own reference, so the handle may
/// be freed before them.
pub struct syncore_store {
    inner: Arc<dyn ChunkStore>,
    replicated: Option<Arc<ReplicatedStore>>,
}

impl syncore_store {
    fn plain(inner: Arc<dyn ChunkStore>) -> Self {
        syncore_store {
            inner,
            replicated: None,
        }
    }

    /// The core store behind a handle, for other bindings (replicas, chunk sources).
    pub fn as_chunk_store(&self) -> &Arc<dyn ChunkStore> {
        &self.inner
    }
}

/// How much a store holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_store_stats {
    /// Number of distinct chunks.
    pub chunks: u64,
    /// Total size of those chunks' bytes.
    pub bytes: u64,
}

fn store_out(out: Out<*mut syncore_store>, store: syncore_store) {
    out.write(into_handle(store));
}

/// Makes an empty in-memory store for `algo` and writes it to `*out` (owned by the caller,
/// released with `syncore_store_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_store_new_mem(algo: u8, out: *mut *mut syncore_store) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let algo = algo_from_code(algo)?;
        store_out(out, syncore_store::plain(Arc::new(MemStore::new(algo))));
        Ok(())
    })
}

/// Opens (creating if needed) a content-addressed chunk directory at the NUL-terminated UTF-8
/// path `root`, addressing chunks by `algo`, and writes it to `*out` (owned by the caller;
/// written only on success).
#[no_mangle]
pub extern "C" fn syncore_store_open_fs(
    root: *const c_char,
    algo: u8,
    out: *mut *mut syncore_store,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a NUL-terminated string.
        let root = unsafe { arg_str(root, "root") }?;
        let algo = algo_from_code(algo)?;
        store_out(
            out,
            syncore_store::plain(Arc::new(FsStore::open(root, algo)?)),
        );
        Ok(())
    })
}

/// Makes a store that keeps `replication_factor` copies of each chunk (0 for the default, 2)
/// spread over the `count` stores in `backends`, with failover on reads and repair by
/// `syncore_store_scrub`. The new store holds its own references to the back ends: the caller
/// still owns and frees the `backends` handles. All back ends must use the same algorithm.
/// `*out` is owned by the caller and written only on success.
#[no_mangle]
pub extern "C" fn syncore_store_new_replicated(
    backends: *const *const syncore_store,
    count: usize,
    replication_factor: usize,
    out: *mut *mut syncore_store,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `count` store pointers at `backends`.
        let handles = unsafe { arg_slice(backends, count, "backends") }?;
        let mut stores = Vec::with_capacity(handles.len());
        for &handle in handles {
            // SAFETY: each entry is NULL or a live store handle.
            stores.push(Arc::clone(
                &unsafe { arg_ref(handle, "backends[i]") }?.inner,
            ));
        }
        let factor = match replication_factor {
            0 => ReplicatedStore::DEFAULT_REPLICATION_FACTOR,
            n => n,
        };
        let replicated = Arc::new(ReplicatedStore::with_replication_factor(stores, factor)?);
        store_out(
            out,
            syncore_store {
                inner: Arc::clone(&replicated) as Arc<dyn ChunkStore>,
                replicated: Some(replicated),
            },
        );
        Ok(())
    })
}

/// Verifies every copy of every chunk of a replicated store and repairs what it can (see the
/// core's `ReplicatedStore::scrub`). On success writes the number of chunks checked to
/// `*out_checked`, the copies rewritten to `*out_repaired`, and the ids of chunks with no
/// healthy copy left to `*out_lost` (owned by the caller, released with
/// `syncore_digest_list_free`). Any out-parameter may be NULL if not wanted. Fails with
/// `SYNCORE_STATUS_INVALID_INPUT` if `store` is not a replicated store.
#[no_mangle]
pub extern "C" fn syncore_store_scrub(
    store: *const syncore_store,
    out_checked: *mut u64,
    out_repaired: *mut u64,
    out_lost: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        let replicated = store
            .replicated
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("store: scrub needs a replicated store".into()))?;
        let report = replicated.scrub()?;
        write_opt(out_checked, report.checked);
        write_opt(out_repaired, report.repaired);
        if !out_lost.is_null() {
            let items = report.lost.into_iter().map(Into::into).collect();
            write_opt(out_lost, into_handle(syncore_digest_list { items }));
        }
        Ok(())
    })
}

/// The `syncore_hash_algo` that `store` addresses chunks by (0 if `store` is NULL).
#[no_mangle]
pub extern "C" fn syncore_store_algo(store: *const syncore_store) -> u8 {
    boundary_value(0, || {
        // SAFETY: NULL or a live store.
        unsafe { store.as_ref() }.map_or(0, |s| s.inner.algo().code())
    })
}

/// Writes whether `store` holds chunk `*id` to `*out_has` (only on success).
#[no_mangle]
pub extern "C" fn syncore_store_has(
    store: *const syncore_store,
    id: *const syncore_digest,
    out_has: *mut bool,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out_has, "out_has")?;
        let (store, id) = store_and_id(store, id)?;
        out.write(store.inner.has(&id)?);
        Ok(())
    })
}

fn store_and_id<'a>(
    store: *const syncore_store,
    id: *const syncore_digest,
) -> FfiResult<(&'a syncore_store, Digest)> {
    // SAFETY: NULL or a live store.
    let store = unsafe { arg_ref(store, "store") }?;
    // SAFETY: NULL or a valid digest.
    let id = unsafe { arg_ref(id, "id") }?;
    Ok((store, (*id).into()))
}

/// Reads chunk `*id`, verified against its id, into a library-owned buffer written to `*out`
/// (released with `syncore_bytes_free`; written only on success). An absent chunk fails with
/// `SYNCORE_STATUS_NOT_FOUND`, a damaged one with `SYNCORE_STATUS_CORRUPT`.
#[no_mangle]
pub extern "C" fn syncore_store_get(
    store: *const syncore_store,
    id: *const syncore_digest,
    out: *mut *mut syncore_bytes,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let (store, id) = store_and_id(store, id)?;
        bytes_out(out, store.inner.get(&id)?)
    })
}

/// Reads chunk `*id`, verified, into the caller's buffer `buf` of `buf_len` bytes.
///
/// `*out_len` receives the chunk's size on success and when the call fails with
/// `SYNCORE_STATUS_BUFFER_TOO_SMALL` (then `buf` is untouched); `out_len` must not be NULL.
#[no_mangle]
pub extern "C" fn syncore_store_get_into(
    store: *const syncore_store,
    id: *const syncore_digest,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> syncore_status {
    boundary(|| {
        let out_len = out_ptr(out_len, "out_len")?;
        let (store, id) = store_and_id(store, id)?;
        copy_out(&store.inner.get(&id)?, buf, buf_len, out_len, "buf")
    })
}

/// Stores `len` bytes at `data` under `*id`. Fails with `SYNCORE_STATUS_INVALID_INPUT` if the
/// bytes do not hash to the id. On success writes to `*out_inserted` (may be NULL) whether
/// the chunk is new (false: it was already there).
#[no_mangle]
pub extern "C" fn syncore_store_put(
    store: *const syncore_store,
    id: *const syncore_digest,
    data: *const u8,
    len: usize,
    out_inserted: *mut bool,
) -> syncore_status {
    boundary(|| {
        let (store, id) = store_and_id(store, id)?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        let inserted = store.inner.put(&id, data)?;
        write_opt(out_inserted, inserted);
        Ok(())
    })
}

/// Hashes `len` bytes at `data` with the store's algorithm, stores them, and writes their id
/// to `*out_id` (may be NULL; written only on success).
#[no_mangle]
pub extern "C" fn syncore_store_put_data(
    store: *const syncore_store,
    data: *const u8,
    len: usize,
    out_id: *mut syncore_digest,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        let id = store.inner.put_data(data)?;
        write_opt(out_id, id.into());
        Ok(())
    })
}

/// Removes chunk `*id`; on success writes to `*out_deleted` (may be NULL) whether it was
/// there.
#[no_mangle]
pub extern "C" fn syncore_store_delete(
    store: *const syncore_store,
    id: *const syncore_digest,
    out_deleted: *mut bool,
) -> syncore_status {
    boundary(|| {
        let (store, id) = store_and_id(store, id)?;
        let deleted = store.inner.delete(&id)?;
        write_opt(out_deleted, deleted);
        Ok(())
    })
}

/// Writes the ids of every chunk in `store`, in no particular order, to `*out` (owned by the
/// caller, released with `syncore_digest_list_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_store_ids(
    store: *const syncore_store,
    out: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        let items = store
            .inner
            .ids()?
            .map(|id| id.map(Into::into))
            .collect::<syncore_core::Result<_>>()?;
        out.write(into_handle(syncore_digest_list { items }));
        Ok(())
    })
}

/// Of the `count` ids at `ids` (NULL only when `count` is 0), writes those `store` lacks, in
/// input order and without duplicates, to `*out` (owned by the caller; written only on
/// success).
#[no_mangle]
pub extern "C" fn syncore_store_missing(
    store: *const syncore_store,
    ids: *const syncore_digest,
    count: usize,
    out: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        // SAFETY: the caller passes `count` digests at `ids`.
        let ids = unsafe { arg_slice(ids, count, "ids") }?;
        let ids: Vec<Digest> = ids.iter().map(|&d| d.into()).collect();
        let items = store
            .inner
            .missing(&ids)?
            .into_iter()
            .map(Into::into)
            .collect();
        out.write(into_handle(syncore_digest_list { items }));
        Ok(())
    })
}

/// Writes how many chunks `store` holds and their total size to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_store_stats_get(
    store: *const syncore_store,
    out: *mut syncore_store_stats,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live store.
        let store = unsafe { arg_ref(store, "store") }?;
        let StoreStats { chunks, bytes } = store.inner.stats()?;
        out.write(syncore_store_stats { chunks, bytes });
        Ok(())
    })
}

/// Releases this handle's reference to the store. NULL is a no-op. The store itself lives on
/// while a replicated store built on it does; a callback store calls its `destroy` callback
/// when the last reference goes.
#[no_mangle]
pub extern "C" fn syncore_store_free(store: *mut syncore_store) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(store) })
}

// ---------------------------------------------------------------------------------------
// Stores implemented by the application.

/// Collects the bytes of one chunk from a `get` callback. Valid only during that callback;
/// the library owns it. Hand it bytes with `syncore_chunk_sink_write` (the library copies
/// them, so the application keeps ownership of its own memory).
pub struct syncore_chunk_sink {
    data: Vec<u8>,
}

/// Collects chunk ids from an `ids` callback. Valid only during that callback; the library
/// owns it. Hand it ids with `syncore_id_sink_push`.
pub struct syncore_id_sink {
    ids: Vec<Digest>,
}

/// Appends `len` bytes at `data` (copied) to the chunk being returned by a `get` callback.
/// May be called several times to hand over a chunk in pieces.
#[no_mangle]
pub extern "C" fn syncore_chunk_sink_write(
    sink: *mut syncore_chunk_sink,
    data: *const u8,
    len: usize,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or the live sink passed to the running callback.
        let sink = unsafe { arg_mut(sink, "sink") }?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        sink.data.extend_from_slice(data);
        Ok(())
    })
}

/// Adds `*id` (copied) to the ids being listed by an `ids` callback.
#[no_mangle]
pub extern "C" fn syncore_id_sink_push(
    sink: *mut syncore_id_sink,
    id: *const syncore_digest,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or the live sink passed to the running callback.
        let sink = unsafe { arg_mut(sink, "sink") }?;
        // SAFETY: NULL or a valid digest.
        let id = unsafe { arg_ref(id, "id") }?;
        sink.ids.push((*id).into());
        Ok(())
    })
}

/// A chunk store implemented by the application (S3, a database, a hash table...).
///
/// Every callback receives `userdata` first and returns a `syncore_status` value as an `int`:
/// `SYNCORE_STATUS_OK` (0) on success, or the status that describes the failure
/// (`SYNCORE_STATUS_NOT_FOUND` from `get` for an absent chunk, `SYNCORE_STATUS_IO` for a
/// back-end failure, ...; any other non-zero value counts as `SYNCORE_STATUS_IO`).
/// Pointers passed to a callback are owned by the library and valid only during the call;
/// the callbacks never free anything the library passes them.
///
/// The library checks the contract around the callbacks: `put` is only called with bytes
/// that hash to their id, and bytes returned by `get` that do not hash to the id fail the
/// read with `SYNCORE_STATUS_CORRUPT`. If the store handle is shared between threads the
/// callbacks may be called concurrently, and must then be thread-safe.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct syncore_store_callbacks {
    /// Passed to every callback; owned by the application.
    pub userdata: *mut c_void,
    /// Writes whether chunk `*id` is present to `*out_has`. Required.
    pub has: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            id: *const syncore_digest,
            out_has: *mut bool,
        ) -> c_int,
    >,
    /// Hands chunk `*id`'s bytes to `sink` with `syncore_chunk_sink_write`, or returns
    /// `SYNCORE_STATUS_NOT_FOUND`. Required.
    pub get: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            id: *const syncore_digest,
            sink: *mut syncore_chunk_sink,
        ) -> c_int,
    >,
    /// Stores `len` bytes at `data` (copy them) under `*id`; writes whether the chunk is new
    /// to `*out_inserted`. Required.
    pub put: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            id: *const syncore_digest,
            data: *const u8,
            len: usize,
            out_inserted: *mut bool,
        ) -> c_int,
    >,
    /// Removes chunk `*id`; writes whether it was there to `*out_removed`. Required.
    pub remove: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            id: *const syncore_digest,
            out_removed: *mut bool,
        ) -> c_int,
    >,
    /// Hands every chunk id to `sink` with `syncore_id_sink_push`. Required.
    pub ids:
        Option<unsafe extern "C" fn(userdata: *mut c_void, sink: *mut syncore_id_sink) -> c_int>,
    /// Writes the number of chunks and their total size to `*out`. Required.
    pub stats:
        Option<unsafe extern "C" fn(userdata: *mut c_void, out: *mut syncore_store_stats) -> c_int>,
    /// Called once with `userdata` when the last reference to the store is released, to free
    /// the application's state. Optional (NULL).
    pub destroy: Option<unsafe extern "C" fn(userdata: *mut c_void)>,
}

/// Function pointers checked to be non-NULL.
struct CallbackStore {
    algo: HashAlgo,
    userdata: *mut c_void,
    has: unsafe extern "C" fn(*mut c_void, *const syncore_digest, *mut bool) -> c_int,
    get: unsafe extern "C" fn(*mut c_void, *const syncore_digest, *mut syncore_chunk_sink) -> c_int,
    put: unsafe extern "C" fn(
        *mut c_void,
        *const syncore_digest,
        *const u8,
        usize,
        *mut bool,
    ) -> c_int,
    remove: unsafe extern "C" fn(*mut c_void, *const syncore_digest, *mut bool) -> c_int,
    ids: unsafe extern "C" fn(*mut c_void, *mut syncore_id_sink) -> c_int,
    stats: unsafe extern "C" fn(*mut c_void, *mut syncore_store_stats) -> c_int,
    destroy: Option<unsafe extern "C" fn(*mut c_void)>,
}

// SAFETY: the header documents that a callback store shared between threads must have
// thread-safe callbacks; the library adds no shared state of its own.
unsafe impl Send for CallbackStore {}
// SAFETY: as above.
unsafe impl Sync for CallbackStore {}

impl Drop for CallbackStore {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            // SAFETY: called once, with the application's userdata, as documented.
            unsafe { destroy(self.userdata) }
        }
    }
}

/// Turns a callback's return code into a core result.
fn check(op: &str, rc: c_int) -> syncore_core::Result<()> {
    if rc == 0 {
        return Ok(());
    }
    let msg = format!("store callback `{op}` returned {rc}");
    Err(match syncore_status::to_kind(rc) {
        Some(ErrorKind::NotFound) => Error::NotFound(msg),
        Some(ErrorKind::InvalidInput) => Error::InvalidInput(msg),
        Some(ErrorKind::Corrupt) => Error::Corrupt(msg),
        Some(ErrorKind::Conflict) => Error::Conflict(msg),
        Some(ErrorKind::QuotaExceeded) => Error::QuotaExceeded(msg),
        Some(ErrorKind::Busy) => Error::Busy(msg),
        Some(ErrorKind::Unsupported) => Error::Unsupported(msg),
        Some(ErrorKind::Io) | None => Error::io_stream(io::Error::other(msg)),
    })
}

impl ChunkStore for CallbackStore {
    fn algo(&self) -> HashAlgo {
        self.algo
    }

    fn has(&self, id: &Digest) -> syncore_core::Result<bool> {
        let id = syncore_digest::from(*id);
        let mut has = false;
        // SAFETY: valid function from the application; pointers live for the call.
        check("has", unsafe { (self.has)(self.userdata, &id, &mut has) })?;
        Ok(has)
    }

    fn get(&self, id: &Digest) -> syncore_core::Result<Vec<u8>> {
        let cid = syncore_digest::from(*id);
        let mut sink = syncore_chunk_sink { data: Vec::new() };
        // SAFETY: as above; `sink` outlives the call and is only touched through the API.
        let rc = unsafe { (self.get)(self.userdata, &cid, &mut sink) };
        if syncore_status::to_kind(rc) == Some(ErrorKind::NotFound) {
            return Err(Error::NotFound(format!("chunk {id}")));
        }
        check("get", rc)?;
        Ok(sink.data)
    }

    fn put(&self, id: &Digest, data: &[u8]) -> syncore_core::Result<bool> {
        let id = syncore_digest::from(*id);
        let mut inserted = false;
        // SAFETY: as above; `data` is valid for `data.len()` bytes during the call.
        let rc =
            unsafe { (self.put)(self.userdata, &id, data.as_ptr(), data.len(), &mut inserted) };
        check("put", rc)?;
        Ok(inserted)
    }

    fn delete(&self, id: &Digest) -> syncore_core::Result<bool> {
        let id = syncore_digest::from(*id);
        let mut removed = false;
        // SAFETY: as above.
        check("remove", unsafe {
            (self.remove)(self.userdata, &id, &mut removed)
        })?;
        Ok(removed)
    }

    fn ids(&self) -> syncore_core::Result<ChunkIds<'_>> {
        let mut sink = syncore_id_sink { ids: Vec::new() };
        // SAFETY: as above.
        check("ids", unsafe { (self.ids)(self.userdata, &mut sink) })?;
        Ok(Box::new(sink.ids.into_iter().map(Ok)))
    }

    fn stats(&self) -> syncore_core::Result<StoreStats> {
        let mut out = syncore_store_stats::default();
        // SAFETY: as above.
        check("stats", unsafe { (self.stats)(self.userdata, &mut out) })?;
        Ok(StoreStats {
            chunks: out.chunks,
            bytes: out.bytes,
        })
    }
}

/// Makes a store whose chunks live wherever the application's `callbacks` put them, with
/// chunk ids made by `algo`, and writes it to `*out` (owned by the caller, released with
/// `syncore_store_free`; written only on success).
///
/// The table is copied. Every callback but `destroy` is required (else
/// `SYNCORE_STATUS_NULL_ARGUMENT`). On success the store takes charge of `userdata`: it
/// calls `destroy(userdata)` once when the last reference to it is released. On failure
/// nothing is called and `userdata` stays the application's.
#[no_mangle]
pub extern "C" fn syncore_store_new_callbacks(
    algo: u8,
    callbacks: *const syncore_store_callbacks,
    out: *mut *mut syncore_store,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let algo = algo_from_code(algo)?;
        // SAFETY: NULL or a valid callback table.
        let cb = *unsafe { arg_ref(callbacks, "callbacks") }?;
        let store = CallbackStore {
            algo,
            userdata: cb.userdata,
            has: cb.has.ok_or(Failure::Null("callbacks->has"))?,
            get: cb.get.ok_or(Failure::Null("callbacks->get"))?,
            put: cb.put.ok_or(Failure::Null("callbacks->put"))?,
            remove: cb.remove.ok_or(Failure::Null("callbacks->remove"))?,
            ids: cb.ids.ok_or(Failure::Null("callbacks->ids"))?,
            stats: cb.stats.ok_or(Failure::Null("callbacks->stats"))?,
            destroy: cb.destroy,
        };
        store_out(
            out,
            syncore_store::plain(Arc::new(VerifyingStore::new(store))),
        );
        Ok(())
    })
}
