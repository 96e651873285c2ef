//! An in-memory replica index: a working tree on disk whose index lives in memory
//! (`MemoryView` + `MemoryTarget` in the core). Enough to drive a full sync exchange from C —
//! record local changes, ship change sets, plan, fetch missing chunks, apply — for tests,
//! tools and applications that keep their own persistent index.

use std::ffi::c_char;

use syncore_core::apply::{apply_plan, ApplyOptions, ApplyReport, Durability, MemoryTarget};
use syncore_core::sync::{reconcile, LocalView, MemoryView, ReplicaId};
use syncore_core::{Error, RelPath};

use crate::boundary::{
    arg_mut, arg_ref, arg_str, boundary, boundary_value, free_handle, into_handle, out_ptr,
    FfiResult,
};
use crate::manifest::syncore_manifest;
use crate::plan::syncore_plan;
use crate::replica::write_id;
use crate::status::syncore_status;
use crate::store::syncore_store;
use crate::sync::{sync_options, syncore_changeset, syncore_sync_options};

/// Length of a replica id in bytes.
pub const SYNCORE_REPLICA_ID_LEN: usize = 16;

/// How hard applying a plan pushes writes to disk.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_durability {
    /// fsync each file before its rename and its directory after (the safe default).
    PerFile = 1,
    /// Sync the filesystem once after all writes, then record them.
    Batched = 2,
    /// Never fsync (fastest; a crash may lose recent writes).
    None = 3,
}

/// What applying a plan did.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_apply_report {
    /// Files written (created or replaced).
    pub files_written: u64,
    /// Bytes of files written.
    pub bytes_written: u64,
    /// Of those, bytes reused from local files (not transferred).
    pub bytes_reused_locally: u64,
    /// Directories created.
    pub dirs_created: u64,
    /// Symlinks created.
    pub symlinks_created: u64,
    /// Files, symlinks and directories deleted.
    pub deleted: u64,
    /// Files renamed (moves and conflict copies).
    pub renamed: u64,
    /// Entries recorded in the index.
    pub recorded: u64,
    /// Actions skipped because the user changed the path after planning.
    pub conflicts: u64,
    /// Actions that failed (missing or corrupt chunk, I/O error, unsafe path, ...).
    pub failed: u64,
}

impl From<&ApplyReport> for syncore_apply_report {
    fn from(r: &ApplyReport) -> Self {
        syncore_apply_report {
            files_written: r.files_written,
            bytes_written: r.bytes_written,
            bytes_reused_locally: r.bytes_reused_locally,
            dirs_created: r.dirs_created,
            symlinks_created: r.symlinks_created,
            deleted: r.deleted,
            renamed: r.renamed,
            recorded: r.recorded,
            conflicts: r.conflicts.len() as u64,
            failed: r.failed.len() as u64,
        }
    }
}

/// The core durability for a `syncore_durability` code.
fn durability_from_code(code: u8) -> FfiResult<Durability> {
    Ok(match code {
        1 => Durability::PerFile,
        2 => Durability::Batched,
        3 => Durability::None,
        other => {
            return Err(Error::InvalidInput(format!(
                "durability: {other} is not a syncore_durability"
            ))
            .into())
        }
    })
}

/// The apply options for a `syncore_durability` code (the rest default).
pub(crate) fn apply_options(durability: u8) -> FfiResult<ApplyOptions> {
    Ok(ApplyOptions {
        durability: durability_from_code(durability)?,
        ..ApplyOptions::default()
    })
}

/// A replica whose index is held in memory. Not for concurrent use. Released with
/// `syncore_memory_replica_free`.
pub struct syncore_memory_replica {
    inner: MemoryTarget,
}

/// A validated replica path from a NUL-terminated UTF-8 C string named `path`.
pub(crate) fn rel_path(ptr: *const c_char) -> FfiResult<RelPath> {
    // SAFETY: NULL or a NUL-terminated string, per the header.
    let s = unsafe { arg_str(ptr, "path") }?;
    Ok(RelPath::new(s)?)
}

/// Makes an empty replica with a fresh random replica id and writes it to `*out` (owned by the
/// caller, released with `syncore_memory_replica_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_memory_replica_new(
    out: *mut *mut syncore_memory_replica,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        out.write(into_handle(syncore_memory_replica {
            inner: MemoryTarget::new(MemoryView::new(ReplicaId::random())),
        }));
        Ok(())
    })
}

/// Writes the replica's id, `SYNCORE_REPLICA_ID_LEN` bytes, to `out_id` (only on success).
#[no_mangle]
pub extern "C" fn syncore_memory_replica_id(
    replica: *const syncore_memory_replica,
    out_id: *mut u8,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out_id, "out_id")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        write_id(out, replica.inner.view.replica_id());
        Ok(())
    })
}

