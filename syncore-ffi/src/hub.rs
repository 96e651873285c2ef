//! The hub: a replica with an index and a chunk store but no working tree (the core's
//! `Hub`), the "server" of a Dropbox-like service. Clients upload by shipping their change
//! sets to it (the hub plans and applies, storing the chunks it lacks) and download by
//! planning the hub's change sets against their own replicas, fetching chunks from the hub's
//! store. Everything is forwarded to the core.

use std::ffi::c_char;
use std::sync::Arc;

use syncore_core::apply::{ApplyReport, ChunkSource};
use syncore_core::index::IndexOptions;
use syncore_core::sync::Plan;
use syncore_core::{ChunkStore, Error, Hub};

use crate::boundary::{
    arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle, out_ptr,
};
use crate::buffers::syncore_bytes;
use crate::chunk_source::syncore_chunk_source;
use crate::exchange::{self, forward_to_inner, Peer};
use crate::hash::syncore_digest;
use crate::manifest::syncore_manifest;
use crate::memory_replica::syncore_apply_report;
use crate::plan::syncore_plan;
use crate::replica::{retention, syncore_replica, write_id};
use crate::status::syncore_status;
use crate::store::syncore_store;
use crate::sync::syncore_sync_options;

/// How `syncore_hub_open` opens a hub's index. Start from `syncore_hub_options_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct syncore_hub_options {
    /// Maximum unique chunk bytes across live and retained versions; 0 for no quota.
    pub quota_bytes: u64,
    /// Keep at most this many versions of each path in history; 0 for no limit.
    pub retention_max_versions: u32,
    /// Drop history versions older than this many seconds; 0 for no limit.
    pub retention_max_age_secs: u64,
    /// Run SQLite's integrity check when opening (default true).
    pub check_integrity: bool,
}

impl Default for syncore_hub_options {
    fn default() -> Self {
        syncore_hub_options {
            quota_bytes: 0,
            retention_max_versions: 0,
            retention_max_age_secs: 0,
            check_integrity: IndexOptions::default().check_integrity,
        }
    }
}

/// Writes the default hub options (no quota, unlimited history, integrity check on) to
/// `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_hub_options_default(out: *mut syncore_hub_options) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write(syncore_hub_options::default());
        Ok(())
    })
}

/// A hub: an index (opened with an exclusive lock, like a replica's) and a chunk store. Not
/// for concurrent use. Released with `syncore_hub_free`.
pub struct syncore_hub {
    inner: Hub<Arc<dyn ChunkStore>>,
}

impl Peer for syncore_hub {
    const NAME: &'static str = "hub";
    type ApplyOptions = ();

    forward_to_inner!();

    fn apply(
        &mut self,
        plan: &Plan,
        source: &dyn ChunkSource,
        _options: &(),
    ) -> syncore_core::Result<ApplyReport> {
        self.inner.apply(plan, source)
    }
    fn exclude(_this: *mut Self) -> *const syncore_replica {
        std::ptr::null()
    }
}

/// Opens (or creates) the hub whose index lives in the directory `state_dir`
/// (NUL-terminated UTF-8; created if needed) and whose content lives in `store`, with
/// `*options` (NULL for the defaults), and writes it to `*out` (owned by the caller, released
/// with `syncore_hub_free`; written only on success). The hub takes its own reference to the
/// store, so the caller may free the `store` handle at any time; keep it to serve the hub's
/// chunks to clients (`syncore_chunk_source_add_store`). The index uses the store's hash
/// algorithm; reopening an index made with another fails with `SYNCORE_STATUS_INVALID_INPUT`.
/// Fails with `SYNCORE_STATUS_BUSY` if the index is open elsewhere.
#[no_mangle]
pub extern "C" fn syncore_hub_open(
    state_dir: *const c_char,
    store: *const syncore_store,
    options: *const syncore_hub_options,
    out: *mut *mut syncore_hub,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a NUL-terminated string.
        let state_dir = unsafe { arg_str(state_dir, "state_dir") }?;
        // SAFETY: NULL or a live store.
        let store = Arc::clone(unsafe { arg_ref(store, "store") }?.as_chunk_store());
        // SAFETY: NULL or a valid options struct.
        let o = unsafe { options.as_ref() }.copied().unwrap_or_default();
        let options = IndexOptions {
            algo: store.algo(),
            retention: retention(o.retention_max_versions, o.retention_max_age_secs),
            quota_bytes: (o.quota_bytes != 0).then_some(o.quota_bytes),
            check_integrity: o.check_integrity,
            ..IndexOptions::default()
        };
        let inner = Hub::open(state_dir, store, options)?;
        out.write(into_handle(syncore_hub { inner }));
        Ok(())
    })
}

