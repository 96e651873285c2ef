//! Sync settings (conflict policy, direction) and change sets, the bytes replicas exchange.

use syncore_core::sync::{ChangeSet, ConflictPolicy, Direction, SyncOptions};
use syncore_core::Error;

use crate::boundary::{
    arg_bytes, arg_ref, boundary, boundary_value, free_handle, into_handle, out_ptr, FfiResult,
};
use crate::buffers::{bytes_out, copy_out, syncore_bytes};
use crate::status::syncore_status;

/// How a conflict between concurrent versions of one path is resolved (the `policy` field of
/// `syncore_sync_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_conflict_policy {
    /// The newer mtime wins (deterministic ties); the loser is discarded.
    NewestWins = 1,
    /// The newer mtime wins and the loser is kept as a `*.sync-conflict-*` copy (default).
    KeepBoth = 2,
    /// The local version always wins (the peer must prefer remote to converge).
    PreferLocal = 3,
    /// The remote version always wins (the peer must prefer local to converge).
    PreferRemote = 4,
}

/// Which way changes flow (the `direction` field of `syncore_sync_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum syncore_direction {
    /// Both sides' changes propagate (default).
    TwoWay = 1,
    /// This replica is authoritative: remote changes are never taken.
    MirrorToRemote = 2,
    /// The peer is authoritative: local changes are overwritten by the peer's versions.
    MirrorFromRemote = 3,
}

/// Everything that shapes a plan. Start from `syncore_sync_options_default`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct syncore_sync_options {
    /// A `syncore_conflict_policy` value.
    pub policy: u8,
    /// A `syncore_direction` value.
    pub direction: u8,
    /// When an edit is concurrent with a delete, keep the edit (default true).
    pub edit_beats_delete: bool,
    /// The caller confirms that a mass deletion is intended (default false).
    pub confirm_mass_delete: bool,
    /// Treat paths differing only in case as one file (default: true on macOS and Windows).
    pub case_insensitive: bool,
    /// Largest share (0.0..=1.0) of the live tree a plan may delete unless confirmed
    /// (default 0.5).
    pub max_delete_ratio: f64,
    /// The delete guard applies only to trees with more live entries than this (default 10).
    pub delete_guard_min_entries: u64,
}

impl From<&SyncOptions> for syncore_sync_options {
    fn from(o: &SyncOptions) -> Self {
        syncore_sync_options {
            policy: match o.policy {
                ConflictPolicy::NewestWins => syncore_conflict_policy::NewestWins,
                ConflictPolicy::KeepBoth => syncore_conflict_policy::KeepBoth,
                ConflictPolicy::PreferLocal => syncore_conflict_policy::PreferLocal,
                ConflictPolicy::PreferRemote => syncore_conflict_policy::PreferRemote,
            } as u8,
            direction: match o.direction {
                Direction::TwoWay => syncore_direction::TwoWay,
                Direction::MirrorToRemote => syncore_direction::MirrorToRemote,
                Direction::MirrorFromRemote => syncore_direction::MirrorFromRemote,
            } as u8,
            edit_beats_delete: o.edit_beats_delete,
            confirm_mass_delete: o.confirm_mass_delete,
            case_insensitive: o.case_insensitive,
            max_delete_ratio: o.max_delete_ratio,
            delete_guard_min_entries: o.delete_guard_min_entries,
        }
    }
}

/// The core options for C options (NULL: the defaults), validating the enum codes.
pub(crate) fn sync_options(o: *const syncore_sync_options) -> FfiResult<SyncOptions> {
    // SAFETY: NULL or a valid options struct, per the header.
    let Some(o) = (unsafe { o.as_ref() }) else {
        return Ok(SyncOptions::default());
    };
    let policy = match o.policy {
        1 => ConflictPolicy::NewestWins,
        2 => ConflictPolicy::KeepBoth,
        3 => ConflictPolicy::PreferLocal,
        4 => ConflictPolicy::PreferRemote,
        other => {
            return Err(Error::InvalidInput(format!(
                "options->policy: {other} is not a syncore_conflict_policy"
            ))
            .into())
        }
    };
    let direction = match o.direction {
        1 => Direction::TwoWay,
        2 => Direction::MirrorToRemote,
        3 => Direction::MirrorFromRemote,
        other => {
            return Err(Error::InvalidInput(format!(
                "options->direction: {other} is not a syncore_direction"
            ))
            .into())
        }
    };
    if !(0.0..=1.0).contains(&o.max_delete_ratio) {
        return Err(Error::InvalidInput(format!(
            "options->max_delete_ratio must be in 0.0..=1.0, got {}",
            o.max_delete_ratio
        ))
        .into());
    }
    Ok(SyncOptions {
        policy,
        direction,
        edit_beats_delete: o.edit_beats_delete,
        max_delete_ratio: o.max_delete_ratio,
        delete_guard_min_entries: o.delete_guard_min_entries,
        confirm_mass_delete: o.confirm_mass_delete,
        case_insensitive: o.case_insensitive,
    })
}