/// Records a local write of the file at relative `path` (UTF-8, `/`-separated) with content
/// `manifest` (borrowed; copied), modification time `mtime_ns` (ns since the Unix epoch) and
/// executable bit, as a scan would. The manifest's chunks count as locally available.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_write(
    replica: *mut syncore_memory_replica,
    path: *const c_char,
    manifest: *const syncore_manifest,
    mtime_ns: i64,
    executable: bool,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        let path = rel_path(path)?;
        // SAFETY: NULL or a live manifest.
        let manifest = unsafe { arg_ref(manifest, "manifest") }?;
        replica
            .inner
            .view
            .local_write(&path, manifest.inner.clone(), mtime_ns, executable);
        Ok(())
    })
}

/// Records a local deletion of `path`; `SYNCORE_STATUS_NOT_FOUND` if it is not a live entry.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_delete(
    replica: *mut syncore_memory_replica,
    path: *const c_char,
    mtime_ns: i64,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        let path = rel_path(path)?;
        replica.inner.view.local_delete(&path, mtime_ns)?;
        Ok(())
    })
}

/// Records the current on-disk state (size, mtime, inode) of `path` under the directory
/// `root`, as a scan does after indexing a file the application wrote itself; applying a
/// later plan refuses to overwrite a file whose disk state no longer matches.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_observe(
    replica: *mut syncore_memory_replica,
    root: *const c_char,
    path: *const c_char,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let root = unsafe { arg_str(root, "root") }?;
        let path = rel_path(path)?;
        replica.inner.observe(root.as_ref(), &path)?;
        Ok(())
    })
}

/// Writes the changes recorded after the peer's cursor `since` (0: everything) to `*out`
/// (owned by the caller, released with `syncore_changeset_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_memory_replica_changes_since(
    replica: *const syncore_memory_replica,
    since: u64,
    out: *mut *mut syncore_changeset,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        out.write(into_handle(syncore_changeset {
            inner: replica.inner.view.changes_since(since),
        }));
        Ok(())
    })
}

/// Plans what this replica must do to take in a peer's `changeset` under `*options` (NULL for
/// the defaults) and writes the plan to `*out` (owned by the caller, released with
/// `syncore_plan_free`; written only on success). Pure: nothing is changed. Fails with
/// `SYNCORE_STATUS_CONFLICT` for an unconfirmed mass deletion and `SYNCORE_STATUS_CORRUPT` for
/// an invalid change set.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_plan(
    replica: *const syncore_memory_replica,
    changeset: *const syncore_changeset,
    options: *const syncore_sync_options,
    out: *mut *mut syncore_plan,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live replica.
        let replica = unsafe { arg_ref(replica, "replica") }?;
        // SAFETY: NULL or a live change set.
        let changeset = unsafe { arg_ref(changeset, "changeset") }?;
        let options = sync_options(options)?;
        let plan = reconcile(&replica.inner.view, &changeset.inner, &options)?;
        out.write(into_handle(syncore_plan::new(plan)?));
        Ok(())
    })
}

/// Performs `plan` in the working tree at the directory `root`, reading chunks from local
/// files first and from `source` (any store: the peer's, a hub's, or one the application
/// filled with the plan's missing chunks) otherwise, and records each change in the replica.
/// `durability` is a `syncore_durability` value. Per-action problems do not fail the call:
/// they are counted in `*out_report` (`conflicts`, `failed`), which may be NULL; the plan was
/// applied completely when both are 0.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_apply(
    replica: *mut syncore_memory_replica,
    root: *const c_char,
    plan: *const syncore_plan,
    source: *const syncore_store,
    durability: u8,
    out_report: *mut syncore_apply_report,
) -> syncore_status {
    boundary(|| {
        // SAFETY: NULL or a live replica not used concurrently.
        let replica = unsafe { arg_mut(replica, "replica") }?;
        // SAFETY: NULL or a NUL-terminated string.
        let root = unsafe { arg_str(root, "root") }?;
        // SAFETY: NULL or a live plan.
        let plan = unsafe { arg_ref(plan, "plan") }?;
        // SAFETY: NULL or a live store.
        let source = unsafe { arg_ref(source, "source") }?;
        let options = apply_options(durability)?;
        let store: &dyn syncore_core::ChunkStore = &**source.as_chunk_store();
        let r = apply_plan(
            root.as_ref(),
            &plan.inner,
            &store,
            &mut replica.inner,
            &options,
        )?;
        crate::boundary::write_opt(out_report, (&r).into());
        Ok(())
    })
}

/// The number of live (not deleted) entries recorded in `replica` (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_memory_replica_live_len(replica: *const syncore_memory_replica) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live replica.
        unsafe { replica.as_ref() }.map_or(0, |r| r.inner.view.live().count())
    })
}

/// Releases `replica`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_memory_replica_free(replica: *mut syncore_memory_replica) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(replica) })
}