/// Closes the index and releases `hub` (and its reference to the store). NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_hub_free(hub: *mut syncore_hub) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(hub) })
}

/// Writes the hub's permanent id, `SYNCORE_REPLICA_ID_LEN` bytes, to `out_id` (only on
/// success). Clients pass it to `syncore_replica_synced_cursor`.
#[no_mangle]
pub extern "C" fn syncore_hub_id(hub: *const syncore_hub, out_id: *mut u8) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: NULL or a live hub.
        let hub = unsafe { arg_ref(hub, "hub") }?;
        write_id(out, hub.inner.replica_id());
        Ok(())
    })
}

/// Encodes everything the hub recorded after `cursor` (a client's
/// `syncore_replica_synced_cursor` of the hub) as change-set bytes, written to `*out` (owned
/// by the caller, released with `syncore_bytes_free`), and the client's next cursor to
/// `*out_cursor` (may be NULL). Both are written only on success.
#[no_mangle]
pub extern "C" fn syncore_hub_changes_since(
    hub: *const syncore_hub,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    exchange::changes_since(hub, cursor, out, out_cursor)
}

/// `syncore_hub_changes_since` for the client whose id is the `SYNCORE_REPLICA_ID_LEN` bytes
/// at `client`: the versions the hub took from that client exactly as it sent them are left
/// out. Same outputs, written only on success.
#[no_mangle]
pub extern "C" fn syncore_hub_changes_for(
    hub: *const syncore_hub,
    client: *const u8,
    cursor: u64,
    out: *mut *mut syncore_bytes,
    out_cursor: *mut u64,
) -> syncore_status {
    exchange::changes_for(hub, client, "client", cursor, out, out_cursor)
}

/// Decodes a client's change-set bytes (`len` bytes at `data`) and plans taking them in under
/// `*options` (NULL for the defaults); chunks already in the hub's store are not missing.
/// Pure. The plan is written to `*out` (owned by the caller, released with
/// `syncore_plan_free`; written only on success). Damaged bytes fail with
/// `SYNCORE_STATUS_CORRUPT`.
#[no_mangle]
pub extern "C" fn syncore_hub_plan(
    hub: *const syncore_hub,
    data: *const u8,
    len: usize,
    options: *const syncore_sync_options,
    out: *mut *mut syncore_plan,
) -> syncore_status {
    exchange::plan(hub, data, len, options, out)
}

/// Takes in `plan` (made by `syncore_hub_plan` on this hub): the chunks it lacks are read
/// from `source` (typically the client replica's files, `syncore_chunk_source_add_replica`),
/// verified and put in the hub's store, and the entries are recorded in one transaction.
/// Per-action problems are counted in `*out_report` (may be NULL); when none occurred, the
/// hub remembers the plan's cursor for the client (`syncore_hub_synced_cursor`).
#[no_mangle]
pub extern "C" fn syncore_hub_apply(
    hub: *mut syncore_hub,
    plan: *const syncore_plan,
    source: *const syncore_chunk_source,
    out_report: *mut syncore_apply_report,
) -> syncore_status {
    exchange::apply(hub, plan, source, || Ok(()), out_report)
}

/// Writes how far the hub has taken in the journal of the client whose id is the
/// `SYNCORE_REPLICA_ID_LEN` bytes at `client` to `*out` (only on success): the cursor to pass
/// to the client's `syncore_replica_changes_since` (0 if never synced).
#[no_mangle]
pub extern "C" fn syncore_hub_synced_cursor(
    hub: *const syncore_hub,
    client: *const u8,
    out: *mut u64,
) -> syncore_status {
    exchange::synced_cursor(hub, client, "client", out)
}

/// Looks up the manifest of file content `*content_id` in the hub's index and writes a copy
/// to `*out` (owned by the caller, released with `syncore_manifest_free`; written only on
/// success); `SYNCORE_STATUS_NOT_FOUND` if the hub does not know that content. With it and
/// the hub's store an application can serve a file without a working tree.
#[no_mangle]
pub extern "C" fn syncore_hub_manifest(
    hub: *const syncore_hub,
    content_id: *const syncore_digest,
    out: *mut *mut syncore_manifest,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live hub.
        let hub = unsafe { arg_ref(hub, "hub") }?;
        // SAFETY: NULL or a valid digest.
        let id = (*unsafe { arg_ref(content_id, "content_id") }?).into();
        let inner = hub
            .inner
            .manifest(&id)?
            .ok_or_else(|| Error::NotFound(format!("manifest of content {id}")))?;
        out.write(into_handle(syncore_manifest { inner }));
        Ok(())
    })
}