/// Writes the default sync options (keep both, two-way, edit beats delete, 50% delete guard)
/// to `*out` (only on success).
#[no_mangle]
pub extern "C" fn syncore_sync_options_default(out: *mut syncore_sync_options) -> syncore_status {
    boundary(|| {
        out_ptr(out, "out")?.write((&SyncOptions::default()).into());
        Ok(())
    })
}

/// The changes one replica sends another: entries changed after the receiver's cursor,
/// tombstones included, with their manifests. Immutable; released with
/// `syncore_changeset_free`.
pub struct syncore_changeset {
    pub(crate) inner: ChangeSet,
}

/// Decodes a change set from `len` bytes at `data` (as made by `syncore_changeset_encode`).
/// Damaged input fails with `SYNCORE_STATUS_CORRUPT` (or `UNSUPPORTED` for an unknown format
/// version) and never crashes. The caller owns `*out` (written only on success).
#[no_mangle]
pub extern "C" fn syncore_changeset_decode(
    data: *const u8,
    len: usize,
    out: *mut *mut syncore_changeset,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: the caller passes `len` readable bytes at `data`.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        out.write(into_handle(syncore_changeset {
            inner: ChangeSet::decode(data)?,
        }));
        Ok(())
    })
}

/// Encodes `changeset` into the caller's buffer `buf` of `buf_len` bytes. `*out_len` receives
/// the encoded size on success and with `SYNCORE_STATUS_BUFFER_TOO_SMALL` (then `buf` is
/// untouched); `out_len` must not be NULL.
#[no_mangle]
pub extern "C" fn syncore_changeset_encode(
    changeset: *const syncore_changeset,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> syncore_status {
    boundary(|| {
        let out_len = out_ptr(out_len, "out_len")?;
        // SAFETY: NULL or a live change set.
        let changeset = unsafe { arg_ref(changeset, "changeset") }?;
        copy_out(&changeset.inner.encode(), buf, buf_len, out_len, "buf")
    })
}

/// Encodes `changeset` into a library-owned buffer written to `*out` (released with
/// `syncore_bytes_free`; written only on success).
#[no_mangle]
pub extern "C" fn syncore_changeset_encode_bytes(
    changeset: *const syncore_changeset,
    out: *mut *mut syncore_bytes,
) -> syncore_status {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        // SAFETY: NULL or a live change set.
        let changeset = unsafe { arg_ref(changeset, "changeset") }?;
        bytes_out(out, changeset.inner.encode())
    })
}

/// The number of entries in `changeset` (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_changeset_len(changeset: *const syncore_changeset) -> usize {
    boundary_value(0, || {
        // SAFETY: NULL or a live change set.
        unsafe { changeset.as_ref() }.map_or(0, |c| c.inner.entries.len())
    })
}

/// The sender's sequence number the receiver remembers as its next cursor once the plan made
/// from `changeset` is fully applied (0 if NULL).
#[no_mangle]
pub extern "C" fn syncore_changeset_cursor(changeset: *const syncore_changeset) -> u64 {
    boundary_value(0, || {
        // SAFETY: NULL or a live change set.
        unsafe { changeset.as_ref() }.map_or(0, |c| c.inner.cursor)
    })
}

/// Releases `changeset`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn syncore_changeset_free(changeset: *mut syncore_changeset) {
    // SAFETY: NULL or a handle made by this library and not yet freed.
    boundary_value((), || unsafe { free_handle(changeset) })
}
