//! Plans: the pure result of reconciling a peer's change set; walk the actions, list the
//! chunks to fetch, summarize.

use std::ffi::{c_char, CString};

use syncore_core::sync::{Action, Plan};
use syncore_core::{Error, RelPath};

use crate::boundary::{arg_ref, boundary, boundary_value, free_handle, into_handle, out_ptr};
use crate::buffers::syncore_digest_list;
use crate::hash::syncore_digest;
use crate::status::syncore_status;

/// What one action of a plan does (the `kind` of a `syncore_action`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_action_kind {
    /// Create or replace a regular file (its chunks may need fetching first).
    WriteFile = 1,
    /// Create a directory.
    MakeDir = 2,
    /// Create a symbolic link.
    MakeSymlink = 3,
    /// Delete a file or symlink.
    Delete = 4,
    /// Remove an empty directory.
    RemoveDir = 5,
    /// Rename `from_path` to `path` (a detected move or a conflict copy).
    Rename = 6,
    /// Update metadata (mtime, executable bit) of unchanged content.
    UpdateMetadata = 7,
    /// Index bookkeeping only; the working tree is not touched.
    Record = 8,
}

/// One action of a plan, as read by `syncore_plan_action_get`. The strings belong to the plan
/// and stay valid until `syncore_plan_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct syncore_action {
    /// A `syncore_action_kind` value.
    pub kind: u8,
    /// The path the action changes (the destination of a rename), NUL-terminated.
    pub path: *const c_char,
    /// For `SYNCORE_ACTION_KIND_RENAME`, the source path; NULL otherwise.
    pub from_path: *const c_char,
    /// For `WRITE_FILE`, the file's size; 0 otherwise.
    pub size: u64,
    /// For `WRITE_FILE`, how many of its chunks are not available locally; 0 otherwise.
    pub missing_chunks: u64,
}

/// What a plan would do, in numbers.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct syncore_plan_summary {
    /// Files to create or replace.
    pub files_written: u64,
    /// Total size of those files.
    pub bytes_written: u64,
    /// Chunks to fetch.
    pub missing_chunks: u64,
    /// Bytes to fetch.
    pub missing_bytes: u64,
    /// Directories to create.
    pub dirs_created: u64,
    /// Symlinks to create.
    pub symlinks_created: u64,
    /// Paths to delete.
    pub deleted: u64,
    /// Renames (moves and conflict copies).
    pub renamed: u64,
    /// Metadata-only updates.
    pub metadata_updated: u64,
    /// Index-only records.
    pub index_only: u64,
    /// Conflicts resolved.
    pub conflicts: u64,
    /// Case collisions met.
    pub collisions: u64,
}

/// The result of reconciling a change set: actions in execution order and reports. Made by a
/// replica's `_plan` function; immutable; released with `syncore_plan_free`.
pub struct syncore_plan {
    pub(crate) inner: Plan,
    /// Paths of each action, made once so C can borrow them.
    paths: Vec<(CString, Option<CString>)>,
}

fn c_path(p: &RelPath) -> Result<CString, Error> {
    CString::new(p.as_str()).map_err(|_| Error::Corrupt(format!("path {p} holds a NUL byte")))
}

impl syncore_plan {
    /// Wraps a core plan for C.
    pub(crate) fn new(inner: Plan) -> Result<Self, Error> {
        let paths = inner
            .actions
            .iter()
            .map(|a| {
                let from = match a {
                    Action::Rename { from, .. } => Some(c_path(&from.path)?),
                    _ => None,
                };
                Ok((c_path(a.path())?, from))
            })
            .collect::<Result<_, Error>>()?;
        Ok(syncore_plan { inner, paths })
    }
}

/// The number of actions in `plan` (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_plan_action_count(plan: *const syncore_plan) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live plan.
        unsafe { plan.as_ref() }.map_or(0, |p| p.inner.actions.len())
    })
}

/// Reads action `index` (in execution order) of `plan` into `*out` (only on success);
/// `SYNCORE_STATUS_INVALID_INPUT` if `index` is out of range.
#[no_mangle]
pub extern "C" fn syncore_plan_action_get(
    plan: *const syncore_plan,
    index: usize,
    out: *mut syncore_action,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live plan.
        let plan = unsafe { arg_ref(plan, "plan") }?;
        let action = plan.inner.actions.get(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "index {index} out of range (plan has {} actions)",
                plan.inner.actions.len()
            ))
        })?;
        let (path, from) = &plan.paths[index];
        let (kind, size, missing) = match action {
            Action::WriteFile {
                manifest,
                missing_chunks,
                ..
            } => (
                syncore_action_kind::WriteFile,
                manifest.size(),
                missing_chunks.len() as u64,
            ),
            Action::MakeDir { .. } => (syncore_action_kind::MakeDir, 0, 0),
            Action::MakeSymlink { .. } => (syncore_action_kind::MakeSymlink, 0, 0),
            Action::Delete { .. } => (syncore_action_kind::Delete, 0, 0),
            Action::RemoveDir { .. } => (syncore_action_kind::RemoveDir, 0, 0),
            Action::Rename { .. } => (syncore_action_kind::Rename, 0, 0),
            Action::UpdateMetadata { .. } => (syncore_action_kind::UpdateMetadata, 0, 0),
            Action::Record { .. } => (syncore_action_kind::Record, 0, 0),
        };
        out.write(syncore_action {
            kind: kind as u8,
            path: path.as_ptr(),
            from_path: from.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
            size,
            missing_chunks: missing,
        });
        Ok(())
    })
}

/// Writes every chunk id some action of `plan` still needs, in plan order and once each, to
/// `*out` (owned by the caller, released with `syncore_digest_list_free`; written only on
/// success). Fetch these from the peer or a hub store before applying the plan.
#[no_mangle]
pub extern "C" fn syncore_plan_missing_chunks(
    plan: *const syncore_plan,
    out: *mut *mut syncore_digest_list,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live plan.
        let plan = unsafe { arg_ref(plan, "plan") }?;
        let items: Vec<syncore_digest> = plan
            .inner
            .missing_chunks()
            .into_iter()
            .map(Into::into)
            .collect();
        out.write(into_handle(syncore_digest_list { items }));
        Ok(())
    })
}

/// Writes the counts of what `plan` would do to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_plan_summary_get(
    plan: *const syncore_plan,
    out: *mut syncore_plan_summary,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live plan.
        let plan = unsafe { arg_ref(plan, "plan") }?;
        let s = plan.inner.summary();
        out.write(syncore_plan_summary {
            files_written: s.files_written as u64,
            bytes_written: s.bytes_written,
            missing_chunks: s.missing_chunks as u64,
            missing_bytes: s.missing_bytes,
            dirs_created: s.dirs_created as u64,
            symlinks_created: s.symlinks_created as u64,
            deleted: s.deleted as u64,
            renamed: s.renamed as u64,
            metadata_updated: s.metadata_updated as u64,
            index_only: s.index_only as u64,
            conflicts: s.conflicts as u64,
            collisions: s.collisions as u64,
        });
        Ok(())
    })
}

/// The cursor to remember for the plan's source replica once the plan is fully applied
/// (0 if `plan` is NULL).
#[no_mangle]
pub extern "C" fn syncore_plan_cursor(plan: *const syncore_plan) -> u64 {
    boundary_value(0, || {
        // SAFETY: NULL or a live plan.
        unsafe { plan.as_ref() }.map_or(0, |p| p.inner.cursor)
    })
}

/// Releases `plan` and the strings it lent out. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_plan_free(plan: *mut syncore_plan) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(plan) })
}
